from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from validator.checks import environment
from validator.codes import owned_by
from validator.project import config
from validator.project.sources import Project
from validator.report import Finding

MODEL_YAML = """\
name: demo
env:
  - name: API_URL
    description: where the features come from
"""


def run(
    tmp_path: Path, script: str | None, model_yaml: str = MODEL_YAML, **files: str
) -> list[Finding]:
    (tmp_path / "model.yaml").write_text(model_yaml)
    if script is not None:
        (tmp_path / "model.py").write_text(textwrap.dedent(script))
    for name, text in files.items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    # what the checks found; the codes that found nothing are reported passed
    found = environment.run(Project(config.load(tmp_path)))
    return [finding for finding in found if finding.status != "passed"]


def reads(source: str) -> list[tuple[int, str | None, bool]]:
    tree = ast.parse(textwrap.dedent(source))
    return [(read.line, read.name, read.required) for read in environment.reads(tree)]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('import os\nos.environ["A"]', (2, "A", True)),
        ('import os\nos.environ.get("A")', (2, "A", True)),
        ('import os\nos.environ.get("A", "x")', (2, "A", False)),
        ('import os\nos.environ.get(key="A", default=None)', (2, "A", False)),
        ('import os\nos.getenv("A")', (2, "A", True)),
        ('import os\nos.getenv("A", "")', (2, "A", False)),
        ('import os\n"A" in os.environ', (2, "A", False)),
        ('import os\nif "A" not in os.environ: pass', (2, "A", False)),
        ('import os\nos.environ.setdefault("A", "1")', (2, "A", False)),
        ('import os\nos.environ.pop("A")', (2, "A", True)),
        ('import os as o\no.environ["A"]', (2, "A", True)),
        ('from os import environ\nenviron["A"]', (2, "A", True)),
        ('from os import environ as env\nenv.get("A")', (2, "A", True)),
        ('from os import getenv\ngetenv("A")', (2, "A", True)),
        ('import os.path\nos.environ["A"]', (2, "A", True)),
        ('import os\nos.environb[b"A"]', (2, "A", True)),
        ("import os\ndef load():\n    return os.environ['A']", (3, "A", True)),
    ],
)
def test_literal_reads(source: str, expected: tuple[int, str, bool]) -> None:
    assert reads(source) == [expected]


@pytest.mark.parametrize(
    "source",
    [
        "import os\nname = 'A'\nos.environ[name]",
        "import os\nos.environ.get(f'{PREFIX}_A')",
        "import os\nos.getenv('A' + suffix)",
        "import os\nsettings = dict(os.environ)",
        "import os\nfor key in os.environ: pass",
        "import os\nos.environ.items()",
        "import os\nenv = os.environ",
        "import os\nsubprocess.run(['x'], env={**os.environ})",
        "import os\nlookup = os.getenv",
        "import os\nget = os.environ.get",
    ],
)
def test_reads_without_a_literal_name(source: str) -> None:
    assert [name for _, name, _ in reads(source)] == [None]


@pytest.mark.parametrize(
    "source",
    [
        'import os\nos.environ["A"] = "1"',
        'import os\ndel os.environ["A"]',
        'import os\nos.environ.update({"A": "1"})',
        "import os\nos.path.join('a', 'b')",
        'environ = {}\nenviron["A"]',
        'import other\nother.environ["A"]',
    ],
)
def test_writes_and_other_names_are_not_reads(source: str) -> None:
    assert reads(source) == []


def test_declared_variable_that_is_read_passes(tmp_path: Path) -> None:
    assert run(tmp_path, 'import os\nURL = os.environ["API_URL"]\n') == []


def test_undeclared_variable_fails_with_a_hint_to_declare_it(tmp_path: Path) -> None:
    script = """\
        import os

        URL = os.environ["API_URL"]
        TOKEN = os.environ.get("SERVICE_TOKEN", "")
        TOKEN = os.environ.get("SERVICE_TOKEN", "")
        """
    findings = run(tmp_path, script)
    assert [f.code for f in findings] == ["ENV001"]
    finding = findings[0]
    assert finding.status == "failed"
    assert finding.location == "model.py:4"
    assert "SERVICE_TOKEN" in finding.message
    assert "model.py" in finding.message
    assert finding.hint == (
        "add '- {name: SERVICE_TOKEN, description: what SERVICE_TOKEN is for, secret: true, "
        "required: false}' under env in model.yaml"
    )


def test_declared_variable_never_read_is_a_warning_at_the_env_key(tmp_path: Path) -> None:
    findings = run(tmp_path, "import mlflow\n")
    assert [(f.code, f.status, f.location) for f in findings] == [
        ("ENV002", "warning", "model.yaml:2")
    ]
    assert "API_URL" in findings[0].message


def test_computed_reads_are_warnings_and_soften_the_unread_warning(tmp_path: Path) -> None:
    findings = run(tmp_path, "import os\n\nname = 'API_URL'\nURL = os.environ[name]\n")
    findings.sort(key=lambda finding: finding.code)  # the pipeline puts codes in order
    assert [(f.code, f.status, f.location) for f in findings] == [
        ("ENV002", "warning", "model.yaml:2"),
        ("ENV003", "warning", "model.py:4"),
    ]
    assert "computed names" in findings[0].message


def test_code_paths_files_are_read_too(tmp_path: Path) -> None:
    findings = run(
        tmp_path,
        "import helpers\n",
        MODEL_YAML + "code_paths: [helpers.py]\n",
        **{"helpers.py": 'import os\n\nURL = os.getenv("API_URL")\nKEY = os.getenv("OTHER")\n'},
    )
    assert [(f.code, f.location) for f in findings] == [("ENV001", "helpers.py:4")]


@pytest.mark.parametrize("script", [None, "def broken(:\n"])
def test_skipped_without_a_parsed_script(tmp_path: Path, script: str | None) -> None:
    findings = run(tmp_path, script)
    assert [(f.code, f.status) for f in findings] == [
        (code, "skipped") for code in owned_by("environment")
    ]

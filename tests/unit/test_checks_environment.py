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


def test_declared_variable_never_read_is_a_warning_at_its_entry(tmp_path: Path) -> None:
    findings = run(tmp_path, "import mlflow\n")
    assert [(f.code, f.status, f.location) for f in findings] == [
        ("ENV002", "warning", "model.yaml:3")
    ]
    assert "API_URL" in findings[0].message


def test_computed_reads_are_warnings_and_soften_the_unread_warning(tmp_path: Path) -> None:
    findings = run(tmp_path, "import os\n\nname = 'API_URL'\nURL = os.environ[name]\n")
    findings.sort(key=lambda finding: finding.code)  # the pipeline puts codes in order
    assert [(f.code, f.status, f.location) for f in findings] == [
        ("ENV002", "warning", "model.yaml:3"),
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
    # ENV011 needs no script: the files that ship decide it (it found nothing, so it passed)
    assert [(f.code, f.status) for f in findings] == [
        (code, "skipped") for code in owned_by("environment") if code != "ENV011"
    ]


def uses(source: str) -> list[tuple[str, int, str | None]]:
    tree = ast.parse(textwrap.dedent(source))
    return [(type(use).__name__, use.line, use.name) for use in environment.uses(tree)]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('import os\nos.environ["A"] = "1"', [("Write", 2, "A")]),
        (
            'import os\nos.environ.update({"A": "1", "B": x})',
            [("Write", 2, "A"), ("Write", 2, "B")],
        ),
        ('import os\nos.environ.update(A="1")', [("Write", 2, "A")]),
        ('import os\nos.environ.update([("A", "1")])', [("Write", 2, "A")]),
        ('import os\nos.putenv("A", "1")', [("Write", 2, "A")]),
        ('from os import putenv\nputenv("A", "1")', [("Write", 2, "A")]),
        ('import os\nos.environ.setdefault("A", "1")', [("Read", 2, "A"), ("Write", 2, "A")]),
        ('import os\ndel os.environ["A"]', []),
    ],
)
def test_writes_by_literal_name(source: str, expected: list[tuple[str, int, str]]) -> None:
    assert uses(source) == expected


@pytest.mark.parametrize(
    "script",
    [
        # set at import, read later in a function (an SDK client built in load_context)
        'import os\nos.environ["SDK_API_KEY"] = "placeholder"\n'
        'def load():\n    return os.environ["SDK_API_KEY"]\n',
        'import os\nos.environ.setdefault("SDK_API_KEY", "placeholder")\n'
        'KEY = os.environ["SDK_API_KEY"]\n',
        'import os\nos.environ.update({"SDK_API_KEY": "placeholder"})\n'
        'KEY = os.getenv("SDK_API_KEY")\n',
        'import os\nos.putenv("SDK_API_KEY", "placeholder")\nKEY = os.getenv("SDK_API_KEY")\n',
        # a fallback the model completes itself
        'import os\nif "SDK_API_KEY" not in os.environ:\n    os.environ["SDK_API_KEY"] = "x"\n'
        'KEY = os.environ["SDK_API_KEY"]\n',
        # set in one method, read in another
        'import os\nclass M:\n    def load(self):\n        os.environ["SDK_API_KEY"] = "x"\n'
        '    def predict(self):\n        return os.environ["SDK_API_KEY"]\n',
    ],
)
def test_a_variable_the_script_sets_itself_is_not_asked_of_deployers(
    tmp_path: Path, script: str
) -> None:
    findings = run(tmp_path, script, "name: demo\n")
    assert [f.code for f in findings] == [], [f.message for f in findings]


def test_a_read_before_the_script_sets_the_variable_is_still_asked(tmp_path: Path) -> None:
    script = 'import os\nKEY = os.environ["SDK_API_KEY"]\nos.environ["SDK_API_KEY"] = "x"\n'
    findings = run(tmp_path, script, "name: demo\n")
    assert [(f.code, f.location) for f in findings] == [("ENV001", "model.py:2")]


def test_a_variable_set_in_the_script_counts_for_its_code_paths_functions(tmp_path: Path) -> None:
    findings = run(
        tmp_path,
        'import os\nos.environ["SDK_URL"] = "http://127.0.0.1:1"\nimport helpers\n',
        "code_paths: [helpers.py]\n",
        **{"helpers.py": 'import os\n\ndef url():\n    return os.environ["SDK_URL"]\n'},
    )
    assert findings == []


def written_names(tmp_path: Path, script: str) -> list[tuple[str, str]]:
    (tmp_path / "model.yaml").write_text("name: demo\n")
    (tmp_path / "model.py").write_text(textwrap.dedent(script))
    project = Project(config.load(tmp_path))
    return [(where, write.name) for where, write in environment.written(project)]


def test_written_lists_the_variables_the_model_sets(tmp_path: Path) -> None:
    script = 'import os\nos.environ["A"] = "1"\nos.environ.setdefault("B", "2")\nos.getenv("C")\n'
    assert written_names(tmp_path, script) == [("model.py", "A"), ("model.py", "B")]


# ENV002: what the model's own code reads by name, then what the sandbox traced

LIBRARY_YAML = """\
name: demo
env:
  - name: SDK_BASE_URL
  - name: SDK_API_KEY
    secret: true
"""
SANDBOX_RESULT: dict[str, object] = {
    "stage": "done",
    "env_reads": {
        "SDK_BASE_URL": {"user": False, "libraries": ["openai"]},
        "SDK_API_KEY": {"user": False, "libraries": ["openai", "httpx"]},
    },
}


def checked(tmp_path: Path, result: dict[str, object] | None, *others: Finding) -> list[Finding]:
    (tmp_path / "model.yaml").write_text(LIBRARY_YAML)
    (tmp_path / "model.py").write_text("import openai\n")
    project = Project(config.load(tmp_path))
    static = environment.run(project)
    return environment.with_trace([*static, *others], project, result)


def test_static_env002_does_not_claim_more_than_it_read(tmp_path: Path) -> None:
    (tmp_path / "model.yaml").write_text(LIBRARY_YAML)
    (tmp_path / "model.py").write_text("import openai\n")
    found = [f for f in environment.run(Project(config.load(tmp_path))) if f.code == "ENV002"]
    assert [f.status for f in found] == ["warning", "warning"]
    assert "model.py never reads by name" in found[0].message
    assert found[0].hint is not None and "validate` traces what libraries read" in found[0].hint


def test_variables_a_library_read_in_the_sandbox_are_used_and_named(tmp_path: Path) -> None:
    found = [f for f in checked(tmp_path, SANDBOX_RESULT) if f.code == "ENV002"]
    assert [f.status for f in found] == ["passed"]
    assert found[0].message == (
        "every declared variable is read: SDK_BASE_URL by openai; SDK_API_KEY by openai, httpx "
        "(traced in the sandbox)"
    )


def test_a_variable_nothing_read_in_the_sandbox_still_warns_and_says_so(tmp_path: Path) -> None:
    result = {**SANDBOX_RESULT, "env_reads": {"SDK_API_KEY": {"user": False, "libraries": ["x"]}}}
    found = [f for f in checked(tmp_path, result) if f.code == "ENV002"]
    assert [(f.status, f.location) for f in found] == [("warning", "model.yaml:3")]
    assert "SDK_BASE_URL" in found[0].message
    assert "nothing read by name while loading and predicting" in found[0].message
    assert found[0].message.endswith("in the sandbox, nor while MLflow logged the model")


def test_a_variable_read_only_while_mlflow_logged_the_model_is_used(tmp_path: Path) -> None:
    # the LlamaIndex flavor reads OPENAI_API_BASE as it saves the index's settings, and loading
    # never reads it again: validate, which logs the model, needs it declared all the same
    result = {
        **SANDBOX_RESULT,
        "env_reads": {"SDK_API_KEY": {"user": False, "libraries": ["openai"]}},
        "logging_env_reads": {
            "SDK_BASE_URL": {"stage": "log", "user": False, "libraries": ["llama_index"]},
            "SDK_API_KEY": {"stage": "log", "user": False, "libraries": ["llama_index"]},
        },
    }
    found = [f for f in checked(tmp_path, result) if f.code == "ENV002"]
    assert [f.status for f in found] == ["passed"]
    assert found[0].message == (
        "every declared variable is read: SDK_BASE_URL by llama_index while MLflow logged the "
        "model; SDK_API_KEY by openai (traced)"
    )


def test_without_a_trace_the_warning_says_the_sandbox_did_not_run(tmp_path: Path) -> None:
    reason = Finding("ENV004", "skipped", "not run: SCR007 failed")
    found = [f for f in checked(tmp_path, None, reason) if f.code == "ENV002"]
    assert [f.status for f in found] == ["warning", "warning"]
    assert all(f.hint and "the sandbox did not run (SCR007 failed)" in f.hint for f in found)


def test_a_model_read_under_a_computed_name_counts_too(tmp_path: Path) -> None:
    result = {
        "stage": "done",
        "env_reads": {
            "SDK_BASE_URL": {"user": True, "libraries": []},
            "SDK_API_KEY": {"user": False, "libraries": ["openai"]},
        },
    }
    found = [f for f in checked(tmp_path, result) if f.code == "ENV002"]
    assert [f.status for f in found] == ["passed"]
    assert "SDK_BASE_URL by the model's own code" in found[0].message

"""Fuzz `check` with Hypothesis: generated and mutated model.yaml, input_example.json and
requirements.txt over the fixtures' good project. Whatever the files hold, a run returns 0, 1 or
2, writes its report or one line of error, raises nothing, shows no credential, and leaves no
file behind, in the project or elsewhere.

The normal run tries a few examples per test, derandomized (the same ones every time, so CI is
stable); `nox -s fuzz` sets MFC_FUZZ_EXAMPLES to try many more, with a random seed it prints
(`nox -s fuzz -- --hypothesis-seed=N` runs that seed again). A failure prints the smallest
example found, and with it the `@reproduce_failure` blob.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import FIXTURES, materialize_scenario
from tests.pins import MLFLOW, NUMPY, PANDAS
from validator.cli import main

EXAMPLES = int(os.environ.get("MFC_FUZZ_EXAMPLES", "0"))
FUZZ = settings(
    max_examples=EXAMPLES or 40,
    derandomize=not EXAMPLES,
    deadline=None,
    database=None,  # nothing written into the repository
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TOKEN = "fuzz-t0ken-7c1e"  # the credential the requirements' URLs carry
# the token where it is a credential, in the userinfo before '@' (a mutation may also leave it
# where it is the host name, which is no credential: `https://fuzz-t0ken-7c1e/simple`)
LEAKED = re.compile(re.escape(TOKEN) + r"[^/\s]*@")
GOOD = FIXTURES / "good"
KEYS = (
    "name", "script", "requirements", "input_example", "code_paths", "artifacts",
    "model_config", "env", "flavor", "flavor_options", "network", "registry", "evaluation",
)  # fmt: skip
FILES = ("model.py", "helpers.py", "requirements.txt", "input_example.json", "model.yaml")

# paths that leave the project, name nothing, or no file system holds
PATHS = (*FILES, "..", "/etc/passwd", "../x", ".", "", "a/b", "x:y", "~", "a\0b")
PATHS += ("a" * 300, "a/" * 1100)

# -- values ------------------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(PATHS),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), inner, max_size=4),
    ),
    max_leaves=12,
)

# what hurts a parser: bombs, depth, tags, anchors, stray punctuation, control characters
YAML_SNIPPETS = [
    "&a [1, 2]", "*a", "*undefined", "!!python/object/apply:os.system ['true']", "!!binary x",
    "{", "}", "[", "]", "- ", ": ", "? ", "|", ">", "%YAML 1.1\n---\n", "---\n", "...\n",
    "\t", "\x00", "\x1b[31m", "\ufeff", "'", '"', "#", "\n  ", "1" * 5000, "2024-13-45",
    "{a: " * 300 + "1" + "}" * 300, "- " * 200 + "x", "[" * 2000, "k: &x [*x]",
    "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
]  # fmt: skip
JSON_SNIPPETS = [
    "{", "}", "[", "]", ",", ":", '"', "\\", "\\u0000", "\\ud800", "NaN", "-Infinity", "1e999",
    "9" * 5000, '"k": 1, "k": 2', "[" * 100_000, "{" * 150, "\x00", "\x1b[2J", "\ufeff", "null",
]  # fmt: skip
REQUIREMENT_LINES = [
    MLFLOW, PANDAS, "pandas", "pandas>=2", "pandas=3", "-e .", "-r other.txt",
    "-r requirements.txt", "-c missing.txt", "-r /dev/zero", "--no-deps", "--pre",
    f"--extra-index-url https://bot:{TOKEN}@pypi.example.com/simple",
    f"-i https://{TOKEN}@pypi.example.com/simple", f"-f https://u:{TOKEN}@files.example.com/",
    f"pkg @ git+https://oauth2:{TOKEN}@gitlab.example.com/o/r.git@v1",
    f"pkg @ https://u:{TOKEN}@files.example.com/pkg-1.0-py3-none-any.whl",
    "pkg @ file:///tmp/pkg-1.0-py3-none-any.whl", "./local", "pkg @ ./x.whl",
    f"{NUMPY} --hash=sha256:" + "a" * 64, f"{NUMPY} \\",
    "name[extra]==1; python_version<'3'",
    "# comment", "", "\x1b]0;title\x07pkg==1", "é==1", "a" * 300 + "==1", "pkg===weird",
]  # fmt: skip


def mutate(text: str, snippets: list[str]) -> st.SearchStrategy[str]:
    """TEXT with a few edits: snippets or random text inserted, slices deleted or repeated."""

    @st.composite
    def edited(draw: st.DrawFn) -> str:
        result = text
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(result)))
            kind = draw(st.sampled_from(["snippet", "text", "delete", "repeat"]))
            if kind == "snippet":
                result = result[:at] + draw(st.sampled_from(snippets)) + result[at:]
            elif kind == "text":
                result = result[:at] + draw(st.text(max_size=10)) + result[at:]
            elif kind == "delete":
                end = draw(st.integers(at, min(len(result), at + 20)))
                result = result[:at] + result[end:]
            else:
                result = result[:at] * 2 + result[at:]
        return result

    return edited()


def _yaml_dump(value: Any) -> str:
    return yaml.safe_dump(value, allow_unicode=True)


model_yamls = st.one_of(
    st.dictionaries(st.sampled_from(KEYS), values, max_size=5).map(_yaml_dump),
    values.map(_yaml_dump),
    mutate((GOOD / "model.yaml").read_text(), YAML_SNIPPETS),
    st.sampled_from(YAML_SNIPPETS),
    st.text(max_size=60),
)
input_examples = st.one_of(
    values.map(json.dumps),
    mutate((GOOD / "input_example.json").read_text(), JSON_SNIPPETS),
    st.sampled_from(JSON_SNIPPETS),
    st.text(max_size=60),
)
requirements = st.one_of(
    st.lists(st.sampled_from(REQUIREMENT_LINES), max_size=6).map("\n".join),
    mutate((GOOD / "requirements.txt").read_text(), REQUIREMENT_LINES),
    st.text(max_size=60),
)
changes = st.fixed_dictionaries(
    {},
    optional={
        "model.yaml": model_yamls,
        "input_example.json": input_examples,
        "requirements.txt": requirements,
    },
)

# -- the property ------------------------------------------------------------------------------


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes() if path.is_file() else b""
        for path in sorted(folder.rglob("*"))
    }


@contextlib.contextmanager
def _workspace() -> Iterator[Path]:
    """A fresh folder per example (Hypothesis reuses a test's fixtures), with tempfile's own
    folder inside it, so that whatever a run leaves anywhere is seen."""
    with tempfile.TemporaryDirectory(prefix="mfc-fuzz-") as name:
        work = Path(name)
        scratch = work / "tmp"
        scratch.mkdir()
        previous = tempfile.tempdir
        tempfile.tempdir = str(scratch)
        try:
            yield work
        finally:
            tempfile.tempdir = previous


def _project(work: Path, files: dict[str, str]) -> Path:
    project = materialize_scenario("good", work / "project")
    for name, text in files.items():
        (project / name).write_bytes(text.encode("utf-8", errors="surrogatepass"))
    return project


def _check_in_process(project: Path, report: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["check", str(project), "--format", "json", "--output", str(report)])
    return status, out.getvalue(), err.getvalue()


def _assert_outcome(
    status: int, stdout: str, stderr: str, report: Path, command: str = "check"
) -> None:
    assert status in (0, 1, 2), (status, stderr)
    assert "Traceback" not in stdout + stderr
    assert not LEAKED.search(stdout + stderr)
    if report.exists():
        text = report.read_text(encoding="utf-8")
        assert not LEAKED.search(text)
        written = json.loads(text)
        assert written["command"] == command
        assert written["status"] == ("passed" if status == 0 else "failed")
        assert stdout.startswith(f"{command} "), stdout
    else:
        assert status == 2
        lines = stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("mfc-validator: error: "), stderr


def _assert_nothing_left(work: Path, project: Path, before: dict[str, bytes]) -> None:
    assert _tree(project) == before  # check writes nothing in the project
    assert {path.name for path in work.iterdir()} <= {"out", "project", "tmp"}
    assert list((work / "tmp").iterdir()) == []
    if (work / "out").exists():
        assert [path.name for path in (work / "out").iterdir()] == ["report.json"]


@FUZZ
@given(files=changes)
def test_check_ends_cleanly_whatever_the_files_hold(files: dict[str, str]) -> None:
    with _workspace() as work:
        project = _project(work, files)
        before = _tree(project)
        report = work / "out" / "report.json"
        status, stdout, stderr = _check_in_process(project, report)
        _assert_outcome(status, stdout, stderr, report)
        _assert_nothing_left(work, project, before)


@settings(FUZZ, max_examples=max(3, EXAMPLES // 20))
@given(files=changes)
def test_check_ends_cleanly_as_a_whole_process(files: dict[str, str]) -> None:
    command = Path(sys.executable).parent / "mfc-validator"  # the installed entry point
    with _workspace() as work:
        project = _project(work, files)
        before = _tree(project)
        report = work / "out" / "report.json"
        result = subprocess.run(
            [str(command), "check", str(project), "--format", "json", "--output", str(report)],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "TMPDIR": str(work / "tmp")},
            check=False,
        )
        _assert_outcome(result.returncode, result.stdout, result.stderr, report)
        _assert_nothing_left(work, project, before)


@pytest.mark.slow
@settings(FUZZ, max_examples=max(3, EXAMPLES // 100))
@given(files=changes)
def test_validate_ends_cleanly_as_a_whole_process(files: dict[str, str]) -> None:
    """A few whole validations (the model logged, the sandbox built): every one ends within its
    limit with 0, 1 or 2, a report or one line, no traceback, no run left RUNNING, nothing left
    in the temporary folder."""
    command = Path(sys.executable).parent / "mfc-validator"
    with _workspace() as work:
        project = _project(work, files)
        report = work / "out" / "report.json"
        result = subprocess.run(
            [
                str(command),
                "validate",
                str(project),
                "--timeout",
                "120",
                "--format",
                "json",
                "--output",
                str(report),
            ],
            capture_output=True,
            text=True,
            timeout=900,
            env={**os.environ, "TMPDIR": str(work / "tmp"), "MLFLOW_TRACKING_URI": ""},
            check=False,
        )
        _assert_outcome(result.returncode, result.stdout, result.stderr, report, "validate")
        assert list((work / "tmp").iterdir()) == []
        database = project / ".mlflow" / "mlflow.db"
        if database.exists():
            with sqlite3.connect(database) as connection:
                statuses = [row[0] for row in connection.execute("select status from runs")]
            assert "RUNNING" not in statuses

"""`mfc-validator init` as a whole process: bad input gives one line, exit status 2 and the folder
exactly as it was (names, bytes, modes and times), a script that hangs at import too (the trace
bounded by --timeout); --dry-run writes nothing; --force shows the differences; --with-nox and
--with-pre-commit write the template's files. The trace (slow) adds what the sandbox saw, and
`validate` then passes. --no-trace reads files only: it never runs the script (a script that
hangs at import is adopted at once, and `validate` says that it hangs) and imports neither
mlflow nor pandas. What init infers from the files is tests/unit/test_adopt.py."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import run_cli
from tests.unit.test_adopt import DRIVER, HELPERS, PYFUNC, folder
from validator.commands import check as check_command


def snapshot(root: Path) -> dict[str, tuple[int, int, bytes | None]]:
    """Every path under ROOT with its mode, its modification time and (a file) its bytes."""
    found: dict[str, tuple[int, int, bytes | None]] = {}
    for path in [root, *sorted(root.rglob("*"))]:
        relative = path.relative_to(root).as_posix()
        status = path.lstat()
        content = path.read_bytes() if path.is_file() else None
        found[relative] = (status.st_mode, status.st_mtime_ns, content)
    return found


def init(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("init", str(root), *args, timeout=300)


def one_error_line(result: subprocess.CompletedProcess[str], progress: bool = False) -> str:
    """The one line of an exit status 2; PROGRESS: after validate's progress lines (the trace)."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("mfc-validator: error: ")]
    assert errors == lines[-1:] and (progress or len(lines) == 1), result.stderr
    assert result.stdout == ""
    return errors[0]


# --- bad input ------------------------------------------------------------------------------

HANGS = "import time\n\nimport mlflow\n\ntime.sleep(3600)\n"
# a typed model (init writes its request) whose import hangs
HANGING_MODEL = HANGS + textwrap.dedent(
    """\
    from mlflow.pyfunc import PythonModel


    class Model(PythonModel):
        def predict(self, context, model_input: list[str], params=None) -> list[str]:
            return model_input


    mlflow.models.set_model(Model())
    """
)


@pytest.mark.parametrize(
    ("files", "said"),
    [
        ({}, ["holds no Python file"]),
        ({"notes.txt": "not a script\n"}, ["holds no Python file"]),
        ({"a.py": PYFUNC, "b.py": PYFUNC, "helpers.py": HELPERS}, ["a.py, b.py", "--script"]),
        (
            {"model.py": "import mlflow\n\ndef broken(:\n    pass\n\nmlflow.models.set_model(1)\n"},
            ["model.py:3:", "does not compile"],
        ),
        (
            {"model.py": "import mlflow\n\ndef later():\n    mlflow.models.set_model(1)\n"},
            ["model.py", "at module level"],
        ),
        (
            {"helpers.py": HELPERS, "util.py": "import os\n"},
            ["no Python file", "calls mlflow.models.set_model"],
        ),
        (
            {"forecast.py": PYFUNC, "helpers.py": HELPERS, "model.yaml": "{}\n"},
            ["model.yaml exists", "--force"],
        ),
    ],
    ids=[
        "empty",
        "no-python",
        "two-scripts",
        "does-not-compile",
        "set-model-in-a-function",
        "no-set-model",
        "model-yaml-exists",
    ],
)
def test_bad_input_is_one_line_and_the_folder_is_left_as_it_was(
    tmp_path: Path, files: dict[str, str], said: list[str]
) -> None:
    root = folder(tmp_path, files)
    before = snapshot(root)

    line = one_error_line(init(root))

    assert [words for words in said if words not in line] == []
    assert snapshot(root) == before


def test_two_scripts_one_chosen_with_script(tmp_path: Path) -> None:
    root = folder(tmp_path, {"a.py": PYFUNC, "b.py": PYFUNC, "helpers.py": HELPERS})

    chosen = init(root, "--script", "b.py")

    assert chosen.returncode == 1, chosen.stderr  # no request anywhere: a placeholder to fill in
    assert "SIG002 failed: input_example.json: input_example.json is a placeholder" in chosen.stdout
    # with no request the model cannot answer: the trace is skipped, saying so
    assert "not traced: with no request" in chosen.stdout
    assert "script: b.py" in (root / "model.yaml").read_text(encoding="utf-8")
    (tmp_path / "other").mkdir()
    missing = folder(tmp_path / "other", {"a.py": PYFUNC})
    assert "--script c.py: no such file" in one_error_line(init(missing, "--script", "c.py"))


def test_no_trace_adopts_a_script_that_hangs_at_import_without_running_it(
    tmp_path: Path,
) -> None:
    # --no-trace reads files only: the script's import is validate's to run, under its limit
    root = folder(tmp_path, {"model.py": HANGING_MODEL})
    started = time.monotonic()

    result = init(root, "--no-trace")

    assert time.monotonic() - started < 30
    assert result.returncode == 0, result.stdout + result.stderr
    assert "traced" not in result.stdout
    assert "script: model.py  # calls set_model at line 14 (static)" in (
        root / "model.yaml"
    ).read_text(encoding="utf-8")
    assert {p.name for p in root.iterdir()} == {
        "model.py",
        "model.yaml",
        "requirements.txt",
        "input_example.json",
    }


@pytest.mark.slow
def test_validate_of_an_adopted_script_that_hangs_at_import_names_the_hang(
    tmp_path: Path,
) -> None:
    root = folder(tmp_path, {"model.py": HANGING_MODEL})
    assert init(root, "--no-trace").returncode == 0
    started = time.monotonic()

    result = run_cli("validate", str(root), "--timeout", "6", "--format", "json", timeout=300)

    assert time.monotonic() - started < 150
    assert result.returncode == 1, result.stdout + result.stderr
    checks = json.loads(result.stdout)["checks"]
    failed = {check["code"]: check["message"] for check in checks if check["status"] == "failed"}
    assert "did not finish within 6 s" in failed.get("SCR007", ""), failed


@contextlib.contextmanager
def read_only(root: Path) -> Iterator[None]:
    """ROOT made read-only: by its mode, or (as root, whom modes do not stop) by a read-only
    bind mount of it."""
    if os.geteuid() != 0:
        mode = root.stat().st_mode
        root.chmod(0o555)
        try:
            yield
        finally:
            root.chmod(mode)
        return
    mounted = subprocess.run(["mount", "--bind", str(root), str(root)], check=False)
    if mounted.returncode != 0:
        pytest.skip("running as root, and a read-only bind mount is not allowed here")
    try:
        remounted = subprocess.run(
            ["mount", "-o", "remount,bind,ro", str(root)], check=False, capture_output=True
        )
        if remounted.returncode != 0:
            pytest.skip("running as root, and a read-only bind mount is not allowed here")
        yield
    finally:
        subprocess.run(["umount", str(root)], check=False)


def test_a_read_only_folder_is_one_line_and_left_as_it_was(tmp_path: Path) -> None:
    root = folder(tmp_path, {"forecast.py": PYFUNC, "helpers.py": HELPERS})
    with read_only(root):
        before = snapshot(root)

        line = one_error_line(init(root))

        assert "cannot write there" in line and "--dry-run" in line
        assert snapshot(root) == before


# --- init's trace: the model run as validate runs it ------------------------------------------

# what its files do not show: a variable read under a computed name, a host looked up, and a
# module imported by __import__ (PyYAML: mlflow's own dependency, so in the sandbox too)
TRACED = """\
import os
import socket

import mlflow
from mlflow.pyfunc import PythonModel


class Model(PythonModel):
    def load_context(self, context):
        self.url = os.environ.get("SERVICE_" + "URL", "http://localhost")
        # a credential under a name the files do not show: set where init runs, the trace
        # passes it to the sandbox (without it, the model could not load there)
        self.token = os.environ["SERVICE_" + "TOKEN"]
        try:
            socket.getaddrinfo("example.invalid", 443)
        except OSError:
            pass

    def predict(self, context, model_input: list[str], params=None) -> list[str]:
        yaml = __import__("yaml")
        return [yaml.safe_dump(text).strip() for text in model_input]


mlflow.models.set_model(Model())
"""


@pytest.mark.slow
def test_trace_adds_what_the_sandbox_saw_and_validate_then_passes(tmp_path: Path) -> None:
    root = folder(tmp_path, {"service.py": TRACED})
    static = init(root, "--dry-run", "--no-trace")
    assert "SERVICE_URL" not in static.stdout and "example.invalid" not in static.stdout

    token = {"SERVICE_TOKEN": "s3rv1ce-t0ken-value"}
    # set where init runs but never read by the model: not declared
    result = run_cli("init", str(root), env={**token, "UNUSED_API_KEY": "x"}, timeout=300)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "logging the model from code" in result.stderr  # validate's own progress lines
    assert (
        "traced: the model loaded and answered in the sandbox; added 2 variables, 1 host, "
        "1 requirement" in result.stdout
    )
    text = (root / "model.yaml").read_text(encoding="utf-8")
    assert "  - name: SERVICE_URL  # read by the model's own code while loading (traced)" in text
    assert "  - name: SERVICE_TOKEN  # read by the model's own code while loading (traced)" in text
    declared = {e["name"]: e for e in yaml.safe_load(text)["env"]}
    assert declared["SERVICE_TOKEN"]["secret"] is True and "UNUSED_API_KEY" not in declared
    assert "s3rv1ce-t0ken-value" not in text + result.stdout + result.stderr
    assert "  - example.invalid  # contacted (port 443) while loading (traced)" in text
    requirements = (root / "requirements.txt").read_text(encoding="utf-8")
    assert "PyYAML==" in requirements and "imported yaml while running" in requirements
    # the scratch copy the trace ran in is gone: the folder holds init's files and no store
    assert sorted(p.name for p in root.iterdir()) == [
        "input_example.json",
        "model.yaml",
        "requirements.txt",
        "service.py",
    ]
    validated = run_cli("validate", str(root), "--format", "json", env=token, timeout=600)
    report = json.loads(validated.stdout)
    failed = [(c["code"], c["message"]) for c in report["checks"] if c["status"] == "failed"]
    assert validated.returncode == 0 and failed == [], failed


BROKEN = """\
import mlflow
from mlflow.pyfunc import PythonModel


class Model(PythonModel):
    def predict(self, context, model_input: list[str], params=None) -> list[str]:
        raise ValueError("not trained yet")


mlflow.models.set_model(Model())
"""


@pytest.mark.slow
def test_a_broken_script_is_adopted_all_the_same_and_validate_names_the_defect(
    tmp_path: Path,
) -> None:
    root = folder(tmp_path, {"scorer.py": BROKEN})

    result = init(root)

    # written, with the model's own defect as the failing finding (exit 1), not exit 2
    assert result.returncode == 1, result.stdout + result.stderr
    assert "not traced: the model failed in the sandbox" in result.stdout
    assert "SCR008 failed: scorer.py:7: predict raised" in result.stdout
    assert "ValueError: not trained yet" in result.stdout
    assert sorted(p.name for p in root.iterdir()) == [
        "input_example.json",
        "model.yaml",
        "requirements.txt",
        "scorer.py",
    ]
    validated = run_cli("validate", str(root), "--format", "json", timeout=600)
    report = json.loads(validated.stdout)
    failed = {c["code"]: c for c in report["checks"] if c["status"] == "failed"}
    assert validated.returncode == 1
    assert "ValueError: not trained yet" in failed["SCR008"]["message"]
    assert failed["SCR008"]["location"] == "scorer.py:7"


@pytest.mark.slow
def test_a_script_that_hangs_at_import_is_one_line_bounded_by_the_timeout_and_writes_nothing(
    tmp_path: Path,
) -> None:
    root = folder(tmp_path, {"model.py": HANGING_MODEL})
    before = snapshot(root)
    started = time.monotonic()

    line = one_error_line(init(root, "--timeout", "6"), progress=True)

    assert time.monotonic() - started < 150
    assert "the model did not load and answer its request in the sandbox" in line
    assert "--no-trace" in line
    assert "did not finish within 6 s" in line and "nothing was written" in line
    assert snapshot(root) == before


# --- what init writes ------------------------------------------------------------------------


def test_dry_run_writes_nothing_and_force_shows_the_differences(tmp_path: Path) -> None:
    root = folder(tmp_path, {"forecast.py": PYFUNC, "helpers.py": HELPERS, "log.py": DRIVER})
    (root / "requirements.txt").write_text("mlflow\n", encoding="utf-8")
    before = snapshot(root)

    dry = init(root, "--dry-run", "--no-trace")

    assert dry.returncode == 0, dry.stderr
    assert snapshot(root) == before
    assert "would write model.yaml" in dry.stdout
    assert "script: forecast.py" in dry.stdout
    assert "kept requirements.txt as it was (--force to replace it)" in dry.stdout

    kept = init(root, "--no-trace")
    assert kept.returncode == 0, kept.stderr
    assert (root / "requirements.txt").read_text(encoding="utf-8") == "mlflow\n"
    assert "requirements: requirements.txt  # kept as it was" in (root / "model.yaml").read_text()

    forced = init(root, "--force", "--no-trace")
    assert forced.returncode == 0, forced.stderr
    assert "--- a/requirements.txt\n+++ b/requirements.txt\n" in forced.stdout
    assert "-mlflow\n" in forced.stdout
    assert "+mlflow==" in forced.stdout
    assert not [p.name for p in root.iterdir() if p.name.endswith(".tmp")]


def test_with_nox_and_pre_commit_write_the_template_s_files(tmp_path: Path) -> None:
    root = folder(tmp_path, {"forecast.py": PYFUNC, "helpers.py": HELPERS, "log.py": DRIVER})

    result = init(root, "--with-nox", "--with-pre-commit", "--no-trace")

    assert result.returncode == 0, result.stderr
    noxfile = (root / "noxfile.py").read_text(encoding="utf-8")
    assert "{{" not in noxfile and "{%" not in noxfile
    compile(noxfile, "noxfile.py", "exec")
    assert "@nox.session" in noxfile
    hooks = yaml.safe_load((root / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    (repo,) = hooks["repos"]
    validate = next(hook for hook in repo["hooks"] if hook["id"] == "mfc-validate")
    pins = [
        line.split()[0]
        for line in (root / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    assert validate["additional_dependencies"][1:] == pins
    # the pre-commit hook installs what the requirements pin (DEP012)
    report = check_command.run(root, str(root))
    assert [(f.code, f.message) for f in report.checks if f.status == "failed"] == []


HEAVY_PROGRAM = """
import contextlib, io, json, sys
import validator.cli
with contextlib.redirect_stdout(io.StringIO()):
    status = validator.cli.main(["init", sys.argv[1], "--no-trace"])
heavy = sorted({name.split(".")[0] for name in sys.modules} & {"mlflow", "pandas", "numpy"})
print(json.dumps({"status": status, "heavy": heavy}))
"""


def test_init_imports_neither_mlflow_nor_pandas(tmp_path: Path) -> None:
    # an agent: its request is MLflow's own, read from mlflow's files without importing it
    agent = (
        "import mlflow\nfrom mlflow.pyfunc import ResponsesAgent\n\n\n"
        "class Agent(ResponsesAgent):\n    def predict(self, request):\n        return None\n\n\n"
        "mlflow.models.set_model(Agent())\n"
    )
    root = folder(tmp_path, {"agent.py": agent})

    process = subprocess.run(
        [sys.executable, "-c", HEAVY_PROGRAM, str(root)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert process.returncode == 0, process.stderr
    assert json.loads(process.stdout) == {"status": 0, "heavy": []}
    example = json.loads((root / "input_example.json").read_text(encoding="utf-8"))
    assert example == {"input": [{"role": "user", "content": "Hello!"}]}

"""The gate never opens by accident: whatever the model's code does (exit, hang, crash, read
standard input, start processes, read the caller's secrets), a whole `validate` or `register`
ends with status 1 (or 130 when interrupted), writes its report, leaves no run RUNNING, no
process and nothing in the temporary folder, and copies no secret anywhere."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import GOOD_MODEL, REPO_ROOT, ProjectFactory

pytestmark = pytest.mark.slow

LOAD = "        self.weights = np.array([0.5, 1.5])"
PREDICT = '        x = model_input[["a", "b"]].to_numpy(dtype=float)'
SET_MODEL = "mlflow.models.set_model(Scorer())"


@dataclass
class Outcome:
    code: int
    report: dict[str, object]
    printed: str
    tmp: Path

    def check(self, code: str) -> dict[str, str]:
        checks = self.report["checks"]
        assert isinstance(checks, list)
        return next(check for check in checks if check["code"] == code)

    def failed(self) -> list[str]:
        checks = self.report["checks"]
        assert isinstance(checks, list)
        return [check["code"] for check in checks if check["status"] == "failed"]


def _environ(tmp: Path, extra: dict[str, str] | None) -> dict[str, str]:
    env = {**os.environ, "TMPDIR": str(tmp), **(extra or {})}
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


def _run(
    project: Path,
    *args: str,
    command: str = "validate",
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> Outcome:
    """COMMAND on PROJECT as a whole process, with its own empty TMPDIR and an open stdin."""
    tmp = project.parent / f"{project.name}-tmp"
    tmp.mkdir()
    output = project.parent / f"{project.name}-report.json"
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "validator", command, str(project)),
            *("--format", "json", "--output", str(output), *args),
        ],
        env=_environ(tmp, env),
        stdin=subprocess.PIPE,  # open and never written: a model that reads it must not hang us
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        printed, _ = process.communicate(timeout=timeout)
    finally:
        process.kill()
    assert "Traceback" not in printed, printed
    report = json.loads(output.read_text()) if output.exists() else {}
    return Outcome(process.returncode, report, printed, tmp)


def _statuses(project: Path) -> list[str]:
    with sqlite3.connect(project / ".mlflow" / "mlflow.db") as connection:
        return [row[0] for row in connection.execute("select status from runs")]


def _lingering(mark: str) -> list[str]:
    """Processes whose command line or environment holds MARK."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            text = (proc / "cmdline").read_bytes() + (proc / "environ").read_bytes()
        except OSError:
            continue
        if mark.encode() in text:
            found.append(text.split(b"\0")[0].decode(errors="replace"))
    return found


def _assert_clean(outcome: Outcome, project: Path, *marks: str) -> None:
    """No run RUNNING, nothing in the temporary folder, no process of the run left."""
    assert "RUNNING" not in _statuses(project)
    assert list(outcome.tmp.iterdir()) == []
    deadline = time.monotonic() + 5
    while _lingering(str(outcome.tmp)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _lingering(str(outcome.tmp)) == []
    for mark in marks:
        assert _lingering(mark) == []


def test_a_script_that_calls_sys_exit_fails_at_its_line(make_project: ProjectFactory) -> None:
    source = GOOD_MODEL.replace("import mlflow\n", "import sys\n\nimport mlflow\n\nsys.exit(0)\n")
    project = make_project({"model.py": source})
    outcome = _run(project)
    check = outcome.check("SCR007")
    assert outcome.code == 1 and check["status"] == "failed", outcome.printed
    assert "sys.exit(0)" in check["message"]
    line = source.splitlines().index("sys.exit(0)") + 1
    assert check["location"] == f"model.py:{line}"
    assert outcome.report["status"] == "failed"
    assert _statuses(project) == ["FAILED"]
    _assert_clean(outcome, project)


def test_a_script_that_calls_os_exit_fails_at_its_line(make_project: ProjectFactory) -> None:
    source = GOOD_MODEL.replace("import mlflow\n", "import os\n\nimport mlflow\n\nos._exit(0)\n")
    project = make_project({"model.py": source})
    outcome = _run(project)
    check = outcome.check("SCR007")
    assert outcome.code == 1 and check["status"] == "failed", outcome.printed
    assert "os._exit with status 0" in check["message"]
    assert check["location"] == f"model.py:{source.splitlines().index('os._exit(0)') + 1}"
    assert _statuses(project) == ["FAILED"]
    _assert_clean(outcome, project)


def test_register_refuses_a_script_that_exits(make_project: ProjectFactory) -> None:
    source = GOOD_MODEL.replace("import mlflow\n", "import sys\n\nimport mlflow\n\nsys.exit(0)\n")
    project = make_project({"model.py": source})
    outcome = _run(project, command="register")
    assert outcome.code == 1, outcome.printed
    assert outcome.check("SCR007")["status"] == "failed"
    assert outcome.check("REG001")["status"] == "failed"
    assert outcome.report["model_uri"] is None
    with sqlite3.connect(project / ".mlflow" / "mlflow.db") as connection:
        assert connection.execute("select count(*) from model_versions").fetchone() == (0,)
    _assert_clean(outcome, project)


def test_a_load_context_that_hangs_fails_at_the_time_limit(make_project: ProjectFactory) -> None:
    source = GOOD_MODEL.replace(LOAD, "        import time\n        time.sleep(600)\n" + LOAD)
    # the limit from model.yaml: a model that loads slowly says so where it is declared
    project = make_project({"model.py": source, "model.yaml": "name: tiny-scorer\ntimeout: 8\n"})
    started = time.monotonic()
    outcome = _run(project)
    assert time.monotonic() - started < 120
    check = outcome.check("SCR007")
    assert outcome.code == 1 and check["status"] == "failed", outcome.printed
    assert "did not finish within 8 s" in check["message"]
    assert "timeout" in check["hint"]
    assert _statuses(project) == ["FAILED"]
    _assert_clean(outcome, project)


def test_timeout_on_the_command_line_wins(make_project: ProjectFactory) -> None:
    source = GOOD_MODEL.replace(LOAD, "        import time\n        time.sleep(600)\n" + LOAD)
    project = make_project({"model.py": source, "model.yaml": "name: tiny-scorer\ntimeout: 500\n"})
    outcome = _run(project, "--timeout", "6")
    assert "did not finish within 6 s" in outcome.check("SCR007")["message"]
    _assert_clean(outcome, project)


def test_stdin_processes_chdir_and_a_flood_of_output_do_not_reach_us(
    make_project: ProjectFactory,
) -> None:
    mark = f"{4000 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 10**6}"
    load = (
        "        import os, subprocess, sys\n"
        "        sys.stdin.read()\n"  # closed for the model's code: returns at once
        f"        subprocess.Popen(['sleep', '{mark}'])\n"  # ended with the worker
        "        os.chdir('/')\n"
        "        os.environ['ADDED_BY_THE_MODEL'] = '1'\n"
        "        sys.stdout.write('x' * 30_000_000)\n"
        "        subprocess.run(['true'], check=True)\n"  # a command found on PATH by name
    )
    project = make_project({"model.py": GOOD_MODEL.replace(LOAD, load + LOAD)})
    outcome = _run(project)
    assert outcome.code == 0, outcome.printed
    assert len(outcome.printed) < 10_000
    assert _statuses(project) == ["FINISHED"]
    _assert_clean(outcome, project, mark)


def test_the_model_never_sees_the_callers_secrets_and_reports_never_copy_them(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    aws, password, declared = (f"tok{uuid.uuid4().hex}" for _ in range(3))
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text(f"[default]\naws_secret_access_key = {aws}\n")
    predict = (
        "        import os\n"
        "        from pathlib import Path\n"
        "        seen = os.environ.get('AWS_SECRET_ACCESS_KEY', '') + "
        "os.environ.get('MLFLOW_TRACKING_PASSWORD', '')\n"
        "        creds = Path.home() / '.aws' / 'credentials'\n"
        "        seen += creds.read_text() if creds.exists() else ''\n"
        "        if seen:\n"
        "            raise PermissionError(f'upstream refused {seen}')\n"
        "        if model_input['a'].iloc[0] > 100:\n"
        "            raise PermissionError('refused key ' + os.environ['MODEL_API_KEY'])\n"
    )
    yaml = (
        "name: tiny-scorer\nenv:\n  - name: MODEL_API_KEY\n    secret: true\n"
        "    description: the upstream key\n"
    )
    example = json.dumps({"dataframe_split": {"columns": ["a", "b"], "data": [[101.0, 2.0]]}})
    project = make_project(
        {
            "model.py": GOOD_MODEL.replace(PREDICT, predict + PREDICT),
            "model.yaml": yaml,
            "input_example.json": example,
        }
    )
    env = {
        "HOME": str(home),
        # the sandbox's and uv's caches stay where they were: only the model's HOME is new
        "XDG_CACHE_HOME": os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache")),
        "AWS_SECRET_ACCESS_KEY": aws,
        "MLFLOW_TRACKING_PASSWORD": password,
        "MODEL_API_KEY": declared,
    }
    outcome = _run(project, env=env)
    # the declared key reaches the model, whose error quotes it: the report shows ***
    for code in ("SCR008", "SBX003"):
        check = outcome.check(code)
        assert outcome.code == 1 and check["status"] == "failed", outcome.printed
        assert "refused key ***" in check["message"]
    assert "upstream refused" not in json.dumps(outcome.report)  # nothing of the caller's
    for secret in (aws, password, declared):
        assert secret not in outcome.printed
        for path in project.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path
        report_file = project.parent / f"{project.name}-report.json"
        assert secret not in report_file.read_text()
    _assert_clean(outcome, project)


def test_an_interrupt_while_logging_ends_the_run_killed(make_project: ProjectFactory) -> None:
    source = GOOD_MODEL.replace(LOAD, "        import time\n        time.sleep(120)\n" + LOAD)
    project = make_project({"model.py": source})
    tmp = project.parent / "interrupted-tmp"
    tmp.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "validator", "validate", str(project)],
        env=_environ(tmp, None),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            database = project / ".mlflow" / "mlflow.db"
            try:
                if database.exists() and "RUNNING" in _statuses(project):
                    break
            except sqlite3.OperationalError:
                pass  # the store is being created: its tables are not there yet
            time.sleep(0.2)
        time.sleep(2)  # the script is running now, in the logging worker
        process.send_signal(signal.SIGTERM)
        printed, _ = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130, printed
    assert "Traceback" not in printed
    assert _statuses(project) == ["KILLED"]
    outcome = Outcome(130, {}, printed, tmp)
    _assert_clean(outcome, project)


def test_a_batch_gives_each_project_its_verdict_whatever_one_does(tmp_path: Path) -> None:
    def write(name: str, model: str) -> Path:
        root = tmp_path / "projects" / name
        root.mkdir(parents=True)
        from tests.conftest import GOOD_FILES

        for relative, text in {**GOOD_FILES, "model.py": model}.items():
            (root / relative).write_text(text)
        (root / "model.yaml").write_text(f"name: {name}\n")
        return root

    crash = "import os, signal\n\nos.kill(os.getpid(), signal.SIGSEGV)\n"
    hang = GOOD_MODEL.replace(LOAD, "        import time\n        time.sleep(600)\n" + LOAD)
    projects = [
        write("crashes", GOOD_MODEL.replace("import mlflow\n", "import mlflow\n" + crash)),
        write("hangs", hang),
        write("works", GOOD_MODEL),
    ]
    tmp = tmp_path / "batch-tmp"
    tmp.mkdir()
    output = tmp_path / "batch.json"
    result = subprocess.run(
        [
            *(sys.executable, "-m", "validator", "validate", *map(str, projects)),
            *("--timeout", "10", "--format", "json", "--output", str(output)),
        ],
        env=_environ(tmp, None),
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    reports = {Path(r["project"]).name: r for r in json.loads(output.read_text())["reports"]}
    assert reports["works"]["status"] == "passed"
    by_code = {
        name: {c["code"]: c for c in reports[name]["checks"]} for name in ("crashes", "hangs")
    }
    assert "killed by SIGSEGV" in by_code["crashes"]["SCR007"]["message"]
    assert "did not finish within 10 s" in by_code["hangs"]["SCR007"]["message"]
    for project in projects:
        assert "RUNNING" not in _statuses(project)
    assert list(tmp.iterdir()) == []


def test_a_secret_the_stream_yields_is_never_shown(make_project: ProjectFactory) -> None:
    token = f"tok{uuid.uuid4().hex}"
    stream = (
        "\n"
        "    def predict_stream(self, context, model_input, params=None):\n"
        "        import os\n"
        "        yield 'the token is ' + os.environ['MODEL_TOKEN']\n"
        "        yield 'and that is all'\n"
    )
    source = GOOD_MODEL.replace(
        "\n\nmlflow.models.set_model", stream + "\n\nmlflow.models.set_model"
    )
    yaml = "name: tiny-scorer\nenv:\n  - name: MODEL_TOKEN\n    secret: true\n"
    project = make_project({"model.py": source, "model.yaml": yaml})
    outcome = _run(project, "--verbose", env={"MODEL_TOKEN": token})
    check = outcome.check("SBX007")
    assert check["status"] == "passed", outcome.printed
    assert "the token is ***" in check["message"]
    assert token not in outcome.printed
    assert token not in (project.parent / f"{project.name}-report.json").read_text()
    for path in project.rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path
    _assert_clean(outcome, project)


def _tree(root: Path) -> dict[str, bytes | None]:
    """Every path under ROOT but the embedded store, with its bytes (None: a folder)."""
    return {
        path.relative_to(root).as_posix(): None if path.is_dir() else path.read_bytes()
        for path in root.rglob("*")
        if ".mlflow" not in path.relative_to(root).parts
    }


def test_validating_leaves_the_project_as_it_was(make_project: ProjectFactory) -> None:
    source = GOOD_MODEL.replace("import mlflow\n", "import mlflow\nfrom helpers import weights\n")
    source = source.replace(LOAD, "        self.weights = np.array(weights())")
    project = make_project(
        {
            "model.py": source,
            "helpers.py": "def weights() -> list[float]:\n    return [0.5, 1.5]\n",
            "model.yaml": "name: tiny-scorer\ncode_paths: [helpers.py]\n",
        }
    )
    before = _tree(project)
    # bytecode may be written here, as on most machines: none may land in the project
    outcome = _run(project, env={"PYTHONDONTWRITEBYTECODE": ""})
    assert outcome.code == 0, outcome.printed
    assert _tree(project) == before
    _assert_clean(outcome, project)


def test_a_secret_in_a_shipped_file_name_fails_before_logging(
    make_project: ProjectFactory,
) -> None:
    token = f"tok{uuid.uuid4().hex}"
    yaml = (
        "name: tiny-scorer\ncode_paths: [cache]\n"
        "env:\n  - name: MODEL_TOKEN\n    secret: true\n    required: false\n"
    )
    project = make_project({"model.yaml": yaml, f"cache/token-{token}.json": "{}\n"})
    outcome = _run(project, env={"MODEL_TOKEN": token})
    # found from the files (ENV011), so nothing is logged and ENV009 does not report it again
    check = outcome.check("ENV011")
    assert outcome.code == 1 and check["status"] == "failed", outcome.printed
    assert "MODEL_TOKEN is in the name of cache/token-***.json" in check["message"]
    assert outcome.check("ENV009")["status"] == "skipped"
    assert token not in outcome.printed
    assert token not in (project.parent / f"{project.name}-report.json").read_text()
    assert not (project / ".mlflow").exists()  # no store, no run: the secret reached nothing
    assert list(outcome.tmp.iterdir()) == []

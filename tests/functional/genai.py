"""Helpers for the GenAI slow tests: one environment with MLflow, LangChain and LlamaIndex for the
session, the validator run as a whole process from it, and MLflow's real scoring server."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.functional.server import _stop, free_port
from tests.pins import pin

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECTS = REPO_ROOT / "tests" / "genai_projects"

# what the projects of tests/genai_projects pin: the environment logs and serves all of them.
# mlflow.langchain.log_model imports `langchain` (not only langchain-core) to log a chain.
ENV_REQUIREMENTS = tuple(
    pin(name) for name in ("mlflow", "langchain", "langchain-core", "llama-index-core")
)
BUILD_TIMEOUT = 1200
VALIDATE_TIMEOUT = 1200
SERVE_START_TIMEOUT = 120
REQUEST_TIMEOUT = 60


# what nox exports to a uv session: uv then targets that environment whatever is activated
UV_SESSION = ("UV_PYTHON", "UV_PROJECT_ENVIRONMENT")


@dataclass(frozen=True)
class GenAIEnv:
    """A virtual environment holding ENV_REQUIREMENTS and this repository (editable), and the
    validator cache the session's validate runs share."""

    root: Path
    cache: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"

    def environ(self, **extra: str) -> dict[str, str]:
        """The environment of a process run from the venv: its bin/ first on PATH (`mlflow models
        serve` execs uvicorn), no tracking URI or validator cache inherited from the caller, and
        none of the uv settings an enclosing nox session exports (UV_PYTHON names the session's
        environment: `--env-manager uv` would install the model's requirements there, not into
        the environment MLflow made, whatever its activation says)."""
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"MLFLOW_TRACKING_URI", "MFC_VALIDATOR_CACHE", "VIRTUAL_ENV", *UV_SESSION}
        }
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(self.root)
        env["MFC_VALIDATOR_CACHE"] = str(self.cache)
        env.update(extra)
        return env


def uv_command() -> list[str]:
    """The uv installed beside the running Python (a dependency of the repo), else uv on PATH,
    else `python -m uv`."""
    beside = Path(sys.executable).parent / "uv"
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("uv")
    return [found] if found else [sys.executable, "-m", "uv"]


def run_group(
    command: list[str],
    *,
    timeout: float,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """subprocess.run in a session of its own: on a timeout (or an interrupt) the whole process
    group is killed, not only COMMAND, so no sandbox or build process outlives the test."""
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as expired:
        _kill_group(process)
        stdout, stderr = process.communicate()
        raise subprocess.TimeoutExpired(command, timeout, stdout, stderr) from expired
    finally:
        _kill_group(process)
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def _kill_group(process: subprocess.Popen[str]) -> None:
    """SIGKILL to what is left of the group PROCESS leads, then reap PROCESS."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


def build_env(folder: Path, timeout: float = BUILD_TIMEOUT) -> GenAIEnv:
    """Make the venv FOLDER/venv with uv; the validator cache is FOLDER/cache."""
    root = folder / "venv"
    uv = uv_command()
    deadline = time.monotonic() + timeout
    steps = [
        [*uv, "venv", "--quiet", "--python", sys.executable, str(root)],
        [
            *uv,
            "pip",
            "install",
            "--quiet",
            # PYTHONDONTWRITEBYTECODE may be set: without .pyc files every process of the venv
            # would compile mlflow again
            "--compile-bytecode",
            "--python",
            str(root / "bin" / "python"),
            *ENV_REQUIREMENTS,
            "-e",
            str(REPO_ROOT),
        ],
    ]
    for step in steps:
        result = run_group(step, timeout=max(1.0, deadline - time.monotonic()))
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(step)} failed ({result.returncode}):\n{result.stderr[-4000:]}"
            )
    cache = folder / "cache"
    cache.mkdir()
    return GenAIEnv(root, cache)


@pytest.fixture(scope="session")
def genai_env(tmp_path_factory: pytest.TempPathFactory) -> GenAIEnv:
    """One environment for the whole run: xdist workers share it, the first one builds it."""
    from filelock import FileLock

    # under xdist, the base temp is per worker and its parent is the run's
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder = shared / "genai-env"
    with FileLock(str(shared / "genai-env.lock")):
        if not (folder / "ready").is_file():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            built = build_env(folder)
            (folder / "ready").write_text("")
            return built
    return GenAIEnv(folder / "venv", folder / "cache")


def copy_project(name: str, destination: Path) -> Path:
    """A copy of tests/genai_projects/NAME at DESTINATION: the tests never write in the repo."""
    shutil.copytree(PROJECTS / name, destination)
    return destination


def tracking_uri(project: Path) -> str:
    """The store validate logs to when given no tracking URI."""
    return f"sqlite:///{project / '.mlflow' / 'mlflow.db'}"


@dataclass(frozen=True)
class Validation:
    code: int
    report: dict[str, Any]
    stdout: str
    stderr: str
    seconds: float

    def checks(self, status: str | None = None) -> dict[str, dict[str, Any]]:
        """The report's checks by code, only those of STATUS when given."""
        return {
            check["code"]: check
            for check in self.report.get("checks", [])
            if status is None or check["status"] == status
        }

    def describe(self) -> str:
        """What went wrong, for assertion messages: the checks that failed or warned (skipped
        ones are only counted), and stderr."""
        skipped = len(self.checks("skipped"))
        lines = [
            f"exit {self.code}, status {self.report.get('status')!r}, {skipped} check(s) skipped"
        ]
        for code, check in self.checks().items():
            if check["status"] not in {"passed", "skipped"}:
                lines.append(
                    f"  {code} {check['status']} at {check.get('location')}: {check.get('message')}"
                )
        if self.stderr.strip():
            lines.append("stderr:\n" + textwrap.indent(self.stderr[-3000:], "  "))
        return "\n".join(lines)


def validate(
    env: GenAIEnv,
    project: Path,
    *extra: str,
    timeout: float = VALIDATE_TIMEOUT,
    variables: dict[str, str] | None = None,
) -> Validation:
    """`mfc-validator validate PROJECT --format json --output FILE EXTRA` from the env's bin/, as
    a whole process; the report goes beside the project."""
    output = project.parent / f"{project.name}-report.json"
    output.unlink(missing_ok=True)
    command = [
        str(env.bin / "mfc-validator"),
        "validate",
        str(project),
        "--format",
        "json",
        "--output",
        str(output),
        *extra,
    ]
    started = time.monotonic()
    environ = env.environ(**(variables or {}))
    result = run_group(command, cwd=project.parent, env=environ, timeout=timeout)
    seconds = time.monotonic() - started
    if not output.is_file():
        raise AssertionError(
            f"no report from {' '.join(command)} (exit {result.returncode}):\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    report = json.loads(output.read_text(encoding="utf-8"))
    return Validation(result.returncode, report, result.stdout, result.stderr, seconds)


# a model logged the way the validator will log it: the flavor's own log_model given the script
_LOG_SCRIPT = """\
import json, sys
import mlflow
import yaml

project = sys.argv[1]
config = yaml.safe_load(open(f"{project}/model.yaml")) or {}
flavor = config.get("flavor", "pyfunc")
script = f"{project}/{config.get('script', 'model.py')}"
requirements = f"{project}/{config.get('requirements', 'requirements.txt')}"
mlflow.set_experiment("genai-tests")
with mlflow.start_run() as run:
    if flavor == "langchain":
        info = mlflow.langchain.log_model(
            lc_model=script, name="model", pip_requirements=requirements
        )
    elif flavor == "llama_index":
        engine_type = (config.get("flavor_options") or {}).get("engine_type", "query")
        info = mlflow.llama_index.log_model(
            llama_index_model=script,
            name="model",
            engine_type=engine_type,
            pip_requirements=requirements,
        )
    else:
        info = mlflow.pyfunc.log_model(
            python_model=script, name="model", pip_requirements=requirements
        )
model = mlflow.pyfunc.load_model(info.model_uri)
print(json.dumps({"model_uri": info.model_uri, "run_id": run.info.run_id}))
"""


def log_model(env: GenAIEnv, project: Path, store: str, timeout: float = 600) -> str:
    """Log PROJECT from code with its flavor's log_model to the tracking store STORE, without
    the validator, and load it back with mlflow.pyfunc.load_model; return the model URI."""
    result = run_group(
        [str(env.python), "-c", _LOG_SCRIPT, str(project)],
        cwd=project.parent,
        env=env.environ(MLFLOW_TRACKING_URI=store),
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"logging {project.name} failed:\n{result.stderr[-4000:]}")
    uri: str = json.loads(result.stdout.strip().splitlines()[-1])["model_uri"]
    return uri


def _pinged(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/ping", timeout=2) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


@contextlib.contextmanager
def serving(
    env: GenAIEnv,
    model_uri: str,
    store: str,
    cwd: Path,
    timeout: float = SERVE_START_TIMEOUT,
    env_manager: str = "local",
    **extra: str,
) -> Iterator[str]:
    """`mlflow models serve -m MODEL_URI --env-manager local` (or ENV_MANAGER: `uv` builds the
    model's own environment from its requirements) from the env, on a free port, with
    MLFLOW_TRACKING_URI=STORE and the EXTRA variables, run in CWD (an empty folder: the model
    cannot lean on the project's files); yield its URL once /ping answers. The server and its
    children (uvicorn) are stopped on the way out, whatever happens."""
    cwd.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        str(env.bin / "mlflow"),
        "models",
        "serve",
        "-m",
        model_uri,
        "--env-manager",
        env_manager,
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
    ]
    log_path = cwd.parent / f"{cwd.name}-serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env.environ(MLFLOW_TRACKING_URI=store, **extra),
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + timeout
            while not _pinged(url):
                if process.poll() is not None or time.monotonic() > deadline:
                    tail = log_path.read_text(errors="replace")[-4000:]
                    raise RuntimeError(f"the scoring server did not answer {url}/ping:\n{tail}")
                time.sleep(0.5)
            yield url
        finally:
            _stop(process)


def post(url: str, payload: bytes, timeout: float = REQUEST_TIMEOUT) -> tuple[int, str]:
    """POST PAYLOAD to URL/invocations as application/json; return (status, body)."""
    request = urllib.request.Request(
        f"{url}/invocations",
        data=payload,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode("utf-8", "replace")


def serve(env: GenAIEnv, model_uri: str, store: str, cwd: Path, payload: bytes) -> tuple[int, str]:
    """Start the scoring server for MODEL_URI, POST PAYLOAD once, stop it: (status, body)."""
    with serving(env, model_uri, store, cwd) as url:
        return post(url, payload)

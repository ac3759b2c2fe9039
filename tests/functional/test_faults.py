"""Faults from outside, injected with real servers on loopback (slow tier): one basic-auth
`mlflow server` for the module, behind a TCP proxy that dies or answers 500 at a chosen request,
and a second proxy that plays a gateway taking MLFLOW_TRACKING_TOKEN. Every process the tests
start has a timeout."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import GOOD_MODEL, ProjectFactory, run_cli
from tests.functional.faults import Proxy, auth_config, proxy
from tests.functional.server import mlflow_server

pytestmark = pytest.mark.slow

USER = "mfc-tester"
UPLOAD = b"PUT /api/2.0/mlflow-artifacts/artifacts/"
DOWNLOAD = b"GET /api/2.0/mlflow-artifacts/artifacts/"
REGISTER = b"POST /api/2.0/mlflow/model-versions/create"
REPORT = b"/validation/report.json"


@dataclass(frozen=True)
class AuthServer:
    url: str
    folder: Path
    password: str
    token: str
    gateway: Proxy  # in front of the server: fails on purpose
    token_gateway: Proxy  # takes the token, passes the server basic auth


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthServer]:
    folder = tmp_path_factory.mktemp("auth-server")
    password, token = f"pw-{secrets.token_hex(12)}", f"tok-{secrets.token_hex(12)}"
    settings = {
        "MLFLOW_AUTH_CONFIG_PATH": str(auth_config(folder, USER)),
        "MLFLOW_AUTH_ADMIN_PASSWORD": password,
        "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(16),
    }
    with (
        mlflow_server(folder, app_name="basic-auth", extra_env=settings) as url,
        proxy(url) as gateway,
        proxy(url) as token_gateway,
    ):
        basic = base64.b64encode(f"{USER}:{password}".encode()).decode()
        token_gateway.rewrite = (f"Bearer {token}".encode(), f"Basic {basic}".encode())
        yield AuthServer(url, folder, password, token, gateway, token_gateway)


@pytest.fixture(scope="module")
def cache(shared_cache: Path) -> Path:
    return shared_cache


@pytest.fixture(scope="module")
def process_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """TMPDIR of every command here: searched for secrets at the end."""
    return tmp_path_factory.mktemp("process-tmp")


@dataclass
class Outcome:
    returncode: int
    report: dict[str, Any]
    stderr: str
    elapsed: float

    def check(self, code: str) -> dict[str, Any]:
        found: dict[str, Any] = next(c for c in self.report["checks"] if c["code"] == code)
        return found


def credentials(server: AuthServer) -> dict[str, str]:
    return {"MLFLOW_TRACKING_USERNAME": USER, "MLFLOW_TRACKING_PASSWORD": server.password}


def cli(
    command: str, project: Path, uri: str, cache: Path, tmp: Path, env: dict[str, str], *extra: str
) -> Outcome:
    out = project.parent / f"{project.name}-{command}-{time.monotonic_ns()}.json"
    started = time.monotonic()
    result = run_cli(
        command,
        str(project),
        "--tracking-uri",
        uri,
        "--format",
        "json",
        "--output",
        str(out),
        *extra,
        env={"MFC_VALIDATOR_CACHE": str(cache), "TMPDIR": str(tmp), **env},
        timeout=300,
    )
    elapsed = time.monotonic() - started
    assert "Traceback" not in result.stderr, result.stderr
    assert out.exists(), result.stdout + result.stderr
    return Outcome(result.returncode, json.loads(out.read_text()), result.stderr, elapsed)


def client(server: AuthServer) -> Any:
    from mlflow import MlflowClient

    os.environ.update(credentials(server))  # this test process only
    return MlflowClient(tracking_uri=server.url, registry_uri=server.url)


def test_server_failing_halfway_then_auth_validate_and_register(
    server: AuthServer,
    make_project: ProjectFactory,
    cache: Path,
    process_tmp: Path,
    tmp_path: Path,
) -> None:
    project = make_project({"model.yaml": "name: faulty-scorer\n"})
    gateway, auth = server.gateway, credentials(server)
    gateway.reset()
    began = tmp_path / "began"  # what the environment cache holds from before is not searched
    began.touch()

    # the server answers 500 while the model is downloaded for the sandbox: exit 2, run FAILED
    gateway.fail_on(DOWNLOAD, "500")
    unread = cli("validate", project, gateway.url, cache, process_tmp, auth)
    gateway.reset()
    assert unread.returncode == 2, unread.report
    message = unread.check("REG004")["message"]
    assert "failed while downloading the logged model for the sandbox" in message
    assert "HTTP 5xx" in message and f"run {unread.report['run_id']} ended FAILED" in message
    assert client(server).get_run(unread.report["run_id"]).info.status == "FAILED"

    # the server dies when the report is recorded, after every check ran: exit 2 all the same
    gateway.fail_on(REPORT, "die")
    unrecorded = cli("validate", project, gateway.url, cache, process_tmp, auth)
    gateway.reset()
    assert unrecorded.returncode == 2 and unrecorded.report["status"] == "failed"
    left_open = unrecorded.report["run_id"]
    message = unrecorded.check("REG004")["message"]
    assert "failed while recording the report and the verdict in the run" in message
    assert f"run {left_open} was left open (RUNNING)" in message
    assert unrecorded.check("SBX003")["status"] == "passed"  # the sandbox did run

    # the server dies while the model's files are uploaded: exit 2, the report says where
    gateway.fail_on(UPLOAD, "die")
    died = cli("validate", project, gateway.url, cache, process_tmp, auth)
    assert gateway.seen == [UPLOAD]
    assert died.returncode == 2, died.report
    failure = died.check("REG004")
    assert failure["status"] == "failed"
    run_id = died.report["run_id"]
    assert "failed while logging the model and uploading its files" in failure["message"]
    assert f"run {run_id} was left open (RUNNING)" in failure["message"]
    assert died.check("SBX002")["message"] == "not run: REG004 failed"
    # not MLflow's default retries (7, backoff 2: minutes); generous, for a loaded machine
    assert died.elapsed < 120
    assert client(server).get_run(run_id).info.status == "RUNNING"
    # before it died, the server took the KILLED of the run the report's failure left open
    assert "marked 1 run(s) left RUNNING by earlier validations KILLED" in died.stderr
    assert client(server).get_run(left_open).info.status == "KILLED"

    # nothing half-uploaded is ever registered
    gateway.reset()
    refused = cli("register", project, gateway.url, cache, process_tmp, auth, "--require-validated")
    assert refused.returncode == 1 and refused.check("REG001")["status"] == "failed"

    # the next validation against a working server marks that run KILLED and says so
    passed = cli("validate", project, gateway.url, cache, process_tmp, auth)
    assert passed.returncode == 0, passed.report
    reaped = passed.check("REG004")["message"]
    assert f"marked 1 run(s) of earlier validations left RUNNING as KILLED: {run_id}" in reaped
    assert "left RUNNING by earlier validations KILLED" in passed.stderr
    assert client(server).get_run(run_id).info.status == "KILLED"

    # registration through a gateway that takes a token, first answering 500: exit 2, nothing
    server.token_gateway.rules.clear()
    server.token_gateway.fail_on(REGISTER, "500")
    token = {"MLFLOW_TRACKING_TOKEN": server.token}
    broke = cli("register", project, server.token_gateway.url, cache, process_tmp, token)
    assert broke.returncode == 2, broke.report
    assert "failed while registering faulty-scorer" in broke.check("REG002")["message"]
    assert client(server).search_model_versions("name = 'faulty-scorer'") == []
    server.token_gateway.rules.clear()
    registered = cli("register", project, server.token_gateway.url, cache, process_tmp, token)
    assert registered.returncode == 0, registered.report
    assert registered.report["model_uri"] == "models:/faulty-scorer/1"

    # a wrong password: exit 2 within 10 s, naming the user, never the password
    started = time.monotonic()
    wrong = run_cli(
        "validate",
        str(project),
        "--tracking-uri",
        server.url,
        env={**auth, "MLFLOW_TRACKING_PASSWORD": "not-the-password"},
        timeout=30,
    )
    assert wrong.returncode == 2 and time.monotonic() - started < 10
    assert f"refuses user '{USER}'" in wrong.stderr and "not-the-password" not in wrong.stderr

    # the secrets are nowhere the validator or the server wrote: reports, the store's files
    # and artifacts, the environment cache, temporary files, the project
    # (of the cache, shared with the other tests and gigabytes of installed packages, the files
    # written since this test began)
    written = [server.folder, process_tmp, project.parent]
    search = ["grep", "-rlF", "-e", server.password, "-e", server.token, *map(str, written)]
    found = subprocess.run(search, capture_output=True, text=True, timeout=120, check=False)
    assert (found.returncode, found.stdout) == (1, ""), found.stdout + found.stderr
    pattern = ["-e", server.password, "-e", server.token]
    newer = ["find", str(cache), "-type", "f", "-newer", str(began)]
    search = [*newer, "-exec", "grep", "-lF", *pattern, "{}", "+"]
    found = subprocess.run(search, capture_output=True, text=True, timeout=120, check=False)
    assert (found.stdout, found.stderr) == ("", ""), found.stdout + found.stderr
    env_files = list((server.folder / "artifacts").rglob("environment_variables.txt"))
    assert all("MLFLOW_TRACKING" not in path.read_text() for path in env_files)


ALLOCATES = GOOD_MODEL.replace(
    "    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:\n",
    "    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:\n"
    "        import resource\n\n"
    "        limit = resource.getrlimit(resource.RLIMIT_AS)[0]\n"
    "        if limit != resource.RLIM_INFINITY:  # in the sandbox, under --max-memory\n"
    "            self.hoard = bytearray(4 * limit)\n",
)
KILLS_ITSELF = ALLOCATES.replace(
    "            self.hoard = bytearray(4 * limit)\n",
    "            import os, signal\n\n            os.kill(os.getpid(), signal.SIGKILL)\n",
)


@pytest.mark.parametrize(
    ("model", "code", "expected"),
    [
        (ALLOCATES, "SBX003", "MemoryError"),
        (
            KILLS_ITSELF,
            "SBX009",
            "killed by SIGKILL while predicting the model: most likely the kernel's OOM killer",
        ),
    ],
    ids=["memory-error", "sigkill"],
)
def test_max_memory_and_a_sandbox_killed_by_a_signal(
    make_project: ProjectFactory,
    cache: Path,
    tmp_path: Path,
    model: str,
    code: str,
    expected: str,
) -> None:
    project = make_project({"model.py": model})
    out = tmp_path / "report.json"
    result = run_cli(
        "validate",
        str(project),
        "--max-memory",
        "3G",
        "--format",
        "json",
        "--output",
        str(out),
        env={"MFC_VALIDATOR_CACHE": str(cache), "MLFLOW_TRACKING_URI": ""},
        timeout=300,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(out.read_text())
    failed = {c["code"]: c for c in report["checks"] if c["status"] == "failed"}
    assert set(failed) == {code}, failed
    assert expected in failed[code]["message"]
    if code == "SBX003":
        assert "out of memory under --max-memory 3G" in failed[code]["message"]

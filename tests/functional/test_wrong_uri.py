"""A wrong tracking URI ends `validate` and `register` with exit 2 in one line naming the URI and
the cause, within 10 s and before anything is logged. Stand-in servers on loopback; nothing here
reaches MLflow's logging, so it runs in the fast tier."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.conftest import ProjectFactory, run_cli
from tests.functional.faults import http_stub, silent_port
from tests.functional.server import free_port


def _fails_fast(
    project: Path, uri: str, *, command: str = "validate", env: dict[str, str] | None = None
) -> str:
    started = time.monotonic()
    result = run_cli(command, str(project), "--tracking-uri", uri, env=env, timeout=30)
    elapsed = time.monotonic() - started
    assert result.returncode == 2, result.stdout + result.stderr
    assert elapsed < 10, f"took {elapsed:.1f} s"
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("mfc-validator: error")]
    assert len(lines) == 1, result.stderr
    assert uri in lines[0]
    assert not (project / ".mlflow").exists()  # nothing was logged anywhere
    return lines[0]


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as opened:
        yield opened


def test_connection_refused(make_project: ProjectFactory) -> None:
    line = _fails_fast(make_project(), f"http://127.0.0.1:{free_port()}")
    assert "connection refused" in line


def test_unknown_host(make_project: ProjectFactory) -> None:
    line = _fails_fast(make_project(), "http://mfc-no-such-host.invalid:5000")
    assert "unknown host 'mfc-no-such-host.invalid'" in line


def test_tls_failure(make_project: ProjectFactory, stack: ExitStack) -> None:
    plain = stack.enter_context(http_stub())  # https:// to a server that speaks plain HTTP
    line = _fails_fast(make_project(), plain.replace("http://", "https://"))
    assert "TLS failure" in line and "http://" in line


def test_timeout(make_project: ProjectFactory, stack: ExitStack) -> None:
    port = stack.enter_context(silent_port())
    # a server that accepts and never answers: waited for up to MLFLOW_HTTP_REQUEST_TIMEOUT
    # (the default: 30 s, as MLflow's own calls then get), then a timeout
    line = _fails_fast(
        make_project(), f"http://127.0.0.1:{port}", env={"MLFLOW_HTTP_REQUEST_TIMEOUT": "2"}
    )
    assert "timeout: no answer within 2 s" in line


@pytest.mark.parametrize(
    ("status", "env", "expected"),
    [
        (401, {}, "asks for credentials; set MLFLOW_TRACKING_USERNAME"),
        (
            401,
            {"MLFLOW_TRACKING_USERNAME": "alice", "MLFLOW_TRACKING_PASSWORD": "pw-never-shown"},
            "refuses user 'alice'",
        ),
        (401, {"MLFLOW_TRACKING_TOKEN": "tok-never-shown"}, "the token in MLFLOW_TRACKING_TOKEN"),
        (403, {"MLFLOW_TRACKING_USERNAME": "bob", "MLFLOW_TRACKING_PASSWORD": "pw2"}, "user 'bob'"),
    ],
)
def test_401_and_403_name_the_user_never_the_secret(
    make_project: ProjectFactory,
    stack: ExitStack,
    status: int,
    env: dict[str, str],
    expected: str,
) -> None:
    server = stack.enter_context(http_stub(status))
    line = _fails_fast(make_project(), server, env=env)
    assert f"HTTP {status}" in line and expected in line
    for secret in ("pw-never-shown", "tok-never-shown", "pw2"):
        assert secret not in line


@pytest.mark.parametrize("status", [200, 404])
def test_not_an_mlflow_server(make_project: ProjectFactory, stack: ExitStack, status: int) -> None:
    server = stack.enter_context(http_stub(status))
    line = _fails_fast(make_project(), server)
    assert "not an MLflow server" in line


def test_register_checks_the_server_first_too(make_project: ProjectFactory) -> None:
    line = _fails_fast(make_project(), f"http://127.0.0.1:{free_port()}", command="register")
    assert "connection refused" in line

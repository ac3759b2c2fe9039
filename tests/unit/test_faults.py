"""The pure logic of faults from outside: what a connection error is called, which failures are
the tracking server's, stale runs, --max-memory sizes, a probe killed by a signal, and the
tracking credentials kept from the sandbox."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.functional.faults import slow_mlflow
from tests.functional.server import free_port
from validator.errors import ValidatorError
from validator.project import config
from validator.sandbox.limits import memory_size, shown
from validator.sandbox.probe import STAGE_MARK
from validator.sandbox.probe_results import PROBE_CODES, probe_checks
from validator.sandbox.runner import ProbeRun, scrubbed_environment
from validator.tracking import run_faults, server_check

GONE = (
    "HTTPConnectionPool(host='127.0.0.1', port=9): Max retries exceeded with url: /x (Caused by "
    "NewConnectionError('<urllib3.connection.HTTPConnection>: Failed to establish a new "
    "connection: [Errno 111] Connection refused'))"
)


def test_a_connection_error_is_named_by_its_cause() -> None:
    assert server_check.store_failure(requests.ConnectionError(GONE)) == (
        "connection refused: nothing listens there"
    )
    timeout = requests.ReadTimeout("read timed out")
    assert "timeout" in server_check.connection_cause(timeout, 5)
    tls = requests.exceptions.SSLError("SSLError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] bad')")
    assert "TLS failure ([SSL: CERTIFICATE_VERIFY_FAILED] bad)" in (
        server_check.connection_cause(tls, 5)
    )


def test_mlflow_giving_up_is_the_servers_failure_and_the_scripts_errors_are_not() -> None:
    from mlflow.exceptions import MlflowException, RestException

    retried = MlflowException(
        "API request to http://127.0.0.1:5000/api/2.0/mlflow/runs/update failed with exception "
        "HTTPConnectionPool(...): Max retries exceeded (Caused by ResponseError('too many 500 "
        "error responses'))"
    )
    assert server_check.store_failure(retried) == (
        "the server answered with errors (HTTP 5xx) on every try"
    )
    refused = RestException({"error_code": "PERMISSION_DENIED", "message": "no write"})
    assert "PERMISSION_DENIED" in (server_check.store_failure(refused) or "")
    try:
        try:
            raise requests.ConnectionError(GONE)
        except requests.ConnectionError as exc:
            raise RuntimeError("while logging") from exc
    except RuntimeError as chained:
        assert server_check.store_failure(chained) is not None
    assert server_check.store_failure(KeyError("weights")) is None
    assert server_check.store_failure(MlflowException("signature mismatch")) is None


def test_mlflows_retries_are_bounded_unless_the_user_set_them() -> None:
    environ = {"MLFLOW_HTTP_REQUEST_TIMEOUT": "600"}
    server_check.bound_http(environ)
    assert environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "600"
    assert environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "2"


def test_stores_not_reached_over_http_are_not_checked() -> None:
    environ: dict[str, str] = {}
    server_check.preflight("sqlite:///nowhere/mlflow.db", environ)
    assert environ == {}


def test_credentials_never_reach_the_sandbox_or_its_build(monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = {
        "MLFLOW_TRACKING_USERNAME": "alice",
        "MLFLOW_TRACKING_PASSWORD": "pw-123",
        "MLFLOW_TRACKING_TOKEN": "tok-456",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MODEL_KEY", "declared")
    # even declared by the model, the tracking server's credentials stay here
    sandbox = scrubbed_environment([*secrets, "MODEL_KEY"])
    assert sandbox["MODEL_KEY"] == "declared"
    assert not set(secrets) & set(sandbox)
    assert not set(secrets) & set(server_check.without_credentials(os.environ))


def test_a_run_is_stale_when_its_process_is_gone_or_its_deadline_passed() -> None:
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(finished.stdout)
    ours = run_faults.owner_tags(timeout=300)
    host = ours[run_faults.OWNER_TAG].split(":")[0]
    now = float(ours[run_faults.DEADLINE_TAG]) - 3000
    assert not run_faults.is_stale(ours, now)  # this very process, alive
    assert run_faults.is_stale({**ours, run_faults.OWNER_TAG: f"{host}:{dead_pid}"}, now)
    elsewhere = {**ours, run_faults.OWNER_TAG: f"another-host:{dead_pid}"}
    assert not run_faults.is_stale(elsewhere, now)  # another machine's: only by its deadline
    assert run_faults.is_stale(elsewhere, now + 4000)
    assert not run_faults.is_stale({}, now + 10**9)  # not the validator's run


def test_max_memory_sizes() -> None:
    assert memory_size("512M") == 512 * 1024**2
    assert memory_size("2G") == memory_size("2g") == memory_size("2GiB") == 2 * 1024**3
    assert memory_size("1.5G") == int(1.5 * 1024**3)
    assert memory_size("800") == 800 * 1024**2
    assert shown(memory_size("3G")) == "3G"
    for bad in ("lots", "100K", "-1G"):
        with pytest.raises(argparse.ArgumentTypeError):
            memory_size(bad)


@pytest.fixture
def project_config(tmp_path: Path) -> config.ProjectConfig:
    from tests.conftest import GOOD_FILES

    for name, text in GOOD_FILES.items():
        (tmp_path / name).write_text(text)
    return config.load(tmp_path)


@pytest.mark.parametrize(
    ("signum", "expected", "fix"),
    [
        (
            signal.SIGKILL,
            "killed by SIGKILL while predicting the model: most likely the kernel's OOM killer",
            "--max-memory",
        ),
        (
            signal.SIGSEGV,
            "killed by SIGSEGV while predicting the model: a crash in native code",
            "the native library that crashes",
        ),
    ],
)
def test_a_probe_killed_by_a_signal_is_named_with_its_likely_cause(
    project_config: config.ProjectConfig, tmp_path: Path, signum: int, expected: str, fix: str
) -> None:
    output = f"{STAGE_MARK} load\nsome print of the model\n{STAGE_MARK} predict\n"
    run = ProbeRun(None, False, output, -signum, 1.0)
    findings = probe_checks(project_config, tmp_path, run, None, 300)
    assert sorted(f.code for f in findings) == sorted(PROBE_CODES)
    [killed] = [f for f in findings if f.status == "failed"]
    assert killed.code == "SBX009" and expected in killed.message
    assert killed.location == "model.py" and fix in (killed.hint or "")


def test_a_probe_that_ends_by_itself_passes_sbx009(
    project_config: config.ProjectConfig, tmp_path: Path
) -> None:
    run = ProbeRun(None, False, f"{STAGE_MARK} load\nFatal Python error", 1, 1.0)
    findings = {f.code: f for f in probe_checks(project_config, tmp_path, run, None, 300)}
    assert findings["SBX009"].status == "passed"
    assert findings["SBX002"].status == "failed"
    assert findings["SBX002"].message.endswith("(exit 1): Fatal Python error")


def test_without_the_childs_exit_status_sbx009_is_skipped_not_passed(
    project_config: config.ProjectConfig, tmp_path: Path
) -> None:
    run = ProbeRun(None, False, "the probe server died", None, 1.0)  # no returncode reached us
    findings = {f.code: f for f in probe_checks(project_config, tmp_path, run, None, 300)}
    assert findings["SBX009"].status == "skipped"
    assert findings["SBX002"].status == "failed"


def test_a_timeout_that_is_not_a_number_is_named() -> None:
    environ = {"MLFLOW_HTTP_REQUEST_TIMEOUT": "30s"}
    with pytest.raises(ValidatorError, match=r"TIMEOUT='30s': expected a number of seconds"):
        server_check.preflight("http://127.0.0.1:9", environ)


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("http://alice:s3cret@example.test:5000/", "http://alice@example.test:5000/"),
        ("https://example.test", "https://example.test"),
        ("http://alice@example.test", "http://alice@example.test"),
        ("sqlite:///tmp/mlflow.db", "sqlite:///tmp/mlflow.db"),
    ],
)
def test_a_password_written_into_the_uri_is_never_shown(uri: str, shown: str) -> None:
    assert server_check.shown_uri(uri) == shown


def test_the_preflight_message_leaves_the_password_out() -> None:
    with pytest.raises(ValidatorError) as raised:
        server_check.preflight("http://alice:s3cret@127.0.0.1:9", {})
    assert "s3cret" not in str(raised.value) and "alice@127.0.0.1:9" in str(raised.value)


def test_a_slow_server_is_waited_for_and_said_to_be_slow(monkeypatch: pytest.MonkeyPatch) -> None:
    # a busy server that answers 5.5 s late: before, the check gave up after 5 s (exit 2)
    monkeypatch.setattr(server_check, "SLOW_NOTICE_S", 1.0)
    said: list[str] = []
    with slow_mlflow(5.5) as url:
        started = time.monotonic()
        server_check.preflight(url, {}, notify=said.append)
        elapsed = time.monotonic() - started
    assert elapsed >= 5.5  # waited for the answer
    assert said == [
        f"the tracking server at {url} has not answered for 1 s; waiting up to 30 s for it "
        "(MLFLOW_HTTP_REQUEST_TIMEOUT)"
    ]


def test_a_refused_connection_fails_at_once_without_waiting() -> None:
    said: list[str] = []
    started = time.monotonic()
    with pytest.raises(ValidatorError, match="connection refused"):
        server_check.preflight(f"http://127.0.0.1:{free_port()}", {}, notify=said.append)
    assert time.monotonic() - started < 2 and said == []


def test_a_server_that_answered_is_not_waited_for_again() -> None:
    # register checks the server, then its registry and its validation use it: one wait in all
    with slow_mlflow(0.5) as url:
        server_check.preflight(url, {})
        started = time.monotonic()
        server_check.preflight(url, {})
        assert time.monotonic() - started < 0.2

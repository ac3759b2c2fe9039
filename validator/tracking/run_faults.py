"""The validation's run when the tracking server fails halfway (REG004): the run is ended FAILED
if the server still answers, else left RUNNING with what the next validation needs to mark it
KILLED. Every run records its owner (a hash of the host name and the process id) and a deadline;
a later validation of the same project marks the validator's RUNNING runs KILLED once their
process is gone (same host) or their deadline has passed (any host)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import time
from collections.abc import Callable
from typing import Protocol

from validator.codes import owned_by
from validator.errors import ValidatorError
from validator.report import Finding, Report, failed, skipped
from validator.tracking.server_check import StoreFailed, shown_uri, store_failure
from validator.tracking.store import ValidationRun, quiet

OWNER_TAG = "mfc.validation.owner"
DEADLINE_TAG = "mfc.validation.deadline"
# beyond the sandbox's --timeout: building an environment of large wheels may take this long
GRACE_S = 3600.0
CODE = "REG004"


class Run(Protocol):
    """The validation's run: in the store's worker itself, or the validator's handle on it."""

    run_id: str
    tracking_uri: str
    ended: bool

    def abandon(self) -> bool: ...


def _host() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:12]


def owner_tags(timeout: float) -> dict[str, str]:
    deadline = time.time() + timeout + GRACE_S
    return {OWNER_TAG: f"{_host()}:{os.getpid()}", DEADLINE_TAG: f"{deadline:.0f}"}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def is_stale(tags: dict[str, str], now: float) -> bool:
    """Whether a RUNNING run with TAGS was left by a validation that is over."""
    if OWNER_TAG not in tags:
        return False  # not the validator's run
    with contextlib.suppress(ValueError):
        if now > float(tags.get(DEADLINE_TAG, "inf")):
            return True
    host, _, pid = tags[OWNER_TAG].partition(":")
    return host == _host() and pid.isdigit() and not _alive(int(pid))


def reap(run: ValidationRun) -> list[str]:
    """Mark the validator's runs of RUN's experiment left RUNNING by validations that are over
    as KILLED; their ids."""
    client = run.mlflow.MlflowClient()
    killed: list[str] = []
    try:
        with quiet():
            experiment_id = client.get_run(run.run_id).info.experiment_id
            running = client.search_runs(
                [experiment_id], filter_string="attributes.status = 'RUNNING'", max_results=200
            )
            now = time.time()
            for other in running:
                if other.info.run_id != run.run_id and is_stale(dict(other.data.tags), now):
                    client.set_terminated(other.info.run_id, "KILLED")
                    killed.append(other.info.run_id)
    except Exception as exc:
        cause = store_failure(exc)
        if cause is None:
            raise
        raise StoreFailed("marking runs of earlier validations KILLED", cause) from None
    return killed


def _failure(run: Run, step: str, cause: str) -> Finding:
    ended = run.abandon()
    left = (
        f"run {run.run_id} ended FAILED"
        if ended
        else f"run {run.run_id} was left open (RUNNING): the next validate against a working "
        "server marks it KILLED"
    )
    return failed(
        CODE,
        f"the tracking server {shown_uri(run.tracking_uri)} failed while {step}: {cause}; {left}",
        None,
        "check the tracking server (its log, its disk, a proxy in front of it), then run "
        "validate again; nothing of this run can be registered",
    )


def store_failed(run: Run, failure: StoreFailed) -> list[Finding]:
    """The inprocess stage's findings when the server failed at FAILURE's step."""
    reason = f"not run: the tracking server failed while {failure.step}"
    others = [skipped(code, reason) for code in owned_by("inprocess") if code != CODE]
    return [_failure(run, failure.step, failure.cause), *others]


def answered(killed: list[str]) -> Finding:
    message = "the tracking server answered every step"
    if killed:
        message += (
            f"; marked {len(killed)} run(s) of earlier validations left RUNNING as KILLED: "
            + ", ".join(killed)
        )
    return Finding(CODE, "passed", message)


def finish(run: Run, report: Report, record: Callable[[], None]) -> None:
    """RECORD the report in RUN (its `finish`); a server that fails then makes REPORT unusable
    (exit status 2), with REG004 naming the step."""
    try:
        record()
    except ValidatorError as exc:
        cause = store_failure(exc) or str(exc)
        finding = _failure(run, "recording the report and the verdict in the run", cause)
        report.checks = [finding if check.code == CODE else check for check in report.checks]
        report.unusable = True

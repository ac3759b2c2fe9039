"""The validation's run and the model's code, each in a worker of the validator's zygote (see
`validator.inprocess.child` and `validator.inprocess.jobs`): the validator's own process never
runs the model's code and never opens the tracking store.

Whatever a worker does, the stage it ran in reports it: a script that exits, a process killed
by a signal, a stage past its time limit, each is a failed check naming the limit, the status or
the line, and the run still ends FAILED (or KILLED on an interrupt).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from validator.errors import ValidatorError
from validator.inprocess import jobs
from validator.inprocess.child import ChildFailed, Worker, Zygote
from validator.inprocess.log_model import Logged, check_signature
from validator.pipeline import Watch, unwatched
from validator.project.config import ProjectConfig
from validator.report import Finding, failed, passed, skipped
from validator.secret_names import looks_secret
from validator.served_env import MLFLOW_DEFAULTS, served_environment
from validator.tracking.server_check import TRACKING_CREDENTIALS, is_http, shown_uri

DEFAULT_TIMEOUT_S = 300.0
# what MLflow's client needs to reach a remote store and its artifacts, besides MLFLOW_*
_REMOTE_STORE = (
    "AWS_",
    "AZURE_",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "REQUESTS_CA_BUNDLE",
    "SSL_CERT_",
    "CURL_CA_BUNDLE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
)
_AFTER_LOG = ("SIG004", "SIG005", "SCR008", "SIG008")


def _warm() -> None:
    # what every validation imports before it runs the model's code (see commands.warm)
    importlib.import_module("validator.commands.warm")


def start_zygote() -> Zygote:
    """The zygote of one validation (or of one register). Call it before this process starts a
    thread or opens the tracking store: the workers are forked from it."""
    quiet = {name: value for name, value in os.environ.items() if not looks_secret(name)}
    return Zygote.start(_warm, {**quiet, **MLFLOW_DEFAULTS})


def model_environment(
    config: ProjectConfig, home: Path, tracking_uri: str | None = None
) -> dict[str, str]:
    """A model worker's environment: what serving gives the model, and MLflow's settings. With
    TRACKING_URI (the logging worker), what MLflow's client needs to log the model there: the
    script runs in the same process, and sees them while MLflow logs it."""
    env = {**served_environment([var.name for var in config.env], home), **MLFLOW_DEFAULTS}
    env["TMPDIR"] = str(home.parent / "tmp")
    if tracking_uri is not None:
        remote = is_http(tracking_uri) or not tracking_uri.startswith(("sqlite:", "file:", "/"))
        for name, value in os.environ.items():
            store = name.startswith("MLFLOW_") and (remote or name not in TRACKING_CREDENTIALS)
            if store or (remote and name.startswith(_REMOTE_STORE)):
                env.setdefault(name, value)
    return env


def model_folders(scratch: Path) -> Path:
    """The empty HOME (and TMPDIR beside it) of the model's workers, under SCRATCH."""
    home = scratch / "home"
    home.mkdir(parents=True, exist_ok=True)
    (scratch / "tmp").mkdir(exist_ok=True)
    return home


# --- the run ----------------------------------------------------------------------------------


class RunHandle:
    """The validation's run, held by the store's worker."""

    def __init__(
        self, worker: Worker, run_id: str, tracking_uri: str, experiment_id: str = ""
    ) -> None:
        self.worker = worker
        self.run_id = run_id
        self.tracking_uri = tracking_uri
        self.experiment_id = experiment_id
        self.ended = False

    def reap(self) -> list[str]:
        result: list[str] = self.worker.call(jobs.reap)
        return result

    def finish(
        self,
        passed: bool,
        files: dict[str, str],
        tags: dict[str, str],
        metrics: dict[str, float] | None = None,
    ) -> None:
        try:
            self.worker.call(jobs.finish, passed, files, tags, metrics or {})
        except ChildFailed as exc:
            raise ValidatorError(
                f"cannot record the report in the tracking store {shown_uri(self.tracking_uri)}:"
                f" the store's process {exc.what()}"
            ) from None
        self.ended = True

    def abandon(self) -> bool:
        try:
            return bool(self.worker.call(jobs.abandon))
        except ChildFailed:
            return False
        finally:
            self.ended = True

    def end(self, status: str) -> None:
        if not self.ended:
            with contextlib.suppress(ChildFailed):
                self.worker.call(jobs.end, status)
            self.ended = True


def _hold_interrupts() -> None:
    # a second Ctrl-C must not cut short the end of the run
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


@contextlib.contextmanager
def validation_run(
    zygote: Zygote,
    config: ProjectConfig,
    tracking_uri: str,
    default_store: bool,
    tags: dict[str, str],
) -> Iterator[RunHandle]:
    """Start the run in a store worker; one left without `finish` ends FAILED, or KILLED when
    an interrupt (Ctrl-C, SIGTERM) ends the validation, even while the run is being made."""
    worker = zygote.worker(dict(os.environ), config.root)
    handle: RunHandle | None = None
    try:
        try:
            run_id, experiment_id = worker.call(
                jobs.open_run, config, tracking_uri, default_store, tags
            )
        except ChildFailed as exc:
            shown = shown_uri(tracking_uri)
            raise ValidatorError(
                f"cannot use the tracking store {shown}: its process {exc.what()}"
            ) from None
        handle = RunHandle(worker, run_id, tracking_uri, experiment_id)
        yield handle
    except KeyboardInterrupt:
        _hold_interrupts()
        with contextlib.suppress(ChildFailed):
            worker.call(jobs.end, "KILLED")  # after the run is made, if that was under way
        if handle is not None:
            handle.ended = True
        raise
    finally:
        if handle is not None and not handle.ended:
            handle.end("FAILED")
        worker.close()


# --- the model's code ---------------------------------------------------------------------------


_DOING = {
    "start": "while starting",
    "log": "while MLflow logged the model",
    "load": "while MLflow loaded the logged model",
    "predict": "while predicting on the input example",
    "evaluate": "while mlflow.models.evaluate ran",
}


def _fix(failure: ChildFailed) -> str:
    if failure.timed_out is not None:
        return (
            f"make it finish within {failure.timed_out:g} s, or give it more time: "
            "`timeout: SECONDS` in model.yaml, or --timeout"
        )
    if failure.status is not None and failure.status < 0:
        if -failure.status == signal.SIGKILL:
            return (
                "it was killed from outside, most often for memory: give the machine more, or "
                "make the model load less"
            )
        return (
            "a native library crashed: check the versions of the packages with compiled code "
            "in requirements.txt"
        )
    return (
        "remove the exit from the model's code: MLflow runs it when it logs, loads and serves "
        "the model, and the serving process would end the same way"
    )


def died(config: ProjectConfig, code: str, failure: ChildFailed, what: str) -> Finding:
    """CODE failed: WHAT (the script, predict) ended, was killed or ran out of time."""
    where = f" (called at {failure.exited_at})" if failure.exited_at else ""
    doing = _DOING.get(failure.stage, f"at stage {failure.stage}")
    return failed(
        code,
        f"{what} {failure.what()} {doing}{where}",
        failure.exited_at or config.script,
        _fix(failure),
    )


def log_and_check(
    zygote: Zygote,
    config: ProjectConfig,
    run: RunHandle,
    download_to: Path,
    scratch: Path,
    timeout: float,
    on_downloaded: Callable[[Path], None],
    watch: Watch = unwatched,
) -> tuple[Logged, Worker | None]:
    """The inprocess stage: the model logged in one worker, then loaded and answered in
    another, which is handed back (for the evaluation) when the model loaded. WATCH: a context
    around each of the two (progress lines)."""
    home = model_folders(scratch)
    logger = zygote.worker(model_environment(config, home, run.tracking_uri), config.root)
    try:
        with watch("logging the model from code (MLflow runs the script)"):
            logged: Logged = logger.call(
                jobs.log,
                config,
                run.run_id,
                run.tracking_uri,
                download_to,
                limit=timeout,
                stage="log",
            )
    except ChildFailed as failure:
        reason = "not known: the script did not finish before the model was logged"
        return Logged(
            findings=[
                died(config, "SCR007", failure, config.script),
                skipped("CFG005", reason),
                *[skipped(code, "the model could not be logged") for code in _AFTER_LOG],
            ],
            run_id=run.run_id,
        ), None
    finally:
        logger.close()
    if logged.model_dir is None:
        reason = "the model could not be logged"
        logged.findings += [skipped(code, reason) for code in _AFTER_LOG]
        return logged, None
    on_downloaded(logged.model_dir)
    signature = check_signature(config, logged)
    checker = zygote.worker(model_environment(config, home), config.root)
    try:
        with watch("loading the logged model and predicting on the example"):
            checked: Logged = checker.call(jobs.check, config, logged, limit=timeout, stage="load")
    except ChildFailed as failure:
        checker.close()
        logged.findings = [passed("CFG005"), signature, *_check_died(config, failure)]
        return logged, None
    checked.findings = [passed("CFG005"), _signature_after(signature, checked), *checked.findings]
    return checked, checker


def _signature_after(signature: Finding, checked: Logged) -> Finding:
    """SIG004 once the example was answered in-process: a model whose predict raised on the
    example has no signature for that reason alone (MLflow infers it by predicting on the
    example while logging), one bug that SCR007 or SCR008 already names."""
    if signature.status != "failed":
        return signature
    cause = next(
        (
            f.code
            for f in checked.findings
            if f.code in ("SCR007", "SCR008") and f.status == "failed"
        ),
        None,
    )
    if cause is None:
        return signature
    return skipped(
        "SIG004",
        f"not judged: {cause} failed, and MLflow infers the signature by predicting on "
        "the example while it logs the model, so it had none to infer from",
    )


def _check_died(config: ProjectConfig, failure: ChildFailed) -> list[Finding]:
    if failure.stage in ("start", "load"):
        reason = "the logged model does not load"
        return [
            died(config, "SCR007", failure, config.script),
            *[skipped(code, reason) for code in ("SIG005", "SCR008", "SIG008")],
        ]
    reason = f"not known: predict {failure.what()}"
    return [
        passed("SCR007"),
        died(config, "SCR008", failure, "predict"),
        *[skipped(code, reason) for code in ("SIG005", "SIG008")],
    ]


def evaluate(
    checker: Worker | None, config: ProjectConfig, logged: Logged, timeout: float
) -> tuple[list[Finding], dict[str, float]]:
    """The evaluation stage, in the worker that loaded the model."""
    from validator.inprocess import evaluation

    if config.evaluation is None or checker is None:
        return evaluation.run(config, logged), {}
    try:
        findings, metrics = checker.call(jobs.evaluate, config, limit=timeout, stage="evaluate")
    except ChildFailed as failure:
        reason = "the model could not be evaluated"
        return [
            died(config, "EVL001", failure, "the evaluation"),
            *[skipped(code, reason) for code in evaluation.JUDGED],
        ], {}
    return findings, metrics

"""`mfc-validator validate`: the static stages, then the model logged from code and checked
in-process, evaluated, its logged files checked, and run in an isolated sandbox."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from validator.checks import secrets
from validator.checks.environment import required_unset, with_trace, written
from validator.checks.logged_files import logged_files_checks
from validator.checks.static import STATIC
from validator.inprocess import isolation, log_model
from validator.inprocess.child import Worker, Zygote
from validator.pipeline import Stage, run_stages
from validator.project import config
from validator.project.content_hash import content_hash
from validator.project.sources import Project
from validator.redact import redact_findings, secret_values
from validator.registry.tags import HASH_TAG, model_tags, validation_metrics, validation_tags
from validator.render.json_report import to_json
from validator.render.markdown import to_markdown
from validator.render.progress import Progress
from validator.render.run_summary import NOTE_TAG, run_description
from validator.report import Finding, Report
from validator.sandbox import stage as sandbox
from validator.tracking import run_faults, server_check, store


@dataclass(frozen=True)
class ValidateOptions:
    tracking_uri: str | None = None
    use_cache: bool = True
    # seconds each stage that runs the model's code may take: --timeout, else model.yaml's
    # timeout, else DEFAULT_TIMEOUT_S
    timeout: float | None = None
    offline: bool = False  # every connection the model opens in the sandbox fails at once
    max_memory: int | None = None  # bytes of address space the sandbox's probe may use
    # environment key -> ready file of a warm probe server shared by several projects' runs
    shared: dict[str, str] = field(default_factory=dict)
    label: str = ""  # "[project] " before each progress line, where several projects run at once

    def sandbox(self) -> sandbox.SandboxOptions:
        return sandbox.SandboxOptions(self.use_cache, self.offline, self.max_memory, self.shared)


@dataclass
class Validation:
    """What the stages of one validation share, filled in as they run."""

    project: Project
    sandbox: sandbox.SandboxState
    options: ValidateOptions
    zygote: Zygote
    timeout: float
    progress: Progress  # what the steps that take a while say, on standard error
    content: str = ""
    run: isolation.RunHandle | None = None
    logged: log_model.Logged | None = None
    checker: Worker | None = None  # the worker where the logged model is loaded
    metrics: dict[str, float] = field(default_factory=dict)  # the evaluation's

    @property
    def payload(self) -> Path:
        return self.project.config.path(self.project.config.input_example).resolve()

    @property
    def model_dir(self) -> Path:
        assert self.logged is not None and self.logged.model_dir is not None
        return self.logged.model_dir


def _static(stage: Stage[Project]) -> Stage[Validation]:
    def run(state: Validation) -> list[Finding]:
        return stage.run(state.project)

    return Stage(stage.name, run, always=stage.always)


def _preflight(state: Validation) -> list[Finding]:
    return required_unset(state.project.config, os.environ)


def _resolution(state: Validation) -> list[Finding]:
    return sandbox.resolution(state.sandbox)


def _inprocess(state: Validation) -> list[Finding]:
    """Open the store and the run, start the sandbox early, log the model and check it, the
    model's code in workers of the zygote."""
    project, options, stack = state.project, state.options, state.sandbox.stack
    log_model.require_flavor(project.config)
    uri, default_store = store.resolve_tracking_uri(project.root, options.tracking_uri)
    # a wrong URI or credentials: exit 2 before anything starts (a slow server: waited for)
    server_check.preflight(uri, notify=state.progress.say)
    if default_store:
        store.prepare_default_store(project.root)
    state.content = content_hash(project.config)
    # the environment is built, and the probe imports mlflow, while the model is being logged
    sandbox.start_early(state.sandbox)
    download = stack.enter_context(store.scratch_folder())
    scratch = stack.enter_context(store.scratch_folder("mfc-worker-"))
    tags = {HASH_TAG: state.content, **run_faults.owner_tags(state.timeout)}
    shown = state.progress
    with shown.step("starting MLflow and opening the run in the tracking store"):
        state.run = stack.enter_context(
            isolation.validation_run(state.zygote, project.config, uri, default_store, tags)
        )

    def on_downloaded(model_dir: Path) -> None:
        # the sandbox loads and predicts while the in-process checks run
        sandbox.start_probe_early(state.sandbox, model_dir, state.payload)

    try:
        killed = state.run.reap()
        if killed:
            shown.say(f"marked {len(killed)} run(s) left RUNNING by earlier validations KILLED")
        state.logged, state.checker = isolation.log_and_check(
            state.zygote,
            project.config,
            state.run,
            download / "model",
            scratch,
            state.timeout,
            on_downloaded,
            shown.step,
        )
    except server_check.StoreFailed as failure:  # REG004: exit 2, the report says the step
        sandbox.stop_early(state.sandbox)
        return run_faults.store_failed(state.run, failure)
    if state.checker is not None:
        stack.callback(state.checker.close)
    return [*state.logged.findings, run_faults.answered(killed)]


def _evaluation(state: Validation) -> list[Finding]:
    assert state.logged is not None
    findings, state.metrics = isolation.evaluate(
        state.checker, state.project.config, state.logged, state.timeout
    )
    return findings


def _logged_files(state: Validation) -> list[Finding]:
    own = frozenset(write.name for _, write in written(state.project))
    return logged_files_checks(state.project.config, state.model_dir, own)


def _interpreter(state: Validation) -> list[Finding]:
    return sandbox.interpreter(state.sandbox, state.model_dir)


def _environment_build(state: Validation) -> list[Finding]:
    return sandbox.environment_build(state.sandbox)


def _probe(state: Validation) -> list[Finding]:
    assert state.logged is not None
    logged = state.logged
    return sandbox.probe(
        state.sandbox, state.model_dir, state.payload, logged.predictions, logged.unstable
    )


STAGES: tuple[Stage[Validation], ...] = (
    *(_static(stage) for stage in STATIC),
    _static(Stage("secrets", secrets.run, always=True)),
    Stage("preflight", _preflight),
    Stage("resolution", _resolution),
    Stage("inprocess", _inprocess),
    Stage("evaluation", _evaluation),
    Stage("logged_files", _logged_files),
    Stage("interpreter", _interpreter),
    Stage("environment_build", _environment_build),
    Stage("probe", _probe),
)


def _with_logging(
    result: dict[str, Any] | None, logged: log_model.Logged | None
) -> dict[str, Any] | None:
    """The probe's RESULT with the variables read while MLflow logged the model (for ENV002 and
    init), when the sandbox ran."""
    if result is None or logged is None:
        return result
    return {**result, "logging_env_reads": logged.env_reads}


def run(
    root: Path,
    display: str,
    options: ValidateOptions,
    zygote: Zygote | None = None,
    progress: Progress | None = None,
    traced: Callable[[dict[str, Any] | None], None] | None = None,
) -> Report:
    """Validate the project at ROOT. ZYGOTE: the caller's (register starts one before it opens
    the store), else one of this validation's own, started before anything else. PROGRESS: where
    the steps that take a while are said [standard error]. TRACED: given the sandbox probe's
    result (what the model read, contacted and imported; None where it did not run), for
    `init`'s trace."""
    started = time.perf_counter()
    shown = progress or Progress.for_stream(sys.stderr, options.label)
    project = Project(config.load(root))
    report = Report("validate", display)
    timeout = options.timeout or project.config.timeout or isolation.DEFAULT_TIMEOUT_S
    with contextlib.ExitStack() as stack:
        if zygote is None:
            zygote = isolation.start_zygote()
            stack.callback(zygote.close)
        box = sandbox.SandboxState(project.config, options.sandbox(), timeout, shown.say, stack)
        state = Validation(project, box, options, zygote, timeout, shown)
        report.checks = run_stages(STAGES, state, watch=shown.stage)
        # a declared variable that a library read in the sandbox is used (ENV002)
        seen = _with_logging(box.traced, state.logged)
        report.checks = with_trace(report.checks, project, seen)
        if traced is not None:
            traced(seen)
        report.checks = redact_findings(report.checks, secret_values(project.config, os.environ))
        report.mark_unusable()
        logged = state.logged
        if logged is not None:
            report.run_id = logged.run_id
            report.model_uri = logged.model_uri
            report.mlflow_version = logged.mlflow_version
        if state.run is not None:
            report.run_id = state.run.run_id  # also when the server failed before logging
            report.experiment_id = state.run.experiment_id or None
            if server_check.is_http(state.run.tracking_uri):
                report.server = server_check.shown_uri(state.run.tracking_uri)  # no password
        if state.run is not None and not state.run.ended:
            report.duration_s = time.perf_counter() - started
            tags = validation_tags(report, state.content)
            tags |= model_tags(project.config, logged.signature if logged else None)
            tags[NOTE_TAG] = run_description(report)
            files = {"report.json": to_json(report), "report.md": to_markdown(report)}
            metrics = {**state.metrics, **validation_metrics(report)}
            run, verdict = state.run, report.status == "passed"
            with shown.step("recording the report in the tracking store"):
                run_faults.finish(run, report, lambda: run.finish(verdict, files, tags, metrics))
    report.duration_s = time.perf_counter() - started
    return report

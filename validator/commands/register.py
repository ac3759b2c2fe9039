"""`mfc-validator register`: register the model, only for content whose validation passed: an
earlier validation found by the content hash, else one made now (unless --require-validated)."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from validator.commands import validate
from validator.inprocess.child import Zygote
from validator.inprocess.isolation import start_zygote
from validator.pipeline import Stage, run_stages
from validator.project import config
from validator.project.content_hash import content_hash
from validator.project.sources import Project
from validator.registry.gate import Candidate, Registry
from validator.render.progress import Progress
from validator.report import Finding, Report, failed
from validator.tracking import server_check
from validator.tracking.store import prepare_default_store, resolve_tracking_uri


@dataclass(frozen=True)
class RegisterOptions:
    allow_breaking: bool = False
    require_validated: bool = False


@dataclass
class Registration:
    """What the register stages share, filled in as they run."""

    root: Path
    display: str
    project: Project
    registry: Registry
    content: str
    validate: validate.ValidateOptions
    options: RegisterOptions
    zygote: Zygote
    progress: Progress
    candidate: Candidate | None = None
    validated: Report | None = None  # the validation made now, when there was none
    registered: str | None = None  # models:/<name>/<version>


def _validated_now(validated: Report, candidate: Candidate | None) -> Finding:
    if validated.status == "failed":
        run = f" (run {validated.run_id})" if validated.run_id else ""
        return failed(
            "REG001",
            f"no earlier validation of this exact content had passed, and validating it now "
            f"failed{run}: a model that fails validation is never registered",
            None,
            "fix the failed checks above, then run register again",
        )
    if candidate is None:
        return failed(
            "REG001",
            "the files changed while they were being validated",
            None,
            "run register again once nothing edits the project",
        )
    return Finding(
        "REG001",
        "passed",
        f"no earlier validation of this exact content had passed, so it was validated now: "
        f"run {validated.run_id} passed",
    )


def _gate(state: Registration) -> list[Finding]:
    """REG001: a passed validation of this exact content, found or made now."""
    state.candidate = state.registry.find_validated(state.content)
    if state.candidate is not None:
        run_id = state.candidate.run_id
        return [Finding("REG001", "passed", f"run {run_id} validated this exact content")]
    if state.options.require_validated:
        return [
            failed(
                "REG001",
                f"no passed validation of this exact content in experiment "
                f"'{state.project.config.name}' (content hash {state.content[:12]}), and "
                "--require-validated was given",
                None,
                "run `mfc-validator validate` on these files first; any edit to model.yaml, the "
                "script, code_paths, artifacts, requirements or the input example needs a new one",
            )
        ]
    state.validated = validate.run(
        state.root, state.display, state.validate, state.zygote, state.progress
    )
    if state.validated.status == "passed":
        state.candidate = state.registry.find_validated(state.content)
    return [_validated_now(state.validated, state.candidate)]


def _registration(state: Registration) -> list[Finding]:
    """SIG007, REG002 and REG003 for registering the candidate."""
    assert state.candidate is not None
    findings, state.registered = state.registry.register(
        state.candidate, state.content, state.options.allow_breaking
    )
    return findings


STAGES: tuple[Stage[Registration], ...] = (
    Stage("gate", _gate),
    Stage("registration", _registration),
)


def run(
    root: Path,
    display: str,
    options: validate.ValidateOptions,
    register: RegisterOptions,
    progress: Progress | None = None,
) -> Report:
    """Register the project at ROOT. PROGRESS: where the steps that take a while are said
    [standard error]."""
    started = time.perf_counter()
    project = Project(config.load(root))
    uri, _ = resolve_tracking_uri(project.root, options.tracking_uri)
    shown = progress or Progress.for_stream(sys.stderr, options.label)
    server_check.preflight(uri, notify=shown.say)  # a wrong URI: exit 2 at once
    # before this process opens the store: a validation forks its workers from it
    zygote = start_zygote()
    try:
        return _run(root, display, project, options, register, zygote, shown, started)
    finally:
        zygote.close()


def _run(
    root: Path,
    display: str,
    project: Project,
    options: validate.ValidateOptions,
    register: RegisterOptions,
    zygote: Zygote,
    progress: Progress,
    started: float,
) -> Report:
    uri, default_store = resolve_tracking_uri(project.root, options.tracking_uri)
    if default_store:
        prepare_default_store(project.root)
    with progress.step("opening the tracking store"):
        registry = Registry(project.config, uri)
    content = content_hash(project.config)
    state = Registration(
        root, display, project, registry, content, options, register, zygote, progress
    )
    findings = run_stages(STAGES, state, watch=progress.stage)
    if state.validated is not None:
        report = replace(state.validated, command="register", checks=state.validated.checks[:])
    else:
        report = Report("register", display)
    report.checks += findings
    report.unusable = report.unusable or registry.store_failed
    report.mlflow_version = registry.mlflow.__version__
    # the report's model_uri is the registered version's, or null when nothing was registered
    report.model_uri = state.registered
    if state.candidate is not None:
        report.run_id = registry.registered_run or state.candidate.run_id
        # the UI's page of the run, when it is the candidate's (a version registered before may
        # come from a run of another experiment)
        if report.run_id == state.candidate.run_id:
            report.experiment_id = state.candidate.experiment_id or None
        else:
            report.experiment_id = None
    report.server = server_check.shown_uri(uri) if server_check.is_http(uri) else None
    report.duration_s = time.perf_counter() - started
    return report

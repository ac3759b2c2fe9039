"""Run the check families in order and build the report."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from validator import config as config_module
from validator.checks import run_static
from validator.content_hash import content_hash
from validator.project import Project
from validator.report import Finding, Report, complete, failed, skipped

if TYPE_CHECKING:
    from validator.registry import Candidate
    from validator.runtime import Logged
    from validator.sandbox import Sandbox

# static failures after which logging the model cannot tell anything more
_BLOCKING = {"CFG001", "SCR001", "SCR002", "SCR006", "SIG001", "SIG002", "SIG003"}
LOGGED_CODES = ("ENV005", "ENV007", "ENV008", "ENV009")
SANDBOX_CODES = ("ENV006", "SBX006", "SBX001")


@dataclass(frozen=True)
class ValidateOptions:
    tracking_uri: str | None = None
    use_cache: bool = True
    timeout: float = 300.0
    quiet: bool = False


def _load(root: Path) -> Project:
    return Project(config_module.load(root))


def run_check(root: Path, display: str) -> Report:
    started = time.perf_counter()
    project = _load(root)
    report = Report("check", display, run_static(project))
    report.unusable = any(f.code == "CFG001" and f.status == "failed" for f in report.checks)
    report.duration_s = time.perf_counter() - started
    return report


def _all_later_codes() -> tuple[str, ...]:
    from validator import evaluation, runtime, sandbox_checks

    return (
        runtime.RUNTIME_CODES
        + evaluation.CODES
        + LOGGED_CODES
        + SANDBOX_CODES
        + sandbox_checks.PROBE_CODES
    )


def run_validate(root: Path, display: str, options: ValidateOptions) -> Report:
    from validator import evaluation, runtime
    from validator.registry import HASH_TAG, model_tags, validation_tags

    started = time.perf_counter()
    project = _load(root)
    report = Report("validate", display, run_static(project))
    blocking = [f for f in report.checks if f.status == "failed" and f.code in _BLOCKING]
    report.unusable = any(f.code == "CFG001" for f in blocking)
    if blocking:
        reason = f"{blocking[0].code} failed, so the model was not logged"
        report.checks += [skipped(code, reason) for code in _all_later_codes()]
        report.duration_s = time.perf_counter() - started
        return report
    uri, default_store = runtime.resolve_tracking_uri(project.root, options.tracking_uri)
    if default_store:
        runtime.prepare_default_store(project.root)
    content = content_hash(project.config)
    with contextlib.ExitStack() as stack:
        # the environment is built and the probe started while the model is being logged
        early = _early_sandbox(project, options)
        if early is not None:
            stack.enter_context(early)
        download = stack.enter_context(runtime.scratch_folder())
        run = stack.enter_context(
            runtime.validation_run(project.config, uri, default_store, {HASH_TAG: content})
        )
        payload = (project.root / project.config.input_example).resolve()

        def start_probe(model_dir: Path) -> None:
            # the sandbox loads and predicts while the in-process checks run
            if early is not None and early.ready() and _fits(early, model_dir):
                early.start(model_dir, payload)

        logged = runtime.log_and_check(project.config, run, download / "model", start_probe)
        report.checks += complete(runtime.RUNTIME_CODES, logged.findings)
        report.run_id = logged.run_id
        report.model_uri = logged.model_uri
        report.mlflow_version = logged.mlflow_version
        if logged.model_dir is None:
            reason = "the model could not be logged"
            report.checks += [
                skipped(c, reason) for c in _all_later_codes() if c not in runtime.RUNTIME_CODES
            ]
        else:
            report.checks += evaluation.run(project.config, logged)
            report.checks += _sandbox(project, logged, options, early, stack)
        report.duration_s = time.perf_counter() - started
        tags = validation_tags(report, content) | model_tags(project.config, logged.signature)
        run.finish(report, tags)
    report.duration_s = time.perf_counter() - started
    return report


@dataclass(frozen=True)
class RegisterOptions:
    allow_breaking: bool = False
    require_validated: bool = False


def run_register(
    root: Path, display: str, options: ValidateOptions, register: RegisterOptions
) -> Report:
    """Register the model, only for content whose validation passed: an earlier validation found
    by the content hash, else one made now (unless REGISTER.require_validated)."""
    from validator import runtime
    from validator.registry import REGISTRY_CODES, Registry

    started = time.perf_counter()
    project = _load(root)
    content = content_hash(project.config)
    uri, default_store = runtime.resolve_tracking_uri(project.root, options.tracking_uri)
    if default_store:
        runtime.prepare_default_store(project.root)
    registry = Registry(project.config, uri)
    candidate = registry.find_validated(content)
    if candidate is not None:
        found = Finding("REG001", "passed", f"run {candidate.run_id} validated this exact content")
        report = Report("register", display, [found])
    elif register.require_validated:
        missing = failed(
            "REG001",
            f"no passed validation of this exact content in experiment '{project.config.name}' "
            f"(content hash {content[:12]}), and --require-validated was given",
            None,
            "run `mfc-validator validate` on these files first; any edit to model.yaml, the "
            "script, code_paths, artifacts, requirements or the input example needs a new one",
        )
        report = Report("register", display, [missing])
    else:
        validated = run_validate(root, display, options)
        report = replace(validated, command="register", checks=list(validated.checks))
        if validated.status == "passed":
            candidate = registry.find_validated(content)
        report.checks.append(_validated_now(validated, candidate))
    report.mlflow_version = registry.mlflow.__version__
    # the report's model_uri is the registered version's, or null when nothing was registered
    report.model_uri = None
    if candidate is None:
        reason = "nothing that passed validation to register"
        report.checks += [skipped(code, reason) for code in REGISTRY_CODES[1:]]
    else:
        findings, registered = registry.register(candidate, content, register.allow_breaking)
        report.checks += findings
        report.run_id = candidate.run_id
        report.model_uri = registered
    report.duration_s = time.perf_counter() - started
    return report


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


def _fits(box: Sandbox, model_dir: Path) -> bool:
    """Whether BOX was made for the Python and requirements the model was logged with."""
    from validator import sandbox, sandbox_checks

    version = sandbox_checks.logged_python_version(model_dir) or ""
    requirements = (model_dir / "requirements.txt").read_text(encoding="utf-8")
    return (box.python_version, sorted(sandbox.requirement_lines(box.requirements_text))) == (
        version,
        sorted(sandbox.requirement_lines(requirements)),
    )


def _early_sandbox(project: Project, options: ValidateOptions) -> Sandbox | None:
    """A sandbox for the requirements the model is about to be logged with."""
    from validator import sandbox, sandbox_checks

    if sandbox_checks.required_unset(project.config):
        return None
    requirements = project.config.path(project.config.requirements)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    return sandbox.Sandbox(
        sys.executable,
        version,
        requirements.read_text(encoding="utf-8"),
        [var.name for var in project.config.env],
        use_cache=options.use_cache,
        progress=_progress(options),
    )


def _progress(options: ValidateOptions) -> Callable[[str], None]:
    def say(message: str) -> None:
        if not options.quiet:
            sys.stderr.write(f"mfc-validator: {message}\n")
            sys.stderr.flush()

    return say


def _sandbox(
    project: Project,
    logged: Logged,
    options: ValidateOptions,
    early: Sandbox | None,
    stack: contextlib.ExitStack,
) -> list[Finding]:
    from validator import sandbox, sandbox_checks

    config = project.config
    model_dir = logged.model_dir
    assert model_dir is not None
    findings = complete(LOGGED_CODES, sandbox_checks.logged_files_checks(config, model_dir))
    later = ("SBX006", "SBX001", *sandbox_checks.PROBE_CODES)
    unset = sandbox_checks.required_unset(config)
    findings += complete(("ENV006",), unset)
    if unset:
        names = ", ".join(f.message.split()[0] for f in unset)
        return findings + [skipped(c, f"required variables are unset ({names})") for c in later]
    version = sandbox_checks.logged_python_version(model_dir) or ""
    logged_requirements = (model_dir / "requirements.txt").read_text(encoding="utf-8")
    box = early
    if box is None or not _fits(box, model_dir):
        if box is not None:  # the logged model asks for something else than we guessed
            box.close()
        python = sandbox.find_python(version) if version else sys.executable
        if python is None:
            findings.append(
                failed(
                    "SBX006",
                    f"the model was logged with Python {version}, and no Python {version} is on "
                    "this machine to rebuild its environment",
                    "python_env.yaml",
                    f"install Python {version} (e.g. `uv python install {version}`) or log the "
                    "model with the Python it will be served with",
                )
            )
            return findings + [skipped(c, f"no Python {version}") for c in later[1:]]
        box = stack.enter_context(
            sandbox.Sandbox(
                python,
                version,
                logged_requirements,
                [var.name for var in config.env],
                use_cache=options.use_cache,
                progress=_progress(options),
            )
        )
    findings.append(complete(("SBX006",), [])[0])
    try:
        env = box.environment()
    except sandbox.SandboxError as exc:
        output = exc.stderr.strip().splitlines()
        detail = " | ".join(line.strip() for line in output[-6:] if line.strip())
        findings.append(
            failed(
                "SBX001",
                f"the logged requirements do not install in a new virtualenv: {exc}: {detail}",
                config.requirements,
                f"fix the requirement the installer names in {config.requirements} (a version "
                "that exists for this Python and platform)",
            )
        )
        return findings + [
            skipped(c, "the environment could not be built") for c in sandbox_checks.PROBE_CODES
        ]
    built = (
        "reused from the cache"
        if env.reused
        else f"built in {env.build_s:.1f} s" + ("" if options.use_cache else ", not cached")
    )
    findings.append(
        Finding(
            "SBX001",
            "passed",
            f"the logged requirements install in a fresh virtualenv "
            f"({env.installer}; environment {built})",
        )
    )
    run = box.run(model_dir, (project.root / config.input_example).resolve(), options.timeout)
    findings += complete(
        sandbox_checks.PROBE_CODES,
        sandbox_checks.probe_checks(config, model_dir, run, logged.predictions, options.timeout),
    )
    return findings

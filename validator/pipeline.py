"""Run the check families in order and build the report."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from validator import config as config_module
from validator.checks import run_static
from validator.project import Project
from validator.report import Finding, Report, complete, failed, skipped

if TYPE_CHECKING:
    from validator.runtime import Logged

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
    from validator import runtime, sandbox_checks

    return runtime.RUNTIME_CODES + LOGGED_CODES + SANDBOX_CODES + sandbox_checks.PROBE_CODES


def run_validate(root: Path, display: str, options: ValidateOptions) -> Report:
    from validator import runtime

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
    logged = runtime.log_and_check(project.config, uri, default_store, tags={})
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
        report.checks += _sandbox(project, logged, options)
    report.duration_s = time.perf_counter() - started
    return report


def _progress(options: ValidateOptions) -> Callable[[str], None]:
    def say(message: str) -> None:
        if not options.quiet:
            sys.stderr.write(f"mfc-validator: {message}\n")
            sys.stderr.flush()

    return say


def _sandbox(project: Project, logged: Logged, options: ValidateOptions) -> list[Finding]:
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
    version = sandbox_checks.logged_python_version(model_dir)
    python = sandbox.find_python(version) if version else sys.executable
    if python is None:
        findings.append(
            failed(
                "SBX006",
                f"the model was logged with Python {version}, and no Python {version} is on this "
                "machine to rebuild its environment",
                "python_env.yaml",
                f"install Python {version} (e.g. `uv python install {version}`) or log the model "
                f"with the Python it will be served with",
            )
        )
        return findings + [skipped(c, f"no Python {version}") for c in later[1:]]
    findings.append(complete(("SBX006",), [])[0])
    say = _progress(options)
    with sandbox.scratch_folder() as scratch:
        try:
            env = sandbox.prepare(
                python,
                version or "",
                model_dir / "requirements.txt",
                use_cache=options.use_cache,
                progress=say,
                scratch=scratch,
            )
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
        say("running the model in the sandbox")
        run = sandbox.run_probe(
            env,
            model_dir,
            (project.root / config.input_example).resolve(),
            [var.name for var in config.env],
            options.timeout,
            scratch,
        )
    findings += complete(
        sandbox_checks.PROBE_CODES,
        sandbox_checks.probe_checks(config, model_dir, run, logged.predictions, options.timeout),
    )
    return findings

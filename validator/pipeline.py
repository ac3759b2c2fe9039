"""Run the check families in order and build the report."""

from __future__ import annotations

import time
from pathlib import Path

from validator import config as config_module
from validator.checks import run_static
from validator.project import Project
from validator.report import Finding, Report, complete, skipped

# static failures after which logging the model cannot tell anything more
_BLOCKING = {"CFG001", "SCR001", "SCR002", "SCR006", "SIG001", "SIG002", "SIG003"}


def _load(root: Path) -> Project:
    return Project(config_module.load(root))


def run_check(root: Path, display: str) -> Report:
    started = time.perf_counter()
    project = _load(root)
    report = Report("check", display, run_static(project))
    report.unusable = any(f.code == "CFG001" and f.status == "failed" for f in report.checks)
    report.duration_s = time.perf_counter() - started
    return report


def run_validate(root: Path, display: str, tracking_uri: str | None) -> Report:
    from validator import runtime

    started = time.perf_counter()
    project = _load(root)
    report = Report("validate", display, run_static(project))
    blocking = [f for f in report.checks if f.status == "failed" and f.code in _BLOCKING]
    report.unusable = any(f.code == "CFG001" for f in blocking)
    if blocking:
        reason = f"{blocking[0].code} failed, so the model was not logged"
        report.checks += [skipped(code, reason) for code in runtime.RUNTIME_CODES]
    else:
        uri, default_store = runtime.resolve_tracking_uri(project.root, tracking_uri)
        if default_store:
            runtime.prepare_default_store(project.root)
        logged = runtime.log_and_check(project.config, uri, default_store, tags={})
        report.checks += complete(runtime.RUNTIME_CODES, logged.findings)
        report.run_id = logged.run_id
        report.model_uri = logged.model_uri
        report.mlflow_version = logged.mlflow_version
    report.duration_s = time.perf_counter() - started
    return report


def failed_codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings if f.status == "failed"]

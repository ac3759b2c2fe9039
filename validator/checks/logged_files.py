"""Checks of the logged model's folder: environment_variables.txt against model.yaml, and the
values of secrets in any logged file (ENV005, ENV007, ENV008, ENV009)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from validator.project.config import ProjectConfig
from validator.redact import secret_variables
from validator.report import Finding, failed, ran, skipped, warning

ENV_FILE = "environment_variables.txt"
RECORD_SWITCH = "MLFLOW_RECORD_ENV_VARS_IN_MODEL_LOGGING"


def logged_python_version(model_dir: Path) -> str | None:
    path = model_dir / "python_env.yaml"
    if not path.is_file():
        return None
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    version = str(data.get("python", ""))
    match = re.match(r"^(\d+)\.(\d+)", version)
    return f"{match.group(1)}.{match.group(2)}" if match else None


def recorded_variables(model_dir: Path) -> list[str] | None:
    path = model_dir / ENV_FILE
    if not path.is_file():
        return None
    return [
        line.strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]


def recording_enabled() -> bool:
    return os.environ.get(RECORD_SWITCH, "true").strip().lower() not in ("false", "0", "no")


def logged_files_checks(
    config: ProjectConfig, model_dir: Path, own: frozenset[str] = frozenset()
) -> list[Finding]:
    """ENV005, ENV007, ENV008, ENV009: what the logged folder says about variables. OWN: the
    variables the model's code sets itself, which MLflow records when the model reads them
    but which deployers need not set."""
    recorded = recorded_variables(model_dir)
    if recorded is None and not recording_enabled():
        reason = (
            f"{RECORD_SWITCH}=false, so MLflow wrote no {ENV_FILE}: serving UIs that show "
            "only that file will show no variables"
        )
        findings = [skipped(code, reason) for code in ("ENV005", "ENV007", "ENV008")]
    else:
        findings = ran(("ENV008",), [])
        findings += ran(
            ("ENV005",), _undeclared(config, [n for n in recorded or [] if n not in own])
        )
        findings += ran(("ENV007",), _unrecorded_secrets(config, recorded or []))
    return findings + ran(("ENV009",), _leaks(config, model_dir))


def _undeclared(config: ProjectConfig, recorded: list[str]) -> list[Finding]:
    declared = {var.name for var in config.env}
    findings: list[Finding] = []
    for name in recorded:
        if name not in declared:
            findings.append(
                failed(
                    "ENV005",
                    f"the logged {ENV_FILE} lists {name}, which model.yaml does not declare",
                    f"{ENV_FILE}",
                    f"declare {name} in model.yaml env (with secret: true if it is one)",
                )
            )
    return findings


def _unrecorded_secrets(config: ProjectConfig, recorded: list[str]) -> list[Finding]:
    return [
        warning(
            "ENV007",
            f"secret {var.name} is not in the logged {ENV_FILE}; MLflow records only "
            "names like *API_KEY*/*API_TOKEN* that were set at logging time, and some "
            "serving UIs show only that file",
            config.where("env"),
            f"tell whoever deploys the model to set {var.name} (it is in model.yaml)",
        )
        for var in config.env
        if var.secret and var.name not in recorded
    ]


def _leaks(config: ProjectConfig, model_dir: Path) -> list[Finding]:
    secrets = secret_variables(config, os.environ)
    findings: list[Finding] = []
    if not secrets:
        return findings
    fix = (
        "read {name} with os.environ at load time instead of putting its value in "
        "model_config, artifacts or code; then rotate the secret"
    )
    for path in sorted(model_dir.rglob("*")):
        relative = path.relative_to(model_dir).as_posix()
        for name, value in secrets.items():
            if value in relative:  # a name the model's code or files gave (cache/token-….json)
                shown = relative.replace(value, "***")
                findings.append(
                    failed(
                        "ENV009",
                        f"the value of {name} is in the name of the logged model's {shown}",
                        shown,
                        fix.format(name=name),
                    )
                )
        if not path.is_file():
            continue
        try:
            content = path.read_bytes()
        except OSError:
            continue
        for name, value in secrets.items():
            if value.encode() in content:
                shown = relative.replace(value, "***")
                findings.append(
                    failed(
                        "ENV009",
                        f"the value of {name} is written in the logged model's {shown} "
                        "(value not shown)",
                        shown,
                        fix.format(name=name),
                    )
                )
    return findings

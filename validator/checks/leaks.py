"""No file the model ships holds the value of a secret variable set here (ENV011), decided from
the project's files before anything is logged.

The values are those ENV009 looks for in the logged model's folder (`secret_variables`: the
declared secrets and the credential-like variables of this environment, six characters or more),
looked for in the files that would ship: the script, the requirements, the input example,
`model_config` (a file, or the mapping inside model.yaml, which MLflow writes into MLmodel), and
every file of code_paths and artifacts up to MAX_BYTES. A leak found here stops the validation
before the model is logged, so the secret never reaches the tracking store, and ENV009 never
reports it again. The value is never shown.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from validator.checks.secrets import MAX_BYTES, shipped_files
from validator.project.config import CONFIG_FILE
from validator.redact import SHOWN, secret_variables
from validator.report import Finding, failed

if TYPE_CHECKING:
    from pathlib import Path

    from validator.project.config import ProjectConfig
    from validator.project.sources import Project

CODE = "ENV011"


def _fix(name: str) -> str:
    return (
        f"read {name} with os.environ at load time (declared in {CONFIG_FILE} env, secret: true) "
        "instead of writing its value in model_config, artifacts or code; then rotate the secret"
    )


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def _line(content: bytes, needle: bytes) -> int:
    return content.count(b"\n", 0, content.index(needle)) + 1


def _in_mapping(config: ProjectConfig, secrets: dict[str, str]) -> Iterator[Finding]:
    """Values inside model.yaml's model_config mapping: MLflow writes them into MLmodel."""
    if not isinstance(config.model_config, dict):
        return
    found = list(_strings(config.model_config))
    try:
        lines = config.config_path.read_bytes().splitlines()
    except OSError:
        lines = []
    after = config.lines.get("model_config", 1)
    for name, value in secrets.items():
        if not any(value in string for string in found):
            continue
        line = next(
            (i for i, row in enumerate(lines, 1) if i >= after and value.encode() in row), None
        )
        where = f"{CONFIG_FILE}:{line}" if line else config.where("model_config")
        yield failed(
            CODE,
            f"{where} holds the value of {name} in model_config, which MLflow writes into the "
            "logged model's MLmodel (the value is not shown)",
            where,
            _fix(name),
        )


def _in_file(shown: str, path: Path, secrets: dict[str, str]) -> Iterator[Finding]:
    for name, value in secrets.items():
        if value in shown:  # a file named after the secret (cache/token-….json)
            hidden = shown.replace(value, SHOWN)
            yield failed(
                CODE,
                f"the value of {name} is in the name of {hidden}, which ships with the model",
                hidden,
                _fix(name),
            )
    try:
        if path.stat().st_size > MAX_BYTES:
            return  # a large data file: ENV009 reads it in the logged model
        content = path.read_bytes()
    except OSError:
        return
    for name, value in secrets.items():
        if value.encode() in content:
            where = f"{shown.replace(value, SHOWN)}:{_line(content, value.encode())}"
            yield failed(
                CODE,
                f"{where} holds the value of {name}, and the file ships with the model (the "
                "value is not shown)",
                where,
                _fix(name),
            )


def leaks(project: Project, environ: Mapping[str, str] = os.environ) -> list[Finding]:
    """ENV011: the value of a secret variable of ENVIRON in a file the project would ship."""
    secrets = secret_variables(project.config, environ)
    if not secrets:
        return []
    findings = list(_in_mapping(project.config, secrets))
    for shown, path in sorted(shipped_files(project.config, project.shipped).items()):
        findings += _in_file(shown, path, secrets)
    return findings

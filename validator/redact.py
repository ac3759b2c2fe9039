"""Nothing the model says is copied unredacted: the values of declared secrets and of the
caller's credential-like variables never reach a message, a report, the run or the store."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from validator.project.config import ProjectConfig
from validator.report import Finding
from validator.secret_names import looks_secret

SHOWN = "***"
_MIN_LENGTH = 6  # shorter values (true, 1, dev) are words, not secrets worth hiding


def secret_variables(config: ProjectConfig | None, environ: Mapping[str, str]) -> dict[str, str]:
    """{name: value} of the declared secrets and the credential-like variables set in ENVIRON,
    by name: the values no file the model ships may hold (ENV009, ENV011)."""
    declared = {var.name for var in config.env if var.secret} if config else set()
    return {
        name: value
        for name, value in sorted(environ.items())
        if (name in declared or looks_secret(name)) and len(value) >= _MIN_LENGTH
    }


def secret_values(config: ProjectConfig | None, environ: Mapping[str, str]) -> list[str]:
    """The values to hide: declared secrets' and the credential-like variables' of ENVIRON,
    longest first (so that a value containing another is hidden whole)."""
    values = set(secret_variables(config, environ).values())
    return sorted(values, key=len, reverse=True)


def redact(text: str, values: Iterable[str]) -> str:
    for value in values:
        if value in text:
            text = text.replace(value, SHOWN)
    return text


def redact_findings(findings: list[Finding], values: list[str]) -> list[Finding]:
    if not values:
        return findings
    return [
        dataclasses.replace(
            finding,
            message=redact(finding.message, values),
            location=redact(finding.location, values) if finding.location else None,
            hint=redact(finding.hint, values) if finding.hint else None,
        )
        for finding in findings
    ]

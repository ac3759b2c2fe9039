"""The report as GitHub Actions workflow commands: `::error file=…,line=…,title=CODE::message`
for each failed check and `::warning …` for each warning, so that they show as annotations on
the pull request's lines; then the summary line, as plain text for the job's log.

Escaped as the Actions runner reads them back: in a message `%`, `\\r` and `\\n`; in a property
also `:` and `,`.
"""

from __future__ import annotations

from validator.render.locations import project_file, split
from validator.render.many import summary_table
from validator.render.text import summary_line, terminal_safe
from validator.report import Batch, Finding, Report

_LEVEL = {"failed": "error", "warning": "warning"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(level: str, properties: dict[str, str], message: str) -> str:
    shown = ",".join(f"{name}={escape_property(value)}" for name, value in properties.items())
    return f"::{level} {shown}::{escape_data(message)}"


def annotation(finding: Finding, project: str) -> str:
    """One workflow command for a failed or warning FINDING of the project at PROJECT: its file
    as a path from the current folder (the repository's root in a workflow), when the project
    holds that file; else the location goes into the message."""
    properties: dict[str, str] = {}
    message = terminal_safe(finding.message)
    parts = split(finding.location) if finding.location else None
    file = project_file(project, parts[0]) if parts else None
    if parts is not None and file is not None:
        properties["file"] = file
        if parts[1] is not None:
            properties["line"] = str(parts[1])
    elif finding.location:
        message += f" ({terminal_safe(finding.location)})"
    properties["title"] = finding.code
    if finding.hint:
        message += f"\nfix: {terminal_safe(finding.hint)}"
    return _command(_LEVEL[finding.status], properties, message)


def _annotations(report: Report) -> list[str]:
    if report.error is not None:
        where = f" {report.project}" if report.project else ""
        said = terminal_safe(f"{report.command}{where} could not run: {report.error}")
        return [_command("error", {"title": "mfc-validator"}, said)]
    return [
        annotation(finding, report.project) for finding in report.checks if finding.status in _LEVEL
    ]


def to_github(report: Report) -> str:
    lines = _annotations(report)
    if report.error is None:
        lines.append(summary_line(report))
    return "\n".join(lines) + "\n"


def to_github_many(batch: Batch) -> str:
    lines = [line for report in batch.reports for line in _annotations(report)]
    return "\n".join(lines) + ("\n" if lines else "") + summary_table(batch)

"""The report as text for a terminal: failures and warnings with their fixes, and a summary."""

from __future__ import annotations

import re

from validator.codes import CODES
from validator.report import NO_NEW_VERSION, Finding, Report, Status

STATUSES: tuple[Status, ...] = ("failed", "warning", "passed", "skipped")

MARK = {"passed": "PASS", "failed": "FAIL", "warning": "WARN", "skipped": "SKIP"}

# what a model's output may carry into a message, and a terminal would obey rather than show:
# escape sequences (CSI: colours, cursor moves, clearing; OSC: titles, links; two-byte ones),
# then any other C0 or C1 control character but the newline and the tab
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[ -/]*[0-~]?"
    r"|\x9b[0-?]*[ -/]*[@-~]"
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"
)


def terminal_safe(text: str) -> str:
    """TEXT without escape sequences or control characters (newlines and tabs kept)."""
    return _ESCAPES.sub("", text)


def _finding_lines(finding: Finding) -> list[str]:
    where = f" [{finding.location}]" if finding.location else ""
    lines = [f"  {MARK[finding.status]} {finding.code} {finding.message}{where}"]
    if finding.hint and finding.status in ("failed", "warning"):
        lines.append(f"       fix: {finding.hint}")
    return lines


def _shown(finding: Finding, verbose: bool) -> bool:
    if verbose or finding.status in ("failed", "warning"):
        return True
    code = CODES[finding.code]
    return code.listing and finding.status == "passed" and finding.message != code.title


def counts(report: Report) -> str:
    shown = ", ".join(
        f"{n} {status}{'s' if status == 'warning' and n != 1 else ''}"  # 2 warnings, 2 failed
        for status in STATUSES
        if (n := report.count(status))
    )
    return shown or "no checks"


def summary_line(report: Report) -> str:
    if report.error is not None:
        return terminal_safe(f"{report.command} could not run: {report.error}")
    line = f"{report.command} {report.status}: {counts(report)} ({report.duration_s:.1f} s)"
    if report.command == "register" and report.model_uri:
        line += f": {report.model_uri}"
    return line


def to_text(report: Report, *, verbose: bool = False) -> str:
    lines = [f"mfc-validator {report.command} {report.project}"]  # an error: the summary says it
    for finding in report.checks:
        if _shown(finding, verbose):
            lines.extend(_finding_lines(finding))
    if report.model_uri:
        label = "registered" if report.command == "register" else "model"
        if any(f.code == "REG002" and f.message.endswith(NO_NEW_VERSION) for f in report.checks):
            label = "already registered, no new version"
        lines.append(f"  {label}: {report.model_uri} (run {report.run_id})")
    lines.append(summary_line(report))
    return terminal_safe("\n".join(lines)) + "\n"

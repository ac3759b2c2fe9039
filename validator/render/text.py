"""The report as text for a terminal: failures and warnings with their fixes, and a summary."""

from __future__ import annotations

import re
import textwrap
from urllib.parse import urlsplit, urlunsplit

from validator.codes import CODES
from validator.render.locations import project_name, shown
from validator.render.style import PLAIN, Style
from validator.report import NO_NEW_VERSION, Finding, Report, Status

STATUSES: tuple[Status, ...] = ("failed", "warning", "passed", "skipped")

MARK = {"passed": "PASS", "failed": "FAIL", "warning": "WARN", "skipped": "SKIP"}
_MARK_STYLE: dict[Status, tuple[str, ...]] = {
    "passed": ("green",),
    "failed": ("red", "bold"),
    "warning": ("yellow", "bold"),
    "skipped": ("dim",),
}
_INDENT = "    "  # where a wrapped message or a finding's fix continues

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


def _wrapped(text: str, style: Style, indent: str) -> list[str]:
    """TEXT wrapped to the style's width, each line after the first indented by INDENT; a line
    break in TEXT starts a new line (indented too). Nothing is cut: a word longer than the line
    stays whole."""
    if style.width is None:
        return [text.replace("\n", "\n" + indent)]
    lines: list[str] = []
    for number, paragraph in enumerate(text.split("\n")):
        first = "" if number == 0 else indent
        lines += textwrap.wrap(
            paragraph,
            style.width,
            initial_indent=first,
            subsequent_indent=indent,
            break_long_words=False,
            break_on_hyphens=False,
        ) or [first.rstrip()]
    return lines


def _head(finding: Finding, project: str, style: Style) -> tuple[str, str]:
    """The start of a finding's line, plain and styled: `file:line: FAIL CODE`, the location
    first (as ruff and mypy print it) when there is one."""
    mark = MARK[finding.status]
    parts = [(mark, _MARK_STYLE[finding.status]), (finding.code, ("bold",))]
    if finding.location:
        where = terminal_safe(shown(finding.location, project))
        parts.insert(0, (f"{where}:", ("bold",)))
    plain = " ".join(text for text, _ in parts)
    return plain, " ".join(style.paint(text, *styles) for text, styles in parts)


def _finding_lines(finding: Finding, project: str, style: Style) -> list[str]:
    plain, styled = _head(finding, project, style)
    lines = _wrapped(f"{plain} {terminal_safe(finding.message)}", style, _INDENT)
    if lines[0].startswith(plain):
        lines[0] = styled + lines[0][len(plain) :]
    if finding.hint and finding.status in ("failed", "warning"):
        hint = _wrapped(f"{_INDENT}fix: {terminal_safe(finding.hint)}", style, _INDENT + "     ")
        hint[0] = hint[0].replace("fix:", style.paint("fix:", "cyan"), 1)
        lines += hint
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


def summary_line(report: Report, style: Style = PLAIN) -> str:
    if report.error is not None:
        said = terminal_safe(f"{report.command} could not run: {report.error}")
        return style.paint(said, "red", "bold")
    verdict = style.paint(
        f"{report.command} {report.status}",
        *(("green", "bold") if report.status == "passed" else ("red", "bold")),
    )
    line = f"{verdict}: {counts(report)} ({report.duration_s:.1f} s)"
    if report.command == "register" and report.model_uri:
        line += f": {terminal_safe(report.model_uri)}"
    return line


def ui_address(report: Report) -> str | None:
    """The run's page in the MLflow UI, when the store is a tracking server (http or https):
    `<server>/#/experiments/<experiment>/runs/<run>`, without any user or password."""
    if not (report.server and report.experiment_id and report.run_id):
        return None
    parts = urlsplit(report.server)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.netloc.rsplit("@", 1)[-1]
    base = urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))
    return f"{base}/#/experiments/{report.experiment_id}/runs/{report.run_id}"


def to_text(report: Report, *, verbose: bool = False, style: Style = PLAIN) -> str:
    """The report for people. STYLE: colour, and the width to wrap to (none by default)."""
    name = terminal_safe(project_name(report.project))
    lines = [style.paint(f"mfc-validator {report.command} {name}", "bold")]
    for finding in report.checks:  # an error: the summary says it
        if _shown(finding, verbose):
            lines.extend(_finding_lines(finding, report.project, style))
    if report.model_uri:
        label = "registered" if report.command == "register" else "model"
        if any(f.code == "REG002" and f.message.endswith(NO_NEW_VERSION) for f in report.checks):
            label = "already registered, no new version"
        said = terminal_safe(f"{report.model_uri} (run {report.run_id})")
        lines += _wrapped(f"  {label}: {said}", style, _INDENT)
    address = ui_address(report)
    if address is not None:
        lines.append(f"  MLflow UI: {terminal_safe(address)}")
    lines.append(summary_line(report, style))
    return "\n".join(lines) + "\n"

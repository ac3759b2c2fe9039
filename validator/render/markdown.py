"""The report as Markdown, for people: logged with the run, so the MLflow UI shows it."""

from __future__ import annotations

from validator import __version__
from validator.render.text import MARK, STATUSES, counts
from validator.report import Report


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


_MARKUP = str.maketrans({char: "\\" + char for char in "\\*_[]<>`#"})


def plain(text: str | None) -> str:
    """TEXT shown as written in Markdown: a message's `*API_KEY*` or `__init__` is not emphasis,
    its `<string>` no tag, its brackets no link."""
    return _cell((text or "").translate(_MARKUP))


def _code(text: str | None) -> str:
    # a file and line as code: shown as written, whatever it holds
    if not text:
        return ""
    return "`" + _cell(text.replace("`", "'")) + "`"


def to_markdown(report: Report) -> str:
    """The report for people: logged with the run, so the MLflow UI shows it."""
    lines = [f"# mfc-validator {report.command}: {report.status}", ""]
    facts = {
        "project": report.project,
        "run": report.run_id,
        "model": report.model_uri,
        "validator": __version__,
        "mlflow": report.mlflow_version,
        "duration": f"{report.duration_s:.1f} s",
    }
    lines += ["| | |", "| --- | --- |"]
    lines += [f"| {key} | {plain(value)} |" for key, value in facts.items() if value]
    lines += ["", f"**{counts(report)}**", ""]
    lines += ["| status | code | check | where | fix |", "| --- | --- | --- | --- | --- |"]
    for status in STATUSES:
        for finding in report.checks:
            if finding.status == status:
                lines.append(
                    f"| {MARK[status]} | {finding.code} | {plain(finding.message)} "
                    f"| {_code(finding.location)} | {plain(finding.hint)} |"
                )
    return "\n".join(lines) + "\n"

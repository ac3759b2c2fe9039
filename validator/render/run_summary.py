"""The verdict where the MLflow UI shows it first: the validation run's description
(`mlflow.note.content`) and the registered version's description."""

from __future__ import annotations

from collections.abc import Mapping

from validator import __version__
from validator.render.markdown import plain
from validator.render.text import MARK, counts
from validator.report import Report

NOTE_TAG = "mlflow.note.content"
REPORT_ARTIFACT = "validation/report.md"


def _inline(text: str) -> str:
    # one line of Markdown: no line breaks, and no backticks to unbalance the code spans
    return " ".join(text.replace("`", "'").split())


def _words(text: str) -> str:
    # one line of Markdown shown as written: *API_KEY* is no emphasis
    return " ".join(plain(text.replace("`", "'")).split())


def run_description(report: Report) -> str:
    """Markdown: the verdict, then each failed and warning check with its fix."""
    lines = [
        f"**mfc-validator {report.command}: {report.status}** ({counts(report)}; "
        f"{report.duration_s:.1f} s)",
        "",
    ]
    for status, heading in (("failed", "Failed"), ("warning", "Warnings")):
        findings = [finding for finding in report.checks if finding.status == status]
        if not findings:
            continue
        lines.append(f"{heading}:")
        lines.append("")
        for finding in findings:
            where = f" (`{_inline(finding.location)}`)" if finding.location else ""
            lines.append(f"- {MARK[status]} **{finding.code}**{where}: {_words(finding.message)}")
            if finding.hint:
                lines.append(f"  - fix: {_words(finding.hint)}")
        lines.append("")
    lines.append(
        f"Every check: `{REPORT_ARTIFACT}` under Artifacts. mfc-validator {__version__}, "
        f"MLflow {report.mlflow_version or 'unknown'}."
    )
    return "\n".join(lines) + "\n"


def version_description(run_id: str, run_tags: Mapping[str, str]) -> str:
    """The registered version's description: which run validated it, with what result."""
    status = run_tags.get("mfc.validation.status", "passed")
    failed = run_tags.get("mfc.checks.failed", "0")
    warnings = run_tags.get("mfc.checks.warning", "0")
    return (
        f"Validated by run `{run_id}`: {status} ({failed} failed, {warnings} warnings), "
        f"mfc-validator {run_tags.get('mfc.validator.version', __version__)}. The run's "
        f"description holds the verdict and `{REPORT_ARTIFACT}` every check "
        f"(`runs:/{run_id}/{REPORT_ARTIFACT}`)."
    )

"""Several projects' reports from one run: each project's block, and a summary table."""

from __future__ import annotations

import json

from validator.render.style import PLAIN, Style
from validator.render.text import terminal_safe, to_text
from validator.report import Batch, Report


def to_json_many(batch: Batch) -> str:
    return json.dumps(batch.as_dict(), indent=2) + "\n"


def _verdict(report: Report) -> str:
    return "error" if report.error is not None or report.unusable else report.status


def summary_table(batch: Batch) -> str:
    """One row per project, then the totals."""
    rows = [("project", "status", "failed", "warnings", "seconds")]
    rows += [
        (
            report.project,
            _verdict(report),
            str(report.count("failed")),
            str(report.count("warning")),
            f"{report.duration_s:.1f}",
        )
        for report in batch.reports
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.ljust(width) if column < 2 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
    verdicts = [_verdict(report) for report in batch.reports]
    said = {"passed": "passed", "failed": "failed", "error": "could not run"}
    tally = ", ".join(
        f"{verdicts.count(verdict)} {said[verdict]}"
        for verdict in ("passed", "failed", "error")
        if verdict in verdicts
    )
    total = len(batch.reports)
    lines.append(
        f"{batch.command} {batch.status}: {total} project{'s' if total != 1 else ''}, "
        f"{tally} ({batch.duration_s:.1f} s)"
    )
    return terminal_safe("\n".join(lines)) + "\n"


def to_text_many(batch: Batch, *, verbose: bool = False, style: Style = PLAIN) -> str:
    blocks = [to_text(report, verbose=verbose, style=style) for report in batch.reports]
    return "\n".join(blocks) + "\n" + summary_table(batch)

"""Renderers: a report in, text out. No renderer decides anything, and only these render."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from validator.render.github import to_github, to_github_many
from validator.render.json_report import to_json
from validator.render.junit import to_junit, to_junit_many
from validator.render.many import summary_table, to_json_many, to_text_many
from validator.render.style import PLAIN, Style, for_stream
from validator.render.text import summary_line, to_text, ui_address
from validator.report import Batch, Report

RENDERERS: dict[str, Callable[[Report], str]] = {
    "text": to_text,
    "json": to_json,
    "junit": to_junit,
    "github": to_github,
}
__all__ = [
    "PLAIN",
    "RENDERERS",
    "Style",
    "for_stream",
    "render",
    "render_many",
    "summary_line",
    "summary_table",
    "to_text",
    "ui_address",
    "write_atomic",
]


def render(report: Report, fmt: str) -> str:
    return RENDERERS[fmt](report)


def render_many(batch: Batch, fmt: str, *, verbose: bool = False, style: Style = PLAIN) -> str:
    """Several projects' reports as one document: blocks and a summary table (text, in STYLE),
    one JSON object holding each project's report (json), one testsuite per project (junit),
    every project's annotations and the summary table (github)."""
    if fmt == "json":
        return to_json_many(batch)
    if fmt == "junit":
        return to_junit_many(batch)
    if fmt == "github":
        return to_github_many(batch)
    return to_text_many(batch, verbose=verbose, style=style)


def write_atomic(path: Path, text: str) -> None:
    """Write text to path so that a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

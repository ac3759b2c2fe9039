"""Renderers: a report in, text out. No renderer decides anything."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from xml.etree import ElementTree as ET

from validator.report import Finding, Report, Status

STATUSES: tuple[Status, ...] = ("failed", "warning", "passed", "skipped")

_MARK = {"passed": "PASS", "failed": "FAIL", "warning": "WARN", "skipped": "SKIP"}


def _finding_lines(finding: Finding) -> list[str]:
    where = f" [{finding.location}]" if finding.location else ""
    lines = [f"  {_MARK[finding.status]} {finding.code} {finding.message}{where}"]
    if finding.hint and finding.status in ("failed", "warning"):
        lines.append(f"       fix: {finding.hint}")
    return lines


def summary_line(report: Report) -> str:
    counts = ", ".join(
        f"{report.count(status)} {status}" for status in STATUSES if report.count(status)
    )
    return f"{report.command} {report.status}: {counts or 'no checks'} ({report.duration_s:.1f} s)"


def to_text(report: Report, *, verbose: bool = False) -> str:
    lines = [f"mfc-validator {report.command} {report.project}"]
    for finding in report.checks:
        if verbose or finding.status in ("failed", "warning"):
            lines.extend(_finding_lines(finding))
    for note in report.notes:
        lines.append(f"  note: {note}")
    if report.model_uri:
        lines.append(f"  model: {report.model_uri} (run {report.run_id})")
    lines.append(summary_line(report))
    return "\n".join(lines) + "\n"


def to_json(report: Report) -> str:
    return json.dumps(report.as_dict(), indent=2) + "\n"


def to_junit(report: Report) -> str:
    suite = ET.Element(
        "testsuite",
        name=f"mfc-validator {report.command}",
        tests=str(len(report.checks)),
        failures=str(report.count("failed")),
        skipped=str(report.count("skipped")),
        errors="0",
        time=f"{report.duration_s:.3f}",
    )
    for finding in report.checks:
        case = ET.SubElement(
            suite, "testcase", classname=finding.family, name=f"{finding.code} {finding.message}"
        )
        detail = "\n".join(
            part
            for part in (
                finding.message,
                f"location: {finding.location}" if finding.location else "",
                f"hint: {finding.hint}" if finding.hint else "",
            )
            if part
        )
        if finding.status == "failed":
            ET.SubElement(case, "failure", message=finding.message).text = detail
        elif finding.status == "skipped":
            ET.SubElement(case, "skipped", message=finding.message)
        elif finding.status == "warning":
            ET.SubElement(case, "system-out").text = f"warning: {detail}"
    suites = ET.Element("testsuites")
    suites.append(suite)
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )


RENDERERS = {"text": to_text, "json": to_json, "junit": to_junit}


def render(report: Report, fmt: str) -> str:
    return RENDERERS[fmt](report)


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

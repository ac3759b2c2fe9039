"""Renderers: a report in, text out. No renderer decides anything."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from xml.etree import ElementTree as ET

from validator import __version__
from validator.codes import CODES
from validator.report import Finding, Report, Status

STATUSES: tuple[Status, ...] = ("failed", "warning", "passed", "skipped")

_MARK = {"passed": "PASS", "failed": "FAIL", "warning": "WARN", "skipped": "SKIP"}


def _finding_lines(finding: Finding) -> list[str]:
    where = f" [{finding.location}]" if finding.location else ""
    lines = [f"  {_MARK[finding.status]} {finding.code} {finding.message}{where}"]
    if finding.hint and finding.status in ("failed", "warning"):
        lines.append(f"       fix: {finding.hint}")
    return lines


def _counts(report: Report) -> str:
    counts = ", ".join(
        f"{report.count(status)} {status}" for status in STATUSES if report.count(status)
    )
    return counts or "no checks"


def summary_line(report: Report) -> str:
    line = f"{report.command} {report.status}: {_counts(report)} ({report.duration_s:.1f} s)"
    if report.command == "register" and report.model_uri:
        line += f": {report.model_uri}"
    return line


def to_text(report: Report, *, verbose: bool = False) -> str:
    lines = [f"mfc-validator {report.command} {report.project}"]
    for finding in report.checks:
        if verbose or finding.status in ("failed", "warning"):
            lines.extend(_finding_lines(finding))
    for note in report.notes:
        lines.append(f"  note: {note}")
    if report.model_uri:
        label = "registered" if report.command == "register" else "model"
        lines.append(f"  {label}: {report.model_uri} (run {report.run_id})")
    lines.append(summary_line(report))
    return "\n".join(lines) + "\n"


def to_json(report: Report) -> str:
    return json.dumps(report.as_dict(), indent=2) + "\n"


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


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
    lines += [f"| {key} | {_cell(value)} |" for key, value in facts.items() if value]
    lines += ["", f"**{_counts(report)}**", ""]
    lines += ["| status | code | check | where | fix |", "| --- | --- | --- | --- | --- |"]
    for status in STATUSES:
        for finding in report.checks:
            if finding.status == status:
                lines.append(
                    f"| {_MARK[status]} | {finding.code} | {_cell(finding.message)} "
                    f"| {_cell(finding.location)} | {_cell(finding.hint)} |"
                )
    lines += [f"- note: {note}" for note in report.notes]
    return "\n".join(lines) + "\n"


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
    properties = {
        "status": report.status,
        "validator_version": __version__,
        "mlflow_version": report.mlflow_version,
        "run_id": report.run_id,
        "model_uri": report.model_uri,
    }
    listed = ET.SubElement(suite, "properties")
    for name, value in properties.items():
        if value:
            ET.SubElement(listed, "property", name=name, value=value)
    for finding in report.checks:
        # the name stays the same from run to run (no run ids, versions or paths in it), so
        # that CI dashboards can follow a check's history; the message says what happened
        title = CODES[finding.code].title
        case = ET.SubElement(
            suite, "testcase", classname=finding.family, name=f"{finding.code} {title}"
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
        elif finding.message != title:
            ET.SubElement(case, "system-out").text = finding.message
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

"""The report as JUnit XML: one test case per check, for CI dashboards."""

from __future__ import annotations

import re
from xml.etree import ElementTree as ET

from validator import __version__
from validator.codes import CODES
from validator.report import Batch, Report

# what XML 1.0 cannot carry at all, even escaped: control characters but tab, newline and
# carriage return, lone surrogates, U+FFFE and U+FFFF
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """TEXT with each character XML 1.0 forbids shown as \\xNN (or \\uNNNN)."""
    return _NOT_XML.sub(lambda match: ascii(match.group(0))[1:-1], text)


def to_junit(report: Report) -> str:
    return _document([_suite(report, f"mfc-validator {report.command}")])


def to_junit_many(batch: Batch) -> str:
    """One testsuite per project, named after it."""
    return _document(
        [
            _suite(report, f"mfc-validator {batch.command} {report.project}")
            for report in batch.reports
        ]
    )


def _document(suites: list[ET.Element]) -> str:
    document = ET.Element("testsuites")
    document.extend(suites)
    for element in document.iter():
        if element.text:
            element.text = xml_safe(element.text)
        for name, value in element.attrib.items():
            element.set(name, xml_safe(value))
    ET.indent(document)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        + ET.tostring(document, encoding="unicode")
        + "\n"
    )


def _suite(report: Report, name: str) -> ET.Element:
    suite = ET.Element(
        "testsuite",
        name=name,
        tests=str(len(report.checks)),
        failures=str(report.count("failed")),
        skipped=str(report.count("skipped")),
        errors="1" if report.error is not None else "0",
        time=f"{report.duration_s:.3f}",
    )
    properties = {
        "project": report.project,
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
    if report.error is not None:
        case = ET.SubElement(suite, "testcase", classname="run", name="the project could be run")
        ET.SubElement(case, "error", message=report.error).text = report.error
    return suite

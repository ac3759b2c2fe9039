"""The report as JUnit XML: one test case per check, for CI dashboards."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from validator import __version__
from validator.codes import CODES
from validator.report import Report


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

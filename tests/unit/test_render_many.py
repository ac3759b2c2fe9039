"""Several projects' reports in one document: JSON, JUnit and text, and the batch's exit status."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

from validator.render import render, render_many
from validator.report import Batch, Report, failed, passed, unrunnable, warning


def _batch() -> Batch:
    good = Report("validate", "models/good", [passed("CFG001"), passed("SCR001")], duration_s=1.5)
    bad = Report(
        "validate",
        "models/bad",
        [
            passed("CFG001"),
            failed("SCR001", "model.py does not compile", "model.py:3", "fix the syntax"),
            warning("DEP005", "numpy is not pinned", "requirements.txt:2", "pin it"),
        ],
        duration_s=2.0,
    )
    broken = unrunnable("validate", "models/broken", "model.yaml:2: unknown key 'nme'")
    return Batch("validate", [good, bad, broken], duration_s=4.0)


def test_json_holds_each_report_as_its_single_project_form() -> None:
    batch = _batch()
    document = json.loads(render_many(batch, "json"))
    assert document["schema_version"] == 1
    assert (document["command"], document["status"], document["duration_s"]) == (
        "validate",
        "failed",
        4.0,
    )
    assert document["reports"][:2] == [json.loads(render(r, "json")) for r in batch.reports[:2]]
    assert document["reports"][2]["error"] == "model.yaml:2: unknown key 'nme'"
    assert "error" not in document["reports"][0]


def test_junit_has_one_testsuite_per_project() -> None:
    suites = ET.fromstring(render_many(_batch(), "junit")).findall("testsuite")
    assert [suite.get("name") for suite in suites] == [
        "mfc-validator validate models/good",
        "mfc-validator validate models/bad",
        "mfc-validator validate models/broken",
    ]
    assert [suite.get("failures") for suite in suites] == ["0", "1", "0"]
    assert [suite.get("errors") for suite in suites] == ["0", "0", "1"]
    error = suites[2].find("testcase/error")
    assert error is not None and "unknown key" in (error.get("message") or "")


def test_text_has_a_block_per_project_and_a_summary_table() -> None:
    text = render_many(_batch(), "text")
    blocks = text.split("\n\n")
    assert blocks[0].startswith("mfc-validator validate models/good") and "FAIL" not in blocks[0]
    assert "model.py:3: FAIL SCR001 model.py does not compile" in blocks[1]
    # the error once, in its block's summary line
    assert blocks[2].count("model.yaml:2: unknown key 'nme'") == 1
    assert "could not run: model.yaml:2: unknown key 'nme'" in blocks[2]
    table = text.splitlines()[-5:]
    assert table[0].split() == ["project", "status", "failed", "warnings", "seconds"]
    assert table[1].split() == ["models/good", "passed", "0", "0", "1.5"]
    assert table[2].split() == ["models/bad", "failed", "1", "1", "2.0"]
    assert table[3].split()[:2] == ["models/broken", "error"]
    assert table[4] == "validate failed: 3 projects, 1 passed, 1 failed, 1 could not run (4.0 s)"


def test_batch_exit_status_is_the_worst_of_its_projects() -> None:
    batch = _batch()
    assert batch.exit_code == 2
    assert Batch("validate", batch.reports[:2]).exit_code == 1
    assert Batch("validate", batch.reports[:1]).exit_code == 0
    assert Batch("validate", []).exit_code == 0

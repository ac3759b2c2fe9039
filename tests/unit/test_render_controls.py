"""Messages that carry control characters (a model's output, a file's bytes): the JUnit XML stays
well-formed, and no escape sequence reaches the terminal through the text report."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from validator.render import render, render_many
from validator.report import Batch, Report, failed, unrunnable

HOSTILE = (
    "out\x1b[2J\x1b[31mred\x1b[0m \x1b]0;title\x07 \x00nul \x08bs \x0bvt \ud800 \ufffe \x9b2J end"
)


def hostile_report() -> Report:
    finding = failed("SCR001", f"model.py {HOSTILE}", f"model.py:{HOSTILE}", f"hint {HOSTILE}")
    return Report("check", f"proj{HOSTILE}", [finding])


def test_junit_with_control_characters_is_well_formed() -> None:
    for document in (
        render(hostile_report(), "junit"),
        render_many(Batch("check", [hostile_report(), unrunnable("check", "p", HOSTILE)]), "junit"),
    ):
        root = ET.fromstring(document.encode("utf-8"))
        failure = root.find("./testsuite/testcase/failure")
        assert failure is not None
        assert "\\x1b[2J" in failure.get("message", "")  # shown, not dropped
        assert "end" in failure.get("message", "")


def test_text_report_carries_no_escape_or_control_character() -> None:
    batch = Batch("check", [hostile_report(), unrunnable("check", "p", HOSTILE)])
    for text in (
        render(hostile_report(), "text"),
        render_many(batch, "text"),
        render(hostile_report(), "github"),
        render_many(batch, "github"),
    ):
        assert "red" in text and "end" in text
        controls = [c for c in text if (ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) < 0xA0]
        assert controls == []

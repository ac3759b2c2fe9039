"""The text report's last line for register: a new version, or the same content found already
registered, which says so without -v."""

from __future__ import annotations

from validator.render.text import to_text
from validator.report import NO_NEW_VERSION, Finding, Report


def _register(reg002: str) -> Report:
    checks = [Finding("REG001", "passed", "run abc validated this exact content")]
    checks.append(Finding("REG002", "passed", reg002))
    return Report("register", "proj", checks, run_id="abc", model_uri="models:/m/3")


def test_a_new_version_is_registered() -> None:
    text = to_text(_register("registered models:/m/3"))
    assert "  registered: models:/m/3 (run abc)\n" in text


def test_the_same_content_again_says_no_new_version() -> None:
    text = to_text(
        _register(f"this content is already registered as models:/m/3: {NO_NEW_VERSION}")
    )
    assert "  already registered, no new version: models:/m/3 (run abc)\n" in text


def test_the_summary_counts_warnings_in_the_plural() -> None:
    from validator.render.text import counts

    one = Report("check", "p", [Finding("CFG004", "warning", "w")])
    two = Report(
        "check", "p", [Finding("CFG004", "warning", "w"), Finding("NET002", "warning", "w")]
    )
    assert counts(one) == "1 warning"
    assert counts(two) == "2 warnings"

"""The verdict as the MLflow UI shows it: the run's description, its metrics, and the registered
version's description."""

from __future__ import annotations

from validator import __version__
from validator.registry.tags import validation_metrics
from validator.render.run_summary import run_description, version_description
from validator.report import Finding, Report, failed, passed


def _report() -> Report:
    report = Report("validate", "p", [passed("SCR001"), passed("SIG004")])
    report.checks.append(
        failed("SBX002", "the model does not load: `No module named 'helpers'`", "model.py:3",
               "add helpers.py to code_paths in model.yaml")
    )  # fmt: skip
    report.checks.append(
        Finding("DEP010", "warning", "'numpy' is never imported", "requirements.txt:2", "drop it")
    )
    report.checks.append(Finding("EVL001", "skipped", "no evaluation in model.yaml"))
    report.duration_s = 4.25
    report.mlflow_version = "3.17.2"
    return report


def test_the_description_gives_the_verdict_then_failures_and_warnings_with_fixes() -> None:
    assert run_description(_report()) == (
        "**mfc-validator validate: failed** (1 failed, 1 warning, 2 passed, 1 skipped; 4.2 s)\n"
        "\n"
        "Failed:\n"
        "\n"
        "- FAIL **SBX002** (`model.py:3`): the model does not load: 'No module named 'helpers''\n"
        "  - fix: add helpers.py to code\\_paths in model.yaml\n"
        "\n"
        "Warnings:\n"
        "\n"
        "- WARN **DEP010** (`requirements.txt:2`): 'numpy' is never imported\n"
        "  - fix: drop it\n"
        "\n"
        f"Every check: `validation/report.md` under Artifacts. mfc-validator {__version__}, "
        "MLflow 3.17.2.\n"
    )


def test_markup_in_a_message_is_shown_as_written() -> None:
    report = Report("validate", "p")
    report.checks.append(
        failed("ENV005", "records only names with *API_KEY* or __init__ <string>", "a [b](c)")
    )
    text = run_description(report)
    assert "records only names with \\*API\\_KEY\\* or \\_\\_init\\_\\_ \\<string\\>" in text


def test_a_passed_run_lists_no_checks() -> None:
    report = Report("validate", "p", [passed("SCR001")])
    description = run_description(report)
    assert description.startswith("**mfc-validator validate: passed** (1 passed; 0.0 s)\n\n")
    assert "Failed" not in description and "Warnings" not in description


def test_metrics_count_each_status_and_the_duration() -> None:
    assert validation_metrics(_report()) == {
        "mfc.checks.failed": 1.0,
        "mfc.checks.warning": 1.0,
        "mfc.checks.passed": 2.0,
        "mfc.checks.skipped": 1.0,
        "mfc.duration_s": 4.25,
    }


def test_the_version_description_names_the_validating_run() -> None:
    tags = {
        "mfc.validation.status": "passed",
        "mfc.checks.failed": "0",
        "mfc.checks.warning": "2",
        "mfc.validator.version": "0.1.0",
    }
    assert version_description("abc123", tags) == (
        "Validated by run `abc123`: passed (0 failed, 2 warnings), mfc-validator 0.1.0. The run's "
        "description holds the verdict and `validation/report.md` every check "
        "(`runs:/abc123/validation/report.md`)."
    )

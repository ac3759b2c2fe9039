"""The text report: the location first (`file:line: FAIL CODE message`, as ruff and mypy print
it), paths from the current folder, colour only where wanted (NO_COLOR, FORCE_COLOR, a
terminal), lines wrapped to the terminal without losing a word, and the run's MLflow UI page."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest

from tests.conftest import ScenarioFactory
from validator.render.style import PLAIN, Style, for_stream, terminal_width, wants_color
from validator.render.text import to_text, ui_address
from validator.report import Report, failed, passed, warning

ANSI = re.compile(r"\x1b\[[0-9;]*m")
LONG = "the model does not load: " + " ".join(f"word{n}" for n in range(40))


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "sales-forecast"
    project.mkdir()
    (project / "model.py").write_text("import sklearn\n")
    return project


def _report(project: str) -> Report:
    return Report(
        "validate",
        project,
        [
            passed("CFG001"),
            failed("DEP001", "model.py imports 'sklearn'", "model.py:1", "add scikit-learn"),
            warning("DEP006", "pandas>=2.2 is not pinned", "requirements.txt:2", "pin it"),
            failed("SBX002", LONG, None, "ship helpers.py in code_paths"),
        ],
        run_id="abc123",
        model_uri="models:/m-1",
    )


def test_the_location_comes_first_as_a_path_from_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    lines = to_text(_report("sales-forecast")).splitlines()
    assert lines[0] == "mfc-validator validate sales-forecast"
    assert "sales-forecast/model.py:1: FAIL DEP001 model.py imports 'sklearn'" in lines
    assert "    fix: add scikit-learn" in lines
    # a file the project does not hold is shown as the report gives it
    assert "requirements.txt:2: WARN DEP006 pandas>=2.2 is not pinned" in lines
    # a finding without a location starts with its status
    assert f"FAIL SBX002 {LONG}" in lines  # no width: not wrapped
    monkeypatch.chdir(project)
    assert "model.py:1: FAIL DEP001 model.py imports 'sklearn'" in to_text(_report("."))
    # from far away, an absolute path where it is shorter than ../../..
    deep = tmp_path.joinpath(*["d"] * 40)
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    shown = to_text(_report(str(project)))
    assert f"\n{project.resolve()}/model.py:1: FAIL DEP001" in shown
    monkeypatch.chdir(tmp_path / "d")
    assert "\n../sales-forecast/model.py:1: FAIL DEP001" in to_text(_report(str(project)))


def test_the_project_is_named_by_its_folder_not_dot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path)
    monkeypatch.chdir(project)
    assert to_text(_report(".")).startswith("mfc-validator validate sales-forecast\n")
    monkeypatch.chdir(project / "..")
    assert to_text(_report("sales-forecast/")).startswith("mfc-validator validate sales-forecast")
    uri = to_text(_report("models:/sales/3"))
    assert uri.startswith("mfc-validator validate models:/sales/3\n")
    assert "\nmodel.py:1: FAIL DEP001" in uri  # a URI holds no files to point into


def test_plain_text_has_no_escape_sequence_and_colour_marks_the_statuses() -> None:
    report = _report("p")
    assert "\x1b" not in to_text(report)
    coloured = to_text(report, style=Style(color=True))
    assert "\x1b[31;1mFAIL\x1b[0m" in coloured
    assert "\x1b[33;1mWARN\x1b[0m" in coloured
    assert "\x1b[31;1mvalidate failed\x1b[0m" in coloured
    assert "\x1b[1mrequirements.txt:2:\x1b[0m" in coloured
    assert ANSI.sub("", coloured) == to_text(report)  # the same text, only painted


def test_colour_follows_no_color_force_color_and_the_terminal() -> None:
    tty, pipe = _Tty(), io.StringIO()
    assert wants_color(tty, {}) is True
    assert wants_color(pipe, {}) is False
    assert wants_color(tty, {"NO_COLOR": "1"}) is False
    assert wants_color(tty, {"NO_COLOR": ""}) is True  # only a non-empty value counts
    assert wants_color(pipe, {"FORCE_COLOR": "1"}) is True
    assert wants_color(pipe, {"FORCE_COLOR": ""}) is False
    assert wants_color(pipe, {"FORCE_COLOR": "1", "NO_COLOR": "1"}) is False
    assert wants_color(tty, {"TERM": "dumb"}) is False


def test_lines_wrap_to_the_width_indented_and_nothing_is_lost() -> None:
    report = _report("p")
    text = to_text(report, style=Style(width=60))
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 60
    sbx = next(n for n, line in enumerate(lines) if line.startswith("FAIL SBX002"))
    assert lines[sbx + 1].startswith("    word")
    assert " ".join(text.split()) == " ".join(to_text(report).split())  # every word kept
    # a word longer than the line stays whole
    long = Report("check", "p", [failed("SCR001", "x" * 90, "model.py:3")])
    assert "x" * 90 in to_text(long, style=Style(width=50))
    # colour and wrapping together: the same words, painted
    both = to_text(report, style=Style(color=True, width=60))
    assert ANSI.sub("", both) == text


def test_the_width_comes_from_columns_or_the_terminal_and_pipes_are_not_wrapped() -> None:
    assert terminal_width(io.StringIO(), {}) is None
    assert terminal_width(io.StringIO(), {"COLUMNS": "100"}) == 100
    assert terminal_width(io.StringIO(), {"COLUMNS": "10"}) == 40  # never narrower than 40
    assert for_stream(io.StringIO(), {}) == PLAIN


def test_the_ui_address_is_printed_for_a_tracking_server_only() -> None:
    report = _report("p")
    report.experiment_id = "7"
    report.server = "https://alice:s3cret@mlflow.example.com/prefix/"
    address = "https://mlflow.example.com/prefix/#/experiments/7/runs/abc123"
    assert ui_address(report) == address
    assert f"  MLflow UI: {address}\n" in to_text(report)
    assert "s3cret" not in to_text(report)
    report.server = None  # a SQLite or file store: no server to open
    assert ui_address(report) is None and "MLflow UI" not in to_text(report)
    report.server, report.experiment_id = "http://127.0.0.1:5000", None
    assert ui_address(report) is None


def test_the_cli_colours_only_when_forced_or_on_a_terminal(
    scenario_project: ScenarioFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from validator import cli

    monkeypatch.chdir(scenario_project("good").parent)
    for name in ("NO_COLOR", "FORCE_COLOR", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)
    assert cli.main(["check", "good"]) == 0
    assert "\x1b" not in capsys.readouterr().out  # captured: no terminal
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert cli.main(["check", "good"]) == 0
    assert "\x1b[32;1mcheck passed\x1b[0m" in capsys.readouterr().out
    assert cli.main(["check", "good", "--format", "json"]) == 0
    assert "\x1b" not in capsys.readouterr().out  # the CI formats stay plain
    monkeypatch.setenv("NO_COLOR", "1")
    assert cli.main(["check", "good"]) == 0
    assert "\x1b" not in capsys.readouterr().out
    assert os.environ["FORCE_COLOR"] == "1"

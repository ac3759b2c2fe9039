"""`--format github`: one workflow command per failed (`::error`) or warning (`::warning`) check,
with the file as a path from the current folder and the line, escaped as the Actions runner
reads them back."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ScenarioFactory
from validator.render import render, render_many
from validator.render.github import escape_data, escape_property
from validator.report import Batch, Report, failed, passed, skipped, unrunnable, warning


def test_escaping_follows_the_actions_toolkit() -> None:
    assert escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert escape_data("a:b,c") == "a:b,c"  # a message keeps its colons and commas
    assert escape_property("dir,x/a:b%\n.py") == "dir%2Cx/a%3Ab%25%0A.py"


def test_failures_and_warnings_become_annotations_on_their_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "models" / "forecast"
    project.mkdir(parents=True)
    (project / "model.py").write_text("import sklearn\n")
    (project / "requirements.txt").write_text("pandas>=2\n")
    monkeypatch.chdir(tmp_path)
    report = Report(
        "check",
        "models/forecast",
        [
            passed("CFG001"),
            failed("DEP001", "imports 'sklearn': 100%\nnot provided", "model.py:1", "add it"),
            warning("DEP006", "pandas>=2 is not pinned", "requirements.txt", None),
            failed("SBX002", "does not load", "python_env.yaml", None),
            skipped("SBX003", "not run"),
        ],
    )
    lines = render(report, "github").splitlines()
    assert lines == [
        "::error file=models/forecast/model.py,line=1,title=DEP001::imports 'sklearn': "
        "100%25%0Anot provided%0Afix: add it",
        "::warning file=models/forecast/requirements.txt,title=DEP006::pandas>=2 is not pinned",
        # a file the project does not hold (the logged model's): named in the message
        "::error title=SBX002::does not load (python_env.yaml)",
        "check failed: 2 failed, 1 warning, 1 passed, 1 skipped (0.0 s)",
    ]


def test_a_batch_annotates_every_project_and_ends_with_the_table() -> None:
    batch = Batch(
        "check",
        [
            Report("check", "a", [failed("SCR001", "does not compile", None, None)]),
            unrunnable("check", "b", "model.yaml:2: unknown key 'nme'"),
        ],
    )
    text = render_many(batch, "github")
    lines = text.splitlines()
    assert lines[0] == "::error title=SCR001::does not compile"
    assert lines[1] == (
        "::error title=mfc-validator::check b could not run: model.yaml:2: unknown key 'nme'"
    )
    assert lines[2].split() == ["project", "status", "failed", "warnings", "seconds"]
    assert lines[-1].startswith("check failed: 2 projects")
    assert "\x1b" not in text


def test_the_cli_offers_the_github_format(
    scenario_project: ScenarioFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from validator import cli

    monkeypatch.chdir(scenario_project("scr002_no_set_model").parent)
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert cli.main(["check", "scr002_no_set_model", "--format", "github"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("::error file=scr002_no_set_model/model.py,title=SCR002::")
    assert "\x1b" not in out  # CI formats are never coloured

"""`mfc-validator explain CODE` prints the code's section of the codes page, as `ruff rule` does."""

from __future__ import annotations

import subprocess
import sys

import pytest

from validator import cli
from validator.codes import CODES
from validator.commands import explain
from validator.render.codes_page import code_section


def test_explain_prints_the_codes_section_with_its_example_and_fix(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["explain", "SCR007"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# SCR007\n")
    assert out == code_section(CODES["SCR007"], level=1)
    assert "**Fails when** the script raised while MLflow ran it" in out
    assert "```python\n" in out and "**Fix:**" in out


@pytest.mark.parametrize("typed", ["scr007", " Scr007 ", "SCR007"])
def test_a_code_is_case_insensitive(typed: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["explain", typed]) == 0
    assert capsys.readouterr().out.startswith("# SCR007\n")


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("SCR07", "unknown code 'SCR07'; did you mean 'SCR007'?"),
        ("src007", "unknown code 'src007'; did you mean 'SCR007'?"),
        ("NET9", "unknown code 'NET9'; its family's codes: NET001, NET002"),
        ("xyz", "a code is three letters and three digits, e.g. SCR007: CFG, SCR, SIG, DEP"),
    ],
)
def test_an_unknown_code_exits_2_with_a_suggestion(
    typed: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["explain", typed]) == 2
    captured = capsys.readouterr()
    assert said in captured.err
    assert captured.out == ""


def test_every_code_can_be_explained(capsys: pytest.CaptureFixture[str]) -> None:
    for name in CODES:
        assert explain.run(name.lower()) == 0
        assert capsys.readouterr().out.startswith(f"# {name}\n")


def test_a_mistyped_explain_gets_a_did_you_mean(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["explian", "SCR007"]) == 2
    assert "did you mean 'explain'?" in capsys.readouterr().err


def test_explain_runs_as_a_command_without_mlflow_or_pandas() -> None:
    code = (
        "import sys\nfrom validator.cli import main\nrc = main(['explain', 'dep001'])\n"
        "assert 'mlflow' not in sys.modules and 'pandas' not in sys.modules, 'imported'\n"
        "raise SystemExit(rc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# DEP001\n")

"""Usage mistakes at the command line: a mistyped command gets a 'did you mean', and check does
not offer an option it ignores (--tracking-uri, which it accepts for scripts that pass it to
every command)."""

from __future__ import annotations

import pytest

from validator import cli


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["chek", "."], "unknown command 'chek'; did you mean 'check'?"),
        (["valdate"], "unknown command 'valdate'; did you mean 'validate'?"),
        (["frobnicate"], "unknown command 'frobnicate'; the commands: check, validate, register"),
    ],
)
def test_a_mistyped_command_exits_2_with_a_suggestion(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(argv) == 2
    assert said in capsys.readouterr().err


def test_check_does_not_offer_tracking_uri_but_accepts_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        cli._parser().parse_args(["check", "--help"])
    assert "--tracking-uri" not in capsys.readouterr().out
    args = cli._parser().parse_args(["check", ".", "--tracking-uri", "http://127.0.0.1:5000"])
    assert args.command == "check"
    with pytest.raises(SystemExit):
        cli._parser().parse_args(["validate", "--help"])
    assert "--tracking-uri" in capsys.readouterr().out

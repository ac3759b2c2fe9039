"""The README is the contract users read: it must match the code."""

from __future__ import annotations

import re
from pathlib import Path

from validator.codes import CODES, FAMILIES

README = Path(__file__).resolve().parents[2] / "README.md"


def _code_rows() -> dict[str, str]:
    rows = re.findall(r"^\| ([A-Z]{3}\d{3}) \| (\w+) \|", README.read_text(), re.MULTILINE)
    assert len(rows) == len(dict(rows)), "a code is listed twice"
    return dict(rows)


def test_every_code_is_listed_once_with_its_family() -> None:
    assert _code_rows() == {code.code: code.family for code in CODES.values()}


# the report's families, as the contract (shared/CONTRACT.md, section 4) fixes them
CONTRACT_FAMILIES = (
    "config",
    "script",
    "signature",
    "dependencies",
    "environment",
    "network",
    "sandbox",
    "evaluation",
    "registry",
)


def test_the_families_are_the_contracts() -> None:
    assert FAMILIES == CONTRACT_FAMILIES
    assert {code.family for code in CODES.values()} <= set(CONTRACT_FAMILIES)


def test_ci_runs_the_readmes_test_command() -> None:
    text = README.read_text()
    commands = re.findall(r"^(python3 -m venv .*)$", text, re.MULTILINE)
    assert len(commands) == 2
    assert "nox -s demo" in commands[0] and "nox -s lint tests" in commands[1]
    ci = (README.parent / ".ci" / "run").read_text()
    assert commands[1] in ci

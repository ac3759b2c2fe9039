"""The README is the contract users read: it must match the code."""

from __future__ import annotations

import re
from pathlib import Path

from validator.codes import CODES, FAMILIES
from validator.render.codes_page import families_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_lists_every_code_by_family() -> None:
    assert families_table() in README.read_text(encoding="utf-8"), (
        "README's table of code families is not the registry's: "
        '`python -c "from validator.render.codes_page import families_table; '
        'print(families_table())"`'
    )
    for family in FAMILIES:
        numbers = sorted(int(name[3:]) for name, code in CODES.items() if code.family == family)
        assert numbers == list(range(1, len(numbers) + 1)), f"{family}: its codes have a gap"


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
    first_block = README.read_text().split("```")[1]  # the README starts with the two commands
    commands = re.findall(r"^(python3 -m venv .*)$", first_block, re.MULTILINE)
    assert len(commands) == 2
    assert "nox -s demo" in commands[0] and "nox -s lint docs tests" in commands[1]
    ci = (README.parent / ".ci" / "run").read_text()
    assert commands[1] in ci

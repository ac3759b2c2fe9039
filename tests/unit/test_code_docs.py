"""Every code of the registry has its fix and an example (validator/code_docs.py), and an example
taken from a failing scenario (tests/fixtures/<code>_<what>/) is made of that scenario's lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from validator.code_docs import DOCS
from validator.codes import CODES

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_every_code_has_its_fix_and_example_and_nothing_else_does() -> None:
    assert set(DOCS) == set(CODES)
    for name, doc in DOCS.items():
        assert doc.fix.strip() and doc.example.strip() and doc.file.strip(), name
        assert doc.fix.endswith("."), f"{name}: the fix is a sentence"


def test_every_scenario_of_a_code_is_used_for_its_example() -> None:
    scenarios = {path.name.split("_")[0].upper() for path in FIXTURES.iterdir() if "_" in path.name}
    used = {name for name, doc in DOCS.items() if doc.fixture}
    assert scenarios - used == set(), "a code with a scenario under tests/fixtures/ has no fixture"


@pytest.mark.parametrize("name", sorted(name for name, doc in DOCS.items() if doc.fixture))
def test_an_example_from_a_scenario_is_made_of_its_lines(name: str) -> None:
    doc = DOCS[name]
    assert doc.fixture is not None
    assert doc.fixture.startswith(name.lower() + "_")
    lines = (FIXTURES / doc.fixture / doc.file).read_text(encoding="utf-8").splitlines()
    for line in doc.example.splitlines():
        assert line in lines, f"{name}: {line!r} is not a line of {doc.fixture}/{doc.file}"

"""The code registry is the one source: the README's table and the JUnit names derive from it."""

from __future__ import annotations

import re
from pathlib import Path

from validator.codes import CODES, FAMILIES, REGISTRY, STATIC_STAGES
from validator.render.junit import to_junit
from validator.render.markdown import codes_table
from validator.report import Report, failed, passed

README = Path(__file__).resolve().parents[2] / "README.md"


def test_codes_are_unique_and_well_formed() -> None:
    names = [code.code for code in REGISTRY]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[A-Z]{3}\d{3}", name) for name in names)
    assert {code.family for code in REGISTRY} <= set(FAMILIES)
    assert all(code.title and code.fails for code in REGISTRY)


def test_the_readme_lists_exactly_the_registrys_codes() -> None:
    text = README.read_text(encoding="utf-8")
    assert codes_table() in text, (
        "README's code table is not the registry's: regenerate it with "
        '`python -c "from validator.render.markdown import codes_table; print(codes_table())"`'
    )
    listed = re.findall(r"^\| ([A-Z]{3}\d{3}) \|", text, re.MULTILINE)
    assert sorted(listed) == sorted(CODES)


def test_the_readme_table_changes_when_the_registry_does(monkeypatch: object) -> None:
    table = codes_table()
    assert "| SCR001 | script | the script does not compile" in table
    assert table.count("\n") == len(REGISTRY) + 2


def test_junit_names_come_from_the_registry() -> None:
    report = Report("check", ".", [passed("DEP012")])
    assert f'name="DEP012 {CODES["DEP012"].title}"' in to_junit(report)


def test_static_stages_own_only_static_codes_and_blocking_is_sparse() -> None:
    static = [code for code in REGISTRY if code.stage in STATIC_STAGES]
    assert {code.family for code in static} <= {
        "config",
        "script",
        "signature",
        "dependencies",
        "environment",
    }
    blocking = {code.code for code in REGISTRY if code.blocking}
    assert blocking == {
        "CFG001", "SCR001", "SCR002", "SCR006", "SIG001", "SIG002", "SIG003",
        "ENV006", "SCR007", "SBX006", "SBX001", "REG001", "CFG002", "CFG003", "CFG005",
        "ENV010", "REG004", "DEP013", "ENV011", "DEP014",
    }  # fmt: skip


def test_the_registry_says_which_failures_mean_exit_status_2() -> None:
    assert {code.code for code in REGISTRY if code.unusable} == {"CFG001", "REG004"}
    for code in ("CFG001", "REG004"):
        report = Report("validate", ".", [failed(code, "no", "model.yaml", "fix")])
        report.mark_unusable()
        assert report.exit_code == 2
    report = Report("validate", ".", [failed("CFG002", "no", "model.yaml", "fix")])
    report.mark_unusable()
    assert report.exit_code == 1

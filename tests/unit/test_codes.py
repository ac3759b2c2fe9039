"""The code registry is the one source: the codes page (docs/codes.md), `explain` and the JUnit
names derive from it."""

from __future__ import annotations

import re
from pathlib import Path

from validator.codes import CODES, FAMILIES, REGISTRY, STATIC_STAGES
from validator.render.codes_page import code_section, codes_page, codes_table
from validator.render.junit import to_junit
from validator.report import Report, failed, passed

CODES_PAGE = Path(__file__).resolve().parents[2] / "docs" / "codes.md"


def test_codes_are_unique_and_well_formed() -> None:
    names = [code.code for code in REGISTRY]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[A-Z]{3}\d{3}", name) for name in names)
    assert {code.family for code in REGISTRY} <= set(FAMILIES)
    assert all(code.title and code.fails for code in REGISTRY)


def test_the_codes_page_is_the_registrys() -> None:
    assert CODES_PAGE.read_text(encoding="utf-8") == codes_page(), (
        "docs/codes.md is not the registry's: write it again with "
        "`python -m validator.render.codes_page > docs/codes.md`"
    )


def test_the_codes_page_lists_every_code_once_with_its_family_and_section() -> None:
    text = CODES_PAGE.read_text(encoding="utf-8")
    rows = re.findall(r"^\| \[([A-Z]{3}\d{3})\]\(#([a-z]{3}\d{3})\) \| (\w+) \|", text, re.M)
    assert sorted(name for name, _, _ in rows) == sorted(CODES)
    assert all(anchor == name.lower() for name, anchor, _ in rows)
    assert {name: family for name, _, family in rows} == {c.code: c.family for c in REGISTRY}
    sections = re.findall(r"^### ([A-Z]{3}\d{3})$", text, re.M)
    assert sorted(sections) == sorted(CODES)


def test_the_codes_table_changes_when_the_registry_does() -> None:
    table = codes_table()
    assert "| [SCR001](#scr001) | script | the script does not compile" in table
    assert table.count("\n") == len(REGISTRY) + 2


def test_a_section_says_what_fails_the_example_and_the_fix() -> None:
    section = code_section(CODES["DEP006"])
    assert section.startswith("### DEP006\n")
    assert "**Fails when** a requirement is not pinned with `==` or `===` (warning; not" in section
    assert "```text\npandas>=2.2\n```" in section
    assert "**Fix:** Pin the version" in section
    assert "reported by `check`, `validate`, `register`" in section
    assert "exit status 2" in code_section(CODES["CFG001"])
    assert "reported by `register`." in code_section(CODES["REG002"])


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
        "ENV010", "REG004", "DEP013", "ENV011", "DEP014", "DEP016", "DEP017", "DEP018",
        "DEP019",
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

"""The pipeline's bookkeeping, with fake stages and a fake registry: no MLflow, no files."""

from __future__ import annotations

import pytest

from validator.codes import REGISTRY, STAGES, VALIDATE_STAGES, Code, owned_by
from validator.pipeline import IncompleteStage, Stage, run_stages
from validator.report import Finding, failed, ran, skipped

FAKE = (
    Code("AAA001", "config", "first", "a holds", "a fails", blocking=True),
    Code("AAA002", "config", "first", "a2 holds", "a2 fails"),
    Code("BBB001", "script", "second", "b holds", "b fails"),
    Code("CCC001", "sandbox", "third", "c holds", "c fails"),
    Code("CCC002", "sandbox", "third", "c2 holds", "c2 fails"),
)


def passed(code: str) -> Finding:
    return Finding(code, "passed", f"{code} holds")


def stage(name: str, *findings: Finding, always: bool = False) -> Stage[None]:
    return Stage(name, lambda state: list(findings), always=always)


def statuses(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(finding.code, finding.status) for finding in findings]


def test_a_stage_that_forgets_a_code_is_an_error_never_a_pass() -> None:
    forgetful = stage("first", passed("AAA001"))  # AAA002 is never reported
    with pytest.raises(IncompleteStage, match=r"stage 'first' did not report AAA002"):
        run_stages([forgetful], None, FAKE)


def test_a_stage_that_reports_nothing_is_an_error() -> None:
    with pytest.raises(IncompleteStage, match="did not report CCC001, CCC002"):
        run_stages([stage("third")], None, FAKE)


def test_a_stage_that_reports_a_code_it_does_not_own_is_an_error() -> None:
    thief = stage("second", passed("BBB001"), passed("CCC001"))
    with pytest.raises(IncompleteStage, match="reported CCC001, which it does not own"):
        run_stages([thief], None, FAKE)


def test_a_blocking_failure_skips_every_later_stage_with_the_reason() -> None:
    ran_later: list[str] = []

    def later(state: None) -> list[Finding]:
        ran_later.append("third")
        return [passed("CCC001"), passed("CCC002")]

    stages = [
        stage("first", failed("AAA001", "broken", "x.py:1", "fix it"), passed("AAA002")),
        stage("second", passed("BBB001"), always=True),  # a static stage still runs
        Stage("third", later),
    ]
    findings = run_stages(stages, None, FAKE)
    assert ran_later == []
    assert statuses(findings) == [
        ("AAA001", "failed"),
        ("AAA002", "passed"),
        ("BBB001", "passed"),
        ("CCC001", "skipped"),
        ("CCC002", "skipped"),
    ]
    assert {f.message for f in findings if f.status == "skipped"} == {"not run: AAA001 failed"}


def test_a_non_blocking_failure_does_not_skip() -> None:
    stages = [
        stage("first", passed("AAA001"), failed("AAA002", "x")),
        stage("third", passed("CCC001"), passed("CCC002")),
    ]
    assert statuses(run_stages(stages, None, FAKE))[-1] == ("CCC002", "passed")


def test_codes_come_in_the_same_order_on_every_run_whatever_order_a_stage_reports() -> None:
    one = stage("third", passed("CCC002"), failed("CCC001", "first"), failed("CCC001", "second"))
    other = stage("third", failed("CCC001", "first"), failed("CCC001", "second"), passed("CCC002"))
    first = run_stages([one], None, FAKE)
    assert first == run_stages([other], None, FAKE)
    # several findings of one code keep the order the stage found them in
    assert [f.message for f in first] == ["first", "second", "CCC002 holds"]


def test_ran_passes_only_the_codes_that_ran_and_refuses_strays() -> None:
    assert statuses(ran(("SCR003", "SCR004"), [failed("SCR004", "x")])) == [
        ("SCR004", "failed"),
        ("SCR003", "passed"),
    ]
    with pytest.raises(ValueError, match="DEP001"):
        ran(("SCR003",), [failed("DEP001", "x")])


def test_skipped_codes_still_count_as_reported() -> None:
    lazy = stage("third", skipped("CCC001", "not today"), skipped("CCC002", "nor this"))
    assert statuses(run_stages([lazy], None, FAKE)) == [
        ("CCC001", "skipped"),
        ("CCC002", "skipped"),
    ]


def test_every_code_of_the_real_registry_has_a_real_stage() -> None:
    assert {code.stage for code in REGISTRY} == set(STAGES)
    assert all(owned_by(name) for name in STAGES)


def test_validate_runs_every_stage_but_the_registers() -> None:
    from validator.commands import register, validate

    assert tuple(s.name for s in validate.STAGES) == VALIDATE_STAGES
    assert tuple(s.name for s in register.STAGES) == ("gate", "registration")

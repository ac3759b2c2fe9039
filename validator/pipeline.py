"""Run stages in order and keep the books: every code a stage owns is reported, or it is a bug.

A stage is a name from the code registry and a function that returns findings. After it runs,
the findings must cover exactly the codes the registry gives that stage: a code it forgot is an
`IncompleteStage` error (a bug in the validator, never a pass), and so is a code it does not own.
A failed blocking code makes every later stage that is not `always` report its codes as skipped,
with the reason; `always` stages (the static checks, which read files and skip by themselves
what they cannot read) still run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Generic, TypeVar

from validator.codes import REGISTRY, Code, in_stage_order, owned_by
from validator.report import Finding, skipped

State = TypeVar("State")
# how a caller watches the stages run (progress lines): a context around each stage, by name
Watch = Callable[[str], AbstractContextManager[object]]


def unwatched(name: str) -> AbstractContextManager[object]:
    return contextlib.nullcontext()


class IncompleteStage(Exception):
    """A stage did not report what it owns: a bug in the validator, never the user's to fix."""


@dataclass(frozen=True)
class Stage(Generic[State]):
    name: str
    run: Callable[[State], list[Finding]]
    always: bool = False  # runs even after a blocking failure


def _ordered(findings: list[Finding], registry: dict[str, Code]) -> list[Finding]:
    # stable: several findings of one code keep the order the stage found them in
    return sorted(findings, key=lambda finding: in_stage_order(registry[finding.code]))


def _settle(name: str, findings: list[Finding], owned: Sequence[str]) -> None:
    reported = {finding.code for finding in findings}
    missing = [code for code in owned if code not in reported]
    foreign = sorted(reported - set(owned))
    if missing or foreign:
        problems = []
        if missing:
            problems.append(f"did not report {', '.join(missing)}")
        if foreign:
            problems.append(f"reported {', '.join(foreign)}, which it does not own")
        raise IncompleteStage(f"stage '{name}' {' and '.join(problems)}")


def run_stages(
    stages: Iterable[Stage[State]],
    state: State,
    registry: Iterable[Code] = REGISTRY,
    watch: Watch = unwatched,
) -> list[Finding]:
    """The findings of STAGES run in order on STATE, each stage's in report order; each stage
    that runs does so inside WATCH(its name)."""
    codes = tuple(registry)
    by_code = {code.code: code for code in codes}
    findings: list[Finding] = []
    blocked_by: Finding | None = None
    for stage in stages:
        owned = owned_by(stage.name, codes)
        if blocked_by is not None and not stage.always:
            reason = f"not run: {blocked_by.code} failed"
            findings += [skipped(code, reason) for code in owned]
            continue
        with watch(stage.name):
            found = stage.run(state)
        _settle(stage.name, found, owned)
        findings += _ordered(found, by_code)
        if blocked_by is None:
            blocked_by = next(
                (f for f in found if f.status == "failed" and by_code[f.code].blocking), None
            )
    return findings

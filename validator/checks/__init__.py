"""The static check families, in the order they run. None imports mlflow or pandas."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from validator.checks import (
    artifacts,
    config_files,
    dependencies,
    environment,
    input_example,
    script,
)
from validator.project import Project
from validator.report import Finding

STATIC: tuple[ModuleType, ...] = (
    config_files,
    script,
    input_example,
    dependencies,
    artifacts,
    environment,
)


def run_static(project: Project) -> list[Finding]:
    from validator.report import complete

    findings: list[Finding] = []
    for module in STATIC:
        run: Callable[[Project], list[Finding]] = module.run
        findings += complete(module.CODES, run(project))
    return findings

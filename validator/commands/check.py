"""`mfc-validator check`: the static stages only; imports neither mlflow nor pandas."""

from __future__ import annotations

import time
from pathlib import Path

from validator.checks.static import STATIC
from validator.pipeline import run_stages
from validator.project import config
from validator.project.sources import Project
from validator.report import Report


def run(root: Path, display: str) -> Report:
    started = time.perf_counter()
    project = Project(config.load(root))
    report = Report("check", display, run_stages(STATIC, project))
    report.mark_unusable()
    report.duration_s = time.perf_counter() - started
    return report

"""A requirements file that names a constraints file (`-c constraints.txt`): MLflow logs the
constraints beside the requirements, and the sandbox installs with them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import GOOD_FILES, ProjectFactory
from tests.pins import NUMPY

pytestmark = pytest.mark.slow


def _validate(project: Path) -> tuple[int, dict[str, object], str]:
    output = project.parent / "report.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "validator",
            "validate",
            str(project),
            "--format",
            "json",
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return result.returncode, json.loads(output.read_text()), result.stdout + result.stderr


def test_a_constraints_file_is_shipped_and_installed_with(make_project: ProjectFactory) -> None:
    requirements = str(GOOD_FILES["requirements.txt"]) + "-c constraints.txt\n"
    project = make_project(
        {"requirements.txt": requirements, "constraints.txt": f"pyarrow<99\n{NUMPY}\n"}
    )
    code, report, printed = _validate(project)
    assert code == 0, printed + json.dumps(report, indent=1)
    checks = {check["code"]: check for check in report["checks"]}  # type: ignore[union-attr]
    assert checks["SBX001"]["status"] == "passed"


def test_a_constraint_that_cannot_be_met_fails_before_logging(make_project: ProjectFactory) -> None:
    requirements = str(GOOD_FILES["requirements.txt"]) + "-c constraints.txt\n"
    # the requirements pin numpy: a constraint that excludes it cannot be met, which the
    # resolution finds before anything is logged
    project = make_project({"requirements.txt": requirements, "constraints.txt": "numpy<2\n"})
    code, report, printed = _validate(project)
    checks = {check["code"]: check for check in report["checks"]}  # type: ignore[union-attr]
    assert code == 1, printed
    assert checks["DEP014"]["status"] == "failed"
    assert checks["DEP014"]["message"].startswith(f"{NUMPY} cannot be installed")
    assert "numpy<2" in checks["DEP014"]["message"]
    assert checks["SBX001"]["status"] == "skipped" and report["run_id"] is None

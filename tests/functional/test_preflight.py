"""ENV006 runs before anything is logged: a required variable unset stops `validate` with its
own message, even when the script reads the variable at import (where it used to surface as the
script's KeyError, SCR007)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import GOOD_MODEL, ProjectFactory, run_cli

READS_AT_IMPORT = GOOD_MODEL.replace(
    "import mlflow\n", 'import os\n\nimport mlflow\n\nENDPOINT = os.environ["MFC_TEST_ENDPOINT"]\n'
)


def test_a_required_variable_unset_stops_validate_before_logging(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    project = make_project(
        {
            "model.py": READS_AT_IMPORT,
            "model.yaml": "env:\n  - {name: MFC_TEST_ENDPOINT, description: the service}\n",
        }
    )
    env = {key: value for key, value in os.environ.items() if key != "MFC_TEST_ENDPOINT"}
    report_file = tmp_path / "report.json"
    result = run_cli(
        "validate", str(project), "--format", "json", "--output", str(report_file), env=env
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(report_file.read_text())
    checks = {check["code"]: check for check in report["checks"]}
    assert checks["ENV006"]["status"] == "failed"
    assert "MFC_TEST_ENDPOINT" in checks["ENV006"]["message"]
    assert checks["ENV006"]["location"] == "model.yaml:1"
    assert "export MFC_TEST_ENDPOINT=" in checks["ENV006"]["hint"]
    # the script was never run: SCR007 and everything after it is skipped, naming ENV006
    assert checks["SCR007"]["status"] == "skipped"
    later = [
        c for c in report["checks"] if c["code"] not in ("ENV006",) and c["status"] == "skipped"
    ]
    assert {c["message"] for c in later if c["code"] != "DEP012"} == {"not run: ENV006 failed"}
    assert [c["code"] for c in report["checks"] if c["status"] == "failed"] == ["ENV006"]
    # nothing was logged: no run, no store
    assert (report["run_id"], report["mlflow_version"]) == (None, None)
    assert not (project / ".mlflow").exists()


def test_set_the_variable_and_preflight_passes(make_project: ProjectFactory) -> None:
    from validator.checks.environment import required_unset
    from validator.project import config

    project = make_project(
        {"model.yaml": "env:\n  - {name: A_VAR}\n  - {name: B_VAR, required: false}\n"}
    )
    loaded = config.load(project)
    assert [(f.code, f.status) for f in required_unset(loaded, {"A_VAR": "1"})] == [
        ("ENV006", "passed")
    ]
    [unset] = required_unset(loaded, {})
    assert (unset.code, unset.status) == ("ENV006", "failed") and "A_VAR" in unset.message


def test_a_flavor_whose_library_is_missing_here_is_exit_2_not_the_scripts_error(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    # this (dev) environment has no langchain: MLflow could not log the chain here
    project = make_project({"model.yaml": "flavor: langchain\n"})
    result = run_cli("validate", str(project))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "model.yaml:1: flavor langchain is logged with langchain" in result.stderr
    assert "nox -s validate" in result.stderr
    assert "building" not in result.stderr  # nothing was started for it
    assert not (project / ".mlflow").exists()

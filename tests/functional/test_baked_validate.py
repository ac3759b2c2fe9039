"""Issue-level acceptance: bake with the real cookiecutter CLI and run the project's own nox
(validate, then register), as a user does right after generating it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.functional.nox_session import run_nox
from tests.pins import MLFLOW_VERSION

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_fresh_project_validates_with_its_own_nox_session(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {
        **os.environ,
        "MFC_VALIDATOR_CACHE": str(tmp_path / "env-cache"),
        # cookiecutter's replay file goes here, not into the home folder
        "COOKIECUTTER_CONFIG": str(tmp_path / "cookiecutter.yaml"),
    }
    (tmp_path / "cookiecutter.yaml").write_text(f"replay_dir: {tmp_path / 'replay'}\n")
    env.pop("MFC_VALIDATOR_SPEC", None)  # the default: the template it was generated from
    bake = subprocess.run(
        [sys.executable, "-m", "cookiecutter", str(REPO_ROOT), "--no-input", "-o", str(out)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bake.returncode == 0, bake.stderr
    (project,) = list(out.iterdir())
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "nox",
            "-s",
            "validate",
            "--",
            "--format",
            "json",
            "--output",
            "r.json",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=1200,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((project / "r.json").read_text())
    assert report["status"] == "passed"
    assert report["schema_version"] == 1 and report["command"] == "validate"
    assert report["run_id"] and report["model_uri"] and report["mlflow_version"] == MLFLOW_VERSION
    checks = {check["code"]: check["status"] for check in report["checks"]}
    assert checks["SIG004"] == checks["SIG005"] == checks["SBX003"] == "passed"
    assert (project / ".mlflow" / "mlflow.db").is_file()
    assert "validate passed" in result.stdout + result.stderr

    # the second run reuses the session's environment and installs nothing; both it and the
    # sandbox's environment keep their bytecode although PYTHONDONTWRITEBYTECODE is set
    code, output = run_nox(project, "validate", {**env, "PYTHONDONTWRITEBYTECODE": "1"})
    assert code == 0, output
    assert "requirements and validator unchanged: reusing this environment" in output
    assert "pip install" not in output and "validate passed" in output
    assert list(
        (project / ".nox" / "env").glob("lib/python*/site-packages/mlflow/__pycache__/*.pyc")
    )
    assert list((tmp_path / "env-cache").rglob("site-packages/mlflow/__pycache__/*.pyc"))

    # and it registers right after, from the validation just recorded
    code, output = run_nox(project, "register", env, "--format", "json", "--output", "reg.json")
    assert code == 0, output
    registered = json.loads((project / "reg.json").read_text())
    assert registered["command"] == "register" and registered["status"] == "passed"
    assert registered["model_uri"] == "models:/demand-forecast/1"

"""`validate` logging real models from code to a real SQLite store."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import GOOD_MODEL, ProjectFactory, run_cli
from tests.pins import MLFLOW_VERSION

pytestmark = pytest.mark.slow


def _report(project: Path, *extra: str) -> tuple[int, dict[str, object], str]:
    out = project.parent / f"{project.name}-report.json"
    result = run_cli("validate", str(project), "--format", "json", "--output", str(out), *extra)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(out.read_text()), result.stdout


def _by_code(report: dict[str, object]) -> dict[str, dict[str, str]]:
    checks = report["checks"]
    assert isinstance(checks, list)
    return {check["code"]: check for check in checks if check["status"] != "passed"} | {
        check["code"]: check for check in checks if check["status"] == "passed"
    }


def test_good_project_passes_and_logs_to_the_embedded_store(make_project: ProjectFactory) -> None:
    project = make_project()
    code, report, stdout = _report(project)
    assert code == 0, report
    assert report["status"] == "passed"
    assert report["schema_version"] == 1 and report["command"] == "validate"
    assert isinstance(report["run_id"], str) and report["run_id"]
    assert str(report["model_uri"]).startswith("models:/")
    assert report["mlflow_version"] == MLFLOW_VERSION
    assert _by_code(report)["SIG004"]["status"] == "passed"
    assert "validate passed" in stdout
    database = project / ".mlflow" / "mlflow.db"
    with sqlite3.connect(database) as connection:
        (status,) = connection.execute(
            "select status from runs where run_uuid = ?", (report["run_id"],)
        ).fetchone()
    assert status == "FINISHED"
    assert (project / ".mlflow" / ".gitignore").read_text().strip().endswith("*")
    assert not (project / "mlruns").exists()


def test_syntax_error(make_project: ProjectFactory) -> None:
    source = GOOD_MODEL.replace("def predict(self,", "def predict(self,,")
    code, report, _ = _report(make_project({"model.py": source}))
    check = _by_code(report)["SCR001"]
    assert code == 1 and check["status"] == "failed"
    line = source.splitlines().index(next(x for x in source.splitlines() if ",," in x)) + 1
    assert check["location"] == f"model.py:{line}"
    assert report["run_id"] is None and report["model_uri"] is None
    assert _by_code(report)["SCR007"]["status"] == "skipped"


def test_no_set_model(make_project: ProjectFactory) -> None:
    source = GOOD_MODEL.replace("mlflow.models.set_model(Scorer())", "")
    code, report, _ = _report(make_project({"model.py": source}))
    check = _by_code(report)["SCR002"]
    assert code == 1 and check["status"] == "failed"
    assert check["location"] == "model.py" and "set_model" in check["hint"]


def test_module_code_raises(make_project: ProjectFactory) -> None:
    source = GOOD_MODEL.replace(
        "mlflow.models.set_model(Scorer())",
        'THRESHOLDS = {"low": 1}\nLIMIT = THRESHOLDS["high"]\nmlflow.models.set_model(Scorer())',
    )
    line = source.splitlines().index('LIMIT = THRESHOLDS["high"]') + 1
    code, report, _ = _report(make_project({"model.py": source}))
    check = _by_code(report)["SCR007"]
    assert code == 1 and check["status"] == "failed"
    assert check["location"] == f"model.py:{line}"
    assert "KeyError: 'high'" in check["message"]
    assert report["status"] == "failed"


def test_helper_module_raises_points_at_the_helper(make_project: ProjectFactory) -> None:
    project = make_project(
        {
            "model.yaml": "code_paths: [helpers.py]\n",
            "helpers.py": "def weights():\n    raise RuntimeError('no weights file')\n",
            "model.py": GOOD_MODEL.replace(
                "self.weights = np.array([0.5, 1.5])",
                "from helpers import weights\n        self.weights = weights()",
            ),
        }
    )
    code, report, _ = _report(project)
    failures = {c: v for c, v in _by_code(report).items() if v["status"] == "failed"}
    assert code == 1
    assert "RuntimeError: no weights file" in json.dumps(failures)
    assert any(str(v["location"]).startswith("helpers.py:2") for v in failures.values())


def test_predict_raises(make_project: ProjectFactory) -> None:
    source = GOOD_MODEL.replace(
        'x = model_input[["a", "b"]]', 'x = model_input[["a", "b", "missing"]]'
    )
    line = next(i for i, x in enumerate(source.splitlines(), 1) if '"missing"' in x)
    code, report, _ = _report(make_project({"model.py": source}))
    check = _by_code(report)["SCR008"]
    assert code == 1 and check["status"] == "failed"
    assert check["location"] == f"model.py:{line}"
    assert "KeyError" in check["message"]


def test_text_and_junit_formats(make_project: ProjectFactory) -> None:
    project = make_project(
        {"model.py": GOOD_MODEL.replace("mlflow.models.set_model(Scorer())", "")}
    )
    text = run_cli("validate", str(project))
    assert text.returncode == 1
    assert "FAIL SCR002" in text.stdout and "fix:" in text.stdout
    junit = run_cli("validate", str(project), "--format", "junit")
    assert junit.returncode == 1
    assert junit.stdout.startswith('<?xml version="1.0"')
    assert '<failure message="model.py never calls mlflow.models.set_model' in junit.stdout


def test_tracking_uri_option_overrides_the_default(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    project = make_project()
    store = tmp_path / "elsewhere.db"
    code, report, _ = _report(project, "--tracking-uri", f"sqlite:///{store}")
    assert code == 0, report
    assert store.exists()
    assert not (project / ".mlflow").exists()

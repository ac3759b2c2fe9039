"""`validate models:/…`: a model already logged with MLflow's plain API, not from a project,
validated from its own files (slow tier: a store, the sandbox)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.slow

# a pickled scikit-learn model, logged and registered as MLflow's docs do it, with an alias
# (MLflow 3 saves scikit-learn with skops unless told otherwise; registries are full of pickles)
LOG_SKLEARN = """
import mlflow, numpy as np, pandas as pd
from sklearn.linear_model import LinearRegression
mlflow.set_tracking_uri({uri!r})
X = pd.DataFrame({{"a": [1.0, 2.0, 3.0], "b": [0.5, 0.1, 0.9]}})
model = LinearRegression().fit(X, np.array([1.0, 2.0, 3.5]))
with mlflow.start_run():
    mlflow.sklearn.log_model(model, name="model", input_example=X.head(2),
                             serialization_format="cloudpickle",
                             registered_model_name="plain-sklearn")
mlflow.MlflowClient().set_registered_model_alias("plain-sklearn", "champion", "1")
"""

# a model from code whose predict always raises: MLflow logs and registers it all the same
BROKEN = """
import mlflow
class Broken(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        raise RuntimeError("the price table is not loaded")
mlflow.models.set_model(Broken())
"""
LOG_BROKEN = """
import mlflow, pandas as pd
mlflow.set_tracking_uri({uri!r})
with mlflow.start_run() as run:
    mlflow.pyfunc.log_model(name="model", python_model={script!r},
                            input_example=pd.DataFrame({{"a": [1.0]}}),
                            registered_model_name="broken-scorer")
print(run.info.run_id)
"""


def _python(code: str, cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "MLFLOW_TRACKING_URI": ""},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _validate(target: str, uri: str, tmp_path: Path, cache: Path) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "report.json"
    out.unlink(missing_ok=True)
    env = {"MFC_VALIDATOR_CACHE": str(cache), "MLFLOW_TRACKING_URI": ""}
    done = run_cli(
        "validate", target, "--tracking-uri", uri, "--format", "json", "--output", str(out), env=env
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert out.exists(), done.stdout + done.stderr
    return done.returncode, json.loads(out.read_text())


def _by_code(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["code"]: check for check in report["checks"]}


def test_a_pickled_sklearn_model_and_a_broken_one_registered_from_python(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cache = tmp_path / "env-cache"
    _python(LOG_SKLEARN.format(uri=uri), tmp_path)

    code, report = _validate("models:/plain-sklearn@champion", uri, tmp_path, cache)
    found = _by_code(report)
    assert code == 0, found
    assert report["status"] == "passed" and report["model_uri"] == "models:/plain-sklearn@champion"
    for sandboxed in ("SBX001", "SBX002", "SBX003", "SBX008", "SIG006"):
        assert found[sandboxed]["status"] == "passed", found[sandboxed]
    assert found["DEP011"]["status"] == "warning"  # the model is a pickle, and says of what
    assert "model.pkl is a pickle of numpy, sklearn objects" in found["DEP011"]["message"]
    assert "skops" in found["DEP011"]["hint"]
    assert found["SCR002"]["status"] == "skipped"  # what needs a project is skipped, saying so
    assert "needs the project" in found["SCR002"]["message"]

    script = tmp_path / "broken.py"
    script.write_text(BROKEN)
    run_id = _python(LOG_BROKEN.format(uri=uri, script=str(script)), tmp_path)
    code, report = _validate(f"runs:/{run_id}/model", uri, tmp_path, cache)
    found = _by_code(report)
    assert code == 1 and report["status"] == "failed"
    assert found["SBX002"]["status"] == "passed"
    assert found["SBX003"]["status"] == "failed"
    assert "RuntimeError: the price table is not loaded" in found["SBX003"]["message"]
    assert found["SBX003"]["location"].startswith("broken.py:")

    # a name the registry does not hold: exit 2, one line, nothing else
    done = run_cli("validate", "models:/no-such-model/1", "--tracking-uri", uri)
    assert done.returncode == 2, done.stderr
    assert "cannot download models:/no-such-model/1" in done.stderr
    assert "Traceback" not in done.stderr

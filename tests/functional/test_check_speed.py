"""`check` stays fast: it imports neither mlflow, pandas, numpy nor the model (no timing here:
benchmarks/bench_check.py measures the time)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ScenarioFactory

HEAVY = ("mlflow", "pandas", "numpy", "detect_secrets")  # the secret scan is validate's
PROGRAM = """
import contextlib, io, json, sys
import validator.cli
with contextlib.redirect_stdout(io.StringIO()):
    status = validator.cli.main(["check", sys.argv[1], "--format", "json"])
heavy = sorted({{name.split(".")[0] for name in sys.modules}} & set({heavy!r}))
print(json.dumps({{"status": status, "heavy": heavy, "model": "model" in sys.modules}}))
"""


@pytest.mark.parametrize(
    ("scenario", "status"),
    [
        ("good", 0),
        # the paths that read installed metadata and follow local modules
        ("dep001_missing_requirement", 1),
        ("dep002_local_module_not_shipped", 1),
        ("dep003_unknown_import", 0),
    ],
)
def test_check_imports_neither_mlflow_nor_pandas(
    scenario_project: ScenarioFactory, scenario: str, status: int
) -> None:
    project = scenario_project(scenario)
    process = subprocess.run(
        [sys.executable, "-c", PROGRAM.format(heavy=HEAVY), str(project)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode == 0, process.stderr
    result = json.loads(process.stdout)
    assert result == {"status": status, "heavy": [], "model": False}

"""`mfc-validator check` over the projects in tests/fixtures/: one scenario, one expected code.
Each scenario is materialized (good/ with the scenario's overlay on top) into a scratch folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from tests.conftest import BASE_SCENARIO, ScenarioFactory, scenario_names
from tests.pins import PINS
from validator.codes import STATIC_STAGES, owned_by


class Expected(NamedTuple):
    code: str
    status: str  # failed or warning
    exit_code: int
    location: str
    mentions: str  # besides the file: what the message must name


SCENARIOS: dict[str, Expected] = {
    # a file model.yaml names is missing: the run cannot be made (exit 2), the report says why
    "cfg001_missing_script": Expected("CFG001", "failed", 2, "model.yaml:3", "serve.py"),
    # an artifact outside the project: a config failure (exit 1), not an unusable model.yaml
    "cfg002_path_outside": Expected(
        "CFG002", "failed", 1, "model.yaml:8", "'../outside-secret.txt', which resolves to"
    ),
    "cfg003_secret_file": Expected("CFG003", "failed", 1, "pkg/.env", "a dotenv file"),
    "cfg004_cache_folder": Expected(
        "CFG004", "warning", 0, "pkg/.ipynb_checkpoints", "1 file, 38 bytes"
    ),
    "scr001_syntax_error": Expected("SCR001", "failed", 1, "model.py:14", "invalid syntax"),
    # ast.parse accepts it; Python's compiler (and so MLflow) refuses it
    "scr001_late_future_import": Expected(
        "SCR001", "failed", 1, "model.py:4", "__future__ imports must occur at the beginning"
    ),
    "scr002_no_set_model": Expected("SCR002", "failed", 1, "model.py", "set_model"),
    "scr003_set_model_twice": Expected("SCR003", "failed", 1, "model.py:27", "2 times"),
    "scr004_set_model_in_function": Expected("SCR004", "failed", 1, "model.py:27", "function"),
    "scr005_relative_import": Expected("SCR005", "failed", 1, "model.py:10", ".helpers"),
    "scr006_set_model_decorator": Expected("SCR006", "failed", 1, "model.py:13", "decorator"),
    "sig001_input_not_json": Expected("SIG001", "failed", 1, "input_example.json:2", "JSON"),
    "sig002_two_format_keys": Expected("SIG002", "failed", 1, "input_example.json", "'inputs'"),
    "sig003_wrong_shape": Expected("SIG003", "failed", 1, "input_example.json", "2 columns"),
    "dep001_missing_requirement": Expected("DEP001", "failed", 1, "model.py:10", "sklearn"),
    "dep002_local_module_not_shipped": Expected("DEP002", "failed", 1, "model.py:10", "helpers"),
    "dep003_unknown_import": Expected("DEP003", "warning", 0, "model.py:10", "mfc_fixture_"),
    "dep004_optional_import": Expected("DEP004", "warning", 0, "model.py:13", "orjson"),
    "dep019_lock_without_pyproject": Expected(
        "DEP019", "failed", 1, "uv.lock", "MLflow ignores it"
    ),
    "dep005_invalid_requirement": Expected(
        "DEP005", "failed", 1, "requirements.txt:3", "scikit-learn=1.5.2"
    ),
    # a wheel on this machine: it does not exist where the model is served
    "dep005_local_wheel": Expected(
        "DEP005", "failed", 1, "requirements.txt:3", "file:///home/me/dist/scaler_extras-1.0"
    ),
    "dep013_credentials_in_url": Expected(
        "DEP013", "failed", 1, "requirements.txt:3", "https://***@pypi.example.com/simple"
    ),
    "dep006_unpinned_requirement": Expected(
        "DEP006", "warning", 0, "requirements.txt:2", "pandas>=2.2"
    ),
    "dep007_no_mlflow_requirement": Expected("DEP007", "failed", 1, "requirements.txt", "mlflow"),
    "dep008_duplicate_requirement": Expected(
        "DEP008", "failed", 1, "requirements.txt:4", "requirements.txt:2"
    ),
    "dep012_precommit_drift": Expected(
        "DEP012",
        "warning",
        0,
        ".pre-commit-config.yaml:4",
        f"pandas is ==3.0.0 there but =={PINS['pandas']}",
    ),
    "dep011_pickled_artifact": Expected("DEP011", "warning", 0, "factor.pkl", "pickle of numpy"),
    "env001_undeclared_variable": Expected("ENV001", "failed", 1, "model.py:16", "SERVICE_URL"),
    "env002_unused_declaration": Expected(
        "ENV002", "warning", 0, "model.yaml:13", "LEGACY_ENDPOINT"
    ),
    "env003_computed_name": Expected("ENV003", "warning", 0, "model.py:17", "literal"),
    # the value of a secret set here (FIXTURE_ENV below), pasted into model_config
    "env011_secret_in_model_config": Expected(
        "ENV011", "failed", 1, "model.yaml:15", "FIXTURE_SERVICE_TOKEN in model_config"
    ),
}
# what the scenarios run with: env011's secret is set, as a deployer's shell would have it
FIXTURE_ENV = {"FIXTURE_SERVICE_TOKEN": "fixture-token-value-0042"}
# the hint must name the fix, not only restate the problem
HINTS = {
    "CFG002": "copy the file into the project",
    "CFG003": "environment variables declared in model.yaml env",
    "DEP001": "scikit-learn",
    "DEP002": "code_paths",
    "DEP007": "mlflow==",
    "DEP011": "safetensors",
    "DEP013": "PIP_INDEX_URL",
    "ENV001": "SERVICE_URL",
    "ENV011": "os.environ at load time",
    "SCR005": "code_paths",
}


def check(project: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    process = subprocess.run(
        [sys.executable, "-m", "validator", "check", str(project), "--format", "json"],
        env={**os.environ, **FIXTURE_ENV},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in process.stderr, process.stderr
    return process, json.loads(process.stdout)


def with_status(report: dict[str, Any], status: str) -> set[str]:
    return {check["code"] for check in report["checks"] if check["status"] == status}


def with_code(report: dict[str, Any], code: str, status: str) -> list[dict[str, Any]]:
    return [c for c in report["checks"] if c["code"] == code and c["status"] == status]


# the lock's codes depend on the Python the tests run on and on a hash of the requirements, which
# a scenario's overlay changes: tests/unit/test_lock_check.py builds their projects in tmp_path;
# every scenario here is unlocked, so DEP015 warns in each
LOCK_CODES = ("DEP015", "DEP016", "DEP017", "DEP018")
UNLOCKED = ("DEP015", "warning")


def test_every_static_code_has_a_scenario() -> None:
    static = {code for stage in STATIC_STAGES for code in owned_by(stage)} - set(LOCK_CODES)
    assert {expected.code for expected in SCENARIOS.values()} == static
    assert set(scenario_names()) == {*SCENARIOS, BASE_SCENARIO}


def test_good_project_passes_every_check(scenario_project: ScenarioFactory) -> None:
    process, report = check(scenario_project(BASE_SCENARIO))
    assert process.returncode == 0, process.stdout
    assert report["status"] == "passed"
    assert report["command"] == "check"
    assert report["mlflow_version"] is None
    # good/ has no .pre-commit-config.yaml: the hook's pins are compared in dep012's scenario
    assert {c["code"]: c["status"] for c in report["checks"] if c["status"] != "passed"} == {
        "DEP012": "skipped",
        "DEP015": "warning",
    }
    static = [code for stage in STATIC_STAGES for code in owned_by(stage)]
    assert [c["code"] for c in report["checks"]] == static  # every static code, in order


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_scenario(scenario_project: ScenarioFactory, scenario: str) -> None:
    expected = SCENARIOS[scenario]
    process, report = check(scenario_project(scenario))
    assert process.returncode == expected.exit_code, process.stdout
    other = "warning" if expected.status == "failed" else "failed"
    unlocked = {UNLOCKED[0]}
    assert with_status(report, expected.status) - unlocked == {expected.code}
    assert with_status(report, other) - unlocked == set()
    # a code may also pass for other files (CFG003 lists what each clean entry ships)
    [finding] = with_code(report, expected.code, expected.status)
    assert finding["family"] in ("config", "script", "signature", "dependencies", "environment")
    assert finding["location"] == expected.location
    file = expected.location.split(":")[0]
    if expected.code != "CFG001":  # CFG001 names the missing file, found at model.yaml's line
        assert file in finding["message"]
    assert expected.mentions in finding["message"]
    assert "\n" not in finding["message"]
    assert finding["hint"]
    assert HINTS.get(expected.code, "") in finding["hint"]

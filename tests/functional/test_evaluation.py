"""model.yaml's evaluation key through the command, as a whole process: a bad key exits 2 naming
it, missing data is CFG001."""

from __future__ import annotations

import json

from tests.conftest import ProjectFactory, run_cli

PREFIX = "name: m\nevaluation:\n  data: d.csv\n  targets: y\n  model_type: regressor\n"


def test_bad_evaluation_key_exits_2_naming_it(make_project: ProjectFactory) -> None:
    project = make_project({"model.yaml": PREFIX + "  thresholds: {r2_score: {mn: 0.9}}\n"})

    result = run_cli("check", str(project))

    assert result.returncode == 2
    assert "model.yaml:2" in result.stderr
    assert "evaluation.thresholds.r2_score" in result.stderr and "'mn'" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_evaluation_data_is_cfg001(make_project: ProjectFactory) -> None:
    project = make_project({"model.yaml": PREFIX})

    result = run_cli("check", str(project), "--format", "json")

    assert result.returncode == 2
    [finding] = [c for c in json.loads(result.stdout)["checks"] if c["status"] == "failed"]
    assert finding["code"] == "CFG001"
    assert "evaluation.data" in finding["message"] and "d.csv" in finding["message"]
    assert finding["location"] == "model.yaml:2"

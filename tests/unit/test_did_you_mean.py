"""Typos get a 'did you mean': a request key one letter off a serving format, and a file
model.yaml names that is one letter off a file beside it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.pins import MLFLOW
from validator.checks import config_files, input_example
from validator.project import config
from validator.project.sources import Project


def _project(tmp_path: Path, yaml: str, example: object) -> Project:
    (tmp_path / "model.yaml").write_text(yaml)
    (tmp_path / "model.py").write_text("pass\n")
    (tmp_path / "requirements.txt").write_text(f"{MLFLOW}\n")
    (tmp_path / "input_example.json").write_text(json.dumps(example))
    return Project(config.load(tmp_path))


def test_a_misspelt_serving_format_is_named(tmp_path: Path) -> None:
    project = _project(tmp_path, "", {"dataframe_splt": {"columns": ["a"], "data": [[1]]}})
    [sig002] = [f for f in input_example.run(project) if f.code == "SIG002"]
    assert sig002.status == "failed"
    assert sig002.message.endswith("found 'dataframe_splt'; did you mean 'dataframe_split'?")


def test_a_misspelt_script_is_named(tmp_path: Path) -> None:
    project = _project(tmp_path, "script: modle.py\n", {"inputs": [1]})
    [cfg001] = [f for f in config_files.run(project) if f.status == "failed"]
    assert (
        cfg001.message == "script names 'modle.py', which does not exist; did you mean 'model.py'?"
    )


def test_nothing_near_gets_no_guess(tmp_path: Path) -> None:
    project = _project(tmp_path, "script: forecast.py\n", {"inputs": [1]})
    [cfg001] = [f for f in config_files.run(project) if f.status == "failed"]
    assert cfg001.message == "script names 'forecast.py', which does not exist"

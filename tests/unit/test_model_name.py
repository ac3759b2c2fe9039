"""A registered model's name is refused by `check` exactly when MLflow's registry refuses it:
the validator's copy of the rule is compared with MLflow's own function, so that it cannot
drift."""

from __future__ import annotations

from pathlib import Path

import pytest

from validator.errors import ValidatorError
from validator.project import config

NAMES = [
    "demand-forecast",
    "team/demand-forecast",
    "team:forecast",
    "a.b_c-1",
    "Forecast v2",
    "",
    "   ",
    ".",
    "..",
    "..forecast",
    ".forecast",
    "forecast.",
    "forecast..v2",
    "a\\b",
    "%percent",
    "naïve-modèle",
    "emoji-🙂",
    "tab\tname",
    "x" * 300,
]


@pytest.mark.parametrize("name", NAMES)
def test_the_rule_is_mlflow_s(name: str) -> None:
    from mlflow.exceptions import MlflowException
    from mlflow.utils.validation import _validate_model_name

    try:
        _validate_model_name(name)
        refused = False
    except MlflowException:
        refused = True
    assert (config.model_name_problem(name) is not None) == refused


def test_a_refused_name_stops_check(tmp_path: Path) -> None:
    (tmp_path / "model.yaml").write_text("# the project\nname: team/demand-forecast\n")
    with pytest.raises(ValidatorError) as raised:
        config.load(tmp_path)
    assert str(raised.value).startswith("model.yaml:2: 'name' 'team/demand-forecast' cannot be")
    assert "e.g. team-demand-forecast" in str(raised.value)


def test_a_refused_folder_name_asks_for_a_name(tmp_path: Path) -> None:
    project = tmp_path / "team:forecast"
    project.mkdir()
    (project / "model.yaml").write_text("")
    with pytest.raises(ValidatorError, match=r"set 'name' in model\.yaml"):
        config.load(project)

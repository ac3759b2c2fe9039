"""The flavor table against MLflow itself: each row's log_model exists and takes the script and
the options the row names; model.yaml accepts exactly the table's flavors and options."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

from tests.pins import MLFLOW
from validator.errors import ValidatorError
from validator.project import config
from validator.project.flavors import FLAVORS


@pytest.mark.parametrize("name", sorted(FLAVORS))
def test_each_flavor_is_logged_as_its_row_says(name: str) -> None:
    flavor = FLAVORS[name]
    log_model = importlib.import_module(f"mlflow.{flavor.module}").log_model
    parameters = inspect.signature(log_model).parameters
    assert flavor.script_argument in parameters
    assert set(flavor.options) <= set(parameters)
    assert ("artifacts" in parameters) == flavor.artifacts


def _project(tmp_path: Path, yaml: str) -> Path:
    (tmp_path / "model.yaml").write_text(yaml)
    (tmp_path / "model.py").write_text("pass\n")
    (tmp_path / "requirements.txt").write_text(f"{MLFLOW}\n")
    (tmp_path / "input_example.json").write_text("{}")
    return tmp_path


def test_model_yaml_takes_the_tables_flavors_and_options(tmp_path: Path) -> None:
    loaded = config.load(
        _project(tmp_path, "name: m\nflavor: llama_index\nflavor_options:\n  engine_type: chat\n")
    )
    assert FLAVORS[loaded.flavor].option("engine_type", loaded.flavor_options) == "chat"
    with pytest.raises(ValidatorError, match="must be one of pyfunc, langchain, llama_index"):
        config.load(_project(tmp_path, "name: m\nflavor: sklearn\n"))
    with pytest.raises(ValidatorError, match="takes no option 'engine_type'"):
        config.load(
            _project(tmp_path, "name: m\nflavor: langchain\nflavor_options:\n  engine_type: chat\n")
        )

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
import pandas as pd
import pytest
import yaml

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import ModuleType

PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def declaration() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((PROJECT / "model.yaml").read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="session")
def model_config(declaration: dict[str, Any]) -> dict[str, Any]:
    config = declaration.get("model_config") or {}
    if isinstance(config, str):
        config = yaml.safe_load((PROJECT / config).read_text(encoding="utf-8")) or {}
    assert isinstance(config, dict)
    return config


@pytest.fixture(scope="session")
def env_names(declaration: dict[str, Any]) -> list[str]:
    return [str(entry["name"]) for entry in declaration.get("env") or []]


@pytest.fixture(scope="session")
def model_module(declaration: dict[str, Any]) -> ModuleType:
    # model.py is a script, not a package module: import it by path, as MLflow does.
    path = PROJECT / declaration.get("script", "model.py")
    spec = importlib.util.spec_from_file_location("model_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def env(env_names: list[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    values = {name: f"test-value-of-{name.lower()}" for name in env_names}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    yield values


@pytest.fixture
def model(
    model_module: ModuleType, model_config: dict[str, Any], env: dict[str, str]
) -> mlflow.pyfunc.PythonModel:
    instance: mlflow.pyfunc.PythonModel = model_module.DemandForecast()
    instance.load_context(mlflow.pyfunc.PythonModelContext(artifacts={}, model_config=model_config))
    return instance


@pytest.fixture(scope="session")
def input_example() -> pd.DataFrame:
    payload = json.loads((PROJECT / "input_example.json").read_text(encoding="utf-8"))
    split = payload["dataframe_split"]
    return pd.DataFrame(data=split["data"], columns=split["columns"], index=split.get("index"))

from __future__ import annotations

import importlib.util
import json
import sys
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
    # model.py is a script, not a package module: import it by path, as MLflow does, with the
    # project folder on sys.path for the modules it ships through code_paths.
    if str(PROJECT) not in sys.path:
        sys.path.insert(0, str(PROJECT))
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


@pytest.fixture(scope="session")
def artifacts(declaration: dict[str, Any]) -> dict[str, str]:
    # What MLflow gives load_context: each artifact's name and the path of its (logged) copy.
    declared = declaration.get("artifacts") or {}
    return {name: str(PROJECT / path) for name, path in declared.items()}


@pytest.fixture
def model(
    model_module: ModuleType,
    model_config: dict[str, Any],
    artifacts: dict[str, str],
    env: dict[str, str],
) -> mlflow.pyfunc.PythonModel:
    instance: mlflow.pyfunc.PythonModel = model_module.DemandForecast()
    instance.load_context(
        mlflow.pyfunc.PythonModelContext(artifacts=artifacts, model_config=model_config)
    )
    return instance


@pytest.fixture(scope="session")
def payload(declaration: dict[str, Any]) -> dict[str, Any]:
    path = PROJECT / declaration.get("input_example", "input_example.json")
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="session")
def input_example(payload: dict[str, Any]) -> Any:
    """The example request as predict receives it: a DataFrame, or the `inputs` as they are."""
    if "dataframe_split" in payload:
        split = payload["dataframe_split"]
        return pd.DataFrame(data=split["data"], columns=split["columns"], index=split.get("index"))
    return payload["inputs"]

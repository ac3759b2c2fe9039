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
    from collections.abc import Callable, Iterator
    from types import ModuleType

PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def tracking_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An MLflow store of the test session, for the runs, models and traces tests make: never the
    project folder, where MLflow's defaults (./mlflow.db and ./mlruns) would put them."""
    folder = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        mlflow.set_tracking_uri(uri)
        experiment_id = mlflow.create_experiment(
            "tests", artifact_location=(folder / "artifacts").as_uri()
        )
        mlflow.set_experiment(experiment_id=experiment_id)
        yield uri
        # traces are written in the background: before the store goes away
        mlflow.flush_trace_async_logging()


@pytest.fixture(scope="session")
def declaration() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((PROJECT / "model.yaml").read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="session")
def pinned_requirements() -> list[str]:
{%- if cookiecutter.dependencies == "uv" %}
    """The model's runtime requirements: pyproject.toml's [project] dependencies."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pytest's own dependency before Python 3.11
        import tomli as tomllib

    pyproject = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))
    return [str(requirement) for requirement in pyproject["project"]["dependencies"]]
{%- else %}
    """The model's runtime requirements: requirements.txt's lines."""
    return (PROJECT / "requirements.txt").read_text(encoding="utf-8").split()
{%- endif %}


@pytest.fixture(scope="session")
def model_config(declaration: dict[str, Any]) -> dict[str, Any]:
    config = declaration.get("model_config") or {}
    if isinstance(config, str):
        config = yaml.safe_load((PROJECT / config).read_text(encoding="utf-8")) or {}
    assert isinstance(config, dict)
    return config


@pytest.fixture(scope="session")
def env_names(declaration: dict[str, Any]) -> list[str]:
    """The required variables: model.yaml's `env` entries without `required: false`."""
    return [
        str(entry["name"])
        for entry in declaration.get("env") or []
        if entry.get("required", True) is not False
    ]


@pytest.fixture(scope="session")
def optional_env_names(declaration: dict[str, Any], env_names: list[str]) -> list[str]:
    declared = [str(entry["name"]) for entry in declaration.get("env") or []]
    return [name for name in declared if name not in env_names]


def dummy_values(names: list[str]) -> dict[str, str]:
    return {name: f"test-value-of-{name.lower()}" for name in names}


@pytest.fixture(scope="session")
def run_script(declaration: dict[str, Any]) -> Callable[[], ModuleType]:
    """Run model.py afresh and return it as a module, as MLflow runs it when it loads the model."""
    path = PROJECT / declaration.get("script", "model.py")

    def run() -> ModuleType:
        # model.py is a script, not a package module: import it by path, as MLflow does, with
        # the project folder on sys.path for the modules it ships through code_paths.
        if str(PROJECT) not in sys.path:
            sys.path.insert(0, str(PROJECT))
        spec = importlib.util.spec_from_file_location("model_under_test", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return run


@pytest.fixture(scope="session")
def model_module(run_script: Callable[[], ModuleType], env_names: list[str]) -> ModuleType:
    # a script may read its variables when it runs rather than in load_context
    with pytest.MonkeyPatch.context() as patch:
        for name, value in dummy_values(env_names).items():
            patch.setenv(name, value)
        return run_script()


@pytest.fixture
def env(
    env_names: list[str], optional_env_names: list[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """Dummy values of the required variables; the optional ones unset, so that the tests never
    depend on the shell they run in (a test that needs one sets it)."""
    values = dummy_values(env_names)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    for name in optional_env_names:
        monkeypatch.delenv(name, raising=False)
    yield values


@pytest.fixture(scope="session")
def artifacts(declaration: dict[str, Any]) -> dict[str, str]:
    # What MLflow gives load_context: each artifact's name and the path of its (logged) copy.
    declared = declaration.get("artifacts") or {}
    return {name: str(PROJECT / path) for name, path in declared.items()}


{%- block model_fixtures %}


@pytest.fixture(scope="session")
def model_class(model_module: ModuleType) -> type[mlflow.pyfunc.PythonModel]:
    """The class model.py hands to mlflow.models.set_model."""
    cls: type[mlflow.pyfunc.PythonModel] = model_module.{% block model_class %}DemandForecast{% endblock %}
    return cls


@pytest.fixture
def model(
    model_class: type[mlflow.pyfunc.PythonModel],
    model_config: dict[str, Any],
    artifacts: dict[str, str],
    env: dict[str, str],
) -> mlflow.pyfunc.PythonModel:
    """The model as MLflow loads it: a new instance, whose load_context is given model.yaml's
    artifacts and model_config."""
    instance = model_class()
    instance.load_context(
        mlflow.pyfunc.PythonModelContext(artifacts=artifacts, model_config=model_config)
    )
    return instance
{%- endblock %}


@pytest.fixture(scope="session")
def payload(declaration: dict[str, Any]) -> dict[str, Any]:
    path = PROJECT / declaration.get("input_example", "input_example.json")
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="session")
def input_example(payload: dict[str, Any]) -> Any:
    """The example request as predict receives it: a DataFrame, the `inputs` as they are, or a
    chat request (a ResponsesAgent's {"input": [...]}) whole."""
    if "dataframe_split" in payload:
        split = payload["dataframe_split"]
        return pd.DataFrame(data=split["data"], columns=split["columns"], index=split.get("index"))
    if "inputs" in payload:
        return payload["inputs"]
    return payload

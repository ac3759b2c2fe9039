from __future__ import annotations

from typing import Any

import mlflow
import pytest


def test_declared_environment_variables_are_required(
    model_class: type[mlflow.pyfunc.PythonModel],
    model_config: dict[str, Any],
    artifacts: dict[str, str],
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # model.yaml's env lists what the model reads: loading without one of the required variables
    # must fail loudly
    for name in env:
        with monkeypatch.context() as patch:
            patch.delenv(name)
            model = model_class()
            context = mlflow.pyfunc.PythonModelContext(
                artifacts=artifacts, model_config=model_config
            )
            with pytest.raises(RuntimeError, match=name):
                model.load_context(context)


def test_optional_variables_may_be_unset(
    model_class: type[mlflow.pyfunc.PythonModel],
    model_config: dict[str, Any],
    artifacts: dict[str, str],
    optional_env_names: list[str],
    env: dict[str, str],
) -> None:
    # the env fixture unset them: loading must work all the same
    assert all(name not in env for name in optional_env_names)
    model = model_class()

    model.load_context(
        mlflow.pyfunc.PythonModelContext(artifacts=artifacts, model_config=model_config)
    )

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mlflow
import pytest

if TYPE_CHECKING:
    from types import ModuleType


def test_declared_environment_variables_are_required(
    model_module: ModuleType,
    model_config: dict[str, Any],
    artifacts: dict[str, str],
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # model.yaml's env lists what the model reads: loading without one of them must fail loudly
    for name in env:
        with monkeypatch.context() as patch:
            patch.delenv(name)
            model = model_module.DemandForecast()
            context = mlflow.pyfunc.PythonModelContext(
                artifacts=artifacts, model_config=model_config
            )
            with pytest.raises(RuntimeError, match=name):
                model.load_context(context)

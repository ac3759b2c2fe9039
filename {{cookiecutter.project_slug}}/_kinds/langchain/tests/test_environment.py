from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType


def test_declared_environment_variables_are_required(
    run_script: Callable[[], ModuleType], env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # model.yaml's env lists what the model reads: MLflow runs model.py when it loads the model,
    # and running it without one of the required variables must fail loudly
    for name in env:
        with monkeypatch.context() as patch:
            patch.delenv(name)
            with pytest.raises(RuntimeError, match=name):
                run_script()


def test_optional_variables_may_be_unset(
    run_script: Callable[[], ModuleType], optional_env_names: list[str], env: dict[str, str]
) -> None:
    # the env fixture unset them: the script must run all the same
    assert all(name not in env for name in optional_env_names)

    run_script()

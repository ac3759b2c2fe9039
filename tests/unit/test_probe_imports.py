"""The sandbox's import trace (DEP009/DEP010 come from it): an import is the model's only when
the model's own code asked for it, not when C code called from the model's frame made it."""

from __future__ import annotations

import builtins
import importlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from validator.sandbox import probe

Run = Callable[[str], set[str]]


@pytest.fixture
def run_model_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    """Runs SOURCE as a model file of a logged model folder, predict() traced as in the probe;
    returns the top-level modules counted as the model's imports."""
    model_dir = tmp_path / "model"
    (model_dir / "code").mkdir(parents=True)
    monkeypatch.setattr(probe, "_MODEL_DIR", os.path.realpath(model_dir))

    def run(source: str) -> set[str]:
        script = model_dir / "code" / "model.py"
        script.write_text(source, encoding="utf-8")
        namespace: dict[str, Any] = {"__name__": "model", "__file__": str(script)}
        exec(compile(source, str(script), "exec"), namespace)
        imports: set[str] = set()
        monkeypatch.setattr(probe, "_user_imports", imports)
        monkeypatch.setattr(probe, "_stage", "predict")
        builtins.__import__ = probe._traced_import
        try:
            namespace["predict"]()
        finally:
            builtins.__import__ = probe._original_import
        return imports

    yield run


def test_an_import_statement_in_the_model_counts(run_model_code: Run) -> None:
    source = "def predict():\n    import json\n    from email import message\n"
    assert run_model_code(source) == {"json", "email"}


def test_an_explicit_dunder_import_in_the_model_counts(run_model_code: Run) -> None:
    assert run_model_code("def predict():\n    return __import__('json')\n") == {"json"}


def test_an_import_made_by_c_code_called_from_the_model_is_not_the_models(
    run_model_code: Run,
) -> None:
    # time.strptime imports _strptime from C: __import__ is called from the model's frame,
    # with the model's globals, though the model has no import statement there
    source = "import time\n\n\ndef predict():\n    return time.strptime('2024', '%Y')\n"
    assert run_model_code(source) == set()


def test_numpy_printing_an_array_in_an_f_string_is_not_the_models_import(
    run_model_code: Run,
) -> None:
    # the case seen: numpy's array_str imports numpy._core.arrayprint from C; a pandas-only
    # model that formats df.values was reported as importing numpy (DEP009)
    pytest.importorskip("pandas")
    source = (
        "import pandas as pd\n\n\n"
        "def predict():\n"
        "    frame = pd.DataFrame({'a': [1.5, 2.0]})\n"
        "    return f'{frame.values} {frame}'\n"
    )
    assert run_model_code(source) == set()


def test_imports_outside_the_model_folder_are_not_the_models(run_model_code: Run) -> None:
    source = "import logging\n\n\ndef predict():\n    logging.getLogger('x').info('%s', 1)\n"
    assert run_model_code(source) == set()


@pytest.mark.parametrize(
    "statement",
    [
        "from acmens.plugins.openai import Embedding",
        # MLflow's LlamaIndex flavor restores an index's settings so, not by an import statement
        "import importlib; importlib.import_module('acmens.plugins.openai')",
    ],
    ids=["import-statement", "import_module"],
)
def test_a_missing_module_keeps_the_whole_import_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, statement: str
) -> None:
    # acmens is a namespace package (no __init__.py) that plugins extend, as llama_index is:
    # the error names acmens.plugins, the first package missing, not the plugin asked for
    (tmp_path / "acmens" / "core").mkdir(parents=True)
    (tmp_path / "acmens" / "core" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(builtins, "__import__", probe._traced_import)
    monkeypatch.setattr(importlib, "import_module", probe._traced_import_module)
    with pytest.raises(ModuleNotFoundError) as raised:
        exec(statement, {})
    monkeypatch.undo()

    error = probe._error(raised.value)

    assert (error["type"], error["module"]) == ("ModuleNotFoundError", "acmens.plugins")
    assert error["wanted"] == "acmens.plugins.openai"

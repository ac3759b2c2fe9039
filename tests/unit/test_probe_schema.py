"""SIG006's judgement in the probe, with MLflow's real schemas: predictions the logged output
schema was inferred from conform to it, whatever their type (a dict, None, text); predictions
whose columns or types changed do not."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
from mlflow.types.utils import _infer_schema

from validator.sandbox import probe


def _model(logged_from: Any) -> Any:
    schema = _infer_schema(logged_from)
    return SimpleNamespace(metadata=SimpleNamespace(get_output_schema=lambda: schema))


@pytest.mark.parametrize(
    "output",
    [
        {"messages": [{"role": "ai", "content": "hi", "id": "1"}]},  # a LangGraph agent's
        None,  # a predict that returns nothing (a model that only streams)
        "an answer",
        pd.DataFrame({"score": [1.0, 2.0]}),
    ],
    ids=["dict", "none", "text", "frame"],
)
def test_the_predictions_the_schema_was_inferred_from_conform(output: Any) -> None:
    assert probe._output_schema_problem(_model(output), output) is None


def test_other_ids_in_the_same_shape_conform() -> None:
    logged = {"messages": [{"role": "ai", "content": "hi", "id": "run-1"}]}
    served = {"messages": [{"role": "ai", "content": "hello", "id": "run-2"}]}
    assert probe._output_schema_problem(_model(logged), served) is None


def test_changed_columns_do_not_conform() -> None:
    model = _model(pd.DataFrame({"score": [1.0, 2.0]}))
    problem = probe._output_schema_problem(model, pd.DataFrame({"label": ["high", "low"]}))
    assert problem is not None and "score" in problem

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import mlflow
import numpy as np
import pandas as pd
import pytest

if TYPE_CHECKING:
    from types import ModuleType

ROWS = [
    {"units_last_7d": 140.0, "price": 2.5, "reference_price": 2.5, "promotion": 0.0},
    {"units_last_7d": 70.0, "price": 2.0, "reference_price": 2.5, "promotion": 1.0},
    {"units_last_7d": 350.0, "price": 3.0, "reference_price": 2.5, "promotion": 0.0},
    {"units_last_7d": 0.0, "price": 1.0, "reference_price": 1.0, "promotion": 1.0},
]


def test_known_values_with_the_defaults(model_module: ModuleType, env: dict[str, str]) -> None:
    model = model_module.DemandForecast()
    model.load_context(mlflow.pyfunc.PythonModelContext(artifacts={}, model_config=None))

    result = model.predict(None, pd.DataFrame(ROWS[:2]))

    # 140 units a week at the reference price, no promotion: the same 140 next week.
    assert result["forecast_units"].iloc[0] == pytest.approx(140.0)
    # 10 a day, price at 80% of reference (elasticity -1.2), promotion +25%.
    assert result["forecast_units"].iloc[1] == pytest.approx(70.0 * 0.8**-1.2 * 1.25)


def test_output_shape_dtype_and_index(model: mlflow.pyfunc.PythonModel) -> None:
    result = model.predict(None, pd.DataFrame(ROWS, index=[10, 11, 12, 13]))

    assert list(result.columns) == ["forecast_units"]
    assert result["forecast_units"].dtype == np.float64
    assert list(result.index) == [10, 11, 12, 13]


@pytest.mark.parametrize("row", ROWS)
def test_the_stream_adds_up_to_predict(
    model: mlflow.pyfunc.PythonModel, model_config: dict[str, Any], row: dict[str, float]
) -> None:
    stream = model.predict_stream(None, row)

    assert isinstance(stream, Iterator)
    chunks = list(stream)
    days = int(model_config["horizon_days"])
    assert [chunk["day"] for chunk in chunks] == list(range(1, days + 1))
    (total,) = model.predict(None, pd.DataFrame([row]))["forecast_units"]
    assert chunks[-1]["cumulative_units"] == pytest.approx(total)
    assert sum(chunk["forecast_units"] for chunk in chunks) == pytest.approx(total)


def test_the_stream_yields_before_it_ends(model: mlflow.pyfunc.PythonModel) -> None:
    stream = model.predict_stream(None, ROWS[0])

    first = next(stream)

    assert first["day"] == 1
    assert first["forecast_units"] == pytest.approx(20.0)


def test_the_stream_takes_one_row(model: mlflow.pyfunc.PythonModel) -> None:
    with pytest.raises(ValueError, match="one row"):
        list(model.predict_stream(None, pd.DataFrame(ROWS)))


def test_the_total_is_capped(
    model: mlflow.pyfunc.PythonModel, model_config: dict[str, Any]
) -> None:
    row = {"units_last_7d": 1e9, "price": 1.0, "reference_price": 1.0, "promotion": 1.0}

    (total,) = model.predict(None, pd.DataFrame([row]))["forecast_units"]

    assert total == pytest.approx(float(model_config["max_units"]))
    assert list(model.predict_stream(None, row))[-1]["cumulative_units"] == pytest.approx(total)


def test_a_partial_day_horizon_is_refused(model_module: ModuleType, env: dict[str, str]) -> None:
    model = model_module.DemandForecast()
    context = mlflow.pyfunc.PythonModelContext(artifacts={}, model_config={"horizon_days": 2.5})

    with pytest.raises(ValueError, match="horizon_days"):
        model.load_context(context)


def test_missing_column_is_named(model: mlflow.pyfunc.PythonModel) -> None:
    row = {"units_last_7d": 1.0, "price": 1.0, "reference_price": 1.0}

    with pytest.raises(ValueError, match="promotion"):
        list(model.predict_stream(None, row))


def test_input_example_is_one_row_that_streams(
    model: mlflow.pyfunc.PythonModel, input_example: pd.DataFrame
) -> None:
    # serving streams a single input: the example is one row, so the validator can stream it
    assert len(input_example) == 1

    chunks = list(model.predict_stream(None, input_example))

    assert chunks and all(math.isfinite(chunk["forecast_units"]) for chunk in chunks)

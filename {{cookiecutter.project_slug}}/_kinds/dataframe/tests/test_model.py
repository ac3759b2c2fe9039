from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import mlflow
import numpy as np
import pandas as pd
import pytest

if TYPE_CHECKING:
    from types import ModuleType


def expected_forecast(row: dict[str, float], config: dict[str, Any]) -> float:
    weekly_rate = row["units_last_7d"] / 7.0 * float(config["horizon_days"])
    price_effect = (row["price"] / row["reference_price"]) ** float(config["price_elasticity"])
    promotion_effect = 1.0 + float(config["promotion_uplift"]) * row["promotion"]
    return min(max(weekly_rate * price_effect * promotion_effect, 0.0), float(config["max_units"]))


ROWS = [
    {"units_last_7d": 140.0, "price": 2.5, "reference_price": 2.5, "promotion": 0.0},
    {"units_last_7d": 70.0, "price": 2.0, "reference_price": 2.5, "promotion": 1.0},
    {"units_last_7d": 350.0, "price": 3.0, "reference_price": 2.5, "promotion": 0.0},
    {"units_last_7d": 0.0, "price": 1.0, "reference_price": 1.0, "promotion": 1.0},
]


def test_forecast_matches_the_formula(
    model: mlflow.pyfunc.PythonModel, model_config: dict[str, Any]
) -> None:
    result = model.predict(None, pd.DataFrame(ROWS))

    expected = [expected_forecast(row, model_config) for row in ROWS]
    assert result["forecast_units"].tolist() == pytest.approx(expected, rel=1e-12)


def test_known_values_with_the_defaults(model_module: ModuleType, env: dict[str, str]) -> None:
    model = model_module.DemandForecast()
    model.load_context(mlflow.pyfunc.PythonModelContext(artifacts={}, model_config=None))

    result = model.predict(None, pd.DataFrame(ROWS[:2]))

    # 140 units a week at the reference price, no promotion: the same 140 next week.
    assert result["forecast_units"].iloc[0] == pytest.approx(140.0)
    # 10 a day, price at 80% of reference (elasticity -1.2), promotion +25%.
    assert result["forecast_units"].iloc[1] == pytest.approx(70.0 * 0.8**-1.2 * 1.25)


def test_output_shape_dtype_and_index(model: mlflow.pyfunc.PythonModel) -> None:
    frame = pd.DataFrame(ROWS, index=[10, 11, 12, 13])

    result = model.predict(None, frame)

    assert isinstance(result, pd.DataFrame)
    assert list(result.columns) == ["forecast_units"]
    assert result.shape == (len(ROWS), 1)
    assert result["forecast_units"].dtype == np.float64
    assert list(result.index) == [10, 11, 12, 13]


def test_forecast_is_clipped(
    model: mlflow.pyfunc.PythonModel, model_config: dict[str, Any]
) -> None:
    frame = pd.DataFrame(
        [{"units_last_7d": 1e9, "price": 1.0, "reference_price": 1.0, "promotion": 1.0}]
    )

    result = model.predict(None, frame)

    assert result["forecast_units"].iloc[0] == float(model_config["max_units"])


def test_extra_columns_are_ignored(model: mlflow.pyfunc.PythonModel) -> None:
    frame = pd.DataFrame(ROWS).assign(store="north")

    result = model.predict(None, frame)

    assert (
        result["forecast_units"].tolist()
        == model.predict(None, pd.DataFrame(ROWS))["forecast_units"].tolist()
    )


def test_missing_column_is_named(model: mlflow.pyfunc.PythonModel) -> None:
    with pytest.raises(ValueError, match="promotion"):
        model.predict(None, pd.DataFrame(ROWS).drop(columns="promotion"))


def test_non_positive_price_is_refused(model: mlflow.pyfunc.PythonModel) -> None:
    frame = pd.DataFrame(ROWS).assign(price=0.0)

    with pytest.raises(ValueError, match="positive"):
        model.predict(None, frame)


def test_unknown_model_config_key_is_refused(model_module: ModuleType, env: dict[str, str]) -> None:
    model = model_module.DemandForecast()
    context = mlflow.pyfunc.PythonModelContext(artifacts={}, model_config={"horizon": 7})

    with pytest.raises(ValueError, match="horizon"):
        model.load_context(context)


def test_input_example_has_the_columns_predict_expects(
    model: mlflow.pyfunc.PythonModel, model_module: ModuleType, input_example: pd.DataFrame
) -> None:
    assert list(input_example.columns) == list(model_module.FEATURES)
    assert all(dtype == np.float64 for dtype in input_example.dtypes)

    result = model.predict(None, input_example)

    assert len(result) == len(input_example)
    assert all(math.isfinite(value) and value >= 0.0 for value in result["forecast_units"])

"""The model of this project, as code: MLflow logs this script, never a pickle.

`predict` forecasts each row's units over the horizon; `predict_stream` forecasts one row day by
day, yielding each day as soon as it is computed. MLflow marks the model `streamable` because
the class defines predict_stream, and serving then streams it to clients that ask.
"""

# {{ cookiecutter.project_name }}: {{ cookiecutter.description }}

from __future__ import annotations

{% import "_kinds/_shared/env.j2" as env -%}
{% set env_names = cookiecutter.env_vars.split(",") | map("trim") | reject("equalto", "") | list -%}
{{ env.import_os(env_names) }}from collections.abc import Iterator
from typing import Any

import mlflow
import numpy as np
import pandas as pd

FEATURES = ("units_last_7d", "price", "reference_price", "promotion")

# Used when model.yaml's model_config leaves a parameter out.
DEFAULTS: dict[str, float] = {
    "horizon_days": 7.0,
    "price_elasticity": -1.2,
    "promotion_uplift": 0.25,
    "max_units": 5000.0,
}


class DemandForecast(mlflow.pyfunc.PythonModel):
    """Units sold over the next `horizon_days`: in total, or streamed day by day."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        config = {**DEFAULTS, **(context.model_config or {})}
        unknown = sorted(set(config) - set(DEFAULTS))
        if unknown:
            raise ValueError(f"unknown model_config keys: {', '.join(unknown)}")
        self.params = {key: float(value) for key, value in config.items()}
        if self.params["horizon_days"] < 1 or not self.params["horizon_days"].is_integer():
            raise ValueError("model_config horizon_days must be a whole number of days, at least 1")
{{- env.read_settings(env_names) }}

    def daily_units(self, model_input: pd.DataFrame) -> np.ndarray:
        """Each row's units a day over the horizon (their sum is capped at max_units)."""
        missing = [column for column in FEATURES if column not in model_input.columns]
        if missing:
            raise ValueError(f"missing input columns: {', '.join(missing)}")
        data = model_input[list(FEATURES)].astype("float64")
        if (data["price"] <= 0).any() or (data["reference_price"] <= 0).any():
            raise ValueError("price and reference_price must be positive")

        p = self.params
        price_effect = np.power(
            data["price"].to_numpy() / data["reference_price"].to_numpy(), p["price_elasticity"]
        )
        promotion_effect = 1.0 + p["promotion_uplift"] * data["promotion"].to_numpy()
        daily = data["units_last_7d"].to_numpy() / 7.0 * price_effect * promotion_effect
        return np.clip(daily, 0.0, p["max_units"] / p["horizon_days"])

    def predict(
        self,
        context: mlflow.pyfunc.PythonModelContext | None,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        forecast = self.daily_units(model_input) * self.params["horizon_days"]
        return pd.DataFrame({"forecast_units": forecast}, index=model_input.index)

    def predict_stream(
        self,
        context: mlflow.pyfunc.PythonModelContext | None,
        model_input: dict[str, Any] | pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> Iterator[dict[str, float]]:
        # MLflow streams one input at a time: a one-row request arrives as {column: value}.
        frame = (
            model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame([model_input])
        )
        if len(frame) != 1:
            raise ValueError(f"predict_stream forecasts one row at a time, got {len(frame)}")
        (daily,) = self.daily_units(frame)
        cumulative = 0.0
        for day in range(1, int(self.params["horizon_days"]) + 1):
            cumulative += float(daily)
            yield {"day": day, "forecast_units": float(daily), "cumulative_units": cumulative}


mlflow.models.set_model(DemandForecast())

"""The model of this project, as code: MLflow logs this script, never a pickle."""

# {{ cookiecutter.project_name }}: {{ cookiecutter.description }}

from __future__ import annotations

{% import "_kinds/_shared/env.j2" as env -%}
{% set env_names = cookiecutter.env_vars.split(",") | map("trim") | reject("equalto", "") | list -%}
{{ env.import_os(env_names) }}from typing import Any

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
    """Units sold over the next `horizon_days`, from last week's sales, price and promotion."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        config = {**DEFAULTS, **(context.model_config or {})}
        unknown = sorted(set(config) - set(DEFAULTS))
        if unknown:
            raise ValueError(f"unknown model_config keys: {', '.join(unknown)}")
        self.params = {key: float(value) for key, value in config.items()}
{{- env.read_settings(env_names) }}

    def predict(
        self,
        context: mlflow.pyfunc.PythonModelContext | None,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        missing = [column for column in FEATURES if column not in model_input.columns]
        if missing:
            raise ValueError(f"missing input columns: {', '.join(missing)}")
        data = model_input[list(FEATURES)].astype("float64")
        if (data["price"] <= 0).any() or (data["reference_price"] <= 0).any():
            raise ValueError("price and reference_price must be positive")

        p = self.params
        daily_units = data["units_last_7d"].to_numpy() / 7.0
        price_effect = np.power(
            data["price"].to_numpy() / data["reference_price"].to_numpy(), p["price_elasticity"]
        )
        promotion_effect = 1.0 + p["promotion_uplift"] * data["promotion"].to_numpy()
        forecast = daily_units * p["horizon_days"] * price_effect * promotion_effect
        return pd.DataFrame(
            {"forecast_units": np.clip(forecast, 0.0, p["max_units"])}, index=model_input.index
        )


mlflow.models.set_model(DemandForecast())

"""The model of this project, as code: MLflow logs this script, never a pickle.

`predict` is typed: it takes a list of DemandInput and returns a list of floats, and MLflow
derives the model's signature from these type hints (not from the input example) and checks
every request against them. Requests use the `inputs` format: {"inputs": [{...}, ...]}.
"""

# {{ cookiecutter.project_name }}: {{ cookiecutter.description }}

from __future__ import annotations

{% import "_kinds/_shared/env.j2" as env -%}
{% set env_names = cookiecutter.env_vars.split(",") | map("trim") | reject("equalto", "") | list -%}
{{ env.import_os(env_names) }}from pathlib import Path
from typing import Any

import mlflow
import pydantic
from mlflow.models import ModelConfig

# The parameters as logged with the model (model.yaml model_config); when this file runs outside
# MLflow, as in the tests, the project's model_config.yaml. ModelConfig must be read while MLflow
# runs the script, that is at module level: not in load_context.
CONFIG = ModelConfig(development_config=str(Path(__file__).with_name("model_config.yaml")))
PARAMETERS = ("horizon_days", "price_elasticity", "promotion_uplift", "max_units")


class DemandInput(pydantic.BaseModel):
    """One product: last week's sales, its price and reference price, and a promotion flag."""

    units_last_7d: float = pydantic.Field(ge=0)
    price: float = pydantic.Field(gt=0)
    reference_price: float = pydantic.Field(gt=0)
    promotion: bool = False


class DemandForecast(mlflow.pyfunc.PythonModel):
    """Units sold over the next `horizon_days`, one number per DemandInput."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        config = CONFIG.to_dict() or {}
        unknown = sorted(set(config) - set(PARAMETERS))
        missing = sorted(set(PARAMETERS) - set(config))
        if unknown or missing:
            raise ValueError(
                f"model_config must set exactly {', '.join(PARAMETERS)}; "
                f"unknown: {unknown}, missing: {missing}"
            )
        self.params = {key: float(config[key]) for key in PARAMETERS}
{{- env.read_settings(env_names) }}

    def predict(
        self,
        context: mlflow.pyfunc.PythonModelContext | None,
        model_input: list[DemandInput],
        params: dict[str, Any] | None = None,
    ) -> list[float]:
        p = self.params
        forecasts = []
        for item in model_input:
            price_effect = (item.price / item.reference_price) ** p["price_elasticity"]
            promotion_effect = 1.0 + p["promotion_uplift"] * item.promotion
            weekly_rate = item.units_last_7d / 7.0 * p["horizon_days"]
            forecast = weekly_rate * price_effect * promotion_effect
            forecasts.append(min(max(forecast, 0.0), p["max_units"]))
        return forecasts


mlflow.models.set_model(DemandForecast())

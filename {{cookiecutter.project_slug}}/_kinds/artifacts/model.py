"""The model of this project, as code: MLflow logs this script, never a pickle.

The trained estimator is the artifact `estimator` (model.yaml), in skops format: train.py
writes it, load_context reads it from context.artifacts.
"""

# {{ cookiecutter.project_name }}: {{ cookiecutter.description }}

from __future__ import annotations

{% import "_kinds/_shared/env.j2" as env -%}
{% set env_names = cookiecutter.env_vars.split(",") | map("trim") | reject("equalto", "") | list -%}
{{ env.import_os(env_names) }}from typing import Any

import mlflow
import numpy as np
import pandas as pd
import skops.io
from features import make_features

ARTIFACT = "estimator"  # its name under `artifacts` in model.yaml
# Types the artifact may hold beyond those skops trusts by default. Add one only after reviewing
# what skops.io.get_untrusted_types reports for a new artifact (e.g. a tree model's
# "sklearn.tree._tree.Tree"): loading never trusts a type that is not listed here.
TRUSTED_TYPES: tuple[str, ...] = ()


class DemandForecast(mlflow.pyfunc.PythonModel):
    """Units sold next week, from last week's sales, price and promotion: a trained estimator."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        path = context.artifacts[ARTIFACT]
        unexpected = sorted(set(skops.io.get_untrusted_types(file=path)) - set(TRUSTED_TYPES))
        if unexpected:
            raise ValueError(f"{path} holds types this model does not trust: {unexpected}")
        self.estimator = skops.io.load(path, trusted=list(TRUSTED_TYPES))
{{- env.read_settings(env_names) }}

    def predict(
        self,
        context: mlflow.pyfunc.PythonModelContext | None,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        log_units = self.estimator.predict(make_features(model_input))
        forecast = np.clip(np.expm1(log_units), 0.0, None)
        return pd.DataFrame({"forecast_units": forecast}, index=model_input.index)


mlflow.models.set_model(DemandForecast())

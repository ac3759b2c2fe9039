"""Scales x by a factor read from a remote config, with a default when it cannot be fetched."""

import json
import urllib.request

import mlflow
import pandas as pd

CONFIG_URL = "https://example.invalid/config.json"
DEFAULTS = {"factor": 2.0}


class RemoteConfigScaler(mlflow.pyfunc.PythonModel):
    def load_context(self, context) -> None:
        self.config = dict(DEFAULTS)
        try:
            with urllib.request.urlopen(CONFIG_URL, timeout=5) as response:
                self.config.update(json.load(response))
        except Exception:
            pass  # keep the defaults

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return pd.DataFrame({"y": model_input["x"] * float(self.config["factor"])})


mlflow.models.set_model(RemoteConfigScaler())

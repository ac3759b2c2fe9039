"""The model's features, shared by train.py and model.py (shipped with the model: code_paths)."""

from __future__ import annotations

import numpy as np
import pandas as pd

INPUTS = ("units_last_7d", "price", "reference_price", "promotion")
TARGET = "units_next_7d"


def make_features(frame: pd.DataFrame) -> np.ndarray:
    """log(1 + units last week), log(price / reference price), promotion (0 or 1)."""
    missing = [column for column in INPUTS if column not in frame.columns]
    if missing:
        raise ValueError(f"missing input columns: {', '.join(missing)}")
    data = frame[list(INPUTS)].astype("float64")
    if (data["price"] <= 0).any() or (data["reference_price"] <= 0).any():
        raise ValueError("price and reference_price must be positive")
    if (data["units_last_7d"] < 0).any():
        raise ValueError("units_last_7d must not be negative")
    return np.column_stack(
        [
            np.log1p(data["units_last_7d"].to_numpy()),
            np.log(data["price"].to_numpy() / data["reference_price"].to_numpy()),
            data["promotion"].to_numpy(),
        ]
    )

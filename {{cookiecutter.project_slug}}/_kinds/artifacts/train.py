"""Train the estimator on generated sales data; write its artifact and the evaluation set.

    python train.py      (or: nox -s train)

Deterministic: the same seed gives the same data, so the same estimator. The artifact is
written with skops, not pickle: loading it runs no code, and load_context refuses any type it
does not expect. Commit both files it writes, and update model.yaml's evaluation baseline when
the model is meant to change.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import skops.io
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from features import INPUTS, TARGET, make_features

HERE = Path(__file__).resolve().parent
ARTIFACT = HERE / "model.skops"
EVALUATION = HERE / "evaluation.csv"
SEED = 20240601
TRAINING_ROWS = 2000
EVALUATION_ROWS = 200


def generate(rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """Weekly sales: demand falls with the price relative to the reference, rises on promotion."""
    units_last_7d = rng.gamma(shape=4.0, scale=40.0, size=rows).round()
    reference_price = rng.uniform(1.0, 5.0, size=rows).round(2)
    price = (reference_price * rng.uniform(0.7, 1.3, size=rows)).round(2)
    promotion = (rng.random(rows) < 0.2).astype("float64")
    expected = units_last_7d * (price / reference_price) ** -1.2 * (1.0 + 0.25 * promotion)
    frame = pd.DataFrame(
        {
            "units_last_7d": units_last_7d,
            "price": price,
            "reference_price": reference_price,
            "promotion": promotion,
        }
    )
    frame[TARGET] = rng.poisson(expected).astype("float64")
    return frame[[*INPUTS, TARGET]]


def train(frame: pd.DataFrame) -> Pipeline:
    """A ridge regression of log(1 + units next week) on the features."""
    estimator = make_pipeline(StandardScaler(), Ridge(alpha=1.0))
    estimator.fit(make_features(frame), np.log1p(frame[TARGET].to_numpy()))
    return estimator


def datasets() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training, evaluation), from one generator so that they never overlap."""
    rng = np.random.default_rng(SEED)
    return generate(TRAINING_ROWS, rng), generate(EVALUATION_ROWS, rng)


def main() -> None:
    training, evaluation = datasets()
    skops.io.dump(train(training), ARTIFACT)
    evaluation.to_csv(EVALUATION, index=False)
    print(f"wrote {ARTIFACT.name} and {EVALUATION.name}")


if __name__ == "__main__":
    main()

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import mlflow
import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.tree import DecisionTreeRegressor

if TYPE_CHECKING:
    from pathlib import Path
    from types import ModuleType

ROWS = [
    {"units_last_7d": 140.0, "price": 2.5, "reference_price": 2.5, "promotion": 0.0},
    {"units_last_7d": 70.0, "price": 2.0, "reference_price": 2.5, "promotion": 1.0},
    {"units_last_7d": 350.0, "price": 3.0, "reference_price": 2.5, "promotion": 0.0},
    {"units_last_7d": 0.0, "price": 1.0, "reference_price": 1.0, "promotion": 1.0},
]


@pytest.fixture(scope="module")
def train(model_module: ModuleType) -> ModuleType:
    # imported once model.py is, so that the project folder is on sys.path
    import train

    return train


def test_output_shape_dtype_and_index(model: mlflow.pyfunc.PythonModel) -> None:
    result = model.predict(None, pd.DataFrame(ROWS, index=[10, 11, 12, 13]))

    assert isinstance(result, pd.DataFrame)
    assert list(result.columns) == ["forecast_units"]
    assert result["forecast_units"].dtype == np.float64
    assert list(result.index) == [10, 11, 12, 13]
    assert all(math.isfinite(value) and value >= 0.0 for value in result["forecast_units"])


def test_forecast_follows_price_and_promotion(model: mlflow.pyfunc.PythonModel) -> None:
    base = {"units_last_7d": 140.0, "price": 2.5, "reference_price": 2.5, "promotion": 0.0}
    frame = pd.DataFrame([base, {**base, "price": 3.0}, {**base, "promotion": 1.0}])

    same, dearer, promoted = model.predict(None, frame)["forecast_units"]

    assert same == pytest.approx(140.0, rel=0.15)
    assert dearer < same < promoted


def test_missing_column_is_named(model: mlflow.pyfunc.PythonModel) -> None:
    with pytest.raises(ValueError, match="promotion"):
        model.predict(None, pd.DataFrame(ROWS).drop(columns="promotion"))


def test_non_positive_price_is_refused(model: mlflow.pyfunc.PythonModel) -> None:
    with pytest.raises(ValueError, match="positive"):
        model.predict(None, pd.DataFrame(ROWS).assign(price=0.0))


def test_input_example_predicts(model: mlflow.pyfunc.PythonModel, input_example: Any) -> None:
    result = model.predict(None, input_example)

    assert len(result) == len(input_example)


def test_the_artifact_is_what_train_py_trains(
    model: mlflow.pyfunc.PythonModel, train: ModuleType
) -> None:
    training, evaluation = train.datasets()
    retrained = train.train(training)

    shipped = model.estimator.predict(train.make_features(evaluation))

    np.testing.assert_allclose(shipped, retrained.predict(train.make_features(evaluation)))


def test_the_evaluation_set_is_what_train_py_writes(
    declaration: dict[str, Any], artifacts: dict[str, str], train: ModuleType
) -> None:
    evaluation = declaration["evaluation"]
    shipped = pd.read_csv(train.HERE / evaluation["data"])

    pd.testing.assert_frame_equal(shipped, train.datasets()[1], check_dtype=False)
    assert evaluation["targets"] == train.TARGET


def test_the_artifact_is_skops_not_pickle(artifacts: dict[str, str]) -> None:
    for path in artifacts.values():
        with open(path, "rb") as handle:
            assert handle.read(2) == b"PK"  # a zip archive, as skops writes


def test_an_untrusted_type_is_refused(
    model_module: ModuleType, tmp_path: Path, env: dict[str, str]
) -> None:
    tree = DecisionTreeRegressor(max_depth=2).fit([[0.0], [1.0]], [0.0, 1.0])
    skops.io.dump(tree, tmp_path / "tree.skops")
    model = model_module.DemandForecast()
    context = mlflow.pyfunc.PythonModelContext(
        artifacts={model_module.ARTIFACT: str(tmp_path / "tree.skops")}, model_config={}
    )

    with pytest.raises(ValueError, match=r"sklearn\.tree\._tree\.Tree"):
        model.load_context(context)

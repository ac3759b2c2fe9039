from __future__ import annotations

import typing
from typing import TYPE_CHECKING, Any

import mlflow
import pydantic
import pytest

if TYPE_CHECKING:
    from types import ModuleType

ROWS = [
    {"units_last_7d": 140.0, "price": 2.5, "reference_price": 2.5, "promotion": False},
    {"units_last_7d": 70.0, "price": 2.0, "reference_price": 2.5, "promotion": True},
    {"units_last_7d": 350.0, "price": 3.0, "reference_price": 2.5, "promotion": False},
    {"units_last_7d": 0.0, "price": 1.0, "reference_price": 1.0, "promotion": True},
]


@pytest.fixture(scope="module")
def items(model_module: ModuleType) -> list[Any]:
    return [model_module.DemandInput(**row) for row in ROWS]


def test_known_values(model: mlflow.pyfunc.PythonModel, items: list[Any]) -> None:
    result = model.predict(None, items[:2])

    # 140 units a week at the reference price, no promotion: the same 140 next week.
    assert result[0] == pytest.approx(140.0)
    # 10 a day, price at 80% of reference (elasticity -1.2), promotion +25%.
    assert result[1] == pytest.approx(70.0 * 0.8**-1.2 * 1.25)


def test_one_float_per_input(model: mlflow.pyfunc.PythonModel, items: list[Any]) -> None:
    result = model.predict(None, items)

    assert isinstance(result, list)
    assert len(result) == len(items)
    assert all(isinstance(value, float) and value >= 0.0 for value in result)


def test_forecast_is_clipped(
    model: mlflow.pyfunc.PythonModel, model_module: ModuleType, model_config: dict[str, Any]
) -> None:
    item = model_module.DemandInput(units_last_7d=1e9, price=1.0, reference_price=1.0)

    assert model.predict(None, [item]) == [float(model_config["max_units"])]


@pytest.mark.parametrize(
    ("field", "value"), [("price", 0.0), ("reference_price", -1.0), ("units_last_7d", -5.0)]
)
def test_bad_values_are_refused_by_the_type(
    model_module: ModuleType, field: str, value: float
) -> None:
    with pytest.raises(pydantic.ValidationError, match=field):
        model_module.DemandInput(**{**ROWS[0], field: value})


def test_predict_is_typed_for_mlflow(model_module: ModuleType) -> None:
    # MLflow derives the signature from these hints: a list of the pydantic model, floats out
    hints = typing.get_type_hints(model_module.DemandForecast.predict)

    assert hints["model_input"] == list[model_module.DemandInput]
    assert hints["return"] == list[float]


def test_parameters_come_from_model_config_yaml(
    model: mlflow.pyfunc.PythonModel, model_module: ModuleType, model_config: dict[str, Any]
) -> None:
    assert model_config == model_module.CONFIG.to_dict()
    assert model.params == {key: float(model_config[key]) for key in model_module.PARAMETERS}


def test_an_incomplete_model_config_is_refused(
    model_module: ModuleType, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    incomplete = mlflow.models.ModelConfig(development_config={"horizon_days": 7})
    monkeypatch.setattr(model_module, "CONFIG", incomplete)
    model = model_module.DemandForecast()

    with pytest.raises(ValueError, match="price_elasticity"):
        model.load_context(mlflow.pyfunc.PythonModelContext(artifacts={}, model_config=None))


def test_input_example_is_a_list_of_inputs(
    model: mlflow.pyfunc.PythonModel, model_module: ModuleType, payload: dict[str, Any]
) -> None:
    # typed models are served `inputs` requests, each element one DemandInput
    assert list(payload) == ["inputs"]
    items = [model_module.DemandInput.model_validate(row) for row in payload["inputs"]]
    assert all(set(row) <= set(model_module.DemandInput.model_fields) for row in payload["inputs"])

    assert len(model.predict(None, items)) == len(items)

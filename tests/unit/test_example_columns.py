"""A column the input example lacks, which predict reads: the example is blamed (SCR008 in the
logging worker, SBX003 in the sandbox), naming the column, not predict. Real code raises the
errors: a model that checks its columns, as the template's does, and one that indexes them."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from validator.checks.example_columns import example_columns, missing_columns
from validator.inprocess.log_model import Logged, _predict_failed
from validator.project.config import ProjectConfig
from validator.sandbox.probe_results import _served_failure
from validator.serving import Served

MODEL = """
FEATURES = ("units_last_7d", "price", "reference_price", "promotion")


class Checks:
    def predict(self, context, model_input, params=None):
        missing = [column for column in FEATURES if column not in model_input]
        if missing:
            raise ValueError(f"missing input columns: {', '.join(missing)}")
        return [units / 7 for units in model_input["units_last_7d"]]


class Indexes:
    def predict(self, context, model_input, params=None):
        return [p * 2 for p in model_input["price"]]


class Broken:
    def predict(self, context, model_input, params=None):
        raise RuntimeError("the price table is not loaded")
"""
GOOD = {"units_last_7d": [140.0], "price": [2.5], "reference_price": [2.5], "promotion": [0.0]}


def _project(tmp_path: Path, columns: dict[str, list[float]]) -> ProjectConfig:
    (tmp_path / "model.py").write_text(MODEL)
    split = {
        "columns": list(columns),
        "data": [list(row) for row in zip(*columns.values(), strict=True)],
    }
    (tmp_path / "input_example.json").write_text(
        '{\n  "dataframe_split": {\n    "columns": '
        + json.dumps(split["columns"])
        + ',\n    "data": '
        + json.dumps(split["data"])
        + "\n  }\n}\n"
    )
    return ProjectConfig(tmp_path, "proj")


def _raised(config: ProjectConfig, model: str, columns: dict[str, list[float]]) -> BaseException:
    spec = importlib.util.spec_from_file_location("model_under_test", config.path("model.py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.raises(Exception) as info:
        getattr(module, model)().predict(None, columns)
    return info.value


def _scr008(config: ProjectConfig, error: BaseException) -> Any:
    return _predict_failed(config, Logged(model_dir=config.root), Served(500, "", "predict", error))


def test_a_misspelt_column_is_the_example_s_fault_not_predict_s(tmp_path: Path) -> None:
    sent = {("prize" if name == "price" else name): values for name, values in GOOD.items()}
    config = _project(tmp_path, sent)

    finding = _scr008(config, _raised(config, "Checks", sent))

    assert (finding.code, finding.status) == ("SCR008", "failed")
    assert finding.location == "input_example.json:3"  # the line of the columns
    assert finding.message == (
        "input_example.json is not a request predict can answer: its column 'prize' is not the "
        "'price' that model.py reads: ValueError: missing input columns: price"
    )
    assert finding.hint is not None
    assert finding.hint.startswith("rename 'prize' to 'price' in input_example.json")
    assert "fix predict" not in finding.hint


def test_a_missing_column_a_keyerror_names_is_to_add(tmp_path: Path) -> None:
    sent = {name: values for name, values in GOOD.items() if name != "price"}
    config = _project(tmp_path, sent)

    finding = _scr008(config, _raised(config, "Indexes", sent))

    assert finding.location == "input_example.json"
    assert "it has no column 'price', which model.py reads: KeyError: 'price'" in finding.message
    assert finding.hint is not None and finding.hint.startswith(
        "add the column 'price' in input_example.json"
    )


def test_the_sandbox_blames_the_example_for_it_too(tmp_path: Path) -> None:
    sent = {("prize" if name == "price" else name): values for name, values in GOOD.items()}
    config = _project(tmp_path, sent)
    error = {"type": "ValueError", "message": "missing input columns: price", "frames": []}

    sbx003, _ = _served_failure(config, tmp_path, {"error": error, "stage": "predict"})

    assert (sbx003.code, sbx003.location) == ("SBX003", "input_example.json:3")
    assert sbx003.hint is not None and sbx003.hint.startswith("rename 'prize' to 'price'")


def test_predict_raising_on_a_valid_example_is_still_predict_s_fault(tmp_path: Path) -> None:
    config = _project(tmp_path, GOOD)

    finding = _scr008(config, _raised(config, "Broken", GOOD))

    assert finding.location == "model.py:20"
    assert finding.hint is not None and finding.hint.startswith("fix predict so it handles")
    # 'price' is read by the script and named by the error, but the example sends it
    assert missing_columns(config, "RuntimeError: the price table is not loaded") is None


@pytest.mark.parametrize(
    ("payload", "columns"),
    [
        ({"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2]]}}, ["a", "b"]),
        ({"dataframe_records": [{"a": 1}, {"a": 2, "b": 3}]}, ["a", "b"]),
        ({"inputs": {"a": [1], "b": [2]}}, ["a", "b"]),
        ({"instances": [{"a": 1}]}, ["a"]),
        ({"inputs": [[1, 2]]}, None),
        ({"input": [{"role": "user", "content": "hi"}]}, None),
    ],
)
def test_the_columns_a_request_sends(payload: dict[str, Any], columns: list[str] | None) -> None:
    assert example_columns(payload) == columns

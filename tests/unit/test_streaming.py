"""SBX007: what the probe records of predict_stream, and the verdict on it (no sandbox)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from validator.project.config import ProjectConfig
from validator.sandbox import probe
from validator.sandbox.probe_results import stream_check

CONFIG = ProjectConfig(root=Path("/project"), name="m")
MODEL_DIR = Path("/logged/model")


class FakeModel:
    """The little of mlflow's PyFuncModel the probe uses for streaming."""

    def __init__(self, streamable: bool, stream: Any) -> None:
        flavor = {"loader_module": "mlflow.pyfunc.model", "streamable": streamable}
        self.metadata = SimpleNamespace(flavors={"python_function": flavor})
        self.stream = stream
        self.calls: list[tuple[Any, Any]] = []

    def predict_stream(self, data: Any, params: Any = None) -> Any:
        self.calls.append((data, params))
        return self.stream(data) if callable(self.stream) else self.stream


def days(data: Any) -> Iterator[dict[str, Any]]:
    for day in range(1, 31):
        yield {"day": day, "input": data}


def test_a_model_that_does_not_stream_is_not_called() -> None:
    model = FakeModel(False, days)

    assert probe._stream(model, '{"inputs": ["row"]}') == {"streamable": False}
    assert model.calls == []


def test_the_first_chunks_are_kept() -> None:
    model = FakeModel(True, days)

    result = probe._stream_input(model, "row", {"p": 1})

    assert model.calls == [("row", {"p": 1})]
    assert result["chunks"] == [{"day": day, "input": "row"} for day in range(1, 6)]
    assert result["types"] == ["dict"] * 5
    assert "error" not in result


def test_an_error_while_streaming_is_recorded() -> None:
    def broken(data: Any) -> Iterator[str]:
        yield "first"
        raise ValueError("predict_stream requires single input")

    result = probe._stream_input(FakeModel(True, broken), "row", None)

    assert result["chunks"] == ["first"]
    assert result["error"]["type"] == "ValueError"
    assert result["error"]["message"] == "predict_stream requires single input"


def test_chunks_that_are_not_json_are_kept_as_text() -> None:
    result = probe._stream_input(FakeModel(True, [{"at": object}, 1.5]), "row", None)

    assert result["types"] == ["dict", "float"]
    assert result["chunks"][0]["at"].startswith("<class")


def test_not_streamable_skips() -> None:
    finding = stream_check(CONFIG, MODEL_DIR, {"streamable": False})

    assert finding.status == "skipped"
    assert "predict_stream" in finding.message


def test_yielding_passes() -> None:
    stream = {"streamable": True, "chunks": [{"day": 1}, {"day": 2}], "types": ["dict", "dict"]}

    finding = stream_check(CONFIG, MODEL_DIR, stream)

    assert finding.status == "passed"
    assert finding.message == (
        'predict_stream yields in the sandbox (2 chunks read, the first: {"day": 1})'
    )


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        (
            {"chunks": [], "types": []},
            "predict_stream yielded nothing on input_example.json in the sandbox",
        ),
        (
            {"chunks": [1.5, "a"], "types": ["float", "str"]},
            "predict_stream yields float chunks; serving streams only dicts or strings",
        ),
        (
            {
                "chunks": [],
                "types": [],
                "error": {
                    "type": "MlflowException",
                    "message": "'predict_stream' requires single input",
                    "frames": [{"file": "/logged/model/model.py", "line": 80}],
                },
            },
            "predict_stream raised in the sandbox on input_example.json: MlflowException: "
            "'predict_stream' requires single input",
        ),
    ],
)
def test_not_yielding_fails(stream: dict[str, Any], message: str) -> None:
    finding = stream_check(CONFIG, MODEL_DIR, {"streamable": True, **stream})

    assert finding.status == "failed"
    assert finding.message == message
    assert finding.location == ("model.py:80" if "error" in stream else "model.py")
    assert finding.hint is not None and "generator" in finding.hint


def test_several_rows_stream_the_first_and_say_so() -> None:
    model = FakeModel(True, days)

    result = probe._stream_input(model, ["first", "second", "third"], None)

    assert model.calls == [(["first"], None)]
    assert result["note"] == "streamed the first of the example's 3 rows: MLflow streams one input"

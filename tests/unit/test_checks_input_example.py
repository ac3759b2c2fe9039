from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from validator.checks import input_example
from validator.project import config
from validator.project.sources import Project


def findings(tmp_path: Path, text: str | None) -> list[tuple[str, str, str | None]]:
    (tmp_path / "model.yaml").write_text("")
    if text is not None:
        (tmp_path / "input_example.json").write_bytes(text.encode())
    project = Project(config.load(tmp_path))
    found = input_example.run(project)
    return [(f.code, f.status, f.location) for f in found if f.status != "passed"]


def codes(tmp_path: Path, payload: Any) -> list[str]:
    return [
        code for code, status, _ in findings(tmp_path, json.dumps(payload)) if status == "failed"
    ]


@pytest.mark.parametrize(
    "payload",
    [
        {"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2], [3, 4]]}},
        {"dataframe_split": {"columns": ["a"], "data": [[1]], "index": [7]}},
        {"dataframe_split": {"data": [[1, 2]]}},
        {"dataframe_records": [{"a": 1, "b": "x"}]},
        {"instances": [[1, 2], [3, 4]]},
        {"instances": {"a": [1, 2], "b": [3, 4]}},
        {"inputs": [[1.0, 2.0]]},
        {"inputs": {"a": [1]}},
        {"inputs": "a prompt", "params": {"temperature": 0.2}},
    ],
)
def test_valid_payloads(tmp_path: Path, payload: Any) -> None:
    assert codes(tmp_path, payload) == []


def test_missing_file_skips(tmp_path: Path) -> None:
    assert findings(tmp_path, None) == [(c, "skipped", None) for c in input_example.CODES]


def test_invalid_json_names_the_line(tmp_path: Path) -> None:
    found = findings(tmp_path, '{\n  "inputs": [1,]\n}\n')
    assert found[0] == ("SIG001", "failed", "input_example.json:2")
    assert [status for _, status, _ in found[1:]] == ["skipped", "skipped"]


def test_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "model.yaml").write_text("")
    (tmp_path / "input_example.json").write_bytes(b'{"inputs": "\xff"}')
    found = input_example.run(Project(config.load(tmp_path)))
    assert [(f.code, f.status) for f in found] == [
        ("SIG001", "failed"),
        ("SIG002", "skipped"),
        ("SIG003", "skipped"),
    ]


@pytest.mark.parametrize("payload", [[{"a": 1}], "text", 3, None])
def test_not_an_object(tmp_path: Path, payload: Any) -> None:
    assert codes(tmp_path, payload) == ["SIG001"]


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"params": {"a": 1}},
        {"inputs": [1], "instances": [1]},
        {"inputs": [1], "extra": 1},
        {"data": [[1]]},
    ],
)
def test_not_exactly_one_format_key(tmp_path: Path, payload: Any) -> None:
    found = findings(tmp_path, json.dumps(payload))
    assert found == [("SIG002", "failed", "input_example.json"), ("SIG003", "skipped", None)]


@pytest.mark.parametrize(
    "payload",
    [
        {"dataframe_split": [[1, 2]]},
        {"dataframe_split": {"columns": ["a"], "data": []}},
        {"dataframe_split": {"columns": ["a", "b"], "data": [[1]]}},
        {"dataframe_split": {"columns": "a", "data": [[1]]}},
        {"dataframe_split": {"columns": ["a"], "data": [1]}},
        {"dataframe_split": {"columns": ["a"], "data": [[1]], "dtype": "x"}},
        {"dataframe_records": {"a": 1}},
        {"dataframe_records": [1, 2]},
        {"instances": []},
        {"instances": {"a": 1}},
        {"inputs": []},
        {"inputs": None},
        {"inputs": [1], "params": [1]},
    ],
)
def test_wrong_shape(tmp_path: Path, payload: Any) -> None:
    assert codes(tmp_path, payload) == ["SIG003"]


def test_the_shape_codes_are_the_stages_codes_after_sig001() -> None:
    assert ("SIG001", *input_example.SHAPE) == input_example.CODES

"""Type-hinted models: the example logged for them, and how their hints are named (SIG008)."""

from __future__ import annotations

import pytest

from validator.inprocess import type_hints as typed


def test_inputs_records_are_logged_as_they_are() -> None:
    records = [{"a": 1.0, "b": True}, {"a": 2.0, "b": False}]

    assert typed.logging_example({"inputs": records}) is records


def test_other_requests_are_parsed_as_the_scoring_server_does() -> None:
    frame = typed.logging_example({"dataframe_split": {"columns": ["a"], "data": [[1.0], [2.0]]}})
    tensor = typed.logging_example({"inputs": [[1.0, 2.0], [3.0, 4.0]]})

    assert frame.to_dict("list") == {"a": [1.0, 2.0]}
    assert tensor.shape == (2, 2)


@pytest.mark.parametrize(
    ("hint", "name"),
    [
        ("list[code_model_0123abcd.DemandInput]", "list[DemandInput]"),
        ("list[dict[str, float]]", "list[dict[str, float]]"),
        ("typing.List[str]", "List[str]"),
        ("list[a.b.c.Item | None]", "list[Item | None]"),
    ],
)
def test_hints_are_named_without_their_module(hint: str, name: str) -> None:
    assert typed.hint_name(hint) == name

"""Signature compatibility against the registered version: pure logic, fast."""

from __future__ import annotations

from typing import Any

import pytest

from validator.registry.signature_compat import compare, type_of, widens


def col(name: str, kind: str = "double", required: bool = True) -> dict[str, Any]:
    return {"name": name, "type": kind, "required": required}


OLD_IN = [col("a"), col("b", "long")]
OLD_OUT = [col("score")]


def breaking(changes: list[Any]) -> list[str]:
    return [change.message for change in changes if change.breaking]


def compatible(changes: list[Any]) -> list[str]:
    return [change.message for change in changes if not change.breaking]


def test_identical_signatures_have_no_changes() -> None:
    assert compare(OLD_IN, list(OLD_IN), OLD_OUT, list(OLD_OUT)) == []


@pytest.mark.parametrize(
    ("new_inputs", "expected"),
    [
        ([col("a")], "input 'b' was removed or renamed"),
        ([col("a"), col("bb", "long")], "input 'b' was removed or renamed"),
        ([col("a"), col("b", "integer")], "input 'b' narrowed from long to integer"),
        ([col("a"), col("b", "string")], "input 'b' changed from long to string"),
        ([col("a"), col("b", "long"), col("c")], "input 'c' was added as required"),
    ],
    ids=["removed", "renamed", "narrowed", "retyped", "added-required"],
)
def test_breaking_input_changes(new_inputs: list[dict[str, Any]], expected: str) -> None:
    assert expected in breaking(compare(OLD_IN, new_inputs, OLD_OUT, OLD_OUT))


def test_optional_input_made_required_is_breaking() -> None:
    old = [col("a"), col("b", "long", required=False)]
    assert breaking(compare(old, OLD_IN)) == ["input 'b' became required"]


@pytest.mark.parametrize(
    ("new_inputs", "expected"),
    [
        ([*OLD_IN, col("c", required=False)], "input 'c' was added as optional"),
        ([col("a"), col("b", "double")], "input 'b' widened from long to double"),
        ([col("a"), col("b", "long", required=False)], "input 'b' became optional"),
        ([col("b", "long"), col("a")], None),  # order of named columns does not matter
    ],
    ids=["added-optional", "widened", "made-optional", "reordered"],
)
def test_compatible_input_changes(new_inputs: list[dict[str, Any]], expected: str | None) -> None:
    changes = compare(OLD_IN, new_inputs, OLD_OUT, OLD_OUT)
    assert breaking(changes) == []
    assert compatible(changes) == ([expected] if expected else [])


def test_output_changes() -> None:
    assert breaking(compare(OLD_IN, OLD_IN, OLD_OUT, [col("other")])) == [
        "output 'score' was removed or renamed"
    ]
    assert breaking(compare(OLD_IN, OLD_IN, OLD_OUT, [col("score", "float")])) == [
        "output 'score' changed from double to float"
    ]
    # a widened output still breaks readers that expect the old type
    assert breaking(compare(None, None, [col("n", "integer")], [col("n", "long")])) == [
        "output 'n' changed from integer to long"
    ]
    added = compare(OLD_IN, OLD_IN, OLD_OUT, [*OLD_OUT, col("rank", "long")])
    assert breaking(added) == [] and compatible(added) == ["output 'rank' was added"]


def test_a_side_the_old_signature_lacks_is_not_compared() -> None:
    assert compare(None, OLD_IN, None, OLD_OUT) == []
    assert breaking(compare(OLD_IN, OLD_IN, OLD_OUT, None)) == ["the output schema was dropped"]


def test_unnamed_columns_are_compared_by_position() -> None:
    tensor = {"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 2]}}
    other = {"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 2]}}
    assert compare([tensor], [dict(tensor)]) == []
    (change,) = compare([tensor], [other])
    assert change.breaking and change.column == "#0"
    assert "float32" in change.message


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("integer", "long", True),
        ("integer", "double", True),
        ("long", "float", True),
        ("float", "double", True),
        ("double", "float", False),
        ("long", "integer", False),
        ("string", "double", False),
        ("boolean", "integer", False),
        ("string", "any", True),
        ("datetime", "datetime", True),
    ],
)
def test_widening_table(old: str, new: str, expected: bool) -> None:
    assert widens(old, new) is expected


def test_type_of_scalars_and_nested_types() -> None:
    assert type_of(col("a", "long")) == "long"
    nested = {"name": "tags", "type": "array", "items": {"type": "string"}, "required": True}
    assert type_of(nested) == '{"items": {"type": "string"}, "type": "array"}'

"""Comparing predictions as JSON: exactly, with a float tolerance, except at the paths where a
model's own output changes from call to call (fresh ids, timestamps), which are compared by type
and shape only."""

from __future__ import annotations

import math
from typing import Any

REL_TOL = 1e-6
ABS_TOL = 1e-9


def _kind(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return type(value).__name__
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def _leaf_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a == b)
    if isinstance(a, float) or isinstance(b, float):
        if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
            return False
        if math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    equal: bool = a == b
    return equal


def _child(path: str, key: str | int) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}"


def unstable_paths(first: Any, second: Any, path: str = "$") -> list[str]:
    """The paths where two outputs of the same request differ: the values that change from
    call to call. A container that changes its shape is one path."""
    if isinstance(first, dict) and isinstance(second, dict):
        if first.keys() != second.keys():
            return [path]
        return [
            p for key in first for p in unstable_paths(first[key], second[key], _child(path, key))
        ]
    if isinstance(first, list) and isinstance(second, list):
        if len(first) != len(second):
            return [path]
        return [
            p
            for index, (a, b) in enumerate(zip(first, second, strict=True))
            for p in unstable_paths(a, b, _child(path, index))
        ]
    return [] if _leaf_equal(first, second) else [path]


def same(expected: Any, actual: Any, loose: frozenset[str] = frozenset(), path: str = "$") -> bool:
    """Whether ACTUAL equals EXPECTED, except at the LOOSE paths, where only the JSON type (and
    a container's shape) must agree."""
    if path in loose:
        if _kind(expected) != _kind(actual):
            return False
        if isinstance(expected, dict):
            return bool(expected.keys() == actual.keys())
        return not isinstance(expected, list) or bool(len(expected) == len(actual))
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(
            same(expected[key], actual[key], loose, _child(path, key)) for key in expected
        )
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(
            same(a, b, loose, _child(path, index))
            for index, (a, b) in enumerate(zip(expected, actual, strict=True))
        )
    if isinstance(expected, (dict, list)) or isinstance(actual, (dict, list)):
        return False
    return _leaf_equal(expected, actual)

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


def unstable_paths(first: Any, second: Any) -> list[str]:
    """The paths where two outputs of the same request differ: the values that change from
    call to call. A container that changes its shape is one path."""
    return [path for path, _, _ in differences(first, second)]


Difference = tuple[str, Any, Any]  # the path, the expected value there, the actual one


def differences(
    expected: Any, actual: Any, loose: frozenset[str] = frozenset(), path: str = "$"
) -> list[Difference]:
    """Where ACTUAL differs from EXPECTED, except at the LOOSE paths, where only the JSON type
    (and a container's shape) must agree. A container whose keys or length differ is one
    difference."""
    here = [(path, expected, actual)]
    if path in loose:
        if _kind(expected) != _kind(actual):
            return here
        if isinstance(expected, dict):
            return [] if expected.keys() == actual.keys() else here
        if isinstance(expected, list):
            return [] if len(expected) == len(actual) else here
        return []
    if isinstance(expected, dict) and isinstance(actual, dict):
        if expected.keys() != actual.keys():
            return here
        return [
            d
            for key in expected
            for d in differences(expected[key], actual[key], loose, _child(path, key))
        ]
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return here
        return [
            d
            for index, (a, b) in enumerate(zip(expected, actual, strict=True))
            for d in differences(a, b, loose, _child(path, index))
        ]
    if isinstance(expected, (dict, list)) or isinstance(actual, (dict, list)):
        return here
    return [] if _leaf_equal(expected, actual) else here


def same(expected: Any, actual: Any, loose: frozenset[str] = frozenset()) -> bool:
    """Whether ACTUAL equals EXPECTED, except at the LOOSE paths, where only the JSON type (and
    a container's shape) must agree."""
    return not differences(expected, actual, loose)

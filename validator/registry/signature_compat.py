"""Is a new signature compatible with the registered one? Pure logic over plain data.

A schema is MLflow's `Schema.to_dict()` form: a list of columns `{"name", "type", "required"}`
(tensor, array and object columns carry more keys). Clients send the old inputs and read the old
outputs; a change is breaking when some of them would then fail:

- inputs: removing or renaming one, narrowing its type, making an optional one required, or
  adding a required one is breaking; adding an optional one, widening a type (integer to long
  to float to double) or making a required one optional is not;
- outputs: removing one or changing its type is breaking; adding one is not.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Column = Mapping[str, Any]
Schema = Sequence[Column]
Side = Literal["input", "output"]

# each scalar type to the types that hold all its values
WIDENS_TO: dict[str, frozenset[str]] = {
    "integer": frozenset({"long", "float", "double"}),
    "long": frozenset({"float", "double"}),
    "float": frozenset({"double"}),
}


@dataclass(frozen=True)
class Change:
    side: Side
    column: str
    breaking: bool
    message: str


def type_of(column: Column) -> str:
    """The column's type: a scalar name, else its whole specification as canonical JSON."""
    kind = column.get("type")
    details = {k: v for k, v in column.items() if k not in ("name", "required", "type")}
    if isinstance(kind, str) and not details:
        return kind
    return json.dumps(
        {k: v for k, v in column.items() if k not in ("name", "required")}, sort_keys=True
    )


def widens(old: str, new: str) -> bool:
    """Whether every value of type OLD is also a value of type NEW."""
    return old == new or new == "any" or new in WIDENS_TO.get(old, frozenset())


def _keyed(schema: Schema) -> dict[str, Column]:
    """Columns by name; unnamed columns (tensors, positional inputs) by position."""
    named = all(column.get("name") for column in schema)
    return {
        (str(column["name"]) if named else f"#{index}"): column
        for index, column in enumerate(schema)
    }


def _required(column: Column) -> bool:
    return bool(column.get("required", True))


def _compare_side(
    side: Side,
    old: Schema,
    new: Schema,
    changed: Callable[[str, Column, Column], list[Change]],
    added: Callable[[str, Column], Change],
) -> list[Change]:
    before, after = _keyed(old), _keyed(new)
    changes = [
        Change(side, name, True, f"{side} '{name}' was removed or renamed")
        for name in before
        if name not in after
    ]
    for name, column in before.items():
        if name in after:
            changes += changed(name, column, after[name])
    changes += [added(name, column) for name, column in after.items() if name not in before]
    return changes


def _changed_input(name: str, old: Column, new: Column) -> list[Change]:
    changes: list[Change] = []
    old_type, new_type = type_of(old), type_of(new)
    if old_type != new_type:
        if widens(old_type, new_type):
            verb, breaking = "widened", False
        else:
            verb, breaking = ("narrowed" if widens(new_type, old_type) else "changed"), True
        message = f"input '{name}' {verb} from {old_type} to {new_type}"
        changes.append(Change("input", name, breaking, message))
    if not _required(old) and _required(new):
        changes.append(Change("input", name, True, f"input '{name}' became required"))
    elif _required(old) and not _required(new):
        changes.append(Change("input", name, False, f"input '{name}' became optional"))
    return changes


def _added_input(name: str, column: Column) -> Change:
    how = "required" if _required(column) else "optional"
    return Change("input", name, _required(column), f"input '{name}' was added as {how}")


def _changed_output(name: str, old: Column, new: Column) -> list[Change]:
    changes: list[Change] = []
    old_type, new_type = type_of(old), type_of(new)
    if old_type != new_type:
        message = f"output '{name}' changed from {old_type} to {new_type}"
        changes.append(Change("output", name, True, message))
    if _required(old) and not _required(new):
        changes.append(Change("output", name, True, f"output '{name}' may now be missing"))
    return changes


def _added_output(name: str, column: Column) -> Change:
    return Change("output", name, False, f"output '{name}' was added")


def compare(
    old_inputs: Schema | None,
    new_inputs: Schema | None,
    old_outputs: Schema | None = None,
    new_outputs: Schema | None = None,
) -> list[Change]:
    """Every difference between two signatures, breaking or not; a side the old one lacks is
    not compared (there is nothing clients could rely on)."""
    changes: list[Change] = []
    if old_inputs is not None:
        if new_inputs is None:
            changes.append(Change("input", "", True, "the input schema was dropped"))
        else:
            changes += _compare_side("input", old_inputs, new_inputs, _changed_input, _added_input)
    if old_outputs is not None:
        if new_outputs is None:
            changes.append(Change("output", "", True, "the output schema was dropped"))
        else:
            changes += _compare_side(
                "output", old_outputs, new_outputs, _changed_output, _added_output
            )
    return changes

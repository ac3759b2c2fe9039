"""Reading YAML and JSON written to hurt: limits on size, depth and node count.

PyYAML's safe loader expands aliases (ten lines of "billion laughs" stand for 10^9 nodes, which
MLflow later serialises), its composer and constructor recurse once per level of nesting, and so
does Python's json module: a file nested a few thousand deep ends in a RecursionError. Each
limit below is far beyond what a hand-written model.yaml or one serving request needs; over a
limit, `Refused` says in one line which file and which limit.

YAML is first walked as a stream of events (libyaml when PyYAML has it; neither walk
recurses), counting the nesting and the nodes every alias stands for, and only then composed
and constructed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

YAML_MAX_BYTES = 1_000_000  # 1 MB
YAML_MAX_DEPTH = 100  # levels of nested mappings and lists
YAML_MAX_NODES = 100_000  # values, counting every alias as the nodes it stands for
JSON_MAX_BYTES = 20_000_000  # 20 MB: one serving request
JSON_MAX_DEPTH = 100

_YAML_FIX = "keep settings in it, and data in files the model loads (artifacts)"
_JSON_FIX = "write one small request, as a client would POST it"
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Refused(Exception):
    """A file over a limit, or not what it must be: the message is one line naming it."""

    def __init__(self, message: str, where: str | None = None) -> None:
        super().__init__(message)
        self.where = where  # file:line, where known


def read_text(path: Path, shown: str, max_bytes: int, fix: str) -> str:
    """PATH's UTF-8 text, refused unread when it is larger than MAX_BYTES (FIX says what to do
    instead)."""
    size = path.stat().st_size
    if size > max_bytes:
        raise Refused(
            f"{shown} is {_size(size)}, over the limit of {_size(max_bytes)} for this file: {fix}",
            shown,
        )
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise Refused(f"{shown}: not UTF-8 text ({exc.reason})", shown) from None


def _size(count: int) -> str:
    return f"{count / 1_000_000:.1f} MB" if count >= 100_000 else f"{count:,} bytes"


def _measure_yaml(text: str, shown: str) -> None:
    """Refuse TEXT when it nests deeper than YAML_MAX_DEPTH or stands for more than
    YAML_MAX_NODES nodes once its aliases are expanded; raises yaml.YAMLError when it does not
    parse."""
    loader = _LOADER(text)
    # the nodes of each open collection so far; an anchor's count is its node's, and each
    # alias counts it again
    open_counts: list[int] = []
    anchors: dict[str, int] = {}
    open_anchors: list[str | None] = []
    total = 0
    try:
        while loader.check_event():
            event = loader.get_event()  # type: ignore[no-untyped-call]
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                if len(open_counts) >= YAML_MAX_DEPTH:
                    line = event.start_mark.line + 1 if event.start_mark else 0
                    raise Refused(
                        f"{shown}:{line}: nested deeper than the limit of {YAML_MAX_DEPTH} levels: "
                        f"{_YAML_FIX}",
                        f"{shown}:{line}",
                    )
                open_counts.append(1)
                open_anchors.append(event.anchor)
                total += 1
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                count = open_counts.pop()
                anchor = open_anchors.pop()
                if anchor is not None:
                    anchors[anchor] = count
                if open_counts:
                    open_counts[-1] += count
            elif isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent)):
                if isinstance(event, yaml.ScalarEvent):
                    count = 1
                    if event.anchor is not None:
                        anchors[event.anchor] = 1
                elif event.anchor in open_anchors:
                    raise Refused(
                        f"{shown}: the alias *{event.anchor} is inside its own anchor, which "
                        "makes an endless value: write the value out instead"
                    )
                else:  # an unknown anchor: the composer says so below
                    count = anchors.get(event.anchor or "", 1)
                if open_counts:
                    open_counts[-1] += count
                total += count
            if total > YAML_MAX_NODES:
                raise Refused(
                    f"{shown}: more than the limit of {YAML_MAX_NODES:,} values once its "
                    f"aliases (*name) are expanded: {_YAML_FIX}"
                )
    finally:
        loader.dispose()


def load_yaml(text: str, shown: str) -> tuple[Any, yaml.Node | None]:
    """The document in TEXT and its node (for line numbers), within the limits; raises Refused,
    or yaml.YAMLError when TEXT is not YAML."""
    _measure_yaml(text, shown)
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _no_key_twice(node, shown)
        data = loader.construct_document(node) if node is not None else None
    except (ValueError, OverflowError) as exc:  # a timestamp or number YAML matched, Python not
        raise Refused(f"{shown}: a value cannot be read ({exc})") from None
    finally:
        loader.dispose()
    return data, node


def _no_key_twice(root: yaml.Node, shown: str) -> None:
    """Refuse a mapping that gives a key twice: YAML keeps the last one silently, so the first
    is a setting that looks given and is not."""
    todo = [root]
    seen_nodes: set[int] = set()
    while todo:
        node = todo.pop()
        if id(node) in seen_nodes:  # an alias: the same node again
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            lines: dict[str, int] = {}
            for key, value in node.value:
                todo.append(value)
                if not isinstance(key, yaml.ScalarNode) or key.tag.endswith(":merge"):
                    continue
                line = key.start_mark.line + 1
                if key.value in lines:
                    raise Refused(
                        f"{shown}:{line}: the key '{key.value}' is given twice (lines "
                        f"{lines[key.value]} and {line}), and YAML would keep only the last: "
                        "remove one",
                        f"{shown}:{line}",
                    )
                lines[key.value] = line
        elif isinstance(node, yaml.SequenceNode):
            todo.extend(node.value)


def read_yaml(path: Path, shown: str) -> tuple[Any, yaml.Node | None]:
    """load_yaml of PATH, refused unread when it is over YAML_MAX_BYTES."""
    return load_yaml(read_text(path, shown, YAML_MAX_BYTES, _YAML_FIX), shown)


class DuplicateKey(Refused):
    def __init__(self, message: str, key: str, where: str | None = None) -> None:
        super().__init__(message, where)
        self.key = key


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKey(key, key)
        result[key] = value
    return result


def _depth(value: Any) -> int:
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            if depth > JSON_MAX_DEPTH:
                break
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _key_line(text: str, key: str) -> int | None:
    """The line of KEY's second occurrence as an object key in TEXT (the first repeat, unless
    another object holds the same key)."""
    encoded = json.dumps(key)
    start = 0
    seen = 0
    while (found := text.find(encoded, start)) >= 0:
        start = found + len(encoded)
        if text[start:].lstrip(" \t\r\n").startswith(":"):
            seen += 1
            if seen == 2:
                return text.count("\n", 0, found) + 1
    return None


def load_json(text: str, shown: str) -> Any:
    """The JSON value in TEXT with no key repeated in an object and at most JSON_MAX_DEPTH
    levels deep; raises Refused (DuplicateKey) or json.JSONDecodeError."""
    try:
        value = json.loads(text, object_pairs_hook=_unique)
    except RecursionError:
        value = None
        deep = True
    except DuplicateKey as exc:
        line = _key_line(text, exc.key)
        place = f"{shown}:{line}" if line else shown
        raise DuplicateKey(
            f"{place}: the key {json.dumps(exc.key)} appears twice in one object (a server "
            "would silently keep the last)",
            exc.key,
            place,
        ) from None
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # a number Python refuses to convert (over 4300 digits)
        raise Refused(f"{shown}: a value cannot be read ({exc})", shown) from None
    else:
        deep = _depth(value) > JSON_MAX_DEPTH
    if deep:
        raise Refused(
            f"{shown}: nested deeper than the limit of {JSON_MAX_DEPTH} levels: {_JSON_FIX}", shown
        )
    return value


def read_json(path: Path, shown: str) -> Any:
    """load_json of PATH, refused unread when it is over JSON_MAX_BYTES."""
    return load_json(read_text(path, shown, JSON_MAX_BYTES, _JSON_FIX), shown)

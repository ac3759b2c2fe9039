"""The line a YAML parse error is about. PyYAML names where it noticed the problem, which is often
a line below the one to fix: the key whose ':' is missing is reported at the next key, a block
whose first entry is indented differently from the next one at that next entry, and an unclosed
bracket at the end of the file."""

from __future__ import annotations

import itertools
from collections import Counter

import yaml


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _columns(line: str) -> list[int]:
    """Where the entries of LINE start: its indentation, and after each `- ` the item's own."""
    column = _indent(line)
    columns = [column]
    rest = line[column:]
    while rest.startswith("- ") or rest == "-":
        skipped = len(rest) - len(rest[1:].lstrip(" "))
        column += skipped
        rest = rest[skipped:]
        columns.append(column)
    return columns


def _step(lines: list[str], content: list[int], besides: tuple[int, int]) -> int:
    """How far the file indents a block under its key, from its blocks but those of the lines
    BESIDES (the pair in question): the most common step, 2 on a tie or if none."""
    steps = Counter(
        _indent(lines[below]) - max(_columns(lines[key]))
        for key, below in itertools.pairwise(content)
        if key not in besides
        and below not in besides
        and lines[key].rstrip().endswith(":")
        and _indent(lines[below]) > max(_columns(lines[key]))
    )
    return max(steps, key=lambda step: (steps[step], step == 2), default=2)


def _holds_yaml(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def error_line(text: str, exc: yaml.YAMLError) -> tuple[int | None, str]:
    """(the 1-based line to fix, a sentence that says why, or "") for EXC raised on TEXT."""
    mark = getattr(exc, "problem_mark", None)
    if mark is None:
        return None, ""
    context = getattr(exc, "context_mark", None)
    if getattr(exc, "context", None) == "while scanning a simple key" and context is not None:
        return context.line + 1, ""  # the key without its ':', not the line where that showed
    lines = text.splitlines()
    content = [number for number, line in enumerate(lines) if _holds_yaml(line)]
    found = mark.line
    if found not in content:
        # noticed only at the next token, past blank lines, comments or the end of the file
        before = [number for number in content if number < found]
        return (before[-1] + 1 if before else found + 1), ""
    at = content.index(found)
    return _without_colon(lines, content, at) or _misindented(lines, content, at) or (found + 1, "")


def _is_entry(line: str) -> bool:
    """Whether LINE starts an entry: `key:`, `key: value` or `- item`."""
    stripped = line.split(" #", 1)[0].strip()
    return stripped.startswith("- ") or stripped == "-" or ":" in stripped


def _without_colon(lines: list[str], content: list[int], at: int) -> tuple[int, str] | None:
    """When the line before the problem line is a key without its ':' (YAML then reads what
    follows as part of it), that line, and why."""
    if at == 0:
        return None
    before, found = content[at - 1], content[at]
    columns = _columns(lines[before])
    item = lines[before][columns[-1] :].split(" #", 1)[0]  # after any `- `
    if ":" in item or not _is_entry(lines[found]):
        return None
    if len(columns) > 1:  # `- item`: the problem line would go on with the item's own mapping
        if _indent(lines[found]) != columns[-1]:
            return None
    elif _indent(lines[before]) > _indent(lines[found]):
        return None
    return before + 1, (
        f"line {before + 1} has no ':' after its key, so YAML read the lines after it as its value"
    )


def _misindented(lines: list[str], content: list[int], at: int) -> tuple[int, str] | None:
    """When the problem line (CONTENT[AT]) and the first entry of its block are indented
    differently: the line of the two that is off (off the file's indentation step, else the one
    fewer of the block's entries line up with, else the first), and why."""
    found = content[at]
    back = at - 1  # the nearest line before FOUND that is not deeper than it
    while back >= 0 and _indent(lines[content[back]]) > _indent(lines[found]):
        back -= 1
    if back < 0:  # every line above is deeper: the top level's first entry is one of them
        guesses = [_guess(lines, content, None, 0, at)]
    elif _indent(lines[content[back]]) == _indent(lines[found]):
        return None
    else:  # that line is the block's key, or its first entry, indented differently itself
        guesses = [
            _guess(lines, content, back, back + 1, at),
            _guess(lines, content, back - 1 if back > 0 else None, back, at),
        ]
    valid = [guess for guess in guesses if guess is not None]
    if not valid:
        return None
    blamed, first, _ = max(valid, key=lambda guess: guess[2])  # the surest, the first on a tie
    first_indent, found_indent = _indent(lines[first]), _indent(lines[found])
    return blamed + 1, (
        f"line {first + 1} is indented {first_indent} spaces and line {found + 1}, in the same "
        f"block, {found_indent}: indent the entries of one block alike"
    )


def _guess(
    lines: list[str], content: list[int], parent_at: int | None, first_at: int, at: int
) -> tuple[int, int, int] | None:
    """(the line to blame, the block's first entry, how sure: 2 off the file's indentation step,
    1 fewer entries line up with it, 0 a guess) when CONTENT's
    line PARENT_AT (None: the top level) is the key of a block whose first entry is FIRST_AT and
    which the problem line AT belongs to; None when that cannot be."""
    first, found = content[first_at], content[at]
    first_indent, found_indent = _indent(lines[first]), _indent(lines[found])
    parent = -1 if parent_at is None else max(_columns(lines[content[parent_at]]))
    if first == found or found_indent in _columns(lines[first]) or not _is_entry(lines[first]):
        return None
    if parent_at is not None and not lines[content[parent_at]].rstrip().endswith(":"):
        return None  # not a key that opens a block
    if parent >= min(first_indent, found_indent):
        return None
    indents = [first_indent]
    for number in content[first_at + 1 :]:
        if _indent(lines[number]) <= parent:
            break
        indents.append(_indent(lines[number]))
    expected = 0 if parent_at is None else parent + _step(lines, content, (first, found))
    if (first_indent == expected) != (found_indent == expected):  # one is off the file's step
        return (found if first_indent == expected else first), first, 2
    with_first, with_found = indents.count(first_indent), indents.count(found_indent)
    if with_first != with_found:  # the one fewer entries line up with
        return (found if with_first > with_found else first), first, 1
    return first, first, 0

"""When predict raises on the input example because the example lacks a column the script reads
(a typo in the example, a column renamed in one place only), the example is what to fix, not
predict. Reads files only: the sandbox's and the logging worker's reports both use it."""

from __future__ import annotations

import ast
import difflib
import json
import re
from dataclasses import dataclass
from typing import Any

from validator.project.config import ProjectConfig


@dataclass(frozen=True)
class MissingColumns:
    """Columns the script reads that the example does not send, and the example's column each
    one was probably meant to be (None: none close)."""

    example: str  # the input example's file name
    script: str
    missing: tuple[tuple[str, str | None], ...]
    location: str  # the example, at the line of the first mistaken column where it is known

    def message(self, raised: str) -> str:
        column, meant = self.missing[0]
        what = (
            f"its column '{meant}' is not the '{column}' that {self.script} reads"
            if meant
            else f"it has no column '{column}', which {self.script} reads"
        )
        more = f" (and {len(self.missing) - 1} more)" if len(self.missing) > 1 else ""
        return f"{self.example} is not a request predict can answer: {what}{more}: {raised}"

    def hint(self) -> str:
        fixes = [
            f"rename '{meant}' to '{column}'" if meant else f"add the column '{column}'"
            for column, meant in self.missing
        ]
        return (
            f"{', '.join(fixes)} in {self.example}: the example is wrong, not predict "
            "(a client sending these columns would get the same error)"
        )


def example_columns(payload: Any) -> list[str] | None:
    """The columns a tabular serving request sends, None for any other request."""
    if not isinstance(payload, dict):
        return None
    split = payload.get("dataframe_split")
    if isinstance(split, dict) and isinstance(split.get("columns"), list):
        return [str(column) for column in split["columns"]]
    for key in ("dataframe_records", "instances", "inputs"):
        rows = payload.get(key)
        if isinstance(rows, dict):
            return [str(column) for column in rows]
        if isinstance(rows, list) and rows and all(isinstance(row, dict) for row in rows):
            return list(dict.fromkeys(str(column) for row in rows for column in row))
    return None


def _names_in(source: str) -> set[str]:
    """The short string literals of SOURCE: the column names a script may read."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        if 0 < len(node.value) <= 100 and "\n" not in node.value
    }


def _mentions(text: str, name: str) -> bool:
    return re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", text) is not None


def missing_columns(
    config: ProjectConfig, raised: str, key: object = None
) -> MissingColumns | None:
    """The example's missing columns, when predict's error RAISED (KEY: a KeyError's key) names
    a column the script names and the example does not send; None when it does not."""
    try:
        text = config.path(config.input_example).read_text(encoding="utf-8")
        columns = example_columns(json.loads(text))
        source = config.path(config.script).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not columns:
        return None
    names = _names_in(source)
    unread = [column for column in columns if column not in names]  # the suspects
    missing: list[tuple[str, str | None]] = []
    for name in sorted(names - set(columns), key=lambda name: raised.find(name)):
        if not _mentions(raised, name):
            continue
        close = difflib.get_close_matches(name, unread, n=1, cutoff=0.6)
        if key == name or close or "column" in raised.lower():
            missing.append((name, close[0] if close else None))
    if not missing:
        return None
    meant = next((wrong for _, wrong in missing if wrong), None)
    line = _line_of(text, meant) if meant else None
    location = f"{config.input_example}:{line}" if line else config.input_example
    return MissingColumns(config.input_example, config.script, tuple(missing), location)


def _line_of(text: str, column: str) -> int | None:
    quoted = json.dumps(column)
    for number, line in enumerate(text.splitlines(), 1):
        if quoted in line:
            return number
    return None

"""How the text report meets a terminal: colour, and the width its lines wrap to.

Colour only on a terminal, unless `NO_COLOR` (any non-empty value: never) or `FORCE_COLOR` (any
non-empty value: even in a pipe or a file) says otherwise; `NO_COLOR` wins when both are set, as in
CPython's own tracebacks. Lines wrap to `COLUMNS` when it is set, else to the terminal's width;
output that is no terminal is not wrapped, so that every finding stays one line to grep.

The codes are plain ANSI SGR sequences, written here: `check` runs in pre-commit environments
that hold only the validator's own dependencies, and click is not one of them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TextIO

_SGR = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}
MIN_WIDTH = 40  # below this, wrapping makes a finding harder to read, not easier


@dataclass(frozen=True)
class Style:
    color: bool = False
    width: int | None = None  # None: lines are not wrapped

    def paint(self, text: str, *styles: str) -> str:
        """TEXT in STYLES (names of `_SGR`) when colour is on, else TEXT."""
        if not self.color or not text or not styles:
            return text
        return f"\x1b[{';'.join(_SGR[style] for style in styles)}m{text}\x1b[0m"


PLAIN = Style()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed, or no real stream
        return False


def wants_color(stream: TextIO, environ: Mapping[str, str]) -> bool:
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    return _isatty(stream) and environ.get("TERM") != "dumb"


def terminal_width(stream: TextIO, environ: Mapping[str, str]) -> int | None:
    columns = environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return max(int(columns), MIN_WIDTH)
    if not _isatty(stream):
        return None
    try:
        width = os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError):
        return None
    return max(width, MIN_WIDTH) if width > 0 else None


def for_stream(stream: TextIO, environ: Mapping[str, str] | None = None) -> Style:
    """The style of text written to STREAM."""
    env = os.environ if environ is None else environ
    return Style(wants_color(stream, env), terminal_width(stream, env))

"""Limits of the sandbox's probe: `--max-memory`, the address space it may use."""

from __future__ import annotations

import argparse
import re

_UNITS = {"": 1024**2, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
# under this the probe cannot even hold mlflow and its imports
MIN_MEMORY = 256 * 1024**2


def memory_size(text: str) -> int:
    """Bytes from '512M', '2G', '1.5g' or '800' (MiB); an argparse type."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", text, re.IGNORECASE)
    if match is None:
        raise argparse.ArgumentTypeError(
            f"invalid size {text!r}: give a number with an optional unit, e.g. 512M or 2G"
        )
    size = int(float(match.group(1)) * _UNITS[match.group(2).upper()])
    if size < MIN_MEMORY:
        raise argparse.ArgumentTypeError(
            f"{text} is too little: the sandbox needs at least 256M to import mlflow"
        )
    return size


def shown(size: int) -> str:
    for unit in ("T", "G", "M", "K"):
        if size >= _UNITS[unit] and size % _UNITS[unit] == 0:
            return f"{size // _UNITS[unit]}{unit}"
    return f"{size / _UNITS['M']:.0f}M"

"""The variables read by name while MLflow logs the model from code, for `init`: logging runs
the script as loading does, but a flavor may read more then (the LlamaIndex flavor resolves the
index's settings, OPENAI_API_BASE among them, and saves them with the model, so that loading
never reads them again), and `validate` logs the model with only what model.yaml declares.
Traced by the sandbox probe's own code (validator/sandbox/probe.py), in the logging worker."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def traced(root: Path) -> Iterator[dict[str, dict[str, Any]]]:
    """{name: what the probe records of a read} for the variables read while the block runs,
    the files under ROOT being the model's own."""
    from validator.sandbox import probe

    saved = (probe._reads, probe._writes, probe._stage, probe._MODEL_DIR)
    reads: dict[str, dict[str, Any]] = {}
    probe._reads, probe._writes, probe._stage = reads, set(), "log"
    probe._MODEL_DIR = os.path.realpath(root)
    getitem, setitem = os._Environ.__getitem__, os._Environ.__setitem__
    os._Environ.__getitem__ = probe._traced_getitem  # type: ignore[method-assign,assignment]
    os._Environ.__setitem__ = probe._traced_setitem  # type: ignore[method-assign,assignment]
    try:
        yield reads
    finally:
        os._Environ.__getitem__ = getitem  # type: ignore[method-assign]
        os._Environ.__setitem__ = setitem  # type: ignore[method-assign]
        probe._reads, probe._writes, probe._stage, probe._MODEL_DIR = saved

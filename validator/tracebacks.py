"""Point at the user's own file and line in an exception raised by their code."""

from __future__ import annotations

import traceback
from collections.abc import Iterable
from pathlib import Path

from validator.paths import inside
from validator.serving import chain

__all__ = ["chain", "deepest_location", "entry_function", "innermost", "user_frame"]


def user_frame(exc: BaseException, roots: list[tuple[Path, str]]) -> tuple[str, str] | None:
    """(location 'file:line', message) from the deepest frame inside one of ROOTS.

    ROOTS are (folder, prefix to drop) pairs: the project, and the logged model's folder,
    whose copy of the script MLflow runs on load.
    """
    for error in chain(exc):
        if isinstance(error, SyntaxError) and error.filename:
            where = deepest_location([(error.filename, error.lineno or 1)], roots)
            if where:
                return where, f"SyntaxError: {error.msg}"
        frames = [
            (frame.filename, frame.lineno or 0)
            for frame in traceback.extract_tb(error.__traceback__)
        ]
        best = deepest_location(frames, roots)
        if best:
            text = str(error) or "(no message)"
            return best, f"{type(error).__name__}: {text}"
    return None


def entry_function(exc: BaseException, roots: list[tuple[Path, str]]) -> str | None:
    """The function of the model's files (inside ROOTS) that other code, MLflow's, called into
    on the way to EXC: the outermost such frame of the error `user_frame` points at."""
    resolved = [(root.resolve(), prefix) for root, prefix in roots]
    for error in chain(exc):
        for frame in traceback.extract_tb(error.__traceback__):
            if _relative(Path(frame.filename), resolved):
                return frame.name
    return None


def deepest_location(
    frames: Iterable[tuple[str, int]], roots: list[tuple[Path, str]]
) -> str | None:
    """'file:line' of the last of FRAMES (file, line) inside one of ROOTS, relative to it."""
    # the deepest root first: the logged model's folder may sit inside the project
    resolved = sorted(
        ((root.resolve(), prefix) for root, prefix in roots), key=lambda r: -len(r[0].parts)
    )
    best: str | None = None
    for filename, line in frames:
        where = _relative(Path(filename), resolved)
        if where:
            best = f"{where}:{line}"
    return best


def innermost(exc: BaseException) -> BaseException:
    return chain(exc)[-1]


def _relative(path: Path, roots: list[tuple[Path, str]]) -> str | None:
    if "site-packages" in path.parts or path.name.startswith("<"):
        return None  # an installed package's, or code with no file (<string>, <frozen os>)
    for root, prefix in roots:
        relative = inside(path, root)
        if relative is None:
            continue
        if prefix and relative.startswith(prefix):
            relative = relative[len(prefix) :]
        return relative
    return None

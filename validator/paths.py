"""Paths inside a project: how they are shown, and which folders are never part of a model."""

from __future__ import annotations

import os
import sys
from pathlib import Path

CACHE_ENV = "MFC_VALIDATOR_CACHE"

# the validator's embedded MLflow store, in the project folder: never shipped, whatever
# code_paths says (see inprocess.log_model)
EMBEDDED_STORE = ".mlflow"
# Folders that are never part of the model: caches, version control, notebooks' autosaves,
# environments and MLflow stores. The one list: a code_paths or artifact folder that ships one
# warns (CFG004), the static checks never read its files, the content hash leaves it out, and
# --all never looks for projects in it.
SKIPPED_DIRS = frozenset(
    {
        "__pycache__",
        ".git",
        ".hg",
        ".svn",
        ".ipynb_checkpoints",
        ".mlflow",
        "mlruns",
        "mlartifacts",
        ".venv",
        ".nox",
        ".tox",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        "node_modules",
        "site-packages",
    }
)


def relative_path(path: Path, root: Path) -> str:
    """PATH as shown to the user: relative to ROOT (posix), symlinks not followed."""
    try:
        # absolute() keeps symlinks as the user laid them out, where resolve() follows them
        return Path(os.path.relpath(path.absolute(), root.absolute())).as_posix()
    except ValueError:  # another drive on Windows
        return str(path)


def inside(path: Path, root: Path) -> str | None:
    """PATH relative to ROOT (posix) when it is inside ROOT, else None."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError):
        return None


def files_under(path: Path, suffix: str = "") -> list[Path]:
    """PATH itself if it is a file, else every file below it outside SKIPPED_DIRS, sorted."""
    if path.is_file():
        return [path] if path.name.endswith(suffix) else []
    if not path.is_dir():
        return []
    return sorted(
        file
        for file in path.rglob(f"*{suffix}")
        if file.is_file() and not SKIPPED_DIRS & set(file.relative_to(path).parts[:-1])
    )


def cache_root() -> Path:
    """The validator's cache: sandbox environments (envs/), resolutions, store templates."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    if sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    elif os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "mfc-validator"

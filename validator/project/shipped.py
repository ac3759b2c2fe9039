"""What leaves the project: every path model.yaml names, and every file each `code_paths` and
artifact entry ships, walked the way MLflow copies them (following symlinks, as `shutil.copytree`
does), without importing mlflow.

A path escapes when it is absolute, when it leaves the project folder once symlinks are followed,
or when a symlink loops (a link to itself, or to a folder it sits in: MLflow would copy forever).
Only the standard library: `check` uses it.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from validator.project.config import ProjectConfig

Reason = Literal["absolute", "outside", "loop"]
# MLflow's copy of a code_paths folder leaves these out (shutil.ignore_patterns("__pycache__"));
# an artifact folder is copied whole
CODE_PATHS_IGNORED = frozenset({"__pycache__"})


@dataclass(frozen=True)
class Escape:
    key: str  # the model.yaml key: script, code_paths, artifacts.model, ...
    written: str  # the path as model.yaml writes it, or the file inside the entry's folder
    resolved: str  # where it leads: the real path, or the symlink's target for a loop
    reason: Reason
    folder: str = ""  # for a file inside a code_paths or artifact folder: the folder as written


@dataclass(frozen=True)
class ShippedFile:
    shown: str  # relative to the project folder, as laid out (symlinks not followed)
    path: Path
    size: int
    target: str = ""  # for a symlink: the file it leads to, relative to the project folder


@dataclass
class Entry:
    """One code_paths or artifacts entry of model.yaml, and the files it ships."""

    key: str  # code_paths or artifacts.NAME: the key whose line the report points at
    label: str  # how the report names it: "code_paths 'pkg'", "artifact 'model'"
    written: str
    files: list[ShippedFile] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(file.size for file in self.files)


@dataclass
class Survey:
    escapes: list[Escape] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)


def leaves_lexically(written: str) -> bool:
    """WRITTEN is absolute or climbs out of the project by its `..` alone, symlinks aside."""
    if Path(written).is_absolute():
        return True
    parts = Path(os.path.normpath(written)).parts
    return bool(parts) and parts[0] == os.pardir


def _resolve(path: Path) -> Path | None:
    """PATH with every symlink followed, or None when they loop."""
    try:
        return path.resolve(strict=True)
    except RuntimeError:  # a loop, up to Python 3.12
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a loop, from Python 3.13
            return None
    # missing, a dangling symlink, or unreadable: where it would lead
    try:
        return path.resolve(strict=False)
    except (RuntimeError, OSError):
        return None


def _inside(real: Path, root: Path) -> bool:
    return real == root or root in real.parents


def _shown(path: Path, root: Path) -> str:
    return Path(os.path.relpath(path, root)).as_posix()


class _Walker:
    def __init__(self, config: ProjectConfig, survey: Survey) -> None:
        self.root = config.root.absolute()
        self.real_root = self.root.resolve()
        self.survey = survey

    def escape(
        self, key: str, written: str, resolved: str, reason: Reason, folder: str = ""
    ) -> None:
        self.survey.escapes.append(Escape(key, written, resolved, reason, folder))

    def check(self, key: str, written: str) -> Path | None:
        """The real path of WRITTEN when it stays inside the project, else None (reported)."""
        if Path(written).is_absolute():
            self.escape(key, written, written, "absolute")
            return None
        real = _resolve(self.root / written)
        if real is None:
            self.escape(key, written, written, "loop")
            return None
        if not _inside(real, self.real_root):
            self.escape(key, written, str(real), "outside")
            return None
        return real

    def walk(self, entry: Entry, folder: Path, real: Path, ancestors: tuple[Path, ...]) -> None:
        """Add every file below FOLDER (whose real path is REAL) to ENTRY, as MLflow copies it."""
        ignored = CODE_PATHS_IGNORED if entry.key == "code_paths" else frozenset()
        try:
            children = sorted(os.scandir(folder), key=lambda child: child.name)
        except OSError:
            return  # unreadable: MLflow's copy fails too, and says so (CFG005)
        for child in children:
            path = folder / child.name
            shown = _shown(path, self.root)
            child_real = real / child.name
            if child.is_symlink():
                target = _resolve(path)
                if target is None:
                    self.escape(entry.key, shown, str(path.readlink()), "loop", entry.written)
                    continue
                if not _inside(target, self.real_root):
                    self.escape(entry.key, shown, str(target), "outside", entry.written)
                    continue
                # a folder on the way down, or above it: MLflow's copy would never end
                if target == real or target in real.parents or target in ancestors:
                    self.escape(entry.key, shown, str(path.readlink()), "loop", entry.written)
                    continue
                child_real = target
            if child_real.is_dir():
                if child.name not in ignored:
                    self.walk(entry, path, child_real, (*ancestors, real))
            elif child_real.is_file():
                try:
                    size = child_real.stat().st_size
                except OSError:
                    size = 0
                target_shown = _shown(child_real, self.real_root) if child.is_symlink() else ""
                entry.files.append(ShippedFile(shown, path, size, target_shown))

    def entry(self, key: str, label: str, written: str) -> None:
        entry = Entry(key, label, written)
        self.survey.entries.append(entry)
        real = self.check(key, written)
        if real is None:
            return
        path = self.root / written
        if real.is_dir():
            self.walk(entry, path, real, ())
        elif real.is_file():
            entry.files.append(ShippedFile(_shown(path, self.root), path, real.stat().st_size))


def survey(config: ProjectConfig) -> Survey:
    """Every path of CONFIG that escapes the project, and what each code_paths and artifacts
    entry ships. A missing path is left to CFG001."""
    result = Survey()
    walker = _Walker(config, result)
    for key, written in config.named_files():
        if key == "code_paths":
            walker.entry(key, f"code_paths '{written}'", written)
        elif key.startswith("artifacts."):
            walker.entry(key, f"artifact '{key.split('.', 1)[1]}' ({written})", written)
        else:
            walker.check(key, written)
    return result

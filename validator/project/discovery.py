"""Which projects a run covers: the folders given, or every `model.yaml` under a root (`--all`),
and a stable, balanced share of them for one CI runner (`--shard K/N`)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from validator.errors import ValidatorError
from validator.paths import SKIPPED_DIRS, relative_path

DECLARATION = "model.yaml"


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based, as written: --shard 2/4
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    index_text, _, count_text = text.partition("/")
    try:
        index, count = int(index_text), int(count_text)
    except ValueError:
        index = count = 0
    if count < 1 or not 1 <= index <= count:
        raise ValidatorError(
            f"--shard {text!r}: expected K/N with 1 <= K <= N, for example --shard 1/4"
        )
    return Shard(index, count)


def _git_listed(root: Path) -> list[Path] | None:
    """The model.yaml files under ROOT that git does not ignore; None outside a git work tree
    (or without git)."""
    try:
        listed = subprocess.run(
            [
                "git",
                "ls-files",
                "--cached",
                "--others",
                "--exclude-standard",
                "-z",
                "--",
                DECLARATION,
                f"**/{DECLARATION}",
            ],
            cwd=root,
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if listed.returncode != 0:
        return None
    names = [name for name in listed.stdout.decode("utf-8", "replace").split("\0") if name]
    # --cached lists files deleted from the work tree too
    return [root / name for name in names if (root / name).is_file()]


def _walked(root: Path) -> list[Path]:
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [name for name in subfolders if name not in SKIPPED_DIRS]
        if DECLARATION in files:
            found.append(Path(folder) / DECLARATION)
    return found


def find_projects(root: Path) -> list[Path]:
    """Every folder under ROOT holding a model.yaml, sorted; git-ignored folders and SKIPPED_DIRS
    left out."""
    if not root.is_dir():
        raise ValidatorError(f"--all {root}: no such folder")
    declarations = _git_listed(root)
    if declarations is None:
        declarations = _walked(root)
    projects = {
        path.parent
        for path in declarations
        if not SKIPPED_DIRS & set(path.relative_to(root).parts[:-1])
    }
    return sorted(projects, key=lambda path: relative_path(path, root))


def select_projects(given: Sequence[str], all_root: str | None) -> list[str]:
    """The projects of a run, as the user will see them named."""
    if all_root is not None and given:
        raise ValidatorError("give either PROJECT folders or --all [ROOT], not both")
    if all_root is None:
        return list(dict.fromkeys(given)) or ["."]
    root = Path(all_root)
    found = find_projects(root)
    if not found:
        raise ValidatorError(f"--all {all_root}: no {DECLARATION} under it")
    return [os.path.normpath(root / relative_path(path, root)) for path in found]


def shard_of(projects: Sequence[str], key: Callable[[str], str], shard: Shard) -> list[str]:
    """The share of PROJECTS that SHARD runs. Projects with the same KEY (their environment)
    stay together, so that a runner builds each environment once, unless their group is larger
    than a fair share, which is then split into fair shares; the pieces go, largest first, to
    the least loaded shard. The result depends only on the projects and their keys."""
    groups: dict[str, list[str]] = {}
    for project in sorted(projects):
        groups.setdefault(key(project), []).append(project)
    fair = -(-len(projects) // shard.count)  # ceil
    pieces = [
        (name, members[start : start + fair])
        for name, members in groups.items()
        for start in range(0, len(members), fair)
    ]
    pieces.sort(key=lambda piece: (-len(piece[1]), piece[0], piece[1]))
    loads = [0] * shard.count
    mine: set[str] = set()
    for _, members in pieces:
        target = min(range(shard.count), key=lambda index: (loads[index], index))
        loads[target] += len(members)
        if target == shard.index - 1:
            mine.update(members)
    return [project for project in projects if project in mine]

"""A finding's location (`file` or `file:line`, relative to its project) as a path from the
current folder, so that terminals, editors and CI systems can open it."""

from __future__ import annotations

import os
import re
from pathlib import Path

_LOCATION = re.compile(r"(?P<file>[^:\s][^:]*?)(?::(?P<line>\d+))?(?::(?P<column>\d+))?")


def split(location: str) -> tuple[str, int | None] | None:
    """(file, line or None) of a `file[:line[:column]]` location; None for any other form."""
    match = _LOCATION.fullmatch(location)
    if match is None:
        return None
    line = match.group("line")
    return match.group("file"), int(line) if line else None


def _is_folder(project: str) -> bool:
    # a model URI (models:/…, runs:/…, s3://…) is no folder of files to point into
    return bool(project) and "://" not in project and not re.match(r"^[a-z][a-z0-9+.-]*:/", project)


def project_file(project: str, file: str) -> str | None:
    """FILE of the project at PROJECT as the current folder reaches it (relative when that is
    shorter than absolute), or None when the project holds no such file."""
    if not _is_folder(project):
        return None
    path = Path(project) / file
    try:
        if not path.exists():
            return None
        absolute = str(path.resolve())
        relative = os.path.relpath(absolute)
    except (OSError, ValueError):
        return None
    return relative if len(relative) <= len(absolute) else absolute


def shown(location: str, project: str) -> str:
    """LOCATION as a path from the current folder, line kept; as given when it names no file
    of the project."""
    parts = split(location)
    if parts is None:
        return location
    file = project_file(project, parts[0])
    if file is None:
        return location
    return file + location[len(parts[0]) :]


def project_name(project: str) -> str:
    """The project as a title names it: its folder's name for `.`, `..` or a path that ends in
    a slash; a path or URI as given otherwise."""
    if _is_folder(project) and Path(project).name in ("", ".", ".."):
        try:
            return Path(project).resolve().name or project
        except OSError:
            return project
    return project

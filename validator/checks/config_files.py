from __future__ import annotations

import difflib
from pathlib import Path

from validator.project import uv_project
from validator.project.sources import Project
from validator.report import Finding, failed, ran


def _near(path: Path, relative: str) -> str | None:
    """RELATIVE with the name of a file beside PATH that it most likely meant (a typo), if any."""
    try:
        names = [p.name for p in path.parent.iterdir() if p.suffix == path.suffix]
    except OSError:
        return None
    close = difflib.get_close_matches(path.name, names, n=1)
    if not close:
        return None
    return Path(relative).with_name(close[0]).as_posix()


def unlocked_uv_project(root: Path) -> bool:
    """pyproject.toml without uv.lock: a uv project until `uv lock` runs (a template's project
    generated where uv or the package index was missing)."""
    return (root / uv_project.PYPROJECT).is_file() and not (root / uv_project.LOCK).exists()


def run(project: Project) -> list[Finding]:
    config = project.config
    findings: list[Finding] = []
    # a path that leaves the project, or loops, fails CFG002 whether it exists or not
    escaped = {(e.key, e.written) for e in project.shipped.escapes if not e.folder}
    for key, relative in config.named_files():
        if (key, relative) in escaped:
            continue
        if key == "requirements" and uv_project.is_uv_project(config.root):
            continue  # a uv project's requirements are pyproject.toml's (DEP019)
        path = config.path(relative)
        if not path.exists() and key == "requirements" and unlocked_uv_project(config.root):
            findings.append(
                failed(
                    "CFG001",
                    f"{key} names '{relative}', which does not exist, and "
                    f"{uv_project.PYPROJECT} has no {uv_project.LOCK} beside it",
                    config.where(key),
                    f"run `uv lock` here to make this a uv project ({uv_project.PYPROJECT} and "
                    f"{uv_project.LOCK}), or create {relative}",
                )
            )
        elif not path.exists():
            top = key.split(".")[0]
            meant = _near(path, relative)
            findings.append(
                failed(
                    "CFG001",
                    f"{key} names '{relative}', which does not exist"
                    + (f"; did you mean '{meant}'?" if meant else ""),
                    config.where(top),
                    f"create {relative}, or correct '{key}' in model.yaml",
                )
            )
        elif key in ("script", "requirements", "input_example") and not path.is_file():
            findings.append(
                failed(
                    "CFG001",
                    f"{key} names '{relative}', which is not a file",
                    config.where(key),
                    f"point '{key}' in model.yaml at a file",
                )
            )
    return ran(("CFG001",), findings)

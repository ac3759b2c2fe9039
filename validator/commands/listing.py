"""`mfc-validator list` and `mfc-validator cache-key`: what a run of several projects covers, for
a CI system's job matrix and its cache action. Static: imports neither mlflow nor the models."""

from __future__ import annotations

import hashlib
import os
import platform
import sys
from pathlib import Path
from typing import Any

from validator.errors import ValidatorError
from validator.paths import cache_root
from validator.project import config, uv_project
from validator.project.requirements import included
from validator.sandbox.envcache import early_key, this_python
from validator.sandbox.interpreters import find_uv

LIST_SCHEMA_VERSION = 1


def requirements_of(project: str) -> tuple[config.ProjectConfig, str]:
    """PROJECT's model.yaml and the text of its requirements file; for a uv project, what its
    model is logged with: the export of its uv.lock."""
    loaded = config.load(Path(project))
    if uv_project.is_uv_project(loaded.root):
        return loaded, uv_project.logged_requirements(loaded.root, find_uv())
    return loaded, loaded.path(loaded.requirements).read_text(encoding="utf-8")


def _requirements_file(loaded: config.ProjectConfig) -> str:
    """The file the environment comes from: the requirements file, or a uv project's uv.lock."""
    return uv_project.LOCK if uv_project.is_uv_project(loaded.root) else loaded.requirements


UNREADABLE = (ValidatorError, OSError, UnicodeDecodeError, uv_project.UvProjectError)


def entry(project: str) -> dict[str, Any]:
    """PROJECT's name, its requirements file, and the key of the sandbox environment that file
    makes."""
    try:
        loaded, requirements = requirements_of(project)
        folder = loaded.path(_requirements_file(loaded)).parent
    except UNREADABLE as exc:
        return {
            "project": project,
            "name": None,
            "requirements": None,
            "environment": None,
            "error": str(exc),
        }
    return {
        "project": project,
        "name": loaded.name,
        "requirements": os.path.normpath(Path(project) / _requirements_file(loaded)),
        "environment": early_key(this_python(), requirements, included(requirements, folder)),
    }


def environment_of(project: str) -> str:
    """The grouping key of --shard: projects that share an environment stay together."""
    return str(entry(project)["environment"] or f"unreadable:{project}")


def listing(projects: list[str]) -> dict[str, Any]:
    return {
        "schema_version": LIST_SCHEMA_VERSION,
        "command": "list",
        "environment_cache": str(cache_root()),
        "projects": [entry(project) for project in projects],
    }


def cache_key(projects: list[str]) -> str:
    """One key for the set of environments PROJECTS need: the same projects' requirements give
    the same key, so that a CI cache restores exactly the environments built for them."""
    keys = sorted({environment_of(project) for project in projects})
    digest = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16]
    return f"mfc-validator-envs-{sys.platform}-{platform.machine()}-py{this_python()}-{digest}"

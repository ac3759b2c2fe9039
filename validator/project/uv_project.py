"""A uv project: `pyproject.toml` and `uv.lock` in the project's folder, as MLflow detects it.

MLflow (`MLFLOW_UV_AUTO_DETECT`, on by default) copies both files into the logged model when the
folder it logs from holds them, even when `pip_requirements` is given, and
`mlflow models serve --env-manager uv` restores the environment with `uv sync --frozen` from that
lock, never from requirements.txt. So for a uv project the validator installs what the lock says:
its export, with MLflow's own flags (`mlflow/utils/uv_utils.py`, `export_uv_requirements`), is
what the model is logged with and what the sandbox installs; the declared, direct requirements
that the dependency checks read are `[project].dependencies` of pyproject.toml.

Files and uv only: no mlflow, no pandas (`check` reads this module).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the package supports Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

PYPROJECT = "pyproject.toml"
LOCK = "uv.lock"
# MLflow's own `uv export` (mlflow/utils/uv_utils.py, export_uv_requirements)
EXPORT_FLAGS = (
    "--no-dev",
    "--no-hashes",
    "--frozen",
    "--no-header",
    "--no-emit-project",
    "--no-annotate",
)
# seconds `uv export` (reads the lock) and `uv lock --check` (resolves: the index) may take
EXPORT_TIMEOUT_S = 60.0
CHECK_TIMEOUT_S = 300.0
SOURCE = f"{LOCK} (uv export)"  # what the report names as the source of the environment


class UvProjectError(Exception):
    """What is wrong with a uv project's files, in one line."""


def is_uv_project(root: Path) -> bool:
    """Whether ROOT holds pyproject.toml and uv.lock: exactly MLflow's detection."""
    return (root / PYPROJECT).is_file() and (root / LOCK).is_file()


def orphan_lock(root: Path) -> bool:
    """A uv.lock without pyproject.toml: MLflow ignores it."""
    return (root / LOCK).is_file() and not (root / PYPROJECT).is_file()


def direct_dependencies(root: Path) -> list[str]:
    """`[project].dependencies` of ROOT's pyproject.toml: the project's declared requirements."""
    try:
        data = tomllib.loads((root / PYPROJECT).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UvProjectError(f"{PYPROJECT} cannot be read: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UvProjectError(f"{PYPROJECT} is not valid TOML: {_one_line(str(exc))}") from None
    project = data.get("project")
    dependencies = project.get("dependencies") if isinstance(project, dict) else None
    if not isinstance(dependencies, list) or not dependencies:
        raise UvProjectError(f"{PYPROJECT} has no [project] dependencies")
    if not all(isinstance(item, str) for item in dependencies):
        raise UvProjectError(f"{PYPROJECT}'s [project] dependencies must be strings")
    return [str(item).strip() for item in dependencies]


def export(root: Path, uv: str) -> str:
    """The requirements uv.lock pins, as MLflow exports them (`uv export --frozen`)."""
    command = [uv, "export", *EXPORT_FLAGS, "--quiet", "--no-progress"]
    return _uv(command, root, EXPORT_TIMEOUT_S, "uv export")


def logged_requirements(root: Path, uv: str | None) -> str:
    """The requirements a uv project's model is logged with, as the logged requirements.txt
    holds them: the export of its uv.lock, one requirement a line."""
    if uv is None:
        raise UvProjectError("a uv project needs uv, which is not installed here")
    return "".join(f"{line}\n" for line in export_lines(export(root, uv)))


def export_lines(text: str) -> list[str]:
    """The requirement lines of an export (comments and blank lines aside), each written as
    MLflow writes a requirement into the logged requirements.txt (`packaging`'s form:
    `cffi==2.1.1; platform_python_implementation != "PyPy"`), so that the sandbox built from
    them before logging is the one the logged model asks for."""
    from packaging.requirements import InvalidRequirement, Requirement

    lines = (line.split(" #", 1)[0].strip() for line in text.splitlines())
    written = []
    for line in lines:
        if not line or line.startswith("#"):
            continue
        try:
            written.append(str(Requirement(line)))
        except InvalidRequirement:
            written.append(line)
    return written


def check_lock(root: Path, uv: str) -> None:
    """Raise when uv.lock no longer matches pyproject.toml (`uv lock --check`)."""
    command = [uv, "lock", "--check", "--quiet", "--no-progress"]
    _uv(command, root, CHECK_TIMEOUT_S, "uv lock --check")


def _uv(command: list[str], root: Path, timeout: float, what: str) -> str:
    try:
        done = subprocess.run(
            command,
            cwd=root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise UvProjectError(f"`{what}` took longer than {timeout:.0f} s") from None
    except OSError as exc:
        raise UvProjectError(f"`{what}` could not run: {exc.strerror or exc}") from None
    if done.returncode != 0:
        raise UvProjectError(f"`{what}` failed: {uv_message(done.stderr)}")
    return done.stdout


def uv_message(stderr: str) -> str:
    """uv's error and its causes, on one line (its hint aside)."""
    kept: list[str] = []
    for raw in stderr.splitlines():
        line = raw.strip().lstrip("|").strip()
        if line.startswith(("error:", "Caused by:", "cause:")):
            kept.append(line.split(":", 1)[1].strip() if line.startswith("error:") else line)
    if not kept:
        kept = [line.strip() for line in stderr.splitlines() if line.strip()][-2:]
    return _one_line("; ".join(kept)) or "no message"


def _one_line(text: str) -> str:
    return " ".join(text.split())

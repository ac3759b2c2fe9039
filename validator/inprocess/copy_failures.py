"""CFG005: MLflow failing to copy the script, a code_paths or an artifacts entry into the model,
told apart from the script raising (SCR007) by MLflow's copying functions on the traceback."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from validator.project.config import ProjectConfig
from validator.report import Finding, failed
from validator.tracebacks import chain

# MLflow's functions that copy code_paths, artifacts and the model's files into the model: an
# error raised under one of them is the copy failing, not the script (SCR007)
_COPYING = {
    "_validate_and_copy_code_paths": "code_paths",
    "_copy_file_or_tree": "code_paths",
    "_validate_and_copy_file_to_directory": "script",  # the script, copied into code/
    "_download_artifact_from_uri": "artifacts",
}
_SHOWN_CHARS = 300


def _copying(exc: BaseException) -> str | None:
    """The model.yaml key whose files MLflow was copying when EXC was raised, or None."""
    for error in chain(exc):
        traceback = error.__traceback__
        while traceback is not None:
            key = _COPYING.get(traceback.tb_frame.f_code.co_name)
            if key is not None:
                return key
            traceback = traceback.tb_next
    return None


def _copy_error(exc: BaseException, root: Path) -> str:
    """What failed in MLflow's copy, in a line: shutil's first failure, or the error's text."""
    cause = exc
    for error in chain(exc):
        if isinstance(error, (shutil.Error, OSError)):
            cause = error
            break
    if isinstance(cause, shutil.Error) and cause.args and isinstance(cause.args[0], list):
        failures = cause.args[0]
        text = str(failures[0][2]) if failures and len(failures[0]) == 3 else str(cause)
        if len(failures) > 1:
            text += f" (and {len(failures) - 1} more)"
    elif isinstance(cause, OSError) and cause.strerror:
        text = f"{cause.strerror}: {cause.filename}" if cause.filename else cause.strerror
    else:
        lines = [line.strip("# ").strip() for line in str(cause).splitlines()]
        text = " ".join(line for line in lines if line)
    text = text.replace(f"{root}{os.sep}", "").replace(str(root), ".")
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


def copy_failure(exc: BaseException, config: ProjectConfig) -> Finding | None:
    """CFG005 when EXC is MLflow failing to copy the model's files, else None."""
    key = _copying(exc)
    if key is None:
        return None
    root = config.root.resolve()
    named = {
        "code_paths": "a code_paths entry",
        "artifacts": "an artifact",
        "script": f"the script '{config.script}'",
    }[key]
    raw = " ".join(str(error) for error in chain(exc))
    entries = {
        "code_paths": [(f"code_paths '{path}'", path) for path in config.code_paths],
        "artifacts": [(f"artifact '{name}'", path) for name, path in config.artifacts.items()],
    }.get(key, [])
    for label, path in sorted(entries, key=lambda entry: -len(entry[1])):
        # MLflow names an artifact it cannot download by its path below the artifact's folder
        if str(root / path) in raw or f"File {Path(path).name}" in raw:
            named = label
            break
    error = _copy_error(exc, root)
    return failed(
        "CFG005",
        f"MLflow could not copy {named} into the model: {error}",
        config.where(key),
        "make every file under it a regular, readable file that stays put while the model is "
        "logged: no symlink loops, named pipes or sockets, no file another process removes",
    )

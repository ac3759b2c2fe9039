"""`mfc-validator lock [PROJECT]`: resolve the full environment of the project's requirements for
the Python the model is logged with, and write it beside them as the lock (`constraints.txt`, see
`validator.project.lock`), which the requirements file then includes (`-c constraints.txt`).

The resolution is uv's (`uv pip compile`, the uv the sandbox uses, with pip's configuration
carried over as the sandbox's installs have it). Distributions are limited to those uploaded
before the pinned mlflow was (`--exclude-newer`, read from the package index), so that an old
MLflow gets the dependencies it was released with, not newer ones it cannot import (SQLAlchemy
2.1 under mlflow 3.4); the requirements named in the file are exempt, they are the user's choice.
`--exclude-newer DATE` sets the cutoff, `--exclude-newer none` resolves against everything.

Errors are one line and exit status 2; nothing is written unless the resolution succeeded.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from validator.errors import ValidatorError
from validator.project import config as project_config
from validator.project import lock, uv_project
from validator.project.requirements import (
    MLFLOW,
    logical_lines,
    normalize,
    parse_requirement,
    redact,
)

RESOLVE_TIMEOUT_S = 300.0
INDEX_TIMEOUT_S = 15.0
DEFAULT_INDEX = "https://pypi.org/simple"
NONE = "none"


def add_parser(commands: argparse._SubParsersAction[Any]) -> None:
    """The `lock` command's arguments, among the CLI's COMMANDS."""
    parser = commands.add_parser(
        "lock",
        help="resolve the full environment of requirements.txt into constraints.txt, the lock "
        "that validate builds from and that ships with the model",
        description="Resolve the project's requirements for this Python with uv and write "
        "every distribution of the environment, pinned, to constraints.txt beside them; add "
        "'-c constraints.txt' to the requirements file. validate then builds the sandbox under "
        "the lock and logs the model with it, so that `mlflow models serve` installs the "
        "validated versions. Run it again after changing the requirements (check says when).",
    )
    parser.add_argument("project", nargs="?", default=".", help="the project folder [.]")
    parser.add_argument(
        "--exclude-newer",
        metavar="DATE",
        help="leave out distributions uploaded after DATE (RFC 3339, or YYYY-MM-DD), except "
        "the requirements themselves; 'none' for no cutoff [the upload time of the pinned "
        "mlflow, read from the package index]",
    )


def _mlflow_pin(text: str) -> str | None:
    for _, line in logical_lines(text):
        if line.startswith("-"):
            continue
        parsed = parse_requirement(line)
        if parsed.name and normalize(parsed.name) in MLFLOW and parsed.specifier.startswith("=="):
            return parsed.specifier[2:]
    return None


def _direct_names(text: str) -> list[str]:
    names = []
    for _, line in logical_lines(text):
        if not line.startswith("-"):
            parsed = parse_requirement(line)
            if parsed.name:
                names.append(normalize(parsed.name))
    return names


def _index_url(settings: dict[str, str]) -> str:
    return (
        os.environ.get("UV_DEFAULT_INDEX")
        or os.environ.get("UV_INDEX_URL")
        or settings.get("index-url")
        or DEFAULT_INDEX
    )


def upload_time(index: str, name: str, version: str) -> str:
    """The latest upload time of NAME==VERSION's files on INDEX (PEP 691 JSON, PEP 700's
    `upload-time`), as uv's --exclude-newer takes it; ValueError saying why it cannot be had."""
    url = f"{index.rstrip('/')}/{name}/"
    request = urllib.request.Request(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    try:
        with urllib.request.urlopen(request, timeout=INDEX_TIMEOUT_S) as response:
            data = json.loads(response.read(20_000_000))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{redact(url)} did not answer in JSON ({exc})") from None
    times = [
        str(item["upload-time"])
        for item in data.get("files", [])
        if isinstance(item, dict)
        and item.get("upload-time")
        and (
            f"-{version}-" in str(item.get("filename", ""))
            or str(item.get("filename", "")).endswith((f"-{version}.tar.gz", f"-{version}.zip"))
        )
    ]
    if not times:
        raise ValueError(f"{redact(url)} gives no upload time for {name}=={version}")
    latest = max(datetime.fromisoformat(t.replace("Z", "+00:00")) for t in times)
    return latest.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cutoff(given: str | None, text: str, settings: dict[str, str]) -> tuple[str, str]:
    """(the --exclude-newer value or '', what the header says of it)."""
    if given is not None:
        if given.lower() == NONE:
            return "", "none, as --exclude-newer said"
        try:
            datetime.fromisoformat(given.replace("Z", "+00:00"))
        except ValueError:
            raise ValidatorError(
                f"--exclude-newer {given!r}: expected a date (2025-09-17 or "
                "2025-09-17T06:24:29Z) or 'none'"
            ) from None
        return given, f"{given}, as --exclude-newer said"
    version = _mlflow_pin(text)
    if version is None:
        return "", "none: mlflow is not pinned with =="
    try:
        stamp = upload_time(_index_url(settings), "mlflow", version)
    except ValueError as exc:
        return "", f"none: mlflow=={version}'s upload time could not be read: {exc}"
    return stamp, f"{stamp}, the upload time of mlflow=={version}"


def _compile(requirements: Path, cutoff: str, direct: list[str], output: Path) -> None:
    from validator.sandbox.envcache import Canceller, SandboxError, TookTooLong, run_step
    from validator.sandbox.interpreters import find_uv
    from validator.sandbox.resolution import parse_uv_error

    uv = find_uv()
    if uv is None:
        raise ValidatorError("uv is not installed where the validator runs: pip install uv")
    from validator.sandbox.envcache import installer_sources

    found = installer_sources()
    command = [uv, "pip", "compile", str(requirements), "--python", sys.executable]
    command += ["--no-header", "--annotation-style", "split", "--quiet", "--no-progress"]
    command += ["-o", str(output)]
    if cutoff:
        command += ["--exclude-newer", cutoff]
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        for name in direct:  # the requirements themselves are the user's choice
            command += ["--exclude-newer-package", f"{name}={now}"]
    try:
        run_step(command, "resolving", Canceller(), found, timeout=RESOLVE_TIMEOUT_S)
    except TookTooLong:
        raise ValidatorError(
            f"the resolution took longer than {RESOLVE_TIMEOUT_S:.0f} s ({found.shown()})"
        ) from None
    except SandboxError as exc:
        if "--exclude-newer-package" in exc.stderr and "unexpected argument" in exc.stderr:
            raise ValidatorError(
                f"this uv ({uv}) is too old for the lock's cutoff (it has no "
                "--exclude-newer-package): upgrade it where the validator runs (pip install -U "
                "uv), or lock with --exclude-newer none; nothing was written"
            ) from None
        said = parse_uv_error(redact(exc.stderr))
        named = f"{said.requirement}: " if said.requirement else ""
        python = lock.python_version()
        raise ValidatorError(
            f"the requirements do not resolve for Python {python}: {named}{said.reason} "
            f"(uv: {said.cause}); nothing was written"
        ) from None


def _write(path: Path, text: str) -> None:
    staged = path.with_name(f".{path.name}.{os.getpid()}")
    staged.write_text(text, encoding="utf-8")
    os.replace(staged, path)


def _refuse_a_file_of_the_users(path: Path) -> None:
    """A constraints.txt that `lock` did not write is the user's own: never overwrite it."""
    try:
        with path.open("rb") as file:
            start = file.read(len(lock.MARK))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ValidatorError(
            f"{path.name} cannot be read ({exc.strerror}): nothing was written"
        ) from None
    if start != lock.MARK.encode():
        raise ValidatorError(
            f"{path.name} exists and was not written by mfc-validator lock, which would "
            f"overwrite it: rename your constraints (e.g. -c my-constraints.txt in the "
            "requirements file; the lock honours them) and run it again; nothing was written"
        )


def run(project: str, exclude_newer: str | None) -> int:
    """Write the lock of PROJECT; the exit status (errors raise ValidatorError)."""
    config = project_config.load(Path(project))
    if uv_project.is_uv_project(config.root):
        raise ValidatorError(
            f"{config.root} is a uv project ({uv_project.PYPROJECT} and {uv_project.LOCK}): "
            f"{uv_project.LOCK} is its lock; run `uv lock` there instead; nothing was written"
        )
    requirements = config.path(config.requirements)
    if not requirements.is_file():
        raise ValidatorError(f"{config.requirements} does not exist: nothing to lock")
    text = requirements.read_text(encoding="utf-8")
    folder = requirements.parent
    _refuse_a_file_of_the_users(folder / lock.LOCK_FILE)
    from validator.sandbox.envcache import installer_sources

    cutoff, said = _cutoff(exclude_newer, text, installer_sources().settings)
    with tempfile.TemporaryDirectory(prefix="mfc-lock-") as scratch:
        staged = Path(scratch) / requirements.name
        kept = [line for _, line in logical_lines(text) if not lock.is_lock_line(line)]
        staged.write_text("\n".join(kept) + "\n", encoding="utf-8")
        for name in lock.other_includes(text):
            source = folder / name
            if source.is_file() and not Path(name).is_absolute() and ".." not in Path(name).parts:
                (Path(scratch) / name).parent.mkdir(parents=True, exist_ok=True)
                (Path(scratch) / name).write_bytes(source.read_bytes())
        output = Path(scratch) / "resolved.txt"
        _compile(staged, cutoff, _direct_names(text), output)
        resolved = output.read_text(encoding="utf-8").replace(str(staged), config.requirements)
    updated = lock.with_lock_line(text)
    digest = lock.source_hash(updated, folder)
    python = lock.python_version()
    body = lock.header(config.name, python, digest, said) + resolved
    try:
        count = len(lock.parse(body).pins)
    except lock.LockError as exc:  # a direct URL, an editable: nothing a constraint can pin
        raise ValidatorError(
            f"the resolution of {config.requirements} cannot be written as a lock, which pins "
            f"name==version only: {exc.reason}; nothing was written"
        ) from None
    _write(folder / lock.LOCK_FILE, body)
    if updated != text:
        _write(requirements, updated)
    shown = (
        (folder / lock.LOCK_FILE).relative_to(config.root)
        if folder.is_relative_to(config.root)
        else folder / lock.LOCK_FILE
    )
    sys.stdout.write(
        f"mfc-validator: wrote {shown}: {count} distributions for Python {python} "
        f"(exclude-newer {said})"
        + (f"; added '{lock.LOCK_LINE}' to {config.requirements}" if updated != text else "")
        + "\n"
    )
    return 0

"""The environment cache: virtualenvs built from the logged requirements.

Environments are keyed by Python version, platform, installer and the requirements' content,
built in a temporary folder and published by an atomic rename under a file lock, so that two
validations at once never corrupt the cache and an interrupted build leaves nothing half-made.
Only `<env>/bin/python` is ever run, which is why a renamed virtualenv still works.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from validator.errors import ValidatorError
from validator.paths import CACHE_ENV, cache_root
from validator.project.requirements import requirement_lines
from validator.sandbox.installer import Sources, sources
from validator.sandbox.interpreters import find_uv
from validator.tracking.server_check import without_credentials

Progress = Callable[[str], None]


class SandboxError(Exception):
    """The sandbox could not be built or run; carries the installer's own output."""

    def __init__(self, message: str, stderr: str = "", sources: Sources | None = None) -> None:
        super().__init__(message)
        self.stderr = stderr
        self.sources = sources  # where the installer took packages from, when it failed


class TookTooLong(SandboxError):
    """An installer step ran past its time limit and was stopped."""


@dataclass(frozen=True)
class Environment:
    path: Path
    python: Path
    key: str
    reused: bool
    build_s: float
    installer: str
    sources: str = ""  # the installer and where it installed from, as messages show it


def environment_key(
    python_version: str,
    installer: str,
    requirements: str,
    included: Mapping[str, bytes] | None = None,
    index: Mapping[str, str] | None = None,
) -> str:
    identity: dict[str, object] = {
        "python": python_version,
        "platform": f"{sys.platform}-{platform.machine()}",
        "installer": installer,
        "requirements": sorted(requirement_lines(requirements)),
    }
    if index:  # where the installer is configured to install from (see installer.Sources)
        identity["index"] = dict(index)
    if included:  # the constraints (or other files) the requirements name, by content
        identity["included"] = {
            name: hashlib.sha256(content).hexdigest() for name, content in sorted(included.items())
        }
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
    return f"py{python_version}-{installer}-{digest[:16]}"


def this_python() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def early_key(
    python_version: str, requirements: str, included: Mapping[str, bytes] | None = None
) -> str:
    """The key of the environment that `prepare` will build or find for REQUIREMENTS and the
    files it INCLUDED."""
    found = installer_sources()
    return environment_key(
        python_version, found.installer, requirements, included, found.identity()
    )


def installer_sources() -> Sources:
    """The installer that builds environments here, and where it installs from."""
    return sources("uv" if find_uv() else "pip", os.environ)


class Cancelled(Exception):
    """The validation stopped (Ctrl-C, SIGTERM) while the environment was being built."""


class Canceller:
    """Lets the main thread stop a build running in another thread, child processes included."""

    def __init__(self) -> None:
        self.cancelled = threading.Event()
        self.processes: list[subprocess.Popen[str]] = []

    def cancel(self) -> None:
        self.cancelled.set()
        for process in list(self.processes):
            kill_group(process)

    def check(self) -> None:
        if self.cancelled.is_set():
            raise Cancelled


def run_step(
    command: list[str],
    what: str,
    canceller: Canceller,
    found: Sources | None = None,
    timeout: float | None = None,
) -> str:
    """Run an installer step (with FOUND's settings carried over) and return its output; on
    failure, or after TIMEOUT seconds, raise SandboxError with its own output."""
    canceller.check()
    # a TMPDIR of the step's own, removed once it has ended: a step stopped with SIGKILL (a
    # cancelled build) leaves no temporary file where the caller's TMPDIR points
    step_tmp = tempfile.mkdtemp(prefix="mfc-step-")
    try:
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            # the tracking server's credentials are not the installer's
            env={
                **without_credentials(os.environ),
                **(found.environment() if found else {}),
                "TMPDIR": step_tmp,
            },
        )
    except BaseException:
        shutil.rmtree(step_tmp, ignore_errors=True)
        raise
    canceller.processes.append(process)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        kill_group(process)
        output = exc.output if isinstance(exc.output, str) else ""
        raise TookTooLong(f"{what} took longer than {timeout:.0f} s", output, found) from None
    except BaseException:
        kill_group(process)
        raise
    finally:
        canceller.processes.remove(process)
        shutil.rmtree(step_tmp, ignore_errors=True)
    canceller.check()
    if process.returncode != 0:
        raise SandboxError(f"{what} failed (exit {process.returncode})", output, found)
    return output


def kill_group(process: subprocess.Popen[Any]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        process.communicate(timeout=10)


def _build(
    target: Path, python: str, requirements: Path, found: Sources, canceller: Canceller
) -> None:
    # virtualenv runs as its own process: it can then be stopped like the installer, and no
    # module is imported in the build thread (imports racing across threads can deadlock
    # when a signal interrupts one of them)
    installer = found.installer
    seed = ["--no-seed"] if installer == "uv" else ["--no-setuptools", "--no-wheel"]
    run_step(
        [sys.executable, "-m", "virtualenv", str(target), "--python", python, "--quiet", *seed],
        f"creating the virtualenv with {python}",
        canceller,
    )
    env_python = _env_python(target)
    # No bytecode is compiled here: compiling all of mlflow's tree takes ~12 s on 2 cores, while
    # the first probe, which runs right after the build without PYTHONDONTWRITEBYTECODE, writes
    # the .pyc files of exactly the modules a model imports, once, in a fraction of that.
    if installer == "uv":
        uv = find_uv()
        assert uv is not None
        command = [
            uv,
            "pip",
            "install",
            "--python",
            str(env_python),
            "--no-progress",
            "-r",
            str(requirements),
        ]
    else:
        command = [
            str(env_python),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--no-compile",
            "-r",
            str(requirements),
        ]
    run_step(command, f"installing {requirements.name} with {installer}", canceller, found)


def _unwritable(folder: Path) -> str | None:
    """Why FOLDER cannot hold new environments (read-only, not ours), or None."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None


class DiskFull(ValidatorError):
    """The disk filled up while an environment was being built (exit status 2)."""


def _disk_full(folder: Path) -> DiskFull:
    return DiskFull(
        f"no space left on the disk of {folder} while building the sandbox environment; "
        f"nothing half-built was kept: free some space, or set {CACHE_ENV} (the cache) or "
        "TMPDIR (--no-cache builds) to a folder on a disk with room"
    )


def _build_or_full(
    target: Path, python: str, requirements: Path, found: Sources, canceller: Canceller
) -> None:
    """_build, with a full disk said as such: it is no fault of the requirements (SBX001)."""
    try:
        _build(target, python, requirements, found, canceller)
    except SandboxError as exc:
        if "No space left on device" in exc.stderr:
            raise _disk_full(target.parent) from None
        raise
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise _disk_full(target.parent) from None
        raise


def _env_python(path: Path) -> Path:
    return path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def is_cached(key: str) -> bool:
    """Whether the environment of KEY is in the cache, built and published."""
    return _env_python(cache_root() / "envs" / key).exists()


@contextlib.contextmanager
def _acquired(path: Path, canceller: Canceller, progress: Progress) -> Iterator[None]:
    """Hold the file lock at PATH; wait for another build of the same environment if need be."""
    from filelock import FileLock, Timeout  # imported by Sandbox() in the main thread first

    lock = FileLock(str(path))
    told = False
    while True:
        canceller.check()
        try:
            lock.acquire(timeout=0.5)
            break
        except Timeout:
            if not told:
                progress("waiting for another validation building the same environment")
                told = True
    try:
        yield
    finally:
        lock.release()


def prepare(
    python: str,
    python_version: str,
    requirements: Path,
    *,
    use_cache: bool,
    progress: Progress,
    scratch: Path,
    canceller: Canceller | None = None,
    included: Mapping[str, bytes] | None = None,
) -> Environment:
    """An environment with REQUIREMENTS installed: from the cache, or built now. INCLUDED: the
    files it names (constraints), written beside it already."""
    canceller = canceller or Canceller()
    found = installer_sources()
    installer, shown = found.installer, found.shown()
    text = requirements.read_text(encoding="utf-8")
    key = environment_key(python_version, installer, text, included, found.identity())
    count = len(requirement_lines(text))
    what = f"Python {python_version}, {shown}, {count} requirements"
    envs = cache_root() / "envs"
    unwritable = _unwritable(envs) if use_cache else None
    if unwritable:
        progress(
            f"warning: the environment cache {envs} cannot be written ({unwritable}): building "
            f"in a temporary folder, not cached; set {CACHE_ENV} to a writable folder"
        )
    if not use_cache or unwritable:
        target = scratch / "env"
        started = time.perf_counter()
        progress(f"building a sandbox environment ({what}), not cached")
        _build_or_full(target, python, requirements, found, canceller)
        elapsed = time.perf_counter() - started
        progress(f"sandbox environment built in {elapsed:.1f} s")
        return Environment(target, _env_python(target), key, False, elapsed, installer, shown)

    final = envs / key
    with _acquired(envs / f"{key}.lock", canceller, progress):
        if _env_python(final).exists():
            progress(f"sandbox environment reused from the cache ({key})")
            return Environment(final, _env_python(final), key, True, 0.0, installer, shown)
        for stale in envs.glob(f".tmp-{key}-*"):  # left by a killed build; we hold the lock
            shutil.rmtree(stale, ignore_errors=True)
        building = Path(tempfile.mkdtemp(prefix=f".tmp-{key}-", dir=envs))
        started = time.perf_counter()
        progress(f"building the sandbox environment ({what}) in {envs}")
        try:
            _build_or_full(building, python, requirements, found, canceller)
            (building / "mfc-environment.json").write_text(
                json.dumps(
                    {
                        "key": key,
                        "requirements": requirement_lines(requirements.read_text(encoding="utf-8")),
                    },
                    indent=2,
                ),
                encoding="utf-8",
            )
            os.replace(building, final)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise _disk_full(envs) from None
            raise
        finally:
            shutil.rmtree(building, ignore_errors=True)
        elapsed = time.perf_counter() - started
        progress(f"sandbox environment built in {elapsed:.1f} s")
        return Environment(final, _env_python(final), key, False, elapsed, installer, shown)

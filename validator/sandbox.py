"""The isolated sandbox: a cached virtualenv built from the logged requirements, and the probe.

Environments are keyed by Python version, platform, installer and the requirements' content,
built in a temporary folder and published by an atomic rename under a file lock, so that two
validations at once never corrupt the cache and an interrupted build leaves nothing half-made.
Only `<env>/bin/python` is ever run, which is why a renamed virtualenv still works.
"""

from __future__ import annotations

import contextlib
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CACHE_ENV = "MFC_VALIDATOR_CACHE"
PROBE = Path(__file__).with_name("probe.py")
_SCRUBBED_KEEP = ("PATH", "HOME", "LANG", "TMPDIR")

Progress = Callable[[str], None]


class SandboxError(Exception):
    """The sandbox could not be built or run; carries the installer's own output."""

    def __init__(self, message: str, stderr: str = "") -> None:
        super().__init__(message)
        self.stderr = stderr


@dataclass(frozen=True)
class Environment:
    path: Path
    python: Path
    key: str
    reused: bool
    build_s: float
    installer: str


def cache_root() -> Path:
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


def find_python(version: str) -> str | None:
    """An interpreter of major.minor VERSION: this one, one on PATH, or one uv manages."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    found = shutil.which(f"python{version}")
    if found and _reports_version(found, version):
        return found
    uv = find_uv()
    if uv:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [uv, "python", "find", "--no-python-downloads", version],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            if out.returncode == 0 and out.stdout.strip():
                return out.stdout.strip()
    return None


def _reports_version(python: str, version: str) -> bool:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and out.stdout.strip() == version


def find_uv() -> str | None:
    with contextlib.suppress(ImportError, FileNotFoundError):
        from uv import find_uv_bin

        return str(find_uv_bin())
    return shutil.which("uv")


def requirement_lines(text: str) -> list[str]:
    lines = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def environment_key(python_version: str, installer: str, requirements: str) -> str:
    identity = {
        "python": python_version,
        "platform": f"{sys.platform}-{platform.machine()}",
        "installer": installer,
        "requirements": sorted(requirement_lines(requirements)),
    }
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
    return f"py{python_version}-{installer}-{digest[:16]}"


class Cancelled(Exception):
    """The validation stopped (Ctrl-C, SIGTERM) while the environment was being built."""


class _Canceller:
    """Lets the main thread stop a build running in another thread, child processes included."""

    def __init__(self) -> None:
        self.cancelled = threading.Event()
        self.processes: list[subprocess.Popen[str]] = []

    def cancel(self) -> None:
        self.cancelled.set()
        for process in list(self.processes):
            _kill_group(process)

    def check(self) -> None:
        if self.cancelled.is_set():
            raise Cancelled


def _run(command: list[str], what: str, canceller: _Canceller) -> None:
    """Run an installer step; on failure raise SandboxError with its own output."""
    canceller.check()
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    canceller.processes.append(process)
    try:
        output, _ = process.communicate()
    except BaseException:
        _kill_group(process)
        raise
    finally:
        canceller.processes.remove(process)
    canceller.check()
    if process.returncode != 0:
        raise SandboxError(f"{what} failed (exit {process.returncode})", output)


def _kill_group(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        process.communicate(timeout=10)


def _build(
    target: Path, python: str, requirements: Path, installer: str, canceller: _Canceller
) -> None:
    # virtualenv runs as its own process: it can then be stopped like the installer, and no
    # module is imported in the build thread (imports racing across threads can deadlock
    # when a signal interrupts one of them)
    seed = ["--no-seed"] if installer == "uv" else ["--no-setuptools", "--no-wheel"]
    _run(
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
    _run(command, f"installing {requirements.name} with {installer}", canceller)


def _env_python(path: Path) -> Path:
    return path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


@contextlib.contextmanager
def _acquired(path: Path, canceller: _Canceller, progress: Progress) -> Iterator[None]:
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
    canceller: _Canceller | None = None,
) -> Environment:
    """An environment with REQUIREMENTS installed: from the cache, or built now."""
    canceller = canceller or _Canceller()
    installer = "uv" if find_uv() else "pip"
    key = environment_key(python_version, installer, requirements.read_text(encoding="utf-8"))
    count = len(requirement_lines(requirements.read_text(encoding="utf-8")))
    what = f"Python {python_version}, {installer}, {count} requirements"
    if not use_cache:
        target = scratch / "env"
        started = time.perf_counter()
        progress(f"building a sandbox environment ({what}), not cached")
        _build(target, python, requirements, installer, canceller)
        elapsed = time.perf_counter() - started
        progress(f"sandbox environment built in {elapsed:.1f} s")
        return Environment(target, _env_python(target), key, False, elapsed, installer)

    envs = cache_root() / "envs"
    envs.mkdir(parents=True, exist_ok=True)
    final = envs / key
    with _acquired(envs / f"{key}.lock", canceller, progress):
        if _env_python(final).exists():
            progress(f"sandbox environment reused from the cache ({key})")
            return Environment(final, _env_python(final), key, True, 0.0, installer)
        for stale in envs.glob(f".tmp-{key}-*"):  # left by a killed build; we hold the lock
            shutil.rmtree(stale, ignore_errors=True)
        building = Path(tempfile.mkdtemp(prefix=f".tmp-{key}-", dir=envs))
        started = time.perf_counter()
        progress(f"building the sandbox environment ({what}) in {envs}")
        try:
            _build(building, python, requirements, installer, canceller)
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
        finally:
            shutil.rmtree(building, ignore_errors=True)
        elapsed = time.perf_counter() - started
        progress(f"sandbox environment built in {elapsed:.1f} s")
        return Environment(final, _env_python(final), key, False, elapsed, installer)


def scrubbed_environment(declared: list[str]) -> dict[str, str]:
    """Only what a serving host would have, plus the declared variables that are set here."""
    keep = list(_SCRUBBED_KEEP) + declared
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env.setdefault("LANG", "C.UTF-8")
    return env


@dataclass
class ProbeRun:
    result: dict[str, Any] | None
    timed_out: bool
    output: str
    returncode: int | None
    duration_s: float


class Sandbox:
    """Builds or finds the environment and starts the probe in the background.

    The probe imports mlflow (the slow part of its start) while the validator is still logging
    the model; `run` then hands it the logged model folder. Always use as a context manager:
    leaving it stops the build and the probe and removes the scratch folder.
    """

    def __init__(
        self,
        python: str,
        python_version: str,
        requirements_text: str,
        declared: list[str],
        *,
        use_cache: bool,
        progress: Progress,
    ) -> None:
        self.python = python
        self.python_version = python_version
        self.requirements_text = requirements_text
        self.declared = declared
        self.use_cache = use_cache
        self.progress = progress
        import filelock  # noqa: F401  # here, in the main thread: see _build

        find_uv()  # imports uv here too

        self.scratch = Path(tempfile.mkdtemp(prefix="mfc-sandbox-"))
        self._canceller = _Canceller()
        self._thread: threading.Thread | None = None
        self._env: Environment | None = None
        self._error: BaseException | None = None
        self._probe: subprocess.Popen[str] | None = None
        self._output = self.scratch / "probe-result.json"
        self._request: str | None = None
        self._started = 0.0

    def __enter__(self) -> Sandbox:
        self._thread = threading.Thread(target=self._prepare, name="mfc-sandbox", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.close(finish_build=exc_type is None)

    def _prepare(self) -> None:
        try:
            requirements = self.scratch / "requirements.txt"
            requirements.write_text(self.requirements_text, encoding="utf-8")
            self._env = prepare(
                self.python,
                self.python_version,
                requirements,
                use_cache=self.use_cache,
                progress=self.progress,
                scratch=self.scratch,
                canceller=self._canceller,
            )
            self._canceller.check()
            workdir = self.scratch / "cwd"
            workdir.mkdir()
            child_env = scrubbed_environment(self.declared)
            child_env["TMPDIR"] = str(self.scratch)
            self._probe = subprocess.Popen(
                [str(self._env.python), "-I", str(PROBE), str(self._output)],
                cwd=workdir,
                env=child_env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
        except BaseException as exc:  # handed to the main thread by environment()
            self._error = exc

    def environment(self) -> Environment:
        """Wait for the build; raise SandboxError if it failed."""
        assert self._thread is not None
        while self._thread.is_alive():
            self._thread.join(timeout=0.2)  # short waits keep Ctrl-C responsive
        if self._error is not None:
            raise self._error
        assert self._env is not None
        return self._env

    def ready(self) -> bool:
        """Whether the environment is there and the probe waits for its request."""
        return self._probe is not None and self._probe.poll() is None

    def start(self, model_dir: Path, payload: Path) -> None:
        """Hand the probe its request; `run` collects the result."""
        if self._request is not None:
            return
        self.environment()
        process = self._probe
        assert process is not None and process.stdin is not None
        self._request = json.dumps({"model_dir": str(model_dir), "payload": str(payload)})
        self._started = time.perf_counter()
        with contextlib.suppress(BrokenPipeError):  # a probe that died is reported by run()
            process.stdin.write(self._request + "\n")
            process.stdin.flush()

    def run(self, model_dir: Path, payload: Path, timeout: float) -> ProbeRun:
        self.start(model_dir, payload)
        process = self._probe
        assert process is not None
        started = self._started
        remaining = max(0.0, timeout - (time.perf_counter() - started))
        try:
            printed, _ = process.communicate(timeout=remaining)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            return ProbeRun(None, True, "", None, time.perf_counter() - started)
        except BaseException:
            _kill_group(process)
            raise
        duration = time.perf_counter() - started
        result = None
        if self._output.exists():
            with contextlib.suppress(ValueError):
                result = json.loads(self._output.read_text(encoding="utf-8"))
        return ProbeRun(result, False, printed, process.returncode, duration)

    def close(self, *, finish_build: bool = False) -> None:
        """Stop the probe and remove the scratch folder. With FINISH_BUILD (the validation ended
        early but normally, e.g. the script failed) a build under way completes into the cache,
        so the next run does not start it again; otherwise (Ctrl-C) it is stopped."""
        try:
            while finish_build and self._thread is not None and self._thread.is_alive():
                self._thread.join(timeout=0.2)
        finally:
            self._canceller.cancel()
            if self._thread is not None:
                self._thread.join()
        if self._probe is not None and self._probe.poll() is None:
            _kill_group(self._probe)
        shutil.rmtree(self.scratch, ignore_errors=True)

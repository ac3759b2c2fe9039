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
    for name in (f"python{version}",):
        found = shutil.which(name)
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


def _run(command: list[str], what: str, timeout: float | None = None) -> None:
    """Run an installer step; on failure raise SandboxError with its own output."""
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except BaseException:
        _kill_group(process)
        raise
    if process.returncode != 0:
        raise SandboxError(f"{what} failed (exit {process.returncode})", output)


def _kill_group(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        process.communicate(timeout=10)


def _build(target: Path, python: str, requirements: Path, installer: str) -> None:
    from virtualenv import cli_run

    seed = ["--no-seed"] if installer == "uv" else ["--no-setuptools", "--no-wheel"]
    try:
        with contextlib.redirect_stdout(sys.stderr):
            cli_run([str(target), "--python", python, "--quiet", *seed], setup_logging=False)
    except Exception as exc:  # virtualenv raises its own RuntimeError and friends
        raise SandboxError(f"creating the virtualenv with {python} failed: {exc}") from None
    env_python = _env_python(target)
    if installer == "uv":
        uv = find_uv()
        assert uv is not None
        command = [
            uv,
            "pip",
            "install",
            "--python",
            str(env_python),
            "--compile-bytecode",
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
            "-r",
            str(requirements),
        ]
    _run(command, f"installing {requirements.name} with {installer}")


def _env_python(path: Path) -> Path:
    return path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _lock(path: Path) -> Any:
    from filelock import FileLock

    return FileLock(str(path))


def prepare(
    python: str,
    python_version: str,
    requirements: Path,
    *,
    use_cache: bool,
    progress: Progress,
    scratch: Path,
) -> Environment:
    """An environment with REQUIREMENTS installed: from the cache, or built now."""
    installer = "uv" if find_uv() else "pip"
    key = environment_key(python_version, installer, requirements.read_text(encoding="utf-8"))
    count = len(requirement_lines(requirements.read_text(encoding="utf-8")))
    what = f"Python {python_version}, {installer}, {count} requirements"
    if not use_cache:
        target = scratch / "env"
        started = time.perf_counter()
        progress(f"building a sandbox environment ({what}), not cached")
        _build(target, python, requirements, installer)
        elapsed = time.perf_counter() - started
        progress(f"sandbox environment built in {elapsed:.1f} s")
        return Environment(target, _env_python(target), key, False, elapsed, installer)

    envs = cache_root() / "envs"
    envs.mkdir(parents=True, exist_ok=True)
    final = envs / key
    with _lock(envs / f"{key}.lock"):
        if _env_python(final).exists():
            progress(f"sandbox environment reused from the cache ({key})")
            return Environment(final, _env_python(final), key, True, 0.0, installer)
        for stale in envs.glob(f".tmp-{key}-*"):  # left by a killed build; we hold the lock
            shutil.rmtree(stale, ignore_errors=True)
        building = Path(tempfile.mkdtemp(prefix=f".tmp-{key}-", dir=envs))
        started = time.perf_counter()
        progress(f"building the sandbox environment ({what}) in {envs}")
        try:
            _build(building, python, requirements, installer)
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


def run_probe(
    env: Environment,
    model_dir: Path,
    payload: Path,
    declared: list[str],
    timeout: float,
    scratch: Path,
) -> ProbeRun:
    workdir = scratch / "cwd"
    workdir.mkdir()
    output = scratch / "probe-result.json"
    child_env = scrubbed_environment(declared)
    child_env["TMPDIR"] = str(scratch)
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(env.python), "-I", str(PROBE), str(model_dir), str(payload), str(output)],
        cwd=workdir,
        env=child_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        printed, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        return ProbeRun(None, True, "", None, time.perf_counter() - started)
    except BaseException:
        _kill_group(process)
        raise
    duration = time.perf_counter() - started
    result = None
    if output.exists():
        with contextlib.suppress(ValueError):
            result = json.loads(output.read_text(encoding="utf-8"))
    return ProbeRun(result, False, printed, process.returncode, duration)


@contextlib.contextmanager
def scratch_folder() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="mfc-sandbox-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)

"""Run the probe in a sandbox: build or find the environment in the background, start the probe
there with a scrubbed environment, hand it the logged model, and collect its result."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from validator.inprocess.server_check import TRACKING_CREDENTIALS
from validator.sandbox.envcache import Canceller, Environment, Progress, kill_group, prepare
from validator.sandbox.interpreters import find_uv

PROBE = Path(__file__).with_name("probe.py")
_SCRUBBED_KEEP = ("PATH", "HOME", "LANG", "TMPDIR")


def scrubbed_environment(declared: list[str]) -> dict[str, str]:
    """Only what a serving host would have, plus the declared variables that are set here."""
    keep = list(_SCRUBBED_KEEP) + [name for name in declared if name not in TRACKING_CREDENTIALS]
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
        offline: bool = False,
        max_memory: int | None = None,
    ) -> None:
        self.python = python
        self.max_memory = max_memory  # bytes of address space the probe may use
        self.offline = offline  # every connection the model opens fails at once
        self.python_version = python_version
        self.requirements_text = requirements_text
        self.declared = declared
        self.use_cache = use_cache
        self.progress = progress
        import filelock  # noqa: F401  # here, in the main thread: see _build

        find_uv()  # imports uv here too

        self.scratch = Path(tempfile.mkdtemp(prefix="mfc-sandbox-"))
        self._canceller = Canceller()
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
        self._request = json.dumps(
            {
                "model_dir": str(model_dir),
                "payload": str(payload),
                "offline": self.offline,
                "max_memory": self.max_memory,
            }
        )
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
            kill_group(process)
            return ProbeRun(None, True, "", None, time.perf_counter() - started)
        except BaseException:
            kill_group(process)
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
            kill_group(self._probe)
        shutil.rmtree(self.scratch, ignore_errors=True)

"""Run the probe in a sandbox: build or find the environment in the background, start a warm probe
server there with a scrubbed environment, hand it the logged model, and collect its result."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from validator.sandbox.envcache import (
    Cancelled,
    Canceller,
    Environment,
    Progress,
    SandboxError,
    kill_group,
    prepare,
)
from validator.sandbox.interpreters import find_uv
from validator.served_env import MLFLOW_DEFAULTS, TELEMETRY_OFF, served_environment

PROBE = Path(__file__).with_name("probe.py")
_SOCKET_PATH_MAX = 100
_APART_S = 1.1  # between the end of one probe request and the start of a second one


def scrubbed_environment(declared: list[str], home: Path | None = None) -> dict[str, str]:
    """Only what a serving host would have, plus the declared variables that are set here."""
    return served_environment(declared, home)


@dataclass
class ProbeRun:
    result: dict[str, Any] | None
    timed_out: bool
    output: str
    returncode: int | None
    duration_s: float


class Sandbox:
    """Builds or finds the environment and starts a warm probe server there in the background.

    The probe server imports mlflow (the slow part of its start) while the validator is still
    logging the model; `run` then hands it the logged model folder, and it forks a fresh child
    to load and predict. Always use as a context manager: leaving it stops the build, the probe
    and its server, and removes the scratch folder.

    With SHARED (the ready file of a server that the coordinator of several projects owns, see
    `validator.commands.many`), nothing is built or started here: the environment and the
    server are the shared ones, and only this model's request is ours.
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
        shared: Path | None = None,
        included: dict[str, bytes] | None = None,
    ) -> None:
        self.python = python
        self.max_memory = max_memory  # bytes of address space the probe may use
        self.offline = offline  # every connection the model opens fails at once
        self.python_version = python_version
        self.requirements_text = requirements_text
        self.included = included or {}  # the files the requirements name, e.g. constraints.txt
        self.declared = declared
        self.use_cache = use_cache
        self.progress = progress
        self.shared = shared
        import filelock  # noqa: F401  # here, in the main thread: see _build

        find_uv()  # imports uv here too

        self.scratch = Path(tempfile.mkdtemp(prefix="mfc-sandbox-"))
        self._canceller = Canceller()
        self._thread: threading.Thread | None = None
        self._env: Environment | None = None
        self._error: BaseException | None = None
        self._server: subprocess.Popen[bytes] | None = None  # ours, unless shared
        self._socket: Path | None = None
        self._socket_dir: Path | None = None  # a short folder for it, where scratch is too deep
        self._conn: socket.socket | None = None
        self._pid: int | None = None  # the child that loads and predicts
        self._output = self.scratch / "probe-result.json"
        self._log = self.scratch / "probe.log"
        self._started = 0.0
        self._ended = 0.0

    def __enter__(self) -> Sandbox:
        if self.shared is None:
            self._thread = threading.Thread(target=self._prepare, name="mfc-sandbox", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.close(finish_build=exc_type is None)

    def _prepare(self) -> None:
        try:
            requirements = self.scratch / "requirements.txt"
            requirements.write_text(self.requirements_text, encoding="utf-8")
            for name, content in self.included.items():
                (self.scratch / name).parent.mkdir(parents=True, exist_ok=True)
                (self.scratch / name).write_bytes(content)
            self._env = prepare(
                self.python,
                self.python_version,
                requirements,
                use_cache=self.use_cache,
                progress=self.progress,
                scratch=self.scratch,
                canceller=self._canceller,
                included=self.included,
            )
            self._canceller.check()
            self._socket = self._socket_path()
            with open(self.scratch / "probe-server.log", "wb") as log:
                self._server = subprocess.Popen(
                    [str(self._env.python), "-I", str(PROBE), "--serve", str(self._socket)],
                    cwd=self._workdir(),
                    env=self._child_env(),
                    stdin=subprocess.PIPE,  # its end of file tells the server we are gone
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        except BaseException as exc:  # handed to the main thread by environment()
            self._error = exc

    def _socket_path(self) -> Path:
        """The server's socket: in the scratch folder, unless its path would be too long for a
        Unix socket (104 bytes on macOS, 108 on Linux, with the server's ".tmp" on top), as
        under a deep TMPDIR; then in a short folder of its own under /tmp."""
        path = self.scratch / "probe.sock"
        if len(os.fsencode(path)) + len(".tmp") < _SOCKET_PATH_MAX:
            return path
        self._socket_dir = Path(tempfile.mkdtemp(prefix="mfc-", dir="/tmp"))
        return self._socket_dir / "probe.sock"

    def _workdir(self) -> Path:
        workdir = self.scratch / "cwd"
        workdir.mkdir(exist_ok=True)
        return workdir

    def _child_env(self) -> dict[str, str]:
        # an empty HOME: a serving host has none of the caller's files (~/.aws, ~/.netrc)
        home = self.scratch / "home"
        home.mkdir(exist_ok=True)
        child_env = scrubbed_environment(self.declared, home)
        child_env["TMPDIR"] = str(self.scratch)
        # no usage telemetry from the validation, as in its own processes (NET001 says so)
        child_env.update({name: MLFLOW_DEFAULTS[name] for name in TELEMETRY_OFF})
        return child_env

    def environment(self) -> Environment:
        """Wait for the build; raise SandboxError if it failed."""
        if self.shared is not None:
            return self._shared_environment()
        assert self._thread is not None
        while self._thread.is_alive():
            self._thread.join(timeout=0.2)  # short waits keep Ctrl-C responsive
        if self._error is not None:
            raise self._error
        assert self._env is not None
        return self._env

    def _shared_environment(self) -> Environment:
        assert self.shared is not None
        while self._env is None:
            state = read_shared(self.shared)
            if state is None:
                time.sleep(0.05)
                continue
            if "error" in state:
                raise SandboxError(state["error"], state.get("stderr", ""))
            env = state["environment"]
            self._env = Environment(
                **{**env, "path": Path(env["path"]), "python": Path(env["python"])}
            )
            self._socket = Path(state["socket"])
        return self._env

    def ready(self) -> bool:
        """Whether the environment is there and the probe server takes requests."""
        if self.shared is not None:
            state = read_shared(self.shared)
            return state is not None and "socket" in state
        alive = self._server is not None and self._server.poll() is None
        return alive and self._socket is not None and self._socket.exists()

    def _connect(self) -> socket.socket | None:
        """A connection to the server; None if it died before it listened."""
        assert self._socket is not None
        while not self._socket.exists():
            if self._server is not None and self._server.poll() is not None:
                return None
            time.sleep(0.02)
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(str(self._socket))
        except OSError:
            conn.close()
            return None
        return conn

    def start(self, model_dir: Path, payload: Path) -> None:
        """Hand the probe server its request; `run` collects the result."""
        if self._started:
            return
        self.environment()
        self._started = time.perf_counter()
        self._conn = self._connect()
        if self._conn is None:
            return
        request = {
            "model_dir": str(model_dir),
            "payload": str(payload),
            "offline": self.offline,
            "max_memory": self.max_memory,
            "output": str(self._output),
            "log": str(self._log),
            "cwd": str(self._workdir()),
            "env": self._child_env(),
        }
        with contextlib.suppress(OSError):  # a server that died is reported by run()
            self._conn.sendall((json.dumps(request) + "\n").encode())

    def run(self, model_dir: Path, payload: Path, timeout: float) -> ProbeRun:
        self.start(model_dir, payload)
        started = self._started
        deadline = started + timeout
        returncode: int | None = None
        try:
            for message in _messages(self._conn, deadline):
                if "pid" in message:
                    self._pid = int(message["pid"])
                elif "returncode" in message:
                    returncode = int(message["returncode"])
                    self._pid = None
        except TimeoutError:
            self._kill_child()
            return ProbeRun(None, True, "", None, time.perf_counter() - started)
        except BaseException:
            self._kill_child()
            raise
        self._ended = time.perf_counter()
        duration = self._ended - started
        result = None
        if self._output.exists():
            with contextlib.suppress(ValueError):
                result = json.loads(self._output.read_text(encoding="utf-8"))
        return ProbeRun(result, False, self._printed(), returncode, duration)

    def run_again(self, model_dir: Path, payload: Path, timeout: float) -> ProbeRun:
        """Load and predict once more, in another fresh process of the same sandbox: what
        differs between the two is the model's per-process state (ids, seeds), not its
        environment."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        # a second apart at least, so that a timestamp in seconds differs between the two too
        time.sleep(max(0.0, self._ended + _APART_S - time.perf_counter()))
        self._started = 0.0
        self._output.unlink(missing_ok=True)
        self._log.unlink(missing_ok=True)
        return self.run(model_dir, payload, timeout)

    def _printed(self) -> str:
        """What the child printed; the server's own output if no child ever ran."""
        for log in (self._log, self.scratch / "probe-server.log"):
            if log.exists() and log.stat().st_size:
                return log.read_text(encoding="utf-8", errors="replace")
        return ""

    def _kill_child(self) -> None:
        if self._pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._pid, signal.SIGKILL)
            self._pid = None

    def close(self, *, finish_build: bool = False) -> None:
        """Stop the probe and its server and remove the scratch folder. With FINISH_BUILD (the
        validation ended early but normally, e.g. the script failed) a build under way
        completes into the cache, so the next run does not start it again; otherwise (Ctrl-C)
        it is stopped."""
        try:
            while finish_build and self._thread is not None and self._thread.is_alive():
                self._thread.join(timeout=0.2)
        finally:
            self._canceller.cancel()
            if self._thread is not None:
                self._thread.join()
        self._kill_child()
        if self._conn is not None:
            self._conn.close()
        if self._server is not None and self._server.poll() is None:
            self._stop_server(self._server)
        shutil.rmtree(self.scratch, ignore_errors=True)
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)

    @staticmethod
    def _stop_server(server: subprocess.Popen[bytes]) -> None:
        """End of input tells the server to stop its children and go; it is killed if it
        does not (its children run in their own sessions: they must not be orphaned)."""
        if server.stdin is not None:
            with contextlib.suppress(OSError):
                server.stdin.close()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            kill_group(server)
        except BaseException:
            kill_group(server)
            raise

    def publish(self, ready_file: Path) -> None:
        """Wait until the server takes requests (or the build failed), and say so in READY_FILE
        for the workers that share this sandbox (see SHARED); written whole by a rename."""
        try:
            env = self.environment()
            while not self.ready():
                if self._server is not None and self._server.poll() is not None:
                    raise SandboxError("the shared probe server ended at start", self._printed())
                time.sleep(0.02)
            shown = dataclasses.asdict(env)
            state: dict[str, Any] = {
                "socket": str(self._socket),
                "environment": {k: str(v) if isinstance(v, Path) else v for k, v in shown.items()},
            }
        except SandboxError as exc:
            state = {"error": str(exc), "stderr": exc.stderr}
        except Cancelled:  # the batch is stopping: its workers are stopped first
            return
        except Exception as exc:  # never leave the workers waiting
            state = {"error": f"the shared sandbox could not start: {exc!r}", "stderr": ""}
        partial = ready_file.with_suffix(".tmp")
        partial.write_text(json.dumps(state), encoding="utf-8")
        os.replace(partial, ready_file)


def _messages(conn: socket.socket | None, deadline: float) -> Iterator[dict[str, Any]]:
    """The server's JSON lines on CONN until it closes; TimeoutError past DEADLINE."""
    if conn is None:
        return
    buffer = b""
    while True:
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            raise TimeoutError
        conn.settimeout(min(remaining, 0.5))  # short waits keep Ctrl-C responsive
        try:
            chunk = conn.recv(65536)
        except TimeoutError:
            continue
        except OSError:
            return
        if not chunk:
            return
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            with contextlib.suppress(ValueError):
                yield json.loads(line)


def read_shared(ready_file: Path) -> dict[str, Any] | None:
    """The state a coordinator published for a shared server, once it is there."""
    try:
        state = json.loads(ready_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None

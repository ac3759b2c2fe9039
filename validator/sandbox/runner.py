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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class SandboxSettings:
    """What one sandbox is for, decided once by the command and handed down whole."""

    python: str  # the interpreter the environment is made from
    python_version: str  # its major.minor, as the logged model asks for it
    requirements_text: str
    declared: tuple[str, ...] = ()  # the variables model.yaml declares
    included: dict[str, bytes] = field(default_factory=dict)  # files the requirements name
    use_cache: bool = True
    offline: bool = False  # every connection the model opens fails at once
    max_memory: int | None = None  # bytes of address space the probe may use


class Scratch:
    """The sandbox's temporary folder: the probe's working folder, its empty HOME, and the
    environment a serving host would give the model's code."""

    def __init__(self, declared: tuple[str, ...]) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="mfc-sandbox-"))
        self.declared = declared

    def workdir(self) -> Path:
        workdir = self.path / "cwd"
        workdir.mkdir(exist_ok=True)
        return workdir

    def child_env(self) -> dict[str, str]:
        # an empty HOME: a serving host has none of the caller's files (~/.aws, ~/.netrc)
        home = self.path / "home"
        home.mkdir(exist_ok=True)
        child_env = scrubbed_environment(list(self.declared), home)
        child_env["TMPDIR"] = str(self.path)
        # no usage telemetry from the validation, as in its own processes (NET001 says so)
        child_env.update({name: MLFLOW_DEFAULTS[name] for name in TELEMETRY_OFF})
        return child_env

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


class EnvironmentBuild:
    """The environment, built or found in the cache in a background thread, which then calls
    THEN with it (the probe server starts there, so that it imports mlflow while the validator
    is still logging the model)."""

    def __init__(self, settings: SandboxSettings, scratch: Scratch, progress: Progress) -> None:
        import filelock  # noqa: F401  # here, in the main thread: see envcache's lock

        find_uv()  # imports uv here too
        self.settings = settings
        self.scratch = scratch
        self.progress = progress
        self._canceller = Canceller()
        self._thread: threading.Thread | None = None
        self._env: Environment | None = None
        self._error: BaseException | None = None

    def start(self, then: Callable[[Environment], None]) -> None:
        self._thread = threading.Thread(
            target=self._build, args=(then,), name="mfc-sandbox", daemon=True
        )
        self._thread.start()

    def _build(self, then: Callable[[Environment], None]) -> None:
        settings, folder = self.settings, self.scratch.path
        try:
            requirements = folder / "requirements.txt"
            requirements.write_text(settings.requirements_text, encoding="utf-8")
            for name, content in settings.included.items():
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                (folder / name).write_bytes(content)
            self._env = prepare(
                settings.python,
                settings.python_version,
                requirements,
                use_cache=settings.use_cache,
                progress=self.progress,
                scratch=folder,
                canceller=self._canceller,
                included=settings.included,
            )
            self._canceller.check()
            then(self._env)
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

    def close(self, *, finish: bool) -> None:
        """With FINISH, a build under way completes into the cache first; else it is stopped."""
        try:
            while finish and self._thread is not None and self._thread.is_alive():
                self._thread.join(timeout=0.2)
        finally:
            self._canceller.cancel()
            if self._thread is not None:
                self._thread.join()


class ProbeServer:
    """The warm probe server (`probe.py --serve`) in an environment, on a Unix socket."""

    def __init__(self, scratch: Scratch) -> None:
        self.scratch = scratch
        self.socket: Path | None = None
        self.log = scratch.path / "probe-server.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._socket_dir: Path | None = None  # a short folder for it, where scratch is too deep

    def start(self, env: Environment) -> None:
        self.socket = self.socket_path()
        with open(self.log, "wb") as log:
            self._process = subprocess.Popen(
                [str(env.python), "-I", str(PROBE), "--serve", str(self.socket)],
                cwd=self.scratch.workdir(),
                env=self.scratch.child_env(),
                stdin=subprocess.PIPE,  # its end of file tells the server we are gone
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def socket_path(self) -> Path:
        """The server's socket: in the scratch folder, unless its path would be too long for a
        Unix socket (104 bytes on macOS, 108 on Linux, with the server's ".tmp" on top), as
        under a deep TMPDIR; then in a short folder of its own under /tmp."""
        path = self.scratch.path / "probe.sock"
        if len(os.fsencode(path)) + len(".tmp") < _SOCKET_PATH_MAX:
            return path
        self._socket_dir = Path(tempfile.mkdtemp(prefix="mfc-", dir="/tmp"))
        return self._socket_dir / "probe.sock"

    def ended(self) -> bool:
        return self._process is not None and self._process.poll() is not None

    def ready(self) -> bool:
        alive = self._process is not None and self._process.poll() is None
        return alive and self.socket is not None and self.socket.exists()

    def stop(self) -> None:
        """End of input tells the server to stop its children and go; it is killed if it
        does not (its children run in their own sessions: they must not be orphaned)."""
        server = self._process
        if server is not None and server.poll() is None:
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
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)


class ProbeClient:
    """One model's requests to a probe server (ours or a shared one): each loads the model in a
    fresh child process and predicts; the child's result and output land in the scratch."""

    def __init__(self, settings: SandboxSettings, scratch: Scratch) -> None:
        self.settings = settings
        self.scratch = scratch
        self.output = scratch.path / "probe-result.json"
        self.log = scratch.path / "probe.log"
        self._conn: socket.socket | None = None
        self._pid: int | None = None  # the child that loads and predicts
        self._started = 0.0
        self._ended = 0.0

    @property
    def started(self) -> bool:
        return bool(self._started)

    def start(
        self, socket_path: Path, server_ended: Callable[[], bool], model_dir: Path, payload: Path
    ) -> None:
        """Hand the server the request; `collect` gathers the result."""
        self._started = time.perf_counter()
        self._conn = _connect(socket_path, server_ended)
        if self._conn is None:
            return
        request = {
            "model_dir": str(model_dir),
            "payload": str(payload),
            "offline": self.settings.offline,
            "max_memory": self.settings.max_memory,
            "output": str(self.output),
            "log": str(self.log),
            "cwd": str(self.scratch.workdir()),
            "env": self.scratch.child_env(),
        }
        with contextlib.suppress(OSError):  # a server that died is reported by collect()
            self._conn.sendall((json.dumps(request) + "\n").encode())

    def collect(self, timeout: float, server_log: Path) -> ProbeRun:
        started = self._started
        returncode: int | None = None
        try:
            for message in _messages(self._conn, started + timeout):
                if "pid" in message:
                    self._pid = int(message["pid"])
                elif "returncode" in message:
                    returncode = int(message["returncode"])
                    self._pid = None
        except TimeoutError:
            self.kill_child()
            return ProbeRun(None, True, "", None, time.perf_counter() - started)
        except BaseException:
            self.kill_child()
            raise
        self._ended = time.perf_counter()
        result = None
        if self.output.exists():
            with contextlib.suppress(ValueError):
                result = json.loads(self.output.read_text(encoding="utf-8"))
        return ProbeRun(result, False, self.printed(server_log), returncode, self._ended - started)

    def reset(self) -> None:
        """Ready for another request, a second at least after the last one ended, so that a
        timestamp in seconds differs between the two answers too."""
        self.close()
        time.sleep(max(0.0, self._ended + _APART_S - time.perf_counter()))
        self._started = 0.0
        self.output.unlink(missing_ok=True)
        self.log.unlink(missing_ok=True)

    def printed(self, server_log: Path) -> str:
        """What the child printed; the server's own output if no child ever ran."""
        for log in (self.log, server_log):
            if log.exists() and log.stat().st_size:
                return log.read_text(encoding="utf-8", errors="replace")
        return ""

    def kill_child(self) -> None:
        if self._pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._pid, signal.SIGKILL)
            self._pid = None

    def close(self) -> None:
        self.kill_child()
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class Sandbox:
    """An environment build, a probe server started in it and a probe client, as one: the
    server imports mlflow (the slow part of its start) while the validator is still logging the
    model; `run` then hands it the logged model folder, and it forks a fresh child to load and
    predict. Always use as a context manager: leaving it stops the build, the probe and its
    server, and removes the scratch folder.

    With SHARED (the ready file of a server that the coordinator of several projects owns, see
    `validator.commands.many`), nothing is built or started here: the environment and the
    server are the shared ones, and only this model's request is ours.
    """

    def __init__(
        self, settings: SandboxSettings, *, progress: Progress, shared: Path | None = None
    ) -> None:
        self.settings = settings
        self.shared = shared
        self._scratch = Scratch(settings.declared)
        self.scratch = self._scratch.path
        self._build = EnvironmentBuild(settings, self._scratch, progress)
        self._server = ProbeServer(self._scratch)
        self._client = ProbeClient(settings, self._scratch)
        self._shared_env: Environment | None = None

    def __enter__(self) -> Sandbox:
        if self.shared is None:
            self._build.start(self._server.start)
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.close(finish_build=exc_type is None)

    def environment(self) -> Environment:
        """Wait for the build; raise SandboxError if it failed."""
        if self.shared is None:
            return self._build.environment()
        while self._shared_env is None:
            state = read_shared(self.shared)
            if state is None:
                time.sleep(0.05)
                continue
            if "error" in state:
                raise SandboxError(state["error"], state.get("stderr", ""))
            env = state["environment"]
            self._shared_env = Environment(
                **{**env, "path": Path(env["path"]), "python": Path(env["python"])}
            )
            self._server.socket = Path(state["socket"])
        return self._shared_env

    def ready(self) -> bool:
        """Whether the environment is there and the probe server takes requests."""
        if self.shared is not None:
            state = read_shared(self.shared)
            return state is not None and "socket" in state
        return self._server.ready()

    def start(self, model_dir: Path, payload: Path) -> None:
        """Hand the probe server the request; `run` collects the result."""
        if self._client.started:
            return
        self.environment()
        assert self._server.socket is not None
        self._client.start(self._server.socket, self._server.ended, model_dir, payload)

    def run(self, model_dir: Path, payload: Path, timeout: float) -> ProbeRun:
        self.start(model_dir, payload)
        return self._client.collect(timeout, self._server.log)

    def run_again(self, model_dir: Path, payload: Path, timeout: float) -> ProbeRun:
        """Load and predict once more, in another fresh process of the same sandbox: what
        differs between the two is the model's per-process state (ids, seeds), not its
        environment."""
        self._client.reset()
        return self.run(model_dir, payload, timeout)

    def close(self, *, finish_build: bool = False) -> None:
        """Stop the probe and its server and remove the scratch folder. With FINISH_BUILD (the
        validation ended early but normally, e.g. the script failed) a build under way
        completes into the cache, so the next run does not start it again; otherwise (Ctrl-C)
        it is stopped."""
        self._build.close(finish=finish_build)
        self._client.close()
        self._server.stop()
        self._scratch.remove()

    def publish(self, ready_file: Path) -> None:
        """Wait until the server takes requests (or the build failed), and say so in READY_FILE
        for the workers that share this sandbox (see SHARED); written whole by a rename."""
        try:
            env = self.environment()
            while not self.ready():
                if self._server.ended():
                    printed = self._client.printed(self._server.log)
                    raise SandboxError("the shared probe server ended at start", printed)
                time.sleep(0.02)
            shown = dataclasses.asdict(env)
            state: dict[str, Any] = {
                "socket": str(self._server.socket),
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


def _connect(path: Path, server_ended: Callable[[], bool]) -> socket.socket | None:
    """A connection to the server at PATH; None if it died before it listened."""
    while not path.exists():
        if server_ended():
            return None
        time.sleep(0.02)
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(str(path))
    except OSError:
        conn.close()
        return None
    return conn


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

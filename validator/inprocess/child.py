"""Where the model's code runs: never in the validator's own process.

A *zygote* is forked from the validator at the start of a validation, before it starts a thread
or opens the tracking store. It imports mlflow once, then forks one *worker* per request. A
worker is a fresh process of its own session (so that every process the model starts can be
ended with it), with standard input closed, its output drained by the validator, and the
environment and working folder the validator gives it. The validator calls functions in a
worker over a socket (`Worker.call`): the function, its arguments and its result travel
pickled, exceptions too. Whatever the worker does (exit, `os._exit`, a signal, a hang, a flood
of output, `os.chdir`, changes to its environment), the validator sees it as a `ChildFailed`
naming the stage the worker had reached, and kills the worker's process group.

Standard library only: this module runs in the validator and in its children.
"""

from __future__ import annotations

import collections
import contextlib
import os
import pickle
import select
import signal
import socket
import struct
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

_HEADER = struct.Struct(">Q")
_OUTPUT_KEPT = 16 * 1024  # the last bytes a worker printed, for a message that needs them
_MAX_FDS = 2
_ZYGOTE_GRACE_S = 2.0  # how long a closed zygote may take to end its workers and go


class ChildFailed(Exception):
    """A worker ended, was killed, or ran out of time before its call returned."""

    def __init__(
        self,
        stage: str,
        *,
        status: int | None = None,
        exited_at: str | None = None,
        timed_out: float | None = None,
        raised: str | None = None,
        output: str = "",
    ) -> None:
        super().__init__(stage)
        self.stage = stage
        self.raised = raised  # what a call raised that no check may catch (SystemExit, ...)
        self.status = status  # exit status, negative for a signal; None when unknown or hung
        self.exited_at = exited_at  # 'file:line' of the model's own os._exit call, if any
        self.timed_out = timed_out  # the limit in seconds, when it was hit
        self.output = output

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _child_failed,
            (self.stage, self.status, self.exited_at, self.timed_out, self.raised),
        )

    def what(self) -> str:
        """What happened, in words: 'did not finish within 20 s', 'was killed by SIGSEGV'…"""
        if self.timed_out is not None:
            return f"did not finish within {self.timed_out:g} s"
        if self.raised is not None:
            return f"raised {self.raised}"
        if self.status is not None and self.status < 0:
            try:
                name = signal.Signals(-self.status).name
            except ValueError:
                name = f"signal {-self.status}"
            return f"was killed by {name}"
        if self.status is not None:
            how = "os._exit" if self.exited_at else "exit"
            return f"ended its process ({how} with status {self.status})"
        return "ended its process"


def _child_failed(
    stage: str,
    status: int | None,
    exited_at: str | None,
    timed_out: float | None,
    raised: str | None,
) -> ChildFailed:
    return ChildFailed(
        stage, status=status, exited_at=exited_at, timed_out=timed_out, raised=raised
    )


# --- framing -------------------------------------------------------------------------------


def _send(conn: socket.socket, message: object) -> None:
    try:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # an unpicklable result or exception
        data = pickle.dumps(("raise", RuntimeError(f"cannot send the result back: {exc!r}")))
    conn.sendall(_HEADER.pack(len(data)) + data)


class _Reader:
    """Length-prefixed pickles from a stream socket, without blocking past what is there."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.buffer = b""
        self.closed = False

    def feed(self) -> None:
        try:
            chunk = self.conn.recv(1 << 20)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self.closed = True
        self.buffer += chunk

    def messages(self) -> list[Any]:
        found = []
        while len(self.buffer) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(self.buffer)
            if len(self.buffer) < _HEADER.size + size:
                break
            data = self.buffer[_HEADER.size : _HEADER.size + size]
            self.buffer = self.buffer[_HEADER.size + size :]
            try:
                found.append(pickle.loads(data))
            except Exception as exc:  # a message the model's code garbled
                found.append(("raise", RuntimeError(f"unreadable message: {exc!r}")))
        return found


def _recv_blocking(conn: socket.socket) -> Any:
    """One message, or None at end of file (in the worker, which has nothing else to do)."""
    reader = _Reader(conn)
    while True:
        found = reader.messages()
        if found:
            if reader.buffer:
                raise RuntimeError("more than one request at once")
            return found[0]
        if reader.closed:
            return None
        reader.feed()


# --- the worker side -------------------------------------------------------------------------

_CONN: socket.socket | None = None  # in a worker: the connection to the validator
_ROOTS: tuple[str, ...] = ()  # the folders of the model's own files, for exit locations


def in_worker() -> bool:
    return _CONN is not None


def mark(stage: str) -> None:
    """Tell the validator the stage a call has reached: its time limit starts again there, and
    a worker that dies is reported at that stage. Does nothing outside a worker."""
    if _CONN is not None:
        with contextlib.suppress(OSError):
            _send(_CONN, ("stage", stage))


def event(payload: object) -> None:
    """Hand PAYLOAD to the validator's `on_event` while a call is still running."""
    if _CONN is not None:
        with contextlib.suppress(OSError):
            _send(_CONN, ("event", payload))


def set_roots(*roots: str | Path) -> None:
    """The folders whose frames count as the model's own, for the location of an exit."""
    global _ROOTS
    _ROOTS = tuple(os.path.realpath(root) for root in roots)


def _caller_location() -> str | None:
    frame = sys._getframe(2)
    while frame is not None:
        filename = os.path.realpath(frame.f_code.co_filename)
        for root in _ROOTS:
            if filename.startswith(root + os.sep) and "site-packages" not in filename:
                return f"{os.path.relpath(filename, root)}:{frame.f_lineno}"
        frame = frame.f_back  # type: ignore[assignment]
    return None


_real_exit = os._exit


def _traced_exit(status: int) -> NoReturn:
    # the model's own os._exit: say where it was called before the process goes
    if _CONN is not None:
        with contextlib.suppress(Exception):
            _send(_CONN, ("exiting", int(status), _caller_location()))
    _real_exit(status)


def _serve(conn: socket.socket) -> None:
    """A worker's loop: call what the validator sends, send back what it returns or raises."""
    global _CONN
    _CONN = conn
    os._exit = _traced_exit
    while True:
        request = _recv_blocking(conn)
        if request is None:
            return
        function, args, kwargs = request
        try:
            reply: tuple[str, Any] = ("ok", function(*args, **kwargs))
        except BaseException as exc:  # SystemExit too: the caller decides what it means
            exc.__traceback__ = None
            reply = ("raise", exc)
        _send(conn, reply)


def _start_worker(env: Mapping[str, str], cwd: str) -> tuple[int, socket.socket, int]:
    """In the zygote: fork a worker; (pid, the validator's end, the output's read end)."""
    ours, theirs = socket.socketpair()
    out_read, out_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            ours.close()
            os.close(out_read)
            os.setsid()
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(out_write, 1)
            os.dup2(out_write, 2)
            os.close(null)
            os.close(out_write)
            # SIGPIPE stays ignored, as Python sets it: a write to a connection the other end
            # closed raises BrokenPipeError, which MLflow and the model's code handle
            for number in (signal.SIGINT, signal.SIGTERM):
                signal.signal(number, signal.SIG_DFL)
            os.chdir(cwd)
            os.environ.clear()
            os.environ.update(env)
            tempfile.tempdir = None  # TMPDIR is the worker's now
            _serve(theirs)
        except BaseException:
            code = 70
            with contextlib.suppress(Exception):
                traceback.print_exc()
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            _real_exit(code)
    theirs.close()
    os.close(out_write)
    return pid, ours, out_read


def _zygote(conn: socket.socket, warm: Callable[[], None]) -> None:
    """The zygote's loop: fork a worker per request, report each worker's end."""
    os.setsid()  # a Ctrl-C at the terminal is the validator's to handle
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with contextlib.suppress(Exception):
        warm()
    workers: set[int] = set()
    try:
        while True:
            readable, _, _ = select.select([conn], [], [], 0.05)
            if readable:
                data = conn.recv(1 << 20)
                if not data:
                    return  # the validator is gone
                request = pickle.loads(data)
                pid, ours, out_read = _start_worker(request["env"], request["cwd"])
                workers.add(pid)
                socket.send_fds(conn, [pickle.dumps(("forked", pid))], [ours.fileno(), out_read])
                ours.close()
                os.close(out_read)
            while workers:
                pid, status = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    break
                workers.discard(pid)
                _kill_group(pid)  # what the worker started goes with it
                conn.send(pickle.dumps(("exited", pid, os.waitstatus_to_exitcode(status))))
    finally:
        for pid in workers:
            _kill_group(pid)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


# --- the validator side ------------------------------------------------------------------------


class Zygote:
    """The validator's handle on its zygote. Start it before any thread or store connection
    exists in this process; close it to end it and every worker it forked."""

    def __init__(self, pid: int, conn: socket.socket) -> None:
        self.pid = pid
        self.conn = conn
        self.exits: dict[int, int] = {}
        self.workers: list[Worker] = []

    @classmethod
    def start(cls, warm: Callable[[], None], environ: Mapping[str, str]) -> Zygote:
        """Fork the zygote; it runs WARM (its imports) with ENVIRON as its environment."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                ours.close()
                null = os.open(os.devnull, os.O_RDWR)
                os.dup2(null, 0)
                os.environ.clear()
                os.environ.update(environ)
                _zygote(theirs, warm)
            except BaseException:
                code = 70
            finally:
                _real_exit(code)
        theirs.close()
        return cls(pid, ours)

    def _read(self, timeout: float | None) -> tuple[Any, list[int]] | None:
        """One message from the zygote (and the descriptors it carries), None on timeout."""
        readable, _, _ = select.select([self.conn], [], [], timeout)
        if not readable:
            return None
        data, fds, _, _ = socket.recv_fds(self.conn, 1 << 16, _MAX_FDS)
        if not data:
            raise ChildFailed("start", output="the validator's model process is gone")
        message = pickle.loads(data)
        if message[0] == "exited":
            self.exits[message[1]] = message[2]
        return message, list(fds)

    def poll(self) -> None:
        while self._read(0) is not None:
            pass

    def worker(self, env: Mapping[str, str], cwd: Path) -> Worker:
        """A new worker with ENV as its whole environment, in CWD."""
        self.conn.send(pickle.dumps({"env": dict(env), "cwd": str(cwd)}))
        while True:
            got = self._read(None)
            assert got is not None
            message, fds = got
            if message[0] == "forked":
                worker = Worker(self, message[1], socket.socket(fileno=fds[0]), fds[1])
                self.workers.append(worker)
                return worker
            for fd in fds:
                os.close(fd)

    def close(self) -> None:
        for worker in self.workers:
            worker.close()
        self.conn.close()  # the zygote kills what is left and goes
        deadline = time.monotonic() + _ZYGOTE_GRACE_S
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(self.pid, os.WNOHANG) == (0, 0):
                if time.monotonic() > deadline:  # still importing: it has no worker of ours
                    _kill_group(self.pid)
                    os.waitpid(self.pid, 0)
                    break
                time.sleep(0.01)


@dataclass
class _Pending:
    stage: str
    deadline: float | None


class Worker:
    """A worker process: `call` functions in it; `close` ends it and whatever it started."""

    def __init__(self, zygote: Zygote, pid: int, conn: socket.socket, output: int) -> None:
        self.zygote = zygote
        self.pid = pid
        self.conn = conn
        self.reader = _Reader(conn)
        self.output: collections.deque[bytes] = collections.deque()
        self._output_size = 0
        self._drain = threading.Thread(
            target=self._drain_output, args=(output,), name=f"mfc-output-{pid}", daemon=True
        )
        self._drain.start()
        self.closed = False
        self.unanswered = 0  # calls an interrupt left without their reply

    def _drain_output(self, fd: int) -> None:
        # a flood of output costs the validator nothing: only the last bytes are kept
        with contextlib.suppress(OSError):
            while True:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                self.output.append(chunk)
                self._output_size += len(chunk)
                while self._output_size - len(self.output[0]) > _OUTPUT_KEPT:
                    self._output_size -= len(self.output.popleft())
        os.close(fd)

    def printed(self) -> str:
        return b"".join(self.output)[-_OUTPUT_KEPT:].decode(errors="replace")

    def call(
        self,
        function: Callable[..., Any],
        *args: Any,
        limit: float | None = None,
        stage: str = "start",
        on_event: Callable[[Any], None] | None = None,
        **kwargs: Any,
    ) -> Any:
        """FUNCTION(*ARGS, **KWARGS) in the worker. LIMIT (seconds) bounds each stage the
        call marks; ChildFailed when the worker ends, is killed or runs out of time."""
        if self.closed:
            raise ChildFailed(stage, output="the worker was closed")
        _send(self.conn, (function, args, kwargs))
        self.unanswered += 1
        pending = _Pending(stage, time.monotonic() + limit if limit else None)
        exiting: tuple[int, str | None] | None = None
        while True:
            for message in self.reader.messages():
                kind = message[0]
                if kind == "stage":
                    pending.stage = message[1]
                    pending.deadline = time.monotonic() + limit if limit else None
                elif kind == "event":
                    if on_event is not None:
                        on_event(message[1])
                elif kind == "exiting":
                    exiting = (message[1], message[2])
                elif self.unanswered > 1:  # the reply of a call an interrupt cut short
                    self.unanswered -= 1
                else:
                    self.unanswered -= 1
                    if kind == "ok":
                        return message[1]
                    error = message[1]
                    if not isinstance(error, Exception):  # SystemExit must not end us
                        raised = f"{type(error).__name__}({', '.join(map(repr, error.args))})"
                        raise ChildFailed(pending.stage, raised=raised)
                    raise error
            if self.reader.closed or self.pid in self.zygote.exits:
                raise self._failed(pending.stage, exiting)
            remaining = None if pending.deadline is None else pending.deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                self.close()
                raise ChildFailed(pending.stage, timed_out=limit, output=self.printed())
            wait = 0.5 if remaining is None else min(0.5, remaining)
            readable, _, _ = select.select([self.conn, self.zygote.conn], [], [], wait)
            if self.conn in readable:
                self.reader.feed()
            if self.zygote.conn in readable:
                self.zygote.poll()

    def _failed(self, stage: str, exiting: tuple[int, str | None] | None) -> ChildFailed:
        deadline = time.monotonic() + 5
        while self.pid not in self.zygote.exits and time.monotonic() < deadline:
            self.zygote._read(0.1)
        status = self.zygote.exits.get(self.pid)
        where = exiting[1] if exiting is not None and status == exiting[0] else None
        self.close()
        self._drain.join(timeout=1)
        return ChildFailed(stage, status=status, exited_at=where, output=self.printed())

    def close(self) -> None:
        """End the worker and every process it started (its process group)."""
        if self.closed:
            return
        self.closed = True
        _kill_group(self.pid)
        self.conn.close()

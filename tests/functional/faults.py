"""Servers that fail on purpose, on loopback only, for the fault-injection tests: a TCP proxy in
front of a real `mlflow server` that can refuse, stall, answer 500 to one kind of request, or
die when it sees one; and small stand-ins for what is not an MLflow server."""

from __future__ import annotations

import contextlib
import http.server
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ERROR_500 = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class Proxy:
    """Forwards 127.0.0.1:PORT to UPSTREAM_PORT. `mode`: forward, drop (close every connection at
    once: a dead server) or stall (accept and never answer). `fail_on(pattern, action)`: when a
    request's bytes hold PATTERN, answer 500 (action "500") or die (action "die": drop from
    then on). `rewrite` replaces bytes in requests (a gateway that swaps credentials)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.mode = "forward"
        self.rules: list[tuple[bytes, str]] = []
        self.rewrite: tuple[bytes, bytes] | None = None
        self.seen: list[bytes] = []  # the patterns that fired
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def reset(self) -> None:
        self.mode, self.rules, self.rewrite = "forward", [], None
        self.seen.clear()
        self._cut_all()

    def fail_on(self, pattern: bytes, action: str) -> None:
        self.rules.append((pattern, action))
        self._cut_all()  # pooled connections would skip the new rule's first look

    def _cut_all(self) -> None:
        with self._lock:
            for sock in list(self._sockets):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def _track(self, *sockets: socket.socket) -> None:
        with self._lock:
            self._sockets.update(sockets)

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.mode == "drop":
                client.close()
                continue
            self._track(client)
            if self.mode == "stall":
                continue  # held open, never read: closed by stop()
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            self._track(upstream)
            threading.Thread(target=self._requests, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _requests(self, client: socket.socket, upstream: socket.socket) -> None:
        tail = b""  # a pattern may straddle two reads (a busy machine splits requests)
        with contextlib.suppress(OSError):
            while chunk := client.recv(65536):
                seen, tail = tail + chunk, (tail + chunk)[-256:]
                for pattern, action in self.rules:
                    if pattern in seen:
                        self.seen.append(pattern)
                        if action == "500":
                            client.sendall(ERROR_500)
                        else:
                            self.mode = "drop"
                            self._cut_all()
                        raise OSError("failed on purpose")
                if self.rewrite is not None:
                    chunk = chunk.replace(*self.rewrite)
                upstream.sendall(chunk)
        self._close(client, upstream)

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                target.sendall(chunk)
        self._close(source, target)

    def _close(self, *sockets: socket.socket) -> None:
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
            with self._lock:
                self._sockets.discard(sock)

    def stop(self) -> None:
        self._stopped.set()
        self._listener.close()
        self._cut_all()
        self._thread.join(timeout=5)


@contextlib.contextmanager
def proxy(upstream_url: str) -> Iterator[Proxy]:
    running = Proxy(int(upstream_url.rsplit(":", 1)[1]))
    try:
        yield running
    finally:
        running.stop()


class _Answer(http.server.BaseHTTPRequestHandler):
    status = 200
    body = b"<html>a web page</html>"

    def do_GET(self) -> None:
        self.send_response(self.status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def http_stub(status: int = 200) -> Iterator[str]:
    """An HTTP server that answers every GET with STATUS and an HTML page; its URL."""
    with _serving(type("Answer", (_Answer,), {"status": status})) as url:
        yield url


@contextlib.contextmanager
def _serving(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """HANDLER's server on a free port of 127.0.0.1, each request in its own thread; its URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextlib.contextmanager
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


def auth_config(folder: Path, admin: str) -> Path:
    """A basic-auth config for `mlflow server --app-name basic-auth`: its user store in FOLDER,
    ADMIN as the admin (the password comes from MLFLOW_AUTH_ADMIN_PASSWORD)."""
    path = folder / "basic_auth.ini"
    path.write_text(
        "[mlflow]\n"
        "default_permission = READ\n"
        f"database_uri = sqlite:///{folder / 'basic_auth.db'}\n"
        f"admin_username = {admin}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n",
        encoding="utf-8",
    )
    return path


@contextlib.contextmanager
def tmpfs(folder: Path, options: str) -> Iterator[Path]:
    """A tmpfs mounted at FOLDER with OPTIONS (root only; the test is skipped elsewhere)."""
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], timeout=30, check=False)


class _SlowMlflow(http.server.BaseHTTPRequestHandler):
    """What an MLflow server under heavy load does: accepts at once, answers DELAY s later (its
    /health: the first request a client makes)."""

    delay = 0.0

    def do_GET(self) -> None:
        health = self.path.startswith("/health")
        if health:
            time.sleep(self.delay)
        body = b"OK" if health else b'{"experiments": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def slow_mlflow(delay: float) -> Iterator[str]:
    """A stand-in MLflow server (GET /health and the experiments search) that answers /health
    DELAY seconds after it came; its URL."""
    with _serving(type("SlowMlflow", (_SlowMlflow,), {"delay": delay})) as url:
        yield url

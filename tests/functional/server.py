"""A real `mlflow server` for the slow tests: started on a free port, stopped with its children."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a zombie of ours on some systems
        return True
    return True


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's whole process group (uvicorn runs in a child), SIGKILL if it
    lingers; return once no process of the group is left."""
    pgid = process.pid  # start_new_session: the server leads its own group
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=20)
    deadline = time.monotonic() + 10
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    process.wait(timeout=10)


@contextlib.contextmanager
def mlflow_server(
    folder: Path,
    timeout: float = 180,
    app_name: str | None = None,
    extra_env: dict[str, str] | None = None,
    backend_store_uri: str | None = None,
) -> Iterator[str]:
    """Run `mlflow server` with a SQLite store (or BACKEND_STORE_URI) and proxied artifacts in
    FOLDER; yield its URL. APP_NAME: e.g. basic-auth; EXTRA_ENV: the server's own settings (its
    auth config)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--backend-store-uri",
        backend_store_uri or f"sqlite:///{folder / 'db.sqlite'}",
        "--artifacts-destination",
        str(folder / "artifacts"),
        "--workers",
        "1",
        *(["--app-name", app_name] if app_name else []),
    ]
    # the background job runner (several huey consumers) is not needed to log and register
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", **(extra_env or {})}
    env.pop("MLFLOW_TRACKING_URI", None)
    log_path = folder / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        try:
            deadline = time.monotonic() + timeout
            while not _healthy(url):
                if process.poll() is not None or time.monotonic() > deadline:
                    tail = log_path.read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"mlflow server did not start at {url}:\n{tail}")
                time.sleep(0.5)
            yield url
        finally:
            _stop(process)

"""A real, throwaway PostgreSQL server for the slow tests: initdb in a temporary folder, on a free
port of 127.0.0.1, with a password, stopped and removed afterwards. As root, the server runs as
the `postgres` user, since PostgreSQL refuses to run as root. `.ci/run` installs PostgreSQL where
it is missing and sets MFC_REQUIRE_POSTGRES, so that CI fails rather than skips without it."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.server import free_port

PASSWORD = "a-queue-password-for-the-test"  # pragma: allowlist secret


def _bin_folder() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return versions[-1].parent if versions else None


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@contextlib.contextmanager
def postgres_server(database: str = "mlflow") -> Iterator[str]:
    """Run PostgreSQL with its data in a folder of its own (the server's user must reach it,
    which pytest's root-only temporary folders forbid); yield the URL of DATABASE (created
    empty), whose password is PASSWORD."""
    bin_folder = _bin_folder()
    if bin_folder is None:
        if os.environ.get("MFC_REQUIRE_POSTGRES"):
            raise RuntimeError("PostgreSQL is not installed (initdb not found)")
        pytest.skip("PostgreSQL is not installed (initdb not found)")
    folder = Path(tempfile.mkdtemp(prefix="mfc-postgres-"))
    data, sockets = folder / "data", folder / "sockets"
    sockets.mkdir()
    password_file = folder / "password"
    password_file.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        server_user = pwd.getpwnam("postgres")
        for path in (folder, sockets, password_file):
            os.chown(path, server_user.pw_uid, server_user.pw_gid)
    user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    subprocess.run(
        _as_server_user(
            [
                str(bin_folder / "initdb"),
                "-D",
                str(data),
                "-U",
                user,
                "--auth=scram-sha-256",
                f"--pwfile={password_file}",
                "--no-sync",
            ]
        ),
        check=True,
        capture_output=True,
    )
    port = free_port()
    log = folder / "server.log"
    subprocess.run(
        _as_server_user(
            [
                str(bin_folder / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(log),
                "-w",
                "-o",
                f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    try:
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                admin = psycopg.connect(
                    host="127.0.0.1", port=port, user=user, password=PASSWORD, dbname="postgres"
                )
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        admin.close()
        yield new_database(f"postgresql://{user}:{PASSWORD}@127.0.0.1:{port}/postgres", database)
    finally:
        subprocess.run(
            _as_server_user(
                [str(bin_folder / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
            ),
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)


def new_database(url: str, name: str) -> str:
    """Create the empty database NAME on the server of URL; its URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    with psycopg.connect(
        host=parsed.host,
        port=parsed.port,
        user=parsed.username,
        password=parsed.password,
        dbname=parsed.database,
        autocommit=True,
    ) as admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    return parsed.set(database=name).render_as_string(hide_password=False)

"""A durable queue of model versions to validate, in one SQLite file that several receivers may
share: an event is stored before the delivery is answered, so a restart loses none; a delivery
id or a version seen before is not queued twice; a job is claimed atomically, under a lease, so
two receivers never validate one version at once, and a receiver that died mid-validation gives
its jobs back (at once on its own host, at the lease's end elsewhere)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    run_id TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '{}',
    received REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',
    owner TEXT,
    lease_until REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    verdict TEXT,
    detail TEXT,
    finished REAL,
    UNIQUE (name, version)
)
"""


@dataclass(frozen=True)
class Job:
    id: int
    name: str
    version: str
    source: str
    run_id: str
    tags: dict[str, str]
    attempts: int
    received: float


def owner_id() -> str:
    """This receiver process: host and pid, which tell whether it is still alive."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(owner: str) -> bool:
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another host's: its lease tells
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Queue:
    def __init__(self, path: Path, lease_s: float = 900.0) -> None:
        self.path = path
        self.lease_s = lease_s
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(SCHEMA)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.row_factory = sqlite3.Row
            yield db
        finally:
            db.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def add(self, delivery: str, data: dict[str, Any], now: float) -> bool:
        """Store a model_version.created event; False when its delivery or version is known."""
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO events (delivery, name, version, source, run_id, tags, "
                "received) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    delivery,
                    str(data["name"]),
                    str(data["version"]),
                    str(data.get("source") or ""),
                    str(data.get("run_id") or ""),
                    json.dumps(data.get("tags") or {}),
                    now,
                ),
            )
            return cursor.rowcount == 1

    def reclaim_dead(self) -> int:
        """Give back the running jobs of receivers on this host that are gone."""
        with self._transaction() as db:
            rows = db.execute("SELECT id, owner FROM events WHERE state = 'running'").fetchall()
            dead = [row["id"] for row in rows if row["owner"] and not _alive(row["owner"])]
            db.executemany(
                "UPDATE events SET state = 'queued', owner = NULL WHERE id = ?",
                [(job,) for job in dead],
            )
        return len(dead)

    def claim(self, owner: str, now: float) -> Job | None:
        with self._transaction() as db:
            row = db.execute(
                "UPDATE events SET state = 'running', owner = ?, lease_until = ?, "
                "attempts = attempts + 1 WHERE id = (SELECT id FROM events WHERE state = "
                "'queued' OR (state = 'running' AND lease_until < ?) ORDER BY id LIMIT 1) "
                "RETURNING id, name, version, source, run_id, tags, attempts, received",
                (owner, now + self.lease_s, now),
            ).fetchone()
        if row is None:
            return None
        return Job(
            row["id"],
            row["name"],
            row["version"],
            row["source"],
            row["run_id"],
            json.loads(row["tags"]),
            row["attempts"],
            row["received"],
        )

    def renew(self, job: Job, owner: str, now: float) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE events SET lease_until = ? WHERE id = ? AND owner = ?",
                (now + self.lease_s, job.id, owner),
            )

    def finish(self, job: Job, owner: str, verdict: str, detail: str, now: float) -> bool:
        """Record the verdict; False when the job was no longer this owner's (its lease ended
        and another receiver took it)."""
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE events SET state = 'done', verdict = ?, detail = ?, finished = ? "
                "WHERE id = ? AND owner = ? AND state = 'running'",
                (verdict, detail, now, job.id, owner),
            )
            return cursor.rowcount == 1

    def counts(self) -> dict[str, int]:
        with self._connect() as db:
            rows = db.execute("SELECT state, COUNT(*) AS n FROM events GROUP BY state").fetchall()
        found = {row["state"]: row["n"] for row in rows}
        return {state: found.get(state, 0) for state in ("queued", "running", "done")}

    def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT name, version, state, verdict, detail, attempts, received, finished "
                "FROM events ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [dict(row) for row in rows]

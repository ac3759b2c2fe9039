"""A durable queue of model versions to validate, in a SQL database that several receivers may
share: a SQLite file for receivers on one host, or PostgreSQL (for example the database of the
MLflow server itself) for receivers on several machines.

An event is stored before the delivery is answered, so a restart loses none; a delivery id or a
version seen before is not queued twice; a job is claimed under a lease, every change of the
queue being serialized (SQLite's write lock, PostgreSQL's transaction-level advisory lock), so
two receivers never validate one version at once, and a receiver that died mid-validation gives
its jobs back (at once on its own host, at the lease's end elsewhere)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from validator.errors import ValidatorError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Connection, Engine

# prefixed, so that the queue may live in the MLflow server's own database beside its tables
EVENTS = "mfc_webhook_events"
RESULTS = "mfc_webhook_results"
# PostgreSQL: the advisory lock that serializes every change of the queue (b"mfc_queu")
LOCK_KEY = 0x6D66635F71756575
DIALECTS = ("sqlite", "postgresql")
# where --queue is read from when not given (a URL with a password stays off the command line)
QUEUE_ENV = "MFC_WEBHOOK_QUEUE"
DEFAULT_QUEUE = "mfc-webhook-queue.db"


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


def queue_url(location: str | Path) -> str:
    """The SQLAlchemy URL of LOCATION: a database URL as given, a file path as SQLite."""
    text = str(location)
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).expanduser().absolute()}"


def shown(location: str | Path) -> str:
    """LOCATION as it may be printed: a URL's password hidden."""
    text = str(location)
    if "://" not in text:
        return text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(text).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return text.split("://", 1)[0] + "://…"


def _tables() -> Any:
    from sqlalchemy import Column, Float, Integer, MetaData, Table, Text, UniqueConstraint

    metadata = MetaData()
    Table(
        EVENTS,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("delivery", Text, nullable=False, unique=True),
        Column("name", Text, nullable=False),
        Column("version", Text, nullable=False),
        Column("source", Text, nullable=False, server_default=""),
        Column("run_id", Text, nullable=False, server_default=""),
        Column("tags", Text, nullable=False, server_default="{}"),
        Column("received", Float, nullable=False),
        Column("state", Text, nullable=False, server_default="queued"),
        Column("owner", Text),
        Column("lease_until", Float),
        Column("attempts", Integer, nullable=False, server_default="0"),
        Column("verdict", Text),
        Column("detail", Text),
        Column("finished", Float),
        UniqueConstraint("name", "version"),
    )
    # the verdict on each logged model (a version's source), so that versions registered from
    # one model (a burst of register_model calls, a copy to another name) are validated once
    Table(
        RESULTS,
        metadata,
        Column("source", Text, primary_key=True),
        Column("verdict", Text, nullable=False),
        Column("name", Text, nullable=False),
        Column("version", Text, nullable=False),
    )
    return metadata


def _engine(url: str) -> Engine:
    """An engine on URL whose transactions each hold the queue's write lock."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise ValidatorError(
            f"--queue {shown(url)}: not a database URL; give a file (SQLite) or "
            "postgresql://USER@HOST/DATABASE"
        ) from None
    if parsed.get_backend_name() not in DIALECTS:
        raise ValidatorError(
            f"--queue {shown(url)}: a {parsed.get_backend_name()} queue is not supported; give a "
            "file (SQLite, receivers on one host) or postgresql://… (receivers on several hosts)"
        )
    parsed = _installed_driver(parsed)
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(parsed, connect_args={"timeout": 30})

            @event.listens_for(engine, "connect")
            def _connected(dbapi: Any, record: Any) -> None:
                dbapi.isolation_level = None  # transactions are begun below, not by the driver
                cursor = dbapi.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.close()

            @event.listens_for(engine, "begin")
            def _begin(connection: Any) -> None:
                connection.exec_driver_sql("BEGIN IMMEDIATE")

            return engine
        return create_engine(parsed, pool_pre_ping=True)
    except (ModuleNotFoundError, NoSuchModuleError) as exc:
        raise ValidatorError(
            f"--queue {shown(url)}: the database driver is not installed ({exc}); for "
            "PostgreSQL, pip install 'psycopg[binary]' or psycopg2-binary, as for an MLflow "
            "server on PostgreSQL"
        ) from None


def _installed_driver(url: URL) -> URL:
    """A postgresql:// URL that names no driver, with the one installed: SQLAlchemy's default
    (psycopg since 2.1, psycopg2 before) is not always the one an MLflow server has."""
    if url.get_backend_name() != "postgresql" or "+" in url.drivername:
        return url
    import importlib.util

    for module in ("psycopg", "psycopg2"):
        if importlib.util.find_spec(module) is not None:
            return url.set(drivername=f"postgresql+{module}")
    return url


class Queue:
    def __init__(self, location: str | Path, lease_s: float = 900.0) -> None:
        self.location = location
        self.lease_s = lease_s
        self.engine = _engine(queue_url(location))
        self.postgres = self.engine.dialect.name == "postgresql"
        with self._transaction() as db:
            if not self.postgres:
                self._rename_legacy(db)
            _tables().create_all(db, checkfirst=True)

    def close(self) -> None:
        self.engine.dispose()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """One transaction holding the queue's write lock: changes are serialized across every
        receiver of the queue, on any host."""
        from sqlalchemy import text

        with self.engine.begin() as db:
            if self.postgres:
                db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            yield db

    @staticmethod
    def _rename_legacy(db: Connection) -> None:
        """A SQLite queue made before the tables were prefixed keeps its events."""
        from sqlalchemy import inspect

        names = set(inspect(db).get_table_names())
        for old, new in (("events", EVENTS), ("results", RESULTS)):
            if old in names and new not in names:
                db.exec_driver_sql(f"ALTER TABLE {old} RENAME TO {new}")

    def _run(self, sql: str, params: dict[str, Any] | None = None) -> tuple[int, list[Any]]:
        """SQL run in a transaction of its own: (the rows it changed, the rows it returned)."""
        from sqlalchemy import text

        with self._transaction() as db:
            result = db.execute(text(sql), params or {})
            return int(result.rowcount), (list(result.all()) if result.returns_rows else [])

    def add(self, delivery: str, data: dict[str, Any], now: float) -> bool:
        """Store a model_version.created event; False when its delivery or version is known."""
        from sqlalchemy import text

        with self._transaction() as db:
            result = db.execute(
                text(
                    f"INSERT INTO {EVENTS} (delivery, name, version, source, run_id, tags, "
                    "received) VALUES (:delivery, :name, :version, :source, :run_id, :tags, "
                    ":received) ON CONFLICT DO NOTHING"
                ),
                {
                    "delivery": delivery,
                    "name": str(data["name"]),
                    "version": str(data["version"]),
                    "source": str(data.get("source") or ""),
                    "run_id": str(data.get("run_id") or ""),
                    "tags": json.dumps(data.get("tags") or {}),
                    "received": now,
                },
            )
            return int(result.rowcount) == 1

    def reclaim_dead(self) -> int:
        """Give back the running jobs of receivers on this host that are gone."""
        from sqlalchemy import text

        with self._transaction() as db:
            rows = db.execute(text(f"SELECT id, owner FROM {EVENTS} WHERE state = 'running'"))
            dead = [row.id for row in rows if row.owner and not _alive(row.owner)]
            if dead:
                db.execute(
                    text(f"UPDATE {EVENTS} SET state = 'queued', owner = NULL WHERE id = :id"),
                    [{"id": job} for job in dead],
                )
        return len(dead)

    def claim(self, owner: str, now: float) -> Job | None:
        """The oldest job that is queued, or whose lease ended, and whose logged model is not
        being validated by another job; leased to OWNER."""
        from sqlalchemy import text

        with self._transaction() as db:
            row = db.execute(
                text(
                    f"UPDATE {EVENTS} SET state = 'running', owner = :owner, "
                    "lease_until = :until, attempts = attempts + 1 WHERE id = (SELECT e.id FROM "
                    f"{EVENTS} AS e WHERE (e.state = 'queued' OR (e.state = 'running' AND "
                    "e.lease_until < :now)) AND (e.source = '' OR NOT EXISTS (SELECT 1 FROM "
                    f"{EVENTS} AS busy WHERE busy.source = e.source AND busy.id != e.id AND "
                    "busy.state = 'running' AND busy.lease_until >= :now)) ORDER BY e.id LIMIT 1) "
                    "RETURNING id, name, version, source, run_id, tags, attempts, received"
                ),
                {"owner": owner, "until": now + self.lease_s, "now": now},
            ).first()
        if row is None:
            return None
        return Job(
            int(row.id),
            row.name,
            row.version,
            row.source,
            row.run_id,
            json.loads(row.tags),
            int(row.attempts),
            float(row.received),
        )

    def renew(self, job: Job, owner: str, now: float) -> None:
        self._run(
            f"UPDATE {EVENTS} SET lease_until = :until WHERE id = :id AND owner = :owner",
            {"until": now + self.lease_s, "id": job.id, "owner": owner},
        )

    def finish(self, job: Job, owner: str, verdict: str, detail: str, now: float) -> bool:
        """Record the verdict; False when the job was no longer this owner's (its lease ended
        and another receiver took it)."""
        changed, _ = self._run(
            f"UPDATE {EVENTS} SET state = 'done', verdict = :verdict, detail = :detail, "
            "finished = :now WHERE id = :id AND owner = :owner AND state = 'running'",
            {"verdict": verdict, "detail": detail, "now": now, "id": job.id, "owner": owner},
        )
        return changed == 1

    def remember(self, source: str, verdict: str, name: str, version: str) -> None:
        """VERDICT (a JSON text) on the logged model SOURCE, as validated for NAME/VERSION."""
        if not source:
            return
        self._run(
            f"INSERT INTO {RESULTS} (source, verdict, name, version) VALUES (:source, :verdict, "
            ":name, :version) ON CONFLICT (source) DO UPDATE SET verdict = excluded.verdict, "
            "name = excluded.name, version = excluded.version",
            {"source": source, "verdict": verdict, "name": name, "version": version},
        )

    def remembered(self, source: str) -> tuple[str, str, str] | None:
        """(verdict, name, version) of the logged model SOURCE validated before, if it was."""
        if not source:
            return None
        _, rows = self._run(
            f"SELECT verdict, name, version FROM {RESULTS} WHERE source = :source",
            {"source": source},
        )
        return (rows[0].verdict, rows[0].name, rows[0].version) if rows else None

    def counts(self) -> dict[str, int]:
        _, rows = self._run(f"SELECT state, COUNT(*) AS n FROM {EVENTS} GROUP BY state")
        found = {row.state: int(row.n) for row in rows}
        return {state: found.get(state, 0) for state in ("queued", "running", "done")}

    def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        _, rows = self._run(
            "SELECT name, version, state, verdict, detail, attempts, received, finished "
            f"FROM {EVENTS} ORDER BY id DESC LIMIT :limit",
            {"limit": limit},
        )
        return [dict(row._mapping) for row in rows]

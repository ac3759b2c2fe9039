"""The webhook receiver's parts that need no server: the signature MLflow's delivery code makes,
the durable queue (shared by two receivers, a receiver that died, a redelivery), what each
delivery is answered, and the verdict written with retries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from validator.webhook.queue import Queue
from validator.webhook.receiver import (
    DESCRIPTION_MARK,
    Receiver,
    Settings,
    Verdict,
    _description,
    _report_verdict,
)
from validator.webhook.signature import refusal

SECRET = "s3cret-for-tests"  # pragma: allowlist secret
BODY = json.dumps(
    {
        "entity": "model_version",
        "action": "created",
        "timestamp": "2026-12-03T00:00:00+00:00",
        "data": {"name": "scorer", "version": "1", "source": "models:/m-1", "tags": {}},
    }
).encode()


def signed(delivery: str, stamp: int, body: bytes = BODY, secret: str = SECRET) -> dict[str, str]:
    from mlflow.webhooks.delivery import _generate_hmac_signature  # what the server sends

    return {
        "X-MLflow-Delivery-Id": delivery,
        "X-MLflow-Timestamp": str(stamp),
        "X-MLflow-Signature": _generate_hmac_signature(secret, delivery, str(stamp), body.decode()),
    }


def test_a_delivery_mlflow_signed_is_accepted_and_every_forgery_refused() -> None:
    now = int(time.time())
    assert refusal(SECRET, signed("d1", now), BODY, now) is None
    assert "does not match" in str(refusal(SECRET, signed("d1", now, secret="other"), BODY, now))
    tampered = BODY.replace(b'"1"', b'"2"')
    assert "does not match" in str(refusal(SECRET, signed("d1", now), tampered, now))
    moved = {**signed("d1", now), "X-MLflow-Delivery-Id": "d2"}  # the id is signed too
    assert "does not match" in str(refusal(SECRET, moved, BODY, now))
    assert "a replay" in str(refusal(SECRET, signed("d1", now - 301), BODY, now))
    assert "a replay" in str(refusal(SECRET, signed("d1", now + 301), BODY, now))
    missing = str(refusal(SECRET, {"X-MLflow-Delivery-Id": "d"}, BODY, now))
    assert missing == "no X-MLflow-Timestamp, X-MLflow-Signature header"
    assert "not a Unix time" in str(
        refusal(SECRET, {**signed("d1", now), "X-MLflow-Timestamp": "yesterday"}, BODY, now)
    )
    assert "not a v1 signature" in str(
        refusal(SECRET, {**signed("d1", now), "X-MLflow-Signature": "v0,abc"}, BODY, now)
    )
    lower = {key.lower(): value for key, value in signed("d1", now).items()}
    assert refusal(SECRET, lower, BODY, now) is None  # HTTP header names are case-insensitive


def event(version: str) -> dict[str, Any]:
    return {"name": "scorer", "version": version, "source": "", "run_id": "r", "tags": {}}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def queue_at(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a test's queue lives: a SQLite file, and (slow tier) a database of a real
    PostgreSQL server, as receivers on several hosts share it."""
    if request.param == "sqlite":
        return str(tmp_path / "q.db")
    from tests.functional.postgres import new_database

    name = "q_" + uuid.uuid4().hex[:12]
    return new_database(request.getfixturevalue("postgres"), name)


def test_a_redelivery_or_a_version_seen_before_is_queued_once(queue_at: str) -> None:
    queue = Queue(queue_at)
    assert queue.add("d1", event("1"), 1.0)
    assert not queue.add("d1", event("1"), 2.0)  # the same delivery again
    assert not queue.add("d2", event("1"), 3.0)  # another delivery of the same version
    assert Queue(queue_at).counts() == {"queued": 1, "running": 0, "done": 0}


def test_two_receivers_on_one_queue_validate_each_of_50_versions_once(queue_at: str) -> None:
    first, second = Queue(queue_at), Queue(queue_at)
    for number in range(50):
        (first if number % 2 else second).add(f"d{number}", event(str(number)), float(number))
    done: dict[str, list[str]] = {"a": [], "b": []}

    def drain(queue: Queue, owner: str) -> None:
        while (job := queue.claim(owner, time.time())) is not None:
            assert queue.finish(job, owner, "passed", "", time.time())
            done[owner].append(job.version)

    threads = [
        threading.Thread(target=drain, args=(first, "a")),
        threading.Thread(target=drain, args=(second, "b")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(done["a"] + done["b"], key=int) == [str(n) for n in range(50)]
    assert first.counts() == {"queued": 0, "running": 0, "done": 50}


def test_a_job_whose_receiver_died_is_taken_back_and_the_late_owner_cannot_finish_it(
    queue_at: str,
) -> None:
    queue = Queue(queue_at, lease_s=60)
    queue.add("d1", event("1"), 0.0)
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead = f"{os.uname().nodename}:{gone.stdout.strip()}"  # a pid that has ended
    job = queue.claim(dead, time.time())
    assert job is not None and queue.claim("other:1", time.time()) is None  # leased
    assert queue.reclaim_dead() == 1
    again = queue.claim("other:1", time.time())
    assert again is not None and again.attempts == 2
    assert not queue.finish(job, dead, "passed", "", time.time())  # no longer its job
    assert queue.finish(again, "other:1", "failed", "SBX003", time.time())
    # another host's job is taken back only when its lease has ended
    queue.add("d2", event("2"), 0.0)
    far = queue.claim("elsewhere:1", 0.0)
    assert far is not None and queue.reclaim_dead() == 0
    assert queue.claim("other:1", 30.0) is None and queue.claim("other:1", 61.0) is not None


def receiver(tmp_path: Path, **settings: Any) -> Receiver:
    logged: list[str] = []
    made = Receiver(
        Settings(
            "http://127.0.0.1:1", SECRET, str(tmp_path / "q.db"), log=logged.append, **settings
        )
    )
    made.logged = logged  # type: ignore[attr-defined]
    return made


def test_each_delivery_is_answered_at_once(tmp_path: Path) -> None:
    hook = receiver(tmp_path)
    now = int(time.time())
    assert hook.accept(signed("d1", now), BODY) == (202, {"queued": True})
    assert hook.accept(signed("d2", now), BODY) == (202, {"queued": False})  # seen before
    status, answer = hook.accept(signed("d3", now, secret="wrong"), BODY)
    assert status == 401 and "does not match" in answer["error"]
    malformed = b'{"entity": "model_version", "action": "created"}'
    assert hook.accept(signed("d4", now, malformed), malformed)[0] == 400
    other = json.dumps({"entity": "registered_model", "action": "created", "data": {}}).encode()
    status, answer = hook.accept(signed("d5", now, other), other)
    assert status == 202 and answer["queued"] is False
    assert hook.queue.counts()["queued"] == 1
    assert any("refused delivery 'd3'" in line for line in hook.logged)  # type: ignore[attr-defined]
    assert not any(SECRET in line for line in hook.logged)  # type: ignore[attr-defined]


def test_the_verdict_names_the_failed_codes_and_keeps_the_users_description() -> None:
    report = {
        "status": "failed",
        "checks": [
            {
                "code": "SBX003",
                "status": "failed",
                "message": "RuntimeError: x",
                "location": "m.py:4",
            },
            {"code": "DEP011", "status": "warning", "message": "a pickle", "location": None},
            {"code": "SBX001", "status": "passed", "message": "ok", "location": None},
        ],
    }
    verdict = _report_verdict(report)
    assert verdict.status == "failed"
    assert verdict.tags["mfc.validation.failed_codes"] == "SBX003"
    assert verdict.tags["mfc.checks.failed"] == "1" and verdict.tags["mfc.checks.warning"] == "1"
    assert "SBX003 failed: RuntimeError: x (m.py:4)" in verdict.summary
    first = _description("Trained on November's data.", verdict.summary)
    assert first.startswith("Trained on November's data.\n\n" + DESCRIPTION_MARK)
    again = _description(first, "<!-- mfc-validator -->\n**mfc-validator: passed**")
    assert (
        again == "Trained on November's data.\n\n<!-- mfc-validator -->\n**mfc-validator: passed**"
    )


class DownServer:
    """A client whose every call fails as one to a server that is down."""

    def __init__(self) -> None:
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any) -> None:
            self.calls += 1
            raise ConnectionError("Connection refused")

        return call


def test_a_server_down_when_the_verdict_is_written_is_retried_then_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = receiver(tmp_path, retries=(0.01, 0.01))
    down = DownServer()
    monkeypatch.setattr(hook, "_client", lambda: down)
    hook.queue.add("d1", event("1"), time.time())
    job = hook.queue.claim(hook.owner, time.time())
    assert job is not None
    recorded = hook._record(job, Verdict("failed", {"mfc.validation.status": "failed"}, "x"))
    assert down.calls == 3 and recorded.startswith("unrecorded failed: ConnectionError")
    assert sum("again in" in line for line in hook.logged) == 2  # type: ignore[attr-defined]


def test_a_real_server_that_refuses_the_connection_is_retried_then_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.functional.server import free_port

    # MLflow's own client against a port nothing listens on: real refused connections
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    logged: list[str] = []
    hook = Receiver(
        Settings(
            f"http://127.0.0.1:{free_port()}",
            SECRET,
            tmp_path / "q.db",
            log=logged.append,
            retries=(0.01,),
        )
    )
    hook.queue.add("d1", event("1"), time.time())
    job = hook.queue.claim(hook.owner, time.time())
    assert job is not None
    verdict = _report_verdict({"status": "passed", "checks": []})
    recorded = hook._record(job, verdict)
    assert recorded.startswith("unrecorded passed: ")
    assert len([line for line in logged if "writing the verdict failed" in line]) == 1
    assert hook.queue.finish(job, hook.owner, recorded, "", time.time())
    assert hook.queue.recent()[0]["verdict"] == recorded


def test_versions_of_one_logged_model_are_validated_one_at_a_time_and_then_remembered(
    queue_at: str,
) -> None:
    queue = Queue(queue_at)
    for number in (1, 2):
        queue.add(f"d{number}", {**event(str(number)), "source": "models:/m-1"}, 0.0)
    queue.add("d3", {**event("3"), "source": "models:/m-2"}, 0.0)
    first = queue.claim("a:1", time.time())
    second = queue.claim("b:1", time.time())
    assert first is not None and second is not None
    assert (first.version, second.version) == ("1", "3")  # version 2 waits for version 1
    assert queue.claim("b:1", time.time()) is None
    queue.remember("models:/m-1", '{"status": "failed"}', "scorer", "1")
    assert queue.finish(first, "a:1", "failed", "SBX003", time.time())
    waiting = queue.claim("b:1", time.time())
    assert waiting is not None and waiting.version == "2"
    assert queue.remembered("models:/m-1") == ('{"status": "failed"}', "scorer", "1")
    assert queue.remembered("models:/m-2") is None and queue.remembered("") is None


def test_a_report_read_back_from_its_json_is_the_same_report() -> None:
    from validator.report import Finding, Report, report_from_dict

    report = Report(
        "validate",
        "models:/scorer/1",
        [
            Finding("SBX003", "failed", "RuntimeError: x", "m.py:4", "fix predict"),
            Finding("DEP011", "warning", "a pickle"),
            Finding("SBX001", "passed", "ok"),
        ],
        "3.17.2",
        "run-1",
        "models:/scorer/1",
        12.5,
    )
    assert report_from_dict(report.as_dict()).as_dict() == report.as_dict()
    unusable = {**Report("validate", "x").as_dict(), "status": "failed"}
    assert report_from_dict(unusable).exit_code == 2  # failed, though no check of its own did


def test_a_queue_url_is_shown_without_its_password_and_kept_from_the_validation() -> None:
    from validator.webhook.queue import QUEUE_ENV, shown
    from validator.webhook.receiver import validation_env

    url = "postgresql://mlflow:hunter2-db@db.internal:5432/mlflow"  # pragma: allowlist secret
    assert shown(url) == "postgresql://mlflow:***@db.internal:5432/mlflow"
    assert shown("/var/lib/queue.db") == "/var/lib/queue.db"
    settings = Settings("http://127.0.0.1:1", SECRET, url)
    environ = {
        QUEUE_ENV: url,
        "HOOK_SECRET": SECRET,
        "SAME_URL": url,
        "MLFLOW_TRACKING_TOKEN": "kept-to-download-the-model",
        "PATH": "/usr/bin",
    }
    assert validation_env(settings, environ) == {
        "MLFLOW_TRACKING_TOKEN": "kept-to-download-the-model",
        "PATH": "/usr/bin",
    }


@pytest.mark.parametrize(
    ("location", "said"),
    [
        ("mysql://u@db/q", "a mysql queue is not supported"),
        ("postgresql+nosuchdriver://u@db/q", "the database driver is not installed"),
        ("sqlite://:bad", "not a database URL"),
    ],
)
def test_a_queue_that_cannot_be_had_is_one_line(location: str, said: str) -> None:
    from validator.errors import ValidatorError

    with pytest.raises(ValidatorError, match=said):
        Queue(location)


def test_a_sqlite_queue_from_before_the_tables_were_prefixed_keeps_its_events(
    tmp_path: Path,
) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # the first release's schema, one event queued
        db.execute(
            "CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, delivery TEXT NOT NULL "
            "UNIQUE, name TEXT NOT NULL, version TEXT NOT NULL, source TEXT NOT NULL DEFAULT '', "
            "run_id TEXT NOT NULL DEFAULT '', tags TEXT NOT NULL DEFAULT '{}', received REAL NOT "
            "NULL, state TEXT NOT NULL DEFAULT 'queued', owner TEXT, lease_until REAL, attempts "
            "INTEGER NOT NULL DEFAULT 0, verdict TEXT, detail TEXT, finished REAL, UNIQUE (name, "
            "version))"
        )
        db.execute(
            "CREATE TABLE results (source TEXT PRIMARY KEY, verdict TEXT NOT NULL, name TEXT "
            "NOT NULL, version TEXT NOT NULL)"
        )
        db.execute(
            "INSERT INTO events (delivery, name, version, received) VALUES ('d1', 'm', '1', 0)"
        )
    queue = Queue(path)
    assert queue.counts() == {"queued": 1, "running": 0, "done": 0}
    assert not queue.add("d1", event("1"), 1.0)
    job = queue.claim("a:1", time.time())
    assert job is not None and (job.name, job.version) == ("m", "1")

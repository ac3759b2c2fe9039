"""Receivers that share one queue, as on several machines: the queue in the PostgreSQL database
that the `mlflow server` itself uses, two receivers each sent every event by a webhook of its
own, and tracking credentials that must reach neither the sandbox, the verdict nor the logs
(slow tier: a real PostgreSQL, a real `mlflow server` on it)."""

from __future__ import annotations

import hashlib
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.functional.postgres import PASSWORD, new_database
from tests.functional.server import free_port, mlflow_server
from tests.functional.test_webhook import (
    SECRET,
    SECRET_ENV,
    WEBHOOKS_ON,
    _get,
    _register,
    _start_receiver,
)

pytestmark = pytest.mark.slow

NAME = "shared-scorer"
TRACKING_PASSWORD = "a-tracking-password-for-the-test"  # pragma: allowlist secret
WATCHED = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MFC_WEBHOOK_QUEUE", SECRET_ENV)


# a model that says, in the error its predict raises, which of the receiver's credentials its
# process can see, by name and by value (known by their hashes, so that no secret is in its code)
def _leak_probe(*secrets: str) -> str:
    hashes = sorted(hashlib.sha256(secret.encode()).hexdigest() for secret in secrets)
    return f"""
import hashlib, os
_NAMES = [name for name in {WATCHED!r} if name in os.environ]
_VALUES = sum(1 for value in os.environ.values()
              if hashlib.sha256(value.encode()).hexdigest() in {hashes!r})
"""


def _verdicts(client: Any, count: int, deadline: float) -> dict[str, dict[str, str]]:
    while True:
        versions = client.search_model_versions(f"name = '{NAME}'")
        tags = {v.version: dict(v.tags) for v in versions}
        if len(tags) == count and all("mfc.validation.status" in t for t in tags.values()):
            return tags
        assert time.monotonic() < deadline, tags
        time.sleep(1)


def test_two_receivers_share_a_queue_in_the_mlflow_servers_postgresql_database(
    postgres: str, tmp_path: Path
) -> None:
    from mlflow import MlflowClient
    from sqlalchemy import create_engine, inspect

    database = new_database(postgres, "registry")
    (tmp_path / "server").mkdir()
    with mlflow_server(tmp_path / "server", extra_env=WEBHOOKS_ON, backend_store_uri=database) as (
        server
    ):
        client = MlflowClient(tracking_uri=server, registry_uri=server)
        env = {
            **os.environ,
            SECRET_ENV: SECRET,
            "MLFLOW_TRACKING_URI": "",
            # the queue's URL (with its password) kept off the command line
            "MFC_WEBHOOK_QUEUE": database,
            # credentials the receivers send to the tracking server (which ignores them)
            "MLFLOW_TRACKING_USERNAME": "gatekeeper",
            "MLFLOW_TRACKING_PASSWORD": TRACKING_PASSWORD,
        }
        ports = [free_port(), free_port()]
        for port in ports:  # a webhook per receiver: each event reaches both
            installed = run_cli(
                "webhook", "--tracking-uri", server, "--secret-env", SECRET_ENV,
                "--install", f"http://127.0.0.1:{port}/", env=env,
            )  # fmt: skip
            assert installed.returncode == 0, installed.stderr
        receivers = [_start_receiver(server, port, None, env) for port in ports]
        try:
            _register(server, tmp_path, "first", "return model_input", NAME)
            _register(server, tmp_path, "second", "return model_input * 2", NAME)
            _register(
                server, tmp_path, "leaky",
                'raise RuntimeError(f"credentials seen: {_NAMES}, {_VALUES} value(s)")',
                NAME, head=_leak_probe(TRACKING_PASSWORD, SECRET, database),
            )  # fmt: skip
            # more versions of the first two logged models, as a notebook's register_model makes
            for number in ("1", "2", "1"):
                made = client.get_model_version(NAME, number)
                client.create_model_version(
                    NAME, made.source, made.run_id, model_id=made.source.split("/")[-1]
                )
            tags = _verdicts(client, 6, time.monotonic() + 600)
            statuses = {version: t["mfc.validation.status"] for version, t in tags.items()}
            assert statuses == {
                "1": "passed", "2": "passed", "3": "failed",
                "4": "passed", "5": "passed", "6": "passed",
            }  # fmt: skip
            assert "SBX003" in tags["3"]["mfc.validation.failed_codes"].split(",")
            leaky = client.get_model_version(NAME, "3").description
            assert "credentials seen: [], 0 value(s)" in leaky, leaky
            aliased = client.get_model_version_by_alias(NAME, "validated").version
            assert statuses[aliased] == "passed" and aliased != "1", aliased
            for port in ports:  # both see the one queue
                health = _get(f"http://127.0.0.1:{port}/health")
                assert (health["queued"], health["running"], health["done"]) == (0, 0, 6)
            shown = "".join(
                str(t) + (client.get_model_version(NAME, v).description or "")
                for v, t in tags.items()
            )
        finally:
            logs = []
            for receiver in receivers:
                receiver.send_signal(signal.SIGTERM)
                logs.append(receiver.communicate(timeout=60)[1])
        engine = create_engine(database.replace("postgresql://", "postgresql+psycopg://"))
        tables = set(inspect(engine).get_table_names())
        engine.dispose()
    assert all(receiver.returncode == 0 for receiver in receivers), logs
    log = "".join(logs)
    assert "Traceback" not in log
    # every event reached both receivers and was queued once; each logged model was validated
    # once, by whichever receiver claimed it
    assert log.count("seen before; not queued again") == 6, log
    assert log.count(": validating (attempt 1)") == 3, log
    assert log.count("validated before") == 3, log
    assert all("postgresql://postgres:***@127.0.0.1" in one for one in logs)
    # the receivers' credentials reach neither the logs nor the verdict
    for secret in (TRACKING_PASSWORD, PASSWORD, SECRET):
        assert secret not in log and secret not in shown
    # the queue lives beside the MLflow server's own tables
    assert {"mfc_webhook_events", "mfc_webhook_results", "registered_models"} <= tables

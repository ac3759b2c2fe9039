"""The registry's own gate, end to end: a real `mlflow server` (SQL store, webhooks on), the
webhook created with `mfc-validator webhook --install`, and the receiver validating versions
registered straight from Python, as a notebook would (slow tier)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.functional.server import free_port, mlflow_server

pytestmark = pytest.mark.slow

SECRET_ENV = "MFC_TEST_WEBHOOK_SECRET"
SECRET = "a-shared-secret-for-the-test"  # pragma: allowlist secret
WEBHOOKS_ON = {
    # a receiver on 127.0.0.1 over http: both are refused by default (FACTS.md)
    "MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "http,https",
    "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true",
}

MODEL = """
import mlflow
class Scorer(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        {body}
mlflow.models.set_model(Scorer())
"""
REGISTER = """
import mlflow, pandas as pd
mlflow.set_tracking_uri({uri!r})
with mlflow.start_run():
    mlflow.pyfunc.log_model(name="model", python_model={script!r},
                            input_example=pd.DataFrame({{"a": [1.0, 2.0]}}),
                            registered_model_name={model!r})
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with mlflow_server(tmp_path_factory.mktemp("hook-server"), extra_env=WEBHOOKS_ON) as url:
        yield url


def _register(
    uri: str, folder: Path, name: str, body: str, model: str = "gated-scorer", head: str = ""
) -> None:
    """Log the model whose predict is BODY (after the lines HEAD) and register it as MODEL,
    straight from Python."""
    script = folder / f"{name}.py"
    script.write_text(head + MODEL.format(body=body))
    code = REGISTER.format(uri=uri, script=str(script), model=model)
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    env.pop("MLFLOW_TRACKING_URI", None)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=folder, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def _get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return dict(json.loads(answer.read()))


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def _signed(delivery: str, stamp: int, body: bytes, secret: str = SECRET) -> dict[str, str]:
    # as mlflow.webhooks.delivery signs: HMAC-SHA256 of "id.timestamp.payload", v1,base64
    from mlflow.webhooks.delivery import _generate_hmac_signature

    signature = _generate_hmac_signature(secret, delivery, str(stamp), body.decode())
    assert signature.startswith("v1,") and base64.b64decode(signature[3:])
    assert hmac.compare_digest(
        signature[3:],
        base64.b64encode(
            hmac.new(
                secret.encode(), f"{delivery}.{stamp}.".encode() + body, hashlib.sha256
            ).digest()
        ).decode(),
    )
    return {
        "Content-Type": "application/json",
        "X-MLflow-Delivery-Id": delivery,
        "X-MLflow-Timestamp": str(stamp),
        "X-MLflow-Signature": signature,
    }


def _version_tags(client: Any, version: str, deadline: float) -> dict[str, str]:
    while time.monotonic() < deadline:
        tags = dict(client.get_model_version("gated-scorer", version).tags)
        if "mfc.validation.status" in tags:
            return tags
        time.sleep(1)
    raise AssertionError(f"version {version} got no verdict in time")


def _start_receiver(server: str, port: int, queue: Path | None, env: dict[str, str]) -> Any:
    """A receiver on PORT; its queue QUEUE, else the one env's MFC_WEBHOOK_QUEUE names."""
    receiver = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "validator",
            "webhook",
            "--tracking-uri",
            server,
            "--secret-env",
            SECRET_ENV,
            "--listen",
            f"127.0.0.1:{port}",
            *(["--queue", str(queue)] if queue else []),
            "--alias",
            "validated",
        ],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            assert _get(f"http://127.0.0.1:{port}/health")["status"] == "ok"
            return receiver
        except (OSError, urllib.error.URLError):
            assert receiver.poll() is None and time.monotonic() < deadline
            time.sleep(0.5)


def test_versions_registered_from_python_get_the_verdict_and_only_good_ones_the_alias(
    server: str, tmp_path: Path
) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=server, registry_uri=server)
    port = free_port()
    hook = f"http://127.0.0.1:{port}/"
    env = {**os.environ, SECRET_ENV: SECRET, "MLFLOW_TRACKING_URI": ""}
    installed = run_cli(
        "webhook", "--tracking-uri", server, "--secret-env", SECRET_ENV, "--install", hook, env=env
    )
    assert installed.returncode == 0, installed.stderr
    assert "created webhook" in installed.stdout and SECRET not in installed.stdout

    receiver = _start_receiver(server, port, tmp_path / "queue.db", env)
    first_stderr = ""
    try:
        # a broken model and then a good one, registered straight from Python
        started = time.monotonic()
        _register(server, tmp_path, "broken", 'raise RuntimeError("no price table")')
        broken = _version_tags(client, "1", time.monotonic() + 600)
        took = time.monotonic() - started
        assert broken["mfc.validation.status"] == "failed", broken
        assert "SBX003" in broken["mfc.validation.failed_codes"].split(",")
        assert broken["mfc.validation.source"] == "webhook"
        assert "no price table" in client.get_model_version("gated-scorer", "1").description
        _register(server, tmp_path, "good", "return model_input")
        good = _version_tags(client, "2", time.monotonic() + 600)
        assert good["mfc.validation.status"] == "passed", good
        assert client.get_model_version_by_alias("gated-scorer", "validated").version == "2"
        print(f"registration to verdict: {took:.1f} s")

        # deliveries that are not the server's: refused, logged, and nothing is validated
        body = json.dumps(
            {
                "entity": "model_version",
                "action": "created",
                "timestamp": "",
                "data": {"name": "gated-scorer", "version": "9", "source": "", "tags": {}},
            }
        ).encode()
        now = int(time.time())
        assert _post(hook, body, _signed("d-1", now, body, "not-the-secret")) == 401
        assert _post(hook, body, _signed("d-2", now - 3600, body)) == 401  # a replay
        malformed = b'{"entity": "model_version"}'
        assert _post(hook, malformed, _signed("d-3", now, malformed)) == 400
        health = _get(f"{hook}health")
        assert (health["queued"], health["running"], health["done"]) == (0, 0, 2)
        with urllib.request.urlopen(hook, timeout=10) as page:
            assert "gated-scorer" in page.read().decode()

        # the receiver killed mid-validation: the next one takes the job back and validates
        # the version once
        _register(server, tmp_path, "good-again", "return model_input")
        deadline = time.monotonic() + 120
        while _get(f"{hook}health")["running"] != 1:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        receiver.kill()
        _, first_stderr = receiver.communicate(timeout=60)
        assert "gated-scorer/3: validating (attempt 1)" in first_stderr
        receiver = _start_receiver(server, port, tmp_path / "queue.db", env)
        again = _version_tags(client, "3", time.monotonic() + 600)
        assert again["mfc.validation.status"] == "passed"
        assert client.get_model_version_by_alias("gated-scorer", "validated").version == "3"
        health = _get(f"{hook}health")
        assert (health["queued"], health["running"], health["done"]) == (0, 0, 3)

        # a burst of 50 versions of that model, registered as fast as the server takes them:
        # none is lost, each gets the verdict, and the model is not validated 50 times
        third = client.get_model_version("gated-scorer", "3")
        for _ in range(50):
            client.create_model_version(
                "gated-scorer", third.source, third.run_id, model_id=third.source.split("/")[-1]
            )
        deadline = time.monotonic() + 300
        while _get(f"{hook}health")["done"] < 53:
            assert time.monotonic() < deadline, _get(f"{hook}health")
            time.sleep(1)
        statuses = {
            v.version: v.tags.get("mfc.validation.status")
            for v in client.search_model_versions("name = 'gated-scorer'")
        }
        assert len(statuses) == 53 and all(statuses[str(n)] == "passed" for n in range(4, 54)), (
            statuses
        )
        assert client.get_model_version_by_alias("gated-scorer", "validated").version == "53"
    finally:
        receiver.send_signal(signal.SIGTERM)
        _, stderr = receiver.communicate(timeout=60)
    assert receiver.returncode == 0, stderr
    assert "Traceback" not in first_stderr + stderr and SECRET not in first_stderr + stderr
    assert "refused delivery 'd-1': the signature does not match" in first_stderr
    assert "refused delivery 'd-2'" in first_stderr and "a replay" in first_stderr
    assert "gated-scorer/1: failed (SBX003" in first_stderr, first_stderr
    assert "took back 1 job(s) of a receiver that died" in stderr
    assert "gated-scorer/3: validating (attempt 2)" in stderr
    assert stderr.count("gated-scorer/3: passed") == 1
    assert stderr.count("as gated-scorer/3, validated before") == 50
    assert stderr.count(": validating (attempt") == 1  # version 3's, after the restart

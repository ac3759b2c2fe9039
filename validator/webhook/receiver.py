"""`mfc-validator webhook`: an HTTP receiver for an MLflow server's registry webhooks.

Each delivery's signature and timestamp are verified (401 otherwise); a `model_version.created`
event is stored in the durable queue and answered 202 at once; a bounded pool of workers
validates the queued versions, each in a process of its own (`mfc-validator validate
models:/NAME/VERSION`), and writes the verdict on the version: the `mfc.validation.*` tags that
`register` writes, the report's summary in its description, and the alias, only for a version
that passed. A version `register` validated already carries its verdict and is not validated
again. `/health` answers JSON for probes, `/` a small status page for operators.
"""

from __future__ import annotations

import contextlib
import dataclasses
import html
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from validator.registry.tags import STATUS_TAG, validation_tags
from validator.report import report_from_dict
from validator.webhook.queue import QUEUE_ENV, Job, Queue, owner_id
from validator.webhook.signature import DELIVERY_HEADER, refusal

MAX_BODY = 1 << 20  # a registry event is a few hundred bytes
FAILED_CODES_TAG = "mfc.validation.failed_codes"
SOURCE_TAG = "mfc.validation.source"
DESCRIPTION_MARK = "<!-- mfc-validator -->"
WRITE_RETRIES = (1.0, 2.0, 4.0, 8.0)  # seconds between attempts to write a verdict
RECLAIM_EVERY = 30.0  # seconds idle between looks for this host's dead receivers' jobs


@dataclass
class Settings:
    tracking_uri: str
    secret: str
    queue: str  # a SQLite file or a database URL (see queue.queue_url)
    alias: str | None = None
    workers: int = 1
    timeout: float | None = None
    log: Callable[[str], None] = lambda line: print(
        f"mfc-validator webhook: {line}", file=sys.stderr, flush=True
    )
    retries: tuple[float, ...] = WRITE_RETRIES


@dataclass
class Verdict:
    status: str  # passed | failed | error
    tags: dict[str, str] = field(default_factory=dict)
    summary: str = ""


def _report_verdict(data: dict[str, Any]) -> Verdict:
    """The verdict of the validation's JSON report: the tags `register` writes (but the content
    hash, which a logged model has none of), the failed codes, and a summary."""
    report = report_from_dict(data)
    failed = [f for f in report.checks if f.status == "failed"]
    warned = [f for f in report.checks if f.status == "warning"]
    tags = {key: value for key, value in validation_tags(report, "").items() if value}
    tags[FAILED_CODES_TAG] = ",".join(sorted({f.code for f in failed}))
    tags[SOURCE_TAG] = "webhook"
    lines = [DESCRIPTION_MARK, f"**mfc-validator: {report.status}**"]
    for finding in failed + warned:
        where = f" ({finding.location})" if finding.location else ""
        lines.append(f"- {finding.code} {finding.status}: {finding.message}{where}")
    return Verdict(report.status, tags, "\n".join(lines))


def _prctl() -> Callable[[int, int], int] | None:
    try:
        import ctypes

        call: Callable[[int, int], int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux
        return None
    return call


_PRCTL = _prctl()  # resolved here: between fork and exec, a child must not import or load
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the validation's process: end it (SIGTERM, so that it cleans up) when the thread that
    started it ends, the receiver killed included."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM)


def validation_env(settings: Settings, environ: Mapping[str, str]) -> dict[str, str]:
    """The validation's environment: the receiver's, but neither the webhook's secret nor the
    queue's database (whose URL may hold a password). The tracking credentials stay, to
    download the model; the validator keeps them out of the sandbox and the report."""
    hidden = {settings.secret, settings.queue}
    return {
        key: value for key, value in environ.items() if value not in hidden and key != QUEUE_ENV
    }


def validate(job: Job, settings: Settings, renew: Callable[[], None]) -> Verdict:
    """Validate the version in a process of its own; its report's verdict."""
    with tempfile.TemporaryDirectory(prefix="mfc-webhook-") as scratch:
        out = Path(scratch) / "report.json"
        command = [
            sys.executable,
            "-m",
            "validator",
            "validate",
            f"models:/{job.name}/{job.version}",
            "--tracking-uri",
            settings.tracking_uri,
            "--format",
            "json",
            "--output",
            str(out),
        ]
        if settings.timeout:
            command += ["--timeout", str(settings.timeout)]
        process = subprocess.Popen(
            command,
            env=validation_env(settings, os.environ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_die_with_parent,
        )
        stderr = ""
        while True:
            try:
                _, stderr = process.communicate(timeout=30)
                break
            except subprocess.TimeoutExpired:
                renew()
        if not out.is_file():
            last = (stderr or "").strip().splitlines()[-1:] or [f"exit status {process.returncode}"]
            return Verdict("error", summary=f"the validation could not be made: {last[0]}")
        return _report_verdict(json.loads(out.read_text(encoding="utf-8")))


def _description(current: str | None, summary: str) -> str:
    """The version's description with the verdict, the user's own text kept."""
    own = (current or "").split(DESCRIPTION_MARK, 1)[0].rstrip()
    return f"{own}\n\n{summary}" if own else summary


def write_verdict(client: Any, job: Job, verdict: Verdict, alias: str | None) -> None:
    """The verdict on the version; its status tag last, so that whoever sees it sees all."""
    for key, value in verdict.tags.items():
        if key != STATUS_TAG:
            client.set_model_version_tag(job.name, job.version, key, value)
    current = client.get_model_version(job.name, job.version).description
    client.update_model_version(job.name, job.version, _description(current, verdict.summary))
    if alias and verdict.status == "passed":
        client.set_registered_model_alias(job.name, alias, job.version)
    client.set_model_version_tag(job.name, job.version, STATUS_TAG, verdict.tags[STATUS_TAG])


class Receiver:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.queue = Queue(settings.queue)
        self.owner = owner_id()
        self.stopping = threading.Event()
        self.wake = threading.Event()

    # -- the workers -------------------------------------------------------------------
    def _client(self) -> Any:
        from mlflow import MlflowClient

        uri = self.settings.tracking_uri
        return MlflowClient(tracking_uri=uri, registry_uri=uri)

    def _record(self, job: Job, verdict: Verdict) -> str:
        """Write VERDICT on the version, retrying a failing server; what was recorded."""
        error = ""
        for pause in (*self.settings.retries, None):
            try:
                write_verdict(self._client(), job, verdict, self.settings.alias)
                return verdict.status
            except Exception as exc:  # the server down or refusing: retried, then recorded
                error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                if pause is None or self.stopping.is_set():
                    break
                self.settings.log(
                    f"{job.name}/{job.version}: writing the verdict failed ({error}); "
                    f"again in {pause:g} s"
                )
                time.sleep(pause)
        return f"unrecorded {verdict.status}: {error}"

    def work_one(self) -> bool:
        job = self.queue.claim(self.owner, time.time())
        if job is None:
            return False
        name = f"{job.name}/{job.version}"
        if job.tags.get(STATUS_TAG):  # registered by `register`, which validated it first
            verdict = Verdict(job.tags[STATUS_TAG], summary="")
            detail = "validated by mfc-validator register before it was registered"
            if self.settings.alias and verdict.status == "passed":
                with contextlib.suppress(Exception):
                    self._client().set_registered_model_alias(
                        job.name, self.settings.alias, job.version
                    )
            self.queue.finish(job, self.owner, verdict.status, detail, time.time())
            self.settings.log(f"{name}: {detail}; not validated again")
            return True
        started = time.time()
        known = self.queue.remembered(job.source)
        if known is not None:  # another version of the same logged model: its verdict
            saved, first_name, first_version = known
            verdict = Verdict(**json.loads(saved))
            how = f"the same model ({job.source}) as {first_name}/{first_version}, validated before"
        else:
            self.settings.log(f"{name}: validating (attempt {job.attempts})")
            verdict = validate(
                job, self.settings, lambda: self.queue.renew(job, self.owner, time.time())
            )
            how = f"validated in {time.time() - started:.1f} s"
            if verdict.status != "error":
                saved = json.dumps(dataclasses.asdict(verdict))
                self.queue.remember(job.source, saved, job.name, job.version)
        recorded = self._record(job, verdict) if verdict.status != "error" else "error"
        detail = verdict.tags.get(FAILED_CODES_TAG, "") or verdict.summary.splitlines()[-1]
        self.queue.finish(job, self.owner, recorded, detail, time.time())
        took = time.time() - job.received
        self.settings.log(
            f"{name}: {recorded} ({detail or 'no failed check'}); {how}, "
            f"{took:.1f} s after the event"
        )
        return True

    def reclaim(self) -> None:
        """Take back the jobs of receivers on this host that died (those elsewhere come back
        when their lease ends)."""
        reclaimed = self.queue.reclaim_dead()
        if reclaimed:
            self.settings.log(f"took back {reclaimed} job(s) of a receiver that died")

    def _worker(self) -> None:
        idle_since = time.monotonic()
        while not self.stopping.is_set():
            try:
                worked = self.work_one()
                if worked:
                    idle_since = time.monotonic()
                elif time.monotonic() - idle_since > RECLAIM_EVERY:  # a receiver sharing
                    self.reclaim()  # the queue on this host may have died meanwhile
                    idle_since = time.monotonic()
            except Exception as exc:  # a bug or a broken queue: said, never silent
                self.settings.log(f"worker error: {type(exc).__name__}: {exc}")
                worked = False
            if not worked:
                self.wake.wait(2.0)
                self.wake.clear()

    # -- the HTTP side -----------------------------------------------------------------
    def accept(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        """(status, answer) for one delivery."""
        why = refusal(self.settings.secret, headers, body, time.time())
        delivery = next((v for k, v in headers.items() if k.lower() == DELIVERY_HEADER.lower()), "")
        if why is not None:
            self.settings.log(f"refused delivery {delivery[:64]!r}: {why}")
            return 401, {"error": why}
        try:
            event = json.loads(body)
            entity, action, data = event["entity"], event["action"], event["data"]
            if entity == "model_version" and action == "created":
                _ = str(data["name"]), str(data["version"])
        except (ValueError, KeyError, TypeError) as exc:
            self.settings.log(f"refused delivery {delivery[:64]!r}: malformed body ({exc})")
            return 400, {"error": f"malformed body: {exc}"}
        if (entity, action) != ("model_version", "created"):
            return 202, {"queued": False, "reason": f"{entity}.{action} is not validated"}
        queued = self.queue.add(delivery, data, time.time())
        self.wake.set()
        if not queued:
            self.settings.log(f"{data['name']}/{data['version']}: seen before; not queued again")
        return 202, {"queued": queued}

    def status_page(self) -> str:
        counts = self.queue.counts()
        rows = "".join(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(item[key] if item[key] is not None else ''))}</td>"
                for key in ("name", "version", "state", "verdict", "detail")
            )
            + "</tr>"
            for item in self.queue.recent()
        )
        return (
            "<!doctype html><title>mfc-validator webhook</title><h1>mfc-validator webhook</h1>"
            f"<p>queued {counts['queued']}, running {counts['running']}, done "
            f"{counts['done']}</p><table><tr><th>model</th><th>version</th><th>state</th>"
            f"<th>verdict</th><th>detail</th></tr>{rows}</table>"
        )

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return  # one line per delivery is logged by accept()

            def _answer(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path == "/health":
                    answer = {"status": "ok", **receiver.queue.counts()}
                    self._answer(200, json.dumps(answer).encode(), "application/json")
                elif self.path in ("/", "/status"):
                    self._answer(200, receiver.status_page().encode(), "text/html; charset=utf-8")
                else:
                    self._answer(404, b'{"error": "not found"}', "application/json")

            def do_POST(self) -> None:
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    length = -1
                if not 0 < length <= MAX_BODY:
                    self._answer(400, b'{"error": "a body of 1 to 1 MiB"}', "application/json")
                    return
                body = self.rfile.read(length)
                status, answer = receiver.accept(dict(self.headers.items()), body)
                self._answer(status, json.dumps(answer).encode(), "application/json")

        return Handler

    @contextlib.contextmanager
    def running(self, host: str, port: int) -> Iterator[ThreadingHTTPServer]:
        """Serve and work until the block ends; the workers' validations are stopped then."""
        self.reclaim()
        server = ThreadingHTTPServer((host, port), self.handler())
        threads = [threading.Thread(target=server.serve_forever, daemon=True)]
        threads += [
            threading.Thread(target=self._worker, daemon=True)
            for _ in range(max(1, self.settings.workers))
        ]
        for thread in threads:
            thread.start()
        try:
            yield server
        finally:
            self.stopping.set()
            self.wake.set()
            server.shutdown()
            server.server_close()

"""`mfc-validator webhook`: serve an MLflow server's registry webhooks (see
`validator.webhook.receiver`), or `--install URL` the webhook on that server."""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any

from validator.errors import ValidatorError
from validator.tracking import server_check
from validator.webhook.queue import DEFAULT_QUEUE, QUEUE_ENV, shown
from validator.webhook.receiver import Receiver, Settings

WEBHOOK_NAME = "mfc-validator"
EVENT = "model_version.created"


def secret_from(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise ValidatorError(
            f"--secret-env {name}: the variable is not set; set it to the webhook's shared "
            "secret (the one the webhook was created with)"
        )
    return value


def listen_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValidatorError(f"--listen {text}: expected HOST:PORT, e.g. 127.0.0.1:8765")
    return host.strip("[]"), int(port)


def install(tracking_uri: str, url: str, secret: str) -> str:
    """Create the webhook on the server (MLflow's own client); its id."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    try:
        hook: Any = client.create_webhook(name=WEBHOOK_NAME, url=url, events=[EVENT], secret=secret)
    except Exception as exc:
        cause = server_check.store_failure(exc) or str(exc).splitlines()[0]
        raise ValidatorError(
            f"cannot create the webhook on {server_check.shown_uri(tracking_uri)}: {cause}"
        ) from None
    return str(hook.webhook_id)


def serve(settings: Settings, host: str, port: int) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    try:
        receiver = Receiver(settings)
    except (OSError, SQLAlchemyError) as exc:
        cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        fix = (
            "give a database that is up and that this user may create tables in"
            if "://" in settings.queue
            else "give a file in a writable folder"
        )
        raise ValidatorError(
            f"--queue {shown(settings.queue)}: cannot open the queue there ({cause}); {fix}"
        ) from None
    stop = threading.Event()

    def stopped(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, stopped) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with receiver.running(host, port) as server:
            bound_host, bound_port = str(server.server_address[0]), int(server.server_address[1])
            settings.log(
                f"listening on http://{bound_host}:{bound_port}/ for {EVENT} events of "
                f"{server_check.shown_uri(settings.tracking_uri)}; queue {shown(settings.queue)}, "
                f"{settings.workers} worker(s)"
                + (f", alias '{settings.alias}' for versions that pass" if settings.alias else "")
            )
            sys.stderr.flush()
            stop.wait()
    except OSError as exc:
        raise ValidatorError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    settings.log("stopped; jobs left running are taken back at the next start")
    return 0


def run(args: Any) -> int:
    uri = args.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        raise ValidatorError(
            "webhook needs the MLflow server: --tracking-uri or MLFLOW_TRACKING_URI"
        )
    secret = secret_from(args.secret_env)
    server_check.preflight(uri)
    if args.install:
        webhook_id = install(uri, args.install, secret)
        where = server_check.shown_uri(uri)
        print(f"created webhook {webhook_id} ({EVENT} -> {args.install}) on {where}")
        return 0
    host, port = listen_address(args.listen)
    settings = Settings(
        tracking_uri=uri,
        secret=secret,
        queue=args.queue or os.environ.get(QUEUE_ENV) or DEFAULT_QUEUE,
        alias=args.alias,
        workers=args.workers,
        timeout=args.timeout,
    )
    return serve(settings, host, port)

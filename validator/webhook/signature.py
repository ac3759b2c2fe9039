"""Verify an MLflow webhook delivery: its HMAC-SHA256 signature over
`delivery_id.timestamp.body` with the shared secret (MLflow's `v1,<base64>` format, see
`mlflow.webhooks.delivery`), and a timestamp recent enough that an old delivery cannot be
replayed. Pure: no mlflow import, no clock of its own."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

SIGNATURE_HEADER = "X-MLflow-Signature"
TIMESTAMP_HEADER = "X-MLflow-Timestamp"
DELIVERY_HEADER = "X-MLflow-Delivery-Id"
VERSION = "v1"
TOLERANCE_S = 300  # a delivery older (or newer) than this is refused as a replay


def _header(headers: Mapping[str, str], name: str) -> str:
    lowered = name.lower()
    return next((value for key, value in headers.items() if key.lower() == lowered), "")


def refusal(
    secret: str, headers: Mapping[str, str], body: bytes, now: float, tolerance: float = TOLERANCE_S
) -> str | None:
    """Why the delivery must be refused (401), or None when it is genuine and fresh."""
    delivery = _header(headers, DELIVERY_HEADER)
    stamp = _header(headers, TIMESTAMP_HEADER)
    signature = _header(headers, SIGNATURE_HEADER)
    if not (delivery and stamp and signature):
        missing = [
            name
            for name, value in (
                (DELIVERY_HEADER, delivery),
                (TIMESTAMP_HEADER, stamp),
                (SIGNATURE_HEADER, signature),
            )
            if not value
        ]
        return f"no {', '.join(missing)} header"
    try:
        sent = int(stamp)
    except ValueError:
        return f"{TIMESTAMP_HEADER} is not a Unix time: {stamp[:40]!r}"
    if abs(now - sent) > tolerance:
        return f"the delivery is {int(now - sent)} s old (more than {tolerance:g} s): a replay"
    version, _, given = signature.partition(",")
    if version != VERSION or not given:
        return f"{SIGNATURE_HEADER} is not a {VERSION} signature"
    try:
        content = f"{delivery}.{stamp}.".encode() + body
    except UnicodeEncodeError:
        return "the delivery id is not text"
    expected = base64.b64encode(
        hmac.new(secret.encode("utf-8"), content, hashlib.sha256).digest()
    ).decode("ascii")
    if not hmac.compare_digest(expected, given.strip()):
        return "the signature does not match the shared secret"
    return None

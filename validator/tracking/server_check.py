"""The tracking server, checked once before anything is logged, and MLflow's own HTTP calls kept
short. A wrong URI, a server that refuses the credentials, or something that is not an MLflow
server ends the command at once (exit status 2) with the cause in one line, instead of after
minutes of MLflow's retries. A server that is there but slow to answer (a busy one) is waited for
as long as MLflow's own calls would wait (MLFLOW_HTTP_REQUEST_TIMEOUT), saying so after
SLOW_NOTICE_S. Needs only `requests` (which MLflow brings), not mlflow itself.

A server that fails after the run was created is a `StoreFailed`, raised where the failing step
is known (see `store_failure`)."""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from validator.errors import ValidatorError

# MLflow's defaults (7 retries, 120 s a request) take about 4 minutes to give up on a server
# that is gone; these bound the validator's own calls, unless the user set them
HTTP_BOUNDS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
}
# a server silent this long is said to be slow on stderr, and waited for up to the timeout
SLOW_NOTICE_S = 10.0
# what authenticates to a tracking server: never passed on to the sandbox or its build
TRACKING_CREDENTIALS = (
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_TOKEN",
)
_SEARCH = "/api/2.0/mlflow/experiments/search"
_TIMEOUT = "MLFLOW_HTTP_REQUEST_TIMEOUT"
# (URI, credentials) whose server passed the check in this process: not checked (or waited
# for) again by the next step of the same command
_PASSED: set[tuple[str, ...]] = set()
Notify = Callable[[str], None]


class StoreFailed(Exception):
    """The tracking server failed after the run was created, while doing STEP."""

    def __init__(self, step: str, cause: str) -> None:
        super().__init__(f"{step}: {cause}")
        self.step = step
        self.cause = cause

    def __reduce__(self) -> tuple[type[StoreFailed], tuple[str, str]]:
        # raised in a worker, re-raised in the validator
        return (StoreFailed, (self.step, self.cause))


def without_credentials(environ: Mapping[str, str]) -> dict[str, str]:
    return {key: value for key, value in environ.items() if key not in TRACKING_CREDENTIALS}


def is_http(uri: str) -> bool:
    return urlsplit(uri).scheme in ("http", "https")


def bound_http(environ: MutableMapping[str, str]) -> None:
    for name, value in HTTP_BOUNDS.items():
        environ.setdefault(name, value)


def _who(environ: Mapping[str, str]) -> str:
    user = environ.get("MLFLOW_TRACKING_USERNAME")
    if user and environ.get("MLFLOW_TRACKING_PASSWORD"):
        return f"user '{user}' (MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD)"
    if environ.get("MLFLOW_TRACKING_TOKEN"):
        return "the token in MLFLOW_TRACKING_TOKEN"
    return ""


def _refused(status: int, environ: Mapping[str, str]) -> str:
    who = _who(environ)
    if status == 403:
        return (
            f"HTTP 403: {who or 'an anonymous client'} may not read this server's experiments; "
            "ask its admin for permissions"
        )
    if who:
        return f"HTTP 401: the server refuses {who}; check them"
    return (
        "HTTP 401: the server asks for credentials; set MLFLOW_TRACKING_USERNAME and "
        "MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN"
    )


def _request_options(environ: Mapping[str, str]) -> dict[str, Any]:
    """Credentials and TLS settings as MLflow's own client uses them."""
    options: dict[str, Any] = {"headers": {}, "allow_redirects": True}
    user, password = (
        environ.get("MLFLOW_TRACKING_USERNAME"),
        environ.get("MLFLOW_TRACKING_PASSWORD"),
    )
    if user and password:
        options["auth"] = (user, password)
    elif environ.get("MLFLOW_TRACKING_TOKEN"):
        options["headers"]["Authorization"] = f"Bearer {environ['MLFLOW_TRACKING_TOKEN']}"
    if environ.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() == "true":
        options["verify"] = False
    elif environ.get("MLFLOW_TRACKING_SERVER_CERT_PATH"):
        options["verify"] = environ["MLFLOW_TRACKING_SERVER_CERT_PATH"]
    if environ.get("MLFLOW_TRACKING_CLIENT_CERT_PATH"):
        options["cert"] = environ["MLFLOW_TRACKING_CLIENT_CERT_PATH"]
    return options


def connection_cause(exc: BaseException, timeout: float) -> str:
    """What went wrong with a connection, in a few words: refused, unknown host, TLS, timeout."""
    import requests

    if isinstance(exc, requests.exceptions.SSLError):
        return _tls(str(exc))
    if isinstance(exc, requests.exceptions.Timeout):
        return f"timeout: no answer within {timeout:g} s (MLFLOW_HTTP_REQUEST_TIMEOUT)"
    url = getattr(getattr(exc, "request", None), "url", "") or ""
    return _cause_in(str(exc), urlsplit(url).hostname)


def _tls(text: str) -> str:
    found = re.search(r"\[SSL[^\]]*\][^'\"(]*", text)
    reason = found.group(0).strip() if found else text.strip().splitlines()[0][:160]
    return (
        f"TLS failure ({reason}); use http:// if the server has no TLS, or point "
        "MLFLOW_TRACKING_SERVER_CERT_PATH at its CA certificate"
    )


def _cause_in(text: str, host: str | None = None) -> str:
    """The cause a requests or urllib3 error message names."""
    if "NameResolutionError" in text or "Name or service not known" in text:
        return f"unknown host{f' {host!r}' if host else ''}: no address for that name"
    if "Connection refused" in text or "[Errno 111]" in text:
        return "connection refused: nothing listens there"
    if "SSLError" in text or "CERTIFICATE_VERIFY_FAILED" in text:
        return _tls(text)
    if "timed out" in text or "Timeout" in text:
        return "timeout: no answer in time (MLFLOW_HTTP_REQUEST_TIMEOUT)"
    if "RemoteDisconnected" in text or "Connection reset" in text or "Connection aborted" in text:
        return "the server closed the connection without an answer"
    if "too many 5" in text or "ResponseError" in text:
        return "the server answered with errors (HTTP 5xx) on every try"
    first = text.strip().splitlines()[0] if text.strip() else "no detail"
    return first[:300]


def shown_uri(uri: str) -> str:
    """URI as messages and reports may show it: a password written into it is left out."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    host = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=f"{parts.username}@{host}").geturl()


def _stderr(message: str) -> None:
    sys.stderr.write(f"mfc-validator: {message}\n")
    sys.stderr.flush()


def preflight(
    uri: str, environ: MutableMapping[str, str] | None = None, notify: Notify = _stderr
) -> None:
    """Check the tracking server at URI once, before anything is logged: it answers, it is an
    MLflow server, and it accepts the credentials. Bound MLflow's own retries for what follows.
    Refused connections and unknown hosts fail at once; a server that has not answered after
    SLOW_NOTICE_S is said (through NOTIFY) to be waited for, up to the request timeout MLflow's
    own calls then get (MLFLOW_HTTP_REQUEST_TIMEOUT, else HTTP_BOUNDS'). Stores that are not
    reached over HTTP (sqlite:, file:, databricks) are left to MLflow."""
    if not is_http(uri):
        return
    env = os.environ if environ is None else environ
    user_timeout = env.get(_TIMEOUT)
    try:
        timeout = float(user_timeout or HTTP_BOUNDS[_TIMEOUT])
    except ValueError:
        raise ValidatorError(
            f"MLFLOW_HTTP_REQUEST_TIMEOUT={user_timeout!r}: expected a number of seconds"
        ) from None
    bound_http(env)
    checked = (uri, *(env.get(name, "") for name in TRACKING_CREDENTIALS))
    if checked in _PASSED:
        return
    with _saying_when_slow(shown_uri(uri), timeout, notify):
        problem = _problem(uri.rstrip("/"), env, timeout)
    if problem:
        raise ValidatorError(f"cannot use the tracking server {shown_uri(uri)}: {problem}")
    _PASSED.add(checked)


@contextmanager
def _saying_when_slow(shown: str, timeout: float, notify: Notify) -> Iterator[None]:
    """NOTIFY, once, when what the block waits for takes longer than SLOW_NOTICE_S."""
    if timeout <= SLOW_NOTICE_S:
        yield
        return
    timer = threading.Timer(
        SLOW_NOTICE_S,
        notify,
        [
            f"the tracking server at {shown} has not answered for {SLOW_NOTICE_S:g} s; waiting "
            f"up to {timeout:g} s for it (MLFLOW_HTTP_REQUEST_TIMEOUT)"
        ],
    )
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _problem(base: str, environ: Mapping[str, str], timeout: float) -> str | None:
    import requests

    options = _request_options(environ)
    try:
        with requests.Session() as session:
            health = session.get(f"{base}/health", timeout=(timeout, timeout), **options)
            if health.status_code in (401, 403):
                return _refused(health.status_code, environ)
            if health.status_code != 200:
                return (
                    f"not an MLflow server: GET /health answered HTTP {health.status_code}; "
                    "check the URI's host, port and path"
                )
            search = session.get(
                f"{base}{_SEARCH}", params={"max_results": 1}, timeout=(timeout, timeout), **options
            )
    except requests.exceptions.InvalidURL as exc:
        return f"not a valid URL ({exc})"
    except requests.exceptions.RequestException as exc:
        return connection_cause(exc, timeout)
    if search.status_code in (401, 403):
        return _refused(search.status_code, environ)
    try:
        answer = search.json()
    except ValueError:
        answer = None
    if search.status_code != 200 or not isinstance(answer, dict):
        kind = search.headers.get("content-type", "no content type")
        return (
            f"not an MLflow server: GET {_SEARCH} answered HTTP {search.status_code} ({kind}) "
            "instead of MLflow's JSON; check the URI's host, port and path"
        )
    return None


def store_failure(exc: BaseException) -> str | None:
    """The cause, when EXC (or what it was raised from) is the tracking server failing: a
    connection error, an HTTP error, or MLflow's REST client giving up. None otherwise."""
    import requests

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, requests.exceptions.RequestException):
            response = current.response
            if response is not None:
                return f"HTTP {response.status_code} from {urlsplit(str(response.url)).path}"
            return connection_cause(current, float(os.environ.get(_TIMEOUT, "0") or 0))
        name = type(current).__name__
        if name == "RestException" or (
            name == "MlflowException" and "API request to" in str(current)
        ):
            return _cause_in(str(current))
        current = current.__cause__ or current.__context__
    return None

"""One request through MLflow's scoring server, as `mlflow models serve` answers it: used by the
validator's checking worker and, loaded by file path, by the sandbox's probe.

A leaf: the standard library and mlflow only (imported when called), no other module of the
validator, because the probe runs it with the sandbox's interpreter, where the validator is not
installed (see `validator.sandbox.probe`, which must never put this folder on `sys.path`: it
would shadow the model's own modules). So it imports MLflow's private names itself; each is listed,
with what is assumed of it, in `validator/mlflow_private.py`.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


def chain(exc: BaseException) -> list[BaseException]:
    """EXC and the exceptions it was raised from or while handling, outermost first, as Python's
    traceback shows them: `raise ... from None` hides the context (os.environ's
    KeyError(b'NAME') too)."""
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in found:
        found.append(current)
        hidden = current.__suppress_context__ and current.__cause__ is None
        current = current.__cause__ or (None if hidden else current.__context__)
    return found


@dataclass(frozen=True)
class Served:
    """What MLflow's scoring server answers a request: its status and body, or the stage that
    failed (request: refused before predict ran; predict: raised; respond: the answer is no
    JSON) with the exception; PREDICTIONS are predict's own return value, when it returned."""

    status: int
    body: str
    stage: str  # ok, request, predict or respond
    error: BaseException | None = None
    predictions: Any = None


def serve(model: Any, payload: str) -> Served:
    """PAYLOAD through `mlflow.pyfunc.scoring_server.invocations`, the function behind
    `/invocations` of `mlflow models serve`: the same parsing, schema enforcement, prediction
    and JSON answer, with MODEL loaded as serving loads it. Whatever the model raises (a
    SystemExit too) is the answer's error, never raised here."""
    from mlflow.exceptions import MlflowException
    from mlflow.pyfunc.scoring_server import invocations

    original = model._predict_fn
    reached: list[str] = []
    out: dict[str, Any] = {}

    @functools.wraps(original)
    def traced(*args: Any, **kwargs: Any) -> Any:
        reached.append("predict")
        out["predictions"] = original(*args, **kwargs)
        reached.append("respond")
        return out["predictions"]

    model._predict_fn = traced
    try:
        response = invocations(
            payload, "application/json", model, model.metadata.get_input_schema()
        )
    except BaseException as exc:  # SystemExit from the model's code too
        status = exc.get_http_status_code() if isinstance(exc, MlflowException) else 500
        return Served(status, str(exc), reached[-1] if reached else "request", exc)
    finally:
        model._predict_fn = original
    stage = "ok" if response.status == 200 else "request"
    return Served(response.status, str(response.response), stage, None, out.get("predictions"))


@contextlib.contextmanager
def requirement_scan_skipped() -> Iterator[None]:
    """Skip MLflow's scan of installed packages against the requirements when it logs or loads
    a model: it only warns, takes most of a second, and the sandbox checks the requirements
    for real (there they are exactly the logged ones)."""
    import mlflow.pyfunc
    import mlflow.utils.environment as environment

    def skip(*args: object, **kwargs: object) -> None:
        return None

    modules = (environment, mlflow.pyfunc)
    saved = [module.warn_dependency_requirement_mismatches for module in modules]
    for module in modules:
        module.warn_dependency_requirement_mismatches = skip
    try:
        yield
    finally:
        for module, original in zip(modules, saved, strict=True):
            module.warn_dependency_requirement_mismatches = original

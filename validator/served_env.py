"""What a serving host gives a model's code: the environment of the validator's workers and of
the sandbox's probe (see `validator.inprocess.isolation`, `validator.sandbox.runner`)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from validator.tracking.server_check import TRACKING_CREDENTIALS

# a host's own: where programs are, and the text encoding
_HOST = ("PATH", "LANG")
# MLflow quiet and local in the validation's own processes: no usage telemetry, and no traces
# of the validation's predictions (async trace logging would start threads at exit)
MLFLOW_DEFAULTS = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "MLFLOW_TRACE_SAMPLING_RATIO": "0",
    "MLFLOW_ENABLE_ASYNC_TRACE_LOGGING": "false",
}
# the variables that turn MLflow's usage telemetry off, which the sandbox sets too
TELEMETRY_OFF = ("MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK")


def served_environment(
    declared: Iterable[str],
    home: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """PATH, LANG and the DECLARED variables that ENVIRON (this process's) sets, never the
    tracking store's credentials; HOME is HOME, a folder of the validation's own (empty: a
    serving host has none of the caller's files), or none."""
    environ = os.environ if environ is None else environ
    names = [*_HOST, *(name for name in declared if name not in TRACKING_CREDENTIALS)]
    env = {name: environ[name] for name in names if name in environ}
    env.setdefault("LANG", "C.UTF-8")
    if home is not None:
        env["HOME"] = str(home)
    return env

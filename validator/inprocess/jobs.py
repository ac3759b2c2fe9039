"""What the validator's workers run (see `validator.inprocess.child`), one function a call.

- The store's worker holds the validation's run from start to end. It runs no model code, with
  the caller's environment (the tracking store's credentials among it).
- The logging worker logs the model from code in that run and downloads it: MLflow runs the
  script there.
- The checking worker loads the logged model, answers the example twice and evaluates it, with
  only what a server gives a model: the declared variables and an empty HOME.

Each ends with `os._exit` (the worker's loop), so MLflow's exit-time `end_run` never runs in
them: the run ends only as the validator says.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from validator import mlflow_private
from validator.inprocess import child, evaluation, log_model
from validator.project.config import ProjectConfig
from validator.report import Finding
from validator.tracking import run_faults
from validator.tracking.store import ValidationRun, import_mlflow, quiet, start_run

_RUN: ValidationRun | None = None  # in the store's worker
_LOGGED: log_model.Logged | None = None  # in the checking worker: the model, loaded


# --- the store's worker ---------------------------------------------------------------------


def open_run(
    config: ProjectConfig, tracking_uri: str, default_store: bool, tags: dict[str, str]
) -> tuple[str, str]:
    """The run's id and its experiment's."""
    global _RUN
    _RUN = start_run(config, tracking_uri, default_store, tags)
    return _RUN.run_id, _RUN.experiment_id


def _run() -> ValidationRun:
    assert _RUN is not None, "open_run first"
    return _RUN


def reap() -> list[str]:
    return run_faults.reap(_run())


def finish(
    passed: bool, files: dict[str, str], tags: dict[str, str], metrics: dict[str, float]
) -> None:
    _run().finish(passed, files, tags, metrics)


def abandon() -> bool:
    return _run().abandon()


def end(status: str) -> None:
    """End the run as STATUS, if it was ever made and is still open."""
    if _RUN is not None:
        _RUN.end(status)


# --- the logging worker ---------------------------------------------------------------------


def log(
    config: ProjectConfig, run_id: str, tracking_uri: str, download_to: Path
) -> log_model.Logged:
    """Log the model in the run RUN_ID and download it to DOWNLOAD_TO."""
    sys.dont_write_bytecode = True  # the model's modules come from the user's folder
    child.set_roots(config.root)
    mlflow = import_mlflow()
    mlflow.set_tracking_uri(tracking_uri)
    with quiet():
        mlflow.start_run(run_id=run_id)
    child.mark("log")
    return log_model.log(config, ValidationRun(mlflow, run_id, tracking_uri), download_to)


# --- the checking worker --------------------------------------------------------------------


def check(config: ProjectConfig, logged: log_model.Logged) -> log_model.Logged:
    """SCR007 (loading), SIG008, SIG005 and SCR008 on the logged model; LOGGED comes back
    with those findings, the predictions and the paths that differ between two answers."""
    global _LOGGED
    assert logged.model_dir is not None
    sys.dont_write_bytecode = True  # the model's modules come from the user's folder
    child.set_roots(config.root, logged.model_dir)
    mlflow = import_mlflow()
    child.mark("load")
    logged.findings = log_model.check_loaded(mlflow, config, logged)
    _LOGGED = logged
    return dataclasses.replace(logged, model=None)  # the loaded model stays here


def evaluate(config: ProjectConfig) -> tuple[list[Finding], dict[str, float]]:
    """The evaluation gate on the model `check` loaded; its metrics go back to the validator,
    which records them in the run (this worker has no store of the caller's)."""
    assert _LOGGED is not None, "check first"
    child.mark("evaluate")
    mlflow = import_mlflow()
    # mlflow.models.evaluate logs to a run: a store of this worker's own, thrown away (a file
    # store: no database to create; MLflow 3.x asks for the opt-in)
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    # (a folder it makes itself, with its Default experiment)
    store = Path(tempfile.mkdtemp(prefix="mfc-evaluate-")) / "mlruns"
    mlflow.set_tracking_uri(store.as_uri())
    # the logged model lives in the caller's store, which this worker does not reach: the
    # metrics are linked to the validation's run by the validator, not to the model here
    unlinked = copy.copy(_LOGGED.model)
    mlflow_private.unlink_model_id(unlinked)  # PyFuncModel's (MLflow 3): evaluate links to it
    metrics: dict[str, float] = {}
    findings = evaluation.run(config, dataclasses.replace(_LOGGED, model=unlinked), metrics)
    return findings, metrics


def keep(value: Any) -> Any:
    """Return VALUE: a call that proves a worker answers (tests)."""
    return value

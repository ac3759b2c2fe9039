"""Log the model from code, as its author would run it, and check the logged model in-process:
each check is its own function, and `run` is the inprocess stage (SCR007, SIG004, SIG005,
SCR008, SIG008). Imports mlflow: never used by `check`."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from validator.inprocess import type_hints
from validator.inprocess.store import ValidationRun, quiet
from validator.project.config import ProjectConfig
from validator.report import Finding, failed, passed, skipped, warning
from validator.tracebacks import innermost, user_frame


@dataclass
class Logged:
    findings: list[Finding] = field(default_factory=list)
    run_id: str | None = None
    model_uri: str | None = None
    model_dir: Path | None = None  # local copy of the logged model folder
    predictions: str | None = None  # the in-process predictions, as the scoring server's JSON
    mlflow_version: str | None = None
    signature: dict[str, Any] | None = None  # {"inputs": [...], "outputs": [...]}, to_dict() form
    model: Any = None  # the logged model loaded in-process, so that no one runs the script again


@contextlib.contextmanager
def _as_if_run_from(root: Path) -> Iterator[None]:
    """Run the script as its author does: from the project folder, with it on sys.path."""
    cwd = Path.cwd()
    path = str(root.resolve())
    sys.path.insert(0, path)
    os.chdir(root)
    try:
        yield
    finally:
        os.chdir(cwd)
        with contextlib.suppress(ValueError):
            sys.path.remove(path)


@contextlib.contextmanager
def _without_requirement_scan() -> Iterator[None]:
    """Skip MLflow's scan of installed packages against the requirements: it only warns, takes
    most of a second, and the sandbox checks the requirements for real."""
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


def _script_failure(exc: BaseException, config: ProjectConfig, extra_roots: list[Path]) -> Finding:
    roots = [(config.root, "")] + [(root, "code/") for root in extra_roots]
    found = user_frame(exc, roots)
    script = config.script
    cause = innermost(exc)
    location, message = found or (script, f"{type(cause).__name__}: {cause}")
    hint = "fix the error at that line; run `python " + script + "` to reproduce it"
    if isinstance(cause, ModuleNotFoundError) and cause.name:
        hint = (
            f"install the package that provides '{cause.name}' and add it to "
            f"{config.requirements}, or list the module's file in model.yaml code_paths if it "
            "is yours"
        )
    return failed("SCR007", f"{script} raised while MLflow ran it: {message}", location, hint)


def log(
    config: ProjectConfig,
    run: ValidationRun,
    download_to: Path,
    on_downloaded: Callable[[Path], None] | None = None,
) -> Logged:
    """Log the model from code in RUN and download it to DOWNLOAD_TO, as a consumer gets it.

    ON_DOWNLOADED gets the downloaded model folder before the in-process checks, so that the
    sandbox can work on it at the same time. A script that raises fails SCR007.
    """
    mlflow = run.mlflow
    result = Logged(mlflow_version=mlflow.__version__, run_id=run.run_id)
    root = config.root.resolve()
    payload = json.loads((root / config.input_example).read_text(encoding="utf-8"))
    params = payload.get("params")
    data = {key: value for key, value in payload.items() if key != "params"}
    with quiet(), _as_if_run_from(root), _without_requirement_scan():
        example: Any = type_hints.logging_example(data)
        if params:
            example = (example, params)
        model_config: Any = config.model_config
        if isinstance(model_config, str):
            model_config = str(root / model_config)
        try:
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=str(root / config.script),
                input_example=example,
                pip_requirements=str(root / config.requirements),
                code_paths=[str(root / path) for path in config.code_paths] or None,
                artifacts={name: str(root / path) for name, path in config.artifacts.items()}
                or None,
                model_config=model_config or None,
            )
        except Exception as exc:
            result.findings.append(_script_failure(exc, config, []))
            return result
        result.model_uri = info.model_uri
        result.signature = _signature_dict(info.signature)
        # from the store, as a consumer gets it: for a server this is a real download
        result.model_dir = Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=info.model_uri, dst_path=str(download_to)
            )
        )
    if on_downloaded is not None:
        on_downloaded(result.model_dir)
    return result


def _signature_dict(signature: Any) -> dict[str, Any] | None:
    if signature is None:
        return None
    return {
        side: schema.to_dict() if schema is not None else None
        for side, schema in (("inputs", signature.inputs), ("outputs", signature.outputs))
    }


def check_signature(config: ProjectConfig, logged: Logged) -> Finding:
    """SIG004"""
    if logged.signature is None or logged.signature.get("inputs") is None:
        return failed(
            "SIG004",
            "the logged model has no signature, so serving cannot check requests",
            config.script,
            f"make sure {config.input_example} is a valid request, or type-hint predict",
        )
    return passed("SIG004")


def load(mlflow: Any, config: ProjectConfig, logged: Logged) -> Finding:
    """SCR007 at loading: the logged model loads in this process, as serving loads it."""
    assert logged.model_dir is not None
    try:
        with quiet(), _as_if_run_from(config.root.resolve()):
            logged.model = mlflow.pyfunc.load_model(str(logged.model_dir))
    except Exception as exc:
        return _script_failure(exc, config, [logged.model_dir])
    return passed("SCR007")


def parse_example(config: ProjectConfig, model: Any, payload: dict[str, Any]) -> Any:
    """SIG005: the example parsed by the scoring server's own code and held to the input schema.
    Returns the parsed request, or the failed finding."""
    from mlflow.models.utils import _enforce_schema
    from mlflow.pyfunc.scoring_server import _parse_json_data

    input_schema = model.metadata.get_input_schema()
    try:
        with quiet():
            parsed = _parse_json_data(json.dumps(payload), model.metadata, input_schema)
            if input_schema is not None and not model.metadata._is_signature_from_type_hint():
                _enforce_schema(parsed.data, input_schema)
    except Exception as exc:
        return failed(
            "SIG005",
            f"{config.input_example} does not conform to the logged input schema: {innermost(exc)}",
            config.input_example,
            "make the example match what predict expects (column names and types)",
        )
    return parsed


def predict(config: ProjectConfig, logged: Logged, parsed: Any) -> Finding:
    """SCR008: predict on the parsed example; the predictions, as the scoring server's JSON, go
    to LOGGED for the sandbox to compare with."""
    from mlflow.pyfunc.scoring_server import predictions_to_json

    assert logged.model_dir is not None
    try:
        with quiet(), _as_if_run_from(config.root.resolve()):
            if parsed.params:
                predictions = logged.model.predict(parsed.data, params=parsed.params)
            else:
                predictions = logged.model.predict(parsed.data)
    except Exception as exc:
        roots = [(config.root, ""), (logged.model_dir, "code/")]
        found = user_frame(exc, roots)
        location, message = found or (config.script, f"{type(exc).__name__}: {exc}")
        return failed(
            "SCR008",
            f"predict raised on {config.input_example}: {message}",
            location,
            "fix predict so it handles the example request; MLflow logs and registers a "
            "model whose predict raises, and serving then fails on every request",
        )
    out = io.StringIO()
    try:
        predictions_to_json(predictions, out)
    except Exception as exc:
        return warning(
            "SCR008",
            f"predict returned {type(predictions).__name__}, which the scoring server "
            f"cannot turn into JSON: {exc}",
            config.script,
            "return a DataFrame, Series, numpy array, list or dict of plain values",
        )
    logged.predictions = out.getvalue()
    return passed("SCR008")


def check_logged(mlflow: Any, config: ProjectConfig, logged: Logged) -> list[Finding]:
    """SIG004, SCR007 (loading), SIG008, SIG005 and SCR008 for a model that was logged."""
    payload = json.loads(config.path(config.input_example).read_text(encoding="utf-8"))
    findings = [check_signature(config, logged), load(mlflow, config, logged)]
    if logged.model is None:
        later = ("SIG005", "SCR008", "SIG008")
        return findings + [skipped(code, "the logged model does not load") for code in later]
    with quiet():
        findings.append(type_hints.check(logged.model, config, payload))
    parsed = parse_example(config, logged.model, payload)
    if isinstance(parsed, Finding):
        return [*findings, parsed, skipped("SCR008", "the input example does not conform")]
    findings.append(passed("SIG005"))
    findings.append(predict(config, logged, parsed))
    return findings


def log_and_check(
    config: ProjectConfig,
    run: ValidationRun,
    download_to: Path,
    on_downloaded: Callable[[Path], None] | None = None,
) -> Logged:
    """The inprocess stage: log the model, then check it; LOGGED.findings holds the outcome."""
    logged = log(config, run, download_to, on_downloaded)
    if logged.model_dir is None:
        reason = "the model could not be logged"
        later = ("SIG004", "SIG005", "SCR008", "SIG008")
        logged.findings += [skipped(code, reason) for code in later]
        return logged
    logged.findings = check_logged(run.mlflow, config, logged)
    return logged

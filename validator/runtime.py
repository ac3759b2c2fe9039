"""Log the model from code and check it in-process. Imports mlflow: never used by `check`."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from validator import typed
from validator.config import ProjectConfig
from validator.errors import ValidatorError
from validator.report import Finding, Report, failed, passed, skipped, warning
from validator.traceback_location import innermost, user_frame

STORE_DIR = ".mlflow"
REPORT_DIR = "validation"  # the run's artifact folder for the report
RUNTIME_CODES = ("SCR007", "SIG004", "SIG005", "SCR008", "SIG008")


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


def import_mlflow() -> Any:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    try:
        import mlflow
    except ImportError:
        raise ValidatorError(
            "mlflow is not installed in this environment, and `validate` logs the model with "
            "it: install the project's requirements (pip install -r requirements.txt) or run "
            "`nox -s validate`"
        ) from None
    return mlflow


def default_tracking_uri(root: Path) -> str:
    return f"sqlite:///{(root / STORE_DIR / 'mlflow.db').resolve().as_posix()}"


def resolve_tracking_uri(root: Path, given: str | None) -> tuple[str, bool]:
    """(uri, whether it is the embedded default store)."""
    uri = given or os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri, False
    return default_tracking_uri(root), True


def prepare_default_store(root: Path) -> Path:
    store = root / STORE_DIR
    store.mkdir(exist_ok=True)
    ignore = store / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# the embedded MLflow store of mfc-validator\n*\n", encoding="utf-8")
    return store


@contextlib.contextmanager
def quiet() -> Iterator[io.StringIO]:
    """Keep MLflow's INFO logs, warnings and the script's prints out of our report."""
    buffer = io.StringIO()
    mlflow_logger = logging.getLogger("mlflow")
    level = mlflow_logger.level
    mlflow_logger.setLevel(logging.ERROR)
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(buffer),
            contextlib.redirect_stderr(buffer),
        ):
            warnings.simplefilter("ignore")
            yield buffer
    finally:
        mlflow_logger.setLevel(level)


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


def _experiment_id(mlflow: Any, config: ProjectConfig, default_store: bool) -> str:
    client = mlflow.MlflowClient()
    experiment = client.get_experiment_by_name(config.name)
    if experiment is not None:
        return str(experiment.experiment_id)
    artifact_location = None
    if default_store:
        artifacts = (config.root / STORE_DIR / "artifacts").resolve()
        artifact_location = artifacts.as_uri()
    return str(client.create_experiment(config.name, artifact_location=artifact_location))


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


class ValidationRun:
    """The MLflow run of one validation, open until the whole report exists."""

    def __init__(self, mlflow: Any, run_id: str, tracking_uri: str) -> None:
        self.mlflow = mlflow
        self.run_id = run_id
        self.tracking_uri = tracking_uri
        self.ended = False

    def finish(self, report: Report, tags: dict[str, str]) -> None:
        """Log the report (JSON and Markdown) and the verdict's tags, and end the run: FINISHED
        when the validation passed, FAILED when it did not."""
        from mlflow.entities import RunTag

        from validator.render import to_json, to_markdown

        client = self.mlflow.MlflowClient()
        try:
            with quiet():
                client.log_text(self.run_id, to_json(report), f"{REPORT_DIR}/report.json")
                client.log_text(self.run_id, to_markdown(report), f"{REPORT_DIR}/report.md")
                run_tags = [RunTag(key, value) for key, value in tags.items()]
                client.log_batch(self.run_id, tags=run_tags)
                self.mlflow.end_run("FINISHED" if report.status == "passed" else "FAILED")
        except Exception as exc:
            raise ValidatorError(
                f"cannot record the report in the tracking store {self.tracking_uri}: {exc}"
            ) from None
        self.ended = True


@contextlib.contextmanager
def validation_run(
    config: ProjectConfig, tracking_uri: str, default_store: bool, tags: dict[str, str]
) -> Iterator[ValidationRun]:
    """Start the run; one left without `finish` (an error, Ctrl-C) ends FAILED or KILLED."""
    mlflow = import_mlflow()
    mlflow.set_tracking_uri(tracking_uri)
    try:
        with quiet():
            experiment_id = _experiment_id(mlflow, config, default_store)
            run = mlflow.start_run(
                experiment_id=experiment_id, run_name=f"validate-{config.name}", tags=tags
            )
    except Exception as exc:  # the store itself is unusable: a run cannot be made
        raise ValidatorError(f"cannot use the tracking store {tracking_uri}: {exc}") from None
    handle = ValidationRun(mlflow, run.info.run_id, tracking_uri)
    status = "FAILED"
    try:
        yield handle
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        if not handle.ended:
            with quiet(), contextlib.suppress(Exception):
                mlflow.end_run(status)


def log_and_check(
    config: ProjectConfig,
    run: ValidationRun,
    download_to: Path,
    on_downloaded: Callable[[Path], None] | None = None,
) -> Logged:
    """Log the model from code in RUN, download it to DOWNLOAD_TO and check it in-process.

    ON_DOWNLOADED gets the downloaded model folder before the in-process checks, so that the
    sandbox can work on it at the same time.
    """
    mlflow = run.mlflow
    result = Logged(mlflow_version=mlflow.__version__, run_id=run.run_id)
    root = config.root.resolve()
    payload = json.loads((root / config.input_example).read_text(encoding="utf-8"))
    params = payload.get("params")
    data = {key: value for key, value in payload.items() if key != "params"}

    with quiet(), _as_if_run_from(root), _without_requirement_scan():
        example: Any = typed.logging_example(data)
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
            for code in RUNTIME_CODES[1:]:
                result.findings.append(skipped(code, "the model could not be logged"))
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
        _check_logged(mlflow, config, info, payload, result)
    return result


def _signature_dict(signature: Any) -> dict[str, Any] | None:
    if signature is None:
        return None
    return {
        side: schema.to_dict() if schema is not None else None
        for side, schema in (("inputs", signature.inputs), ("outputs", signature.outputs))
    }


@contextlib.contextmanager
def scratch_folder(prefix: str = "mfc-model-") -> Iterator[Path]:
    """A temporary folder for downloads from the store, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _check_logged(
    mlflow: Any, config: ProjectConfig, info: Any, payload: dict[str, Any], result: Logged
) -> None:
    from mlflow.models.utils import _enforce_schema
    from mlflow.pyfunc.scoring_server import _parse_json_data, predictions_to_json

    signature = info.signature
    if signature is None or signature.inputs is None:
        result.findings.append(
            failed(
                "SIG004",
                "the logged model has no signature, so serving cannot check requests",
                config.script,
                f"make sure {config.input_example} is a valid request, or type-hint predict",
            )
        )
    else:
        result.findings.append(passed("SIG004"))
    assert result.model_dir is not None
    try:
        model = mlflow.pyfunc.load_model(str(result.model_dir))
    except Exception as exc:
        result.findings.append(_script_failure(exc, config, [result.model_dir]))
        result.findings += [
            skipped(c, "the logged model does not load") for c in ("SIG005", "SCR008", "SIG008")
        ]
        return
    result.model = model
    result.findings.append(typed.check(model, config, payload))
    input_schema = model.metadata.get_input_schema()
    try:
        parsed = _parse_json_data(json.dumps(payload), model.metadata, input_schema)
        if input_schema is not None and not model.metadata._is_signature_from_type_hint():
            _enforce_schema(parsed.data, input_schema)
    except Exception as exc:
        result.findings.append(
            failed(
                "SIG005",
                f"{config.input_example} does not conform to the logged input schema: "
                f"{innermost(exc)}",
                config.input_example,
                "make the example match what predict expects (column names and types)",
            )
        )
        result.findings.append(skipped("SCR008", "the input example does not conform"))
        return
    try:
        if parsed.params:
            predictions = model.predict(parsed.data, params=parsed.params)
        else:
            predictions = model.predict(parsed.data)
    except Exception as exc:
        roots = [(config.root, ""), (result.model_dir, "code/")]
        found = user_frame(exc, roots)
        location, message = found or (config.script, f"{type(exc).__name__}: {exc}")
        result.findings.append(
            failed(
                "SCR008",
                f"predict raised on {config.input_example}: {message}",
                location,
                "fix predict so it handles the example request; MLflow logs and registers a "
                "model whose predict raises, and serving then fails on every request",
            )
        )
        return
    out = io.StringIO()
    try:
        predictions_to_json(predictions, out)
    except Exception as exc:
        result.findings.append(
            warning(
                "SCR008",
                f"predict returned {type(predictions).__name__}, which the scoring server "
                f"cannot turn into JSON: {exc}",
                config.script,
                "return a DataFrame, Series, numpy array, list or dict of plain values",
            )
        )
        return
    result.predictions = out.getvalue()

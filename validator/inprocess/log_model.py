"""Log the model from code, as its author would run it, and check the logged model in-process:
each check is its own function, and `run` is the inprocess stage (CFG005, SCR007, SIG004,
SIG005, SCR008, SIG008). Imports mlflow: never used by `check`."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from validator.checks.example_columns import missing_columns
from validator.checks.input_example import FORMATS, LLM_KEYS
from validator.errors import ValidatorError
from validator.inprocess import child, copy_failures, env_reads, type_hints
from validator.json_compare import unstable_paths
from validator.project import requirements as requirement_files
from validator.project import uv_project
from validator.project.config import ProjectConfig
from validator.project.flavors import FLAVORS
from validator.report import Finding, failed, passed, skipped, warning
from validator.sandbox.interpreters import find_uv
from validator.serving import Served, requirement_scan_skipped, serve
from validator.tracebacks import chain, entry_function, innermost, user_frame
from validator.tracking.server_check import StoreFailed, store_failure
from validator.tracking.store import STORE_DIR, ValidationRun, quiet


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
    # where two predictions on the same request differ (fresh ids, timestamps), as JSON paths
    unstable: list[str] = field(default_factory=list)
    # the variables read while MLflow logged the model, as the probe records reads (for init)
    env_reads: dict[str, Any] = field(default_factory=dict)


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
def _never_shipping(store: Path) -> Iterator[None]:
    """Leave the embedded store (STORE) out of MLflow's copy of a code_paths folder that holds
    it (`code_paths: ["."]`): every earlier model and the database would ship with the model.
    MLflow copies folders with shutil.copytree, in this worker only while it logs."""
    original = shutil.copytree
    store = store.resolve()

    def copytree(
        src: Any, dst: Any, symlinks: bool = False, ignore: Any = None, *args: Any, **kwargs: Any
    ) -> Any:
        # shutil's own recursion into a subfolder calls this again with every argument
        # positional (copy_function, ignore_dangling_symlinks, dirs_exist_ok)
        def ignored(folder: str, names: list[str]) -> set[str]:
            left_out = set(ignore(folder, names)) if ignore is not None else set()
            if Path(folder).resolve() == store.parent and store.name in names:
                left_out.add(store.name)
            return left_out

        return original(src, dst, symlinks, ignored, *args, **kwargs)

    shutil.copytree = copytree
    try:
        yield
    finally:
        shutil.copytree = original


CODE_EXECUTION = "MLFLOW_ALLOW_MODEL_CODE_EXECUTION"


def _code_execution_refused(exc: BaseException) -> str | None:
    """Why MLflow refused to run the script (EXC), if the environment told it to: MLflow 3.18
    reads MLFLOW_ALLOW_MODEL_CODE_EXECUTION, and false refuses every models-from-code model.
    Said only where this MLflow knows the variable (or EXC names it), never as a guess."""
    value = os.environ.get(CODE_EXECUTION)
    if value is None or value.strip().lower() not in ("false", "0", "no", "off"):
        return None
    import mlflow
    from packaging.version import Version

    named = any(CODE_EXECUTION in str(error) for error in chain(exc))
    if not named and Version(mlflow.__version__).release < (3, 18):
        return None
    return (
        f"{CODE_EXECUTION}={value} is set where the validator runs, and MLflow (3.18 and "
        "later) then refuses to run any models-from-code script"
    )


def _called_by_mlflow(entry: str, config: ProjectConfig, logging: bool) -> tuple[str, str]:
    """(what MLflow was doing, the hint) when the model's code raised in ENTRY, a function MLflow
    called, not while the script ran (`python script` would not reproduce it)."""
    doing = "logged" if logging else "loaded"
    if entry in ("predict", "predict_stream"):
        why = (
            f"on {config.input_example} when it logs the model (to check the example and infer "
            "the signature)"
        )
    elif entry == "load_context":
        return f"{entry} raised while MLflow {doing} the model", _load_context_hint(config)
    else:
        why = f"when it {'logs' if logging else 'loads'} the model"
    return (
        f"{entry} raised while MLflow {doing} the model",
        f"fix {entry} at that line: MLflow calls it {why}; running `python {config.script}` "
        "alone does not, so it does not reproduce this",
    )


def _load_context_hint(config: ProjectConfig) -> str:
    """What to fix when load_context raised, and what reproduces it: `python script` does not
    (it only defines the model), loading the model with model.yaml's values does."""
    value = (
        f", or the model_config value it read ({config.where('model_config')})"
        if config.model_config
        else ""
    )
    caller = _test_calling_load_context(config.root)
    reproduce = (
        f"`nox -s tests` reproduces it ({caller} calls load_context with model.yaml's values)"
        if caller
        else "a test that calls load_context with model.yaml's model_config and artifacts, as "
        "MLflow does, reproduces it"
    )
    return (
        f"fix load_context at that line{value}: MLflow calls it with model.yaml's model_config "
        f"and artifacts when it logs and when it loads the model, and `python {config.script}` "
        f"never does (it exits 0); {reproduce}"
    )


def _test_calling_load_context(root: Path) -> str | None:
    """The first file of the project's tests/ that calls load_context (as the template's
    conftest.py does), relative to ROOT."""
    tests = root / "tests"
    if not tests.is_dir():
        return None
    for path in sorted(tests.rglob("*.py"))[:200]:
        try:
            if ".load_context(" in path.read_text(encoding="utf-8", errors="replace"):
                return path.relative_to(root).as_posix()
        except OSError:
            continue
    return None


def _script_failure(
    exc: BaseException, config: ProjectConfig, extra_roots: list[Path], logging: bool = True
) -> Finding:
    roots = [(config.root, "")] + [(root, "code/") for root in extra_roots]
    found = user_frame(exc, roots)
    script = config.script
    cause = innermost(exc)
    location, message = found or (script, f"{type(cause).__name__}: {cause}")
    said = f"{script} raised while MLflow ran it"
    hint = "fix the error at that line; run `python " + script + "` to reproduce it"
    entry = entry_function(exc, roots)
    if entry is not None and entry != "<module>":
        said, hint = _called_by_mlflow(entry, config, logging)
    refused = _code_execution_refused(exc)
    if refused is not None:
        said = f"{script} did not run: {refused}"
        location = script
        hint = (
            f"unset {CODE_EXECUTION} for the validator, which must run the script to validate "
            "it; where the model is served it must be unset too, or MLflow will not load it"
        )
    elif isinstance(cause, SystemExit):
        message = f"it called sys.exit({cause.code!r})"
        hint = (
            "remove the exit from the model's code: MLflow runs the script when it logs and "
            "loads the model, and a serving process would end the same way"
        )
    elif isinstance(cause, ModuleNotFoundError) and cause.name:
        hint = (
            f"install the package that provides '{cause.name}' and add it to "
            f"{config.requirements}, or list the module's file in model.yaml code_paths if it "
            "is yours"
        )
    return failed("SCR007", f"{said}: {message}", location, hint)


def _raise_if_store_failed(exc: BaseException, config: ProjectConfig, step: str) -> None:
    """StoreFailed when EXC is the tracking server failing, not the script (whose own HTTP
    errors have its frames on the traceback)."""
    if user_frame(exc, [(config.root, "")]) is not None:
        return
    cause = store_failure(exc)
    if cause is not None:
        raise StoreFailed(step, cause) from None


def log(
    config: ProjectConfig,
    run: ValidationRun,
    download_to: Path,
) -> Logged:
    """Log the model from code in RUN and download it to DOWNLOAD_TO, as a consumer gets it
    (in the logging worker: MLflow runs the script here). A script that raises fails SCR007."""
    mlflow = run.mlflow
    result = Logged(mlflow_version=mlflow.__version__, run_id=run.run_id)
    root = config.root.resolve()
    payload = json.loads((root / config.input_example).read_text(encoding="utf-8"))
    params = payload.get("params")
    data = {key: value for key, value in payload.items() if key != "params"}
    with (
        quiet(),
        _as_if_run_from(root),
        requirement_scan_skipped(),
        _never_shipping(root / STORE_DIR),
    ):
        try:
            with env_reads.traced(root) as reads:
                info = _log_with_flavor(mlflow, config, _logging_example(payload, data, params))
            result.env_reads = json.loads(json.dumps(reads))
        except BaseException as exc:  # SystemExit from the script too
            _raise_if_store_failed(exc, config, "logging the model and uploading its files")
            copy_failure = copy_failures.copy_failure(exc, config)
            if copy_failure is not None:
                reason = "not run: CFG005 failed (MLflow could not copy the model's files)"
                result.findings += [copy_failure, skipped("SCR007", reason)]
            else:
                reason = "not known: the script raised before the model was logged"
                result.findings += [_script_failure(exc, config, []), skipped("CFG005", reason)]
            return result
        result.model_uri = info.model_uri
        result.signature = _signature_dict(info.signature)
        # from the store, as a consumer gets it: for a server this is a real download
        try:
            downloaded = mlflow.artifacts.download_artifacts(
                artifact_uri=info.model_uri, dst_path=str(download_to)
            )
        except Exception as exc:
            _raise_if_store_failed(exc, config, "downloading the logged model for the sandbox")
            raise
        result.model_dir = Path(downloaded)
    return result


def _logging_example(payload: dict[str, Any], data: dict[str, Any], params: Any) -> Any:
    """The input example to log for the request PAYLOAD (DATA is it without its params)."""
    if set(payload) & set(LLM_KEYS) and not set(payload) & set(FORMATS):
        return payload  # a chat or agent request: MLflow logs it as it is
    example: Any = type_hints.logging_example(data)
    return (example, params) if params else example


def require_flavor(config: ProjectConfig) -> None:
    """MLflow logs a LangChain or LlamaIndex model with that library: where the validator runs
    must have it, as it has mlflow (the project's requirements). Checked before anything is
    started, so that it is not mistaken for the script raising (SCR007)."""
    needs = FLAVORS[config.flavor].needs
    if needs is None:
        return
    module, distribution = needs
    try:
        found = importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        found = False
    if not found:
        raise ValidatorError(
            f"{config.where('flavor')}: flavor {config.flavor} is logged with {distribution}, "
            "which is not installed where the validator runs: install the project's "
            f"requirements (pip install -r {config.requirements}) or run `nox -s validate`"
        )


def pip_requirements(requirements: Path) -> list[str]:
    """The requirements file's lines as MLflow's `pip_requirements`, with the files it includes
    (`-c constraints.txt`, the lock; `-r`) by absolute path: given a file, MLflow reads them
    relative to the working folder, not to the file. A `-c` file ships with the model as its
    constraints.txt."""
    lines = []
    for _, line in requirement_files.logical_lines(requirements.read_text(encoding="utf-8")):
        name, value = requirement_files.option(line) if line.startswith("-") else ("", "")
        if name in requirement_files.INCLUDES and value and not Path(value).is_absolute():
            flag = "-c" if name in ("-c", "--constraint") else "-r"
            line = f"{flag} {(requirements.parent / value).as_posix()}"
        lines.append(line)
    return lines


def _requirements(config: ProjectConfig, root: Path) -> list[str]:
    """What the model is logged with: the requirements file's lines, or for a uv project what
    its uv.lock pins (MLflow's own `uv export`), so that `virtualenv` and `local` serving install
    exactly the lock; MLflow ships uv.lock and pyproject.toml beside them for `--env-manager uv`."""
    if not uv_project.is_uv_project(root):
        return pip_requirements(root / config.requirements)
    try:
        return uv_project.logged_requirements(root, find_uv()).splitlines()
    except uv_project.UvProjectError as exc:
        raise ValidatorError(f"{uv_project.LOCK} cannot be exported: {exc}") from None


def _log_with_flavor(mlflow: Any, config: ProjectConfig, example: Any) -> Any:
    """Log the script with the flavor model.yaml names, as its author would."""
    root = config.root.resolve()
    model_config: Any = config.model_config
    if isinstance(model_config, str):
        model_config = str(root / model_config)
    common: dict[str, Any] = {
        "name": "model",
        "input_example": example,
        "pip_requirements": _requirements(config, root),
        "code_paths": [str(root / path) for path in config.code_paths] or None,
        "model_config": model_config or None,
    }
    flavor = FLAVORS[config.flavor]
    common[flavor.script_argument] = str(root / config.script)
    for option in flavor.options:
        common[option] = flavor.option(option, config.flavor_options)
    if flavor.artifacts:
        artifacts = {name: str(root / path) for name, path in config.artifacts.items()}
        common["artifacts"] = artifacts or None
    logger = importlib.import_module(f"mlflow.{flavor.module}")
    return logger.log_model(**common)


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
    except BaseException as exc:  # SystemExit from the script too
        return _script_failure(exc, config, [logged.model_dir], logging=False)
    return passed("SCR007")


def _request_refused(config: ProjectConfig, served: Served) -> Finding:
    lines = [line.strip() for line in served.body.strip().splitlines() if line.strip()]
    shown = " ".join(lines[:3])[:400] or type(served.error).__name__
    return failed(
        "SIG005",
        f"MLflow's scoring server refuses {config.input_example} (HTTP {served.status}): {shown}",
        config.input_example,
        "make the example a request this model accepts: the columns and types of its "
        "signature, or the request format of its kind",
    )


def _predict_failed(
    config: ProjectConfig, logged: Logged, served: Served, again: bool = False
) -> Finding:
    """SCR008 for SERVED, the answer to the example that failed; AGAIN: the second answer, after
    a first that succeeded."""
    assert logged.model_dir is not None and served.error is not None
    once = f"predict answered {config.input_example} once, then "
    hint = (
        "a scoring server keeps one loaded model for every request: make predict work more "
        "than once (do not consume, close or overwrite state it needs on the next call)"
    )
    if served.stage == "respond":
        return warning(
            "SCR008",
            f"{once if again else ''}predict's output cannot be turned into JSON by the "
            f"scoring server: {innermost(served.error)}",
            config.script,
            hint
            if again
            else "return a DataFrame, Series, numpy array, list or dict of plain values",
        )
    roots = [(config.root, ""), (logged.model_dir, "code/")]
    found = user_frame(served.error, roots)
    cause = innermost(served.error)
    location, message = found or (config.script, f"{type(cause).__name__}: {cause}")
    if again:
        return failed("SCR008", f"{once}raised on the same request: {message}", location, hint)
    key = cause.args[0] if isinstance(cause, KeyError) and cause.args else None
    wrong = missing_columns(config, f"{type(cause).__name__}: {cause}", key)
    if wrong is not None:  # the example lacks a column predict reads: the example is to fix
        return failed("SCR008", wrong.message(message), wrong.location, wrong.hint())
    return failed(
        "SCR008",
        f"predict raised on {config.input_example}: {message}",
        location,
        "fix predict so it handles the example request; MLflow logs and registers a "
        "model whose predict raises, and serving then fails on every request",
    )


def predict(config: ProjectConfig, logged: Logged) -> list[Finding]:
    """SIG005 and SCR008: the example through the scoring server's own request handling, twice,
    so that values that change from call to call (ids, timestamps) are known to the sandbox's
    comparison. The first answer's body goes to LOGGED.predictions."""
    payload = config.path(config.input_example).read_text(encoding="utf-8")
    with quiet(), _as_if_run_from(config.root.resolve()):
        first = serve(logged.model, payload)
        second = serve(logged.model, payload) if first.stage == "ok" else None
    if first.stage == "request":
        return [_request_refused(config, first), skipped("SCR008", "the request was refused")]
    if first.stage != "ok":
        return [passed("SIG005"), _predict_failed(config, logged, first)]
    logged.predictions = first.body
    if second is not None and second.stage != "ok":
        return [passed("SIG005"), _predict_failed(config, logged, second, again=True)]
    if second is not None:
        logged.unstable = unstable_paths(json.loads(first.body), json.loads(second.body))
    return [passed("SIG005"), passed("SCR008")]


def check_loaded(mlflow: Any, config: ProjectConfig, logged: Logged) -> list[Finding]:
    """SCR007 (loading), SIG008, SIG005 and SCR008 for a model that was logged (in the checking
    worker: the model's code runs here)."""
    payload = json.loads(config.path(config.input_example).read_text(encoding="utf-8"))
    findings = [load(mlflow, config, logged)]
    if logged.model is None:
        later = ("SIG005", "SCR008", "SIG008")
        return findings + [skipped(code, "the logged model does not load") for code in later]
    child.mark("predict")
    with quiet():
        findings.append(type_hints.check(logged.model, config, payload))
    return findings + predict(config, logged)

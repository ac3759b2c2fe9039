"""Runs INSIDE the sandbox: load the logged model, predict on the example, report as JSON.

Self-contained on purpose: it may import only the standard library and mlflow (plus what mlflow
brings), because it runs with the sandbox's interpreter, where the validator is not installed.

    python -I probe.py OUTPUT_JSON

It imports mlflow first, while the validator is still logging the model, then reads one line
of JSON from standard input, {"model_dir": ..., "payload": ...}, and does the work. An empty
line (the validator gave up) makes it exit at once.
"""

from __future__ import annotations

import builtins
import json
import os
import sys
import time
import traceback
from typing import Any

_MODEL_DIR = ""
_reads: dict[str, dict[str, Any]] = {}
_user_imports: set[str] = set()
_stage = "start"


def _is_user_file(filename: str) -> bool:
    return bool(_MODEL_DIR) and os.path.realpath(filename).startswith(_MODEL_DIR + os.sep)


def _caller(skip_files: tuple[str, ...]) -> tuple[str, int, bool]:
    """(file, line) of the first frame outside SKIP_FILES, and whether user code is on the stack."""
    frame = sys._getframe(2)
    reader: tuple[str, int] | None = None
    user_on_stack = False
    while frame is not None:
        filename = frame.f_code.co_filename
        if reader is None and not filename.endswith(skip_files) and "importlib" not in filename:
            reader = (filename, frame.f_lineno)
        if _is_user_file(filename):
            user_on_stack = True
        frame = frame.f_back  # type: ignore[assignment]
    file, line = reader or ("?", 0)
    return file, line, user_on_stack


_original_getitem = os._Environ.__getitem__


def _traced_getitem(self: Any, key: str) -> Any:
    if _stage in ("load", "predict") and not _reads.get(key, {}).get("user"):
        file, line, user_on_stack = _caller(_OS_FILES)
        _reads[key] = {
            "stage": _stage,
            "file": file,
            "line": line,
            "user": _is_user_file(file),
            "via_user": user_on_stack or _reads.get(key, {}).get("via_user", False),
        }
    return _original_getitem(self, key)


_OS_FILES = ("os.py", "_collections_abc.py", "<frozen os>", "<frozen _collections_abc>")


_original_import = builtins.__import__


def _traced_import(
    name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0
) -> Any:
    # `import x` calls __import__ even when x is already in sys.modules: we see every use
    in_stage = _stage in ("load", "predict") and not level and globals
    if in_stage and _is_user_file(str(globals.get("__file__") or "")):
        _user_imports.add(name.split(".")[0])
    return _original_import(name, globals, locals, fromlist, level)


def _error(exc: BaseException) -> dict[str, Any]:
    frames = [
        {"file": frame.filename, "line": frame.lineno}
        for error in _chain(exc)
        for frame in traceback.extract_tb(error.__traceback__)
    ]
    innermost = _chain(exc)[-1]
    return {
        "type": type(innermost).__name__,
        "message": str(innermost),
        "module": getattr(innermost, "name", None),
        "outer": f"{type(exc).__name__}: {exc}",
        "frames": frames,
    }


def _chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


_PROVIDERS: dict[str, list[str]] = {}


def _providers() -> dict[str, list[str]]:
    """Top-level module -> the distributions that provide it, computed once."""
    if not _PROVIDERS:
        from importlib import metadata

        _PROVIDERS.update(metadata.packages_distributions())
    return _PROVIDERS


def _modules() -> dict[str, Any]:
    providers = _providers()
    modules: dict[str, Any] = {}
    for name, module in list(sys.modules.items()):
        if "." in name or name in sys.stdlib_module_names:
            continue
        file = getattr(module, "__file__", None)
        if not file:
            continue
        modules[name] = {"file": file, "distributions": providers.get(name, [])}
    return modules


def _requirement_modules() -> dict[str, list[str]]:
    """Top-level modules each installed distribution provides, by the distribution's name as
    installed: the validator normalizes names (PEP 503) on its side."""
    provided: dict[str, list[str]] = {}
    for module, distributions in _providers().items():
        for distribution in distributions:
            provided.setdefault(distribution, []).append(module)
    return provided


def _output_schema_problem(model: Any, predictions: Any) -> str | None:
    schema = model.metadata.get_output_schema()
    if schema is None:
        return None
    import pandas as pd
    from mlflow.models.utils import _enforce_schema

    try:
        if isinstance(predictions, pd.DataFrame):
            frame = predictions
        elif isinstance(predictions, pd.Series):
            frame = predictions.to_frame(
                name=schema.input_names()[0] if schema.has_input_names() else 0
            )
        elif schema.is_tensor_spec():
            _enforce_schema(predictions, schema)
            return None
        else:
            frame = pd.DataFrame(predictions)
            if schema.has_input_names() and list(frame.columns) == list(range(len(frame.columns))):
                frame.columns = schema.input_names()[: len(frame.columns)]
        _enforce_schema(frame, schema)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


_STREAM_CHUNKS = 5  # the first chunks are enough to show that predict_stream yields


def _streamable(model: Any) -> bool:
    """MLflow marks a model streamable (`streamable: true` in the MLmodel file's
    python_function flavor) when its PythonModel defines predict_stream."""
    return bool(model.metadata.flavors.get("python_function", {}).get("streamable"))


def _stream(model: Any, parsed: Any) -> dict[str, Any]:
    """Call predict_stream on the parsed example, as serving does for a streamable model, and
    keep its first chunks."""
    if not _streamable(model):
        return {"streamable": False}
    chunks: list[Any] = []
    kinds: list[str] = []
    mark = time.perf_counter()
    try:
        if parsed.params:
            stream = model.predict_stream(parsed.data, params=parsed.params)
        else:
            stream = model.predict_stream(parsed.data)
        for chunk in stream:
            kinds.append(type(chunk).__name__)
            chunks.append(json.loads(json.dumps(chunk, default=repr)))
            if len(chunks) >= _STREAM_CHUNKS:
                break
        getattr(stream, "close", lambda: None)()
    except BaseException as exc:
        return {"streamable": True, "chunks": chunks, "types": kinds, "error": _error(exc)}
    first_s = time.perf_counter() - mark
    return {"streamable": True, "chunks": chunks, "types": kinds, "seconds": first_s}


def main() -> int:
    global _MODEL_DIR, _stage
    output_path = sys.argv[1]
    result: dict[str, Any] = {"ok": False, "timings": {}}
    started = time.perf_counter()
    import mlflow
    import mlflow.pyfunc
    from mlflow.pyfunc.scoring_server import _parse_json_data, predictions_to_json

    # the sandbox holds exactly the logged requirements: MLflow's mismatch scan is slow and moot
    mlflow.pyfunc.warn_dependency_requirement_mismatches = lambda *args, **kwargs: None
    _providers()  # while the validator is still logging: it depends only on the environment
    import_s = time.perf_counter() - started
    line = sys.stdin.readline().strip()
    if not line:
        return 0
    request = json.loads(line)
    model_dir, payload_path = request["model_dir"], request["payload"]
    _MODEL_DIR = os.path.realpath(model_dir)
    result["timings"]["import_s"] = import_s
    os._Environ.__getitem__ = _traced_getitem  # type: ignore[method-assign,assignment]
    builtins.__import__ = _traced_import
    try:
        _stage = "load"
        mark = time.perf_counter()
        try:
            model = mlflow.pyfunc.load_model(model_dir)
        except BaseException as exc:
            result["stage"], result["error"] = "load", _error(exc)
            return 0
        result["timings"]["load_s"] = time.perf_counter() - mark
        _stage = "predict"
        mark = time.perf_counter()
        try:
            with open(payload_path, encoding="utf-8") as handle:
                payload = handle.read()
            parsed = _parse_json_data(payload, model.metadata, model.metadata.get_input_schema())
            if parsed.params:
                predictions = model.predict(parsed.data, params=parsed.params)
            else:
                predictions = model.predict(parsed.data)
            import io

            out = io.StringIO()
            predictions_to_json(predictions, out)
        except BaseException as exc:
            result["stage"], result["error"] = "predict", _error(exc)
            return 0
        result["timings"]["predict_s"] = time.perf_counter() - mark
        result["stream"] = _stream(model, parsed)
        _stage = "done"
        result["predictions"] = out.getvalue()
        result["output_schema_problem"] = _output_schema_problem(model, predictions)
        result["ok"] = True
        return 0
    finally:
        _stage = "done"
        result["env_reads"] = _reads
        result["user_imports"] = sorted(_user_imports)
        try:
            result["modules"] = _modules()
            result["distributions"] = _requirement_modules()
        except Exception as exc:  # the report matters more than the module list
            result["modules_error"] = repr(exc)
        result["python"] = sys.version.split()[0]
        with open(output_path, "w", encoding="utf-8") as handle:
            json.dump(result, handle)


if __name__ == "__main__":
    sys.exit(main())

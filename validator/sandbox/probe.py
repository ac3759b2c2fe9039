"""Runs INSIDE the sandbox: load the logged model, predict on the example, report as JSON.

Self-contained on purpose: it may import only the standard library and mlflow (plus what mlflow
brings), because it runs with the sandbox's interpreter, where the validator is not installed.
The private MLflow names it uses are listed, with what is assumed of them, in
`validator/mlflow_private.py`.

    python -I probe.py --serve SOCKET

A warm probe server: it listens on the Unix socket SOCKET at once, imports mlflow (the slow part,
done while the validator is still logging the model), then forks one child per request, so that
each model is loaded in a fresh process that never saw another model. A request is one line of
JSON on a connection: {"model_dir", "payload", "offline", "output", "log", "cwd", "env"}; the
server answers {"pid": ...} when the child starts (its own session: the client may kill its
group) and {"returncode": ...} when it ends (negative: the signal that killed it). The child
writes its result to "output" and its prints to "log". A client that hangs up kills its child;
end of standard input (the validator is gone) or SIGTERM stops the server and its children.
"""

from __future__ import annotations

import builtins
import contextlib
import importlib
import json
import opcode
import os
import select
import signal
import socket
import sys
import tempfile
import time
import traceback
from typing import Any


def _load_serving() -> Any:
    """validator/serving.py, the request path the validator's own worker uses too, loaded by its
    file: never through sys.path, where the validator's folder would shadow the model's
    modules."""
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))  # noqa: PTH100, PTH120
    spec = importlib.util.spec_from_file_location(
        "_mfc_serving",
        os.path.join(os.path.dirname(here), "serving.py"),  # noqa: PTH118, PTH120
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


_SERVING = _load_serving()
_SKIPPED = contextlib.ExitStack()  # MLflow's requirement scan, skipped for the server's life
_MODEL_DIR = ""
_MLFLOW_DIR = ""  # MLflow's package folder, with a trailing separator, once it is imported
_reads: dict[str, dict[str, Any]] = {}
_user_imports: set[str] = set()
_stage = "start"


def _is_user_file(filename: str) -> bool:
    return bool(_MODEL_DIR) and os.path.realpath(filename).startswith(_MODEL_DIR + os.sep)


# the stages whose variable reads are traced: "log" is MLflow logging the model in the
# validator's own worker (validator/inprocess/log_model.py), for init
_READING = ("load", "predict", "stream", "log")
_original_getitem = os._Environ.__getitem__
_original_setitem = os._Environ.__setitem__
_writes: set[str] = set()  # variables the model's own code set while loading or predicting


def _reader() -> tuple[str, int, str, str]:
    """(file, line, module, os function) of the first frame outside os: who reads or writes a
    variable, and through which method of os (get, setdefault, ...; "" for environ[...])."""
    frame = sys._getframe(2)
    via = ""
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.endswith(_OS_FILES) and "importlib" not in filename:
            return filename, frame.f_lineno, str(frame.f_globals.get("__name__") or ""), via
        via = frame.f_code.co_name
        frame = frame.f_back  # type: ignore[assignment]
    return "?", 0, "", via


_NAMED = frozenset({"get", "getenv", "__contains__", "setdefault", "pop"})
_subscripts: dict[Any, frozenset[int]] = {}  # code -> offsets of its subscript instructions


def _by_name() -> bool:
    """Whether the read that called environ.__getitem__ names its variable (environ[...], get,
    getenv, `in`, setdefault, pop) rather than copies the whole environment (dict(environ),
    {**environ}, .items(), .copy()), which reads every variable and none by name."""
    frame = sys._getframe(2)  # __getitem__'s caller
    code = frame.f_code
    if code.co_filename.endswith(_OS_FILES):
        return code.co_name in _NAMED
    if code not in _subscripts:
        import dis

        _subscripts[code] = frozenset(
            i.offset
            for i in dis.get_instructions(code)
            if i.opname == "BINARY_SUBSCR" or (i.opname == "BINARY_OP" and i.argrepr == "[]")
        )
    return frame.f_lasti in _subscripts[code]


def _traced_getitem(self: Any, key: str) -> Any:
    if not isinstance(key, str):  # os.get_exec_path tries environ[b"PATH"]: not a variable
        return _original_getitem(self, key)
    if _stage in _READING and _by_name():
        file, line, module, via = _reader()
        read = _reads.get(key)
        if _is_user_file(file) and not (read and read["user"]):
            _reads[key] = {
                "stage": _stage,
                "file": file,
                "line": line,
                "user": True,
                "libraries": read["libraries"] if read else [],
                # the model set it itself before reading it, or gives its own default
                "written": via == "setdefault" or key in _writes,
            }
        elif not _is_user_file(file) and module and module != "__main__":  # not the probe's
            if read is None:
                read = _reads[key] = {
                    "stage": _stage,
                    "file": file,
                    "line": line,
                    "user": False,
                    "libraries": [],
                }
            if module.split(".")[0] not in read["libraries"]:
                read["libraries"].append(module.split(".")[0])
    return _original_getitem(self, key)


def _traced_setitem(self: Any, key: str, value: Any) -> None:
    tracing = isinstance(key, str) and _stage in _READING
    if tracing and _is_user_file(_reader()[0]):
        _writes.add(key)
    _original_setitem(self, key, value)


_OS_FILES = ("os.py", "_collections_abc.py", "<frozen os>", "<frozen _collections_abc>")


_original_import = builtins.__import__
_WANTED = "_mfc_wanted"  # the whole import a ModuleNotFoundError failed (see _traced_import)
_IMPORT_NAME = opcode.opmap["IMPORT_NAME"]


def _imported_by_user(frame: Any) -> bool:
    """Whether FRAME, the one __import__ was called from, is the model's own code asking for
    the import: an import statement, or an explicit __import__ call. An import that C code
    makes (numpy printing an array in the model's f-string) is called from the innermost
    Python frame, with its globals, though no statement of that frame asked for it."""
    code = frame.f_code
    if not _is_user_file(code.co_filename):
        return False
    return code.co_code[frame.f_lasti] == _IMPORT_NAME or "__import__" in code.co_names


def _traced_import(
    name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0
) -> Any:
    # `import x` calls __import__ even when x is already in sys.modules: we see every use
    in_stage = _stage in ("load", "predict", "stream") and not level
    if in_stage and _imported_by_user(sys._getframe(1)):
        _user_imports.add(name.split(".")[0])
    try:
        return _original_import(name, globals, locals, fromlist, level)
    except ModuleNotFoundError as exc:
        if not level:
            _keep_wanted(exc, name)
        raise


def _keep_wanted(exc: ModuleNotFoundError, name: str) -> None:
    """The error names the first package missing (llama_index.embeddings, a namespace that many
    distributions extend): keep on it the whole import NAME asked for, which tells which one;
    the innermost import that failed sets it."""
    if exc.name and name.startswith(f"{exc.name}.") and not hasattr(exc, _WANTED):
        setattr(exc, _WANTED, name)


_original_import_module = importlib.import_module


def _traced_import_module(name: str, package: str | None = None) -> Any:
    # importlib.import_module does not call __import__: MLflow's LlamaIndex flavor restores an
    # index's settings with it (llama_index.embeddings.openai.base)
    try:
        return _original_import_module(name, package)
    except ModuleNotFoundError as exc:
        if not name.startswith("."):
            _keep_wanted(exc, name)
        raise


_connections: dict[str, dict[str, Any]] = {}
_offline = False
OFFLINE_MESSAGE = "mfc-validator --offline: no network in the sandbox"


def _user_frame() -> tuple[str, int] | None:
    """The innermost frame of the model's own files on the stack, if any."""
    frame = sys._getframe(2)
    while frame is not None:
        if _is_user_file(frame.f_code.co_filename):
            return frame.f_code.co_filename, frame.f_lineno
        frame = frame.f_back  # type: ignore[assignment]
    return None


def _mlflow_own() -> bool:
    """Whether MLflow's usage telemetry, not the model, makes the connection under way (a frame
    of mlflow/telemetry/ is on the stack: its config lookup and its uploads run in threads of
    its own). Nothing else of MLflow's counts: its flavors answer requests in threads of theirs
    (LangChain's request processor), and what they call out to is the model's."""
    if not _MLFLOW_DIR:
        return False
    telemetry = _MLFLOW_DIR + "telemetry" + os.sep
    frame: Any = sys._getframe(2)
    while frame is not None:
        if os.path.realpath(frame.f_code.co_filename).startswith(telemetry):
            return True
        frame = frame.f_back
    return False


def _record(host: str, port: Any) -> None:
    key = f"{host}:{port}" if port not in (None, "", 0) else str(host)
    if key in _connections and _connections[key].get("user"):
        return
    where = _user_frame()
    _connections[key] = {
        "host": str(host).lower(),
        "port": int(port) if str(port).isdigit() else None,
        "stage": _stage,
        "file": where[0] if where else None,
        "line": where[1] if where else None,
        "user": where is not None,
        "mlflow": where is None and _mlflow_own(),
        "blocked": _offline,
    }


_resolved: set[str] = set()  # addresses that name lookups returned
_original_getaddrinfo = socket.getaddrinfo


def _traced_getaddrinfo(*args: Any, **kwargs: Any) -> Any:
    found = _original_getaddrinfo(*args, **kwargs)
    _resolved.update(str(item[4][0]) for item in found if item[4])
    return found


def _audit(event: str, args: tuple[Any, ...]) -> None:
    """Every outbound connection while loading and predicting: name lookups (host names) and
    connects (addresses given as such); with --offline, each fails at once."""
    if _stage not in ("load", "predict", "stream"):
        return
    if event == "socket.getaddrinfo":
        host, port = args[0], args[1]
        if isinstance(host, bytes):
            host = host.decode(errors="replace")
        if host:
            _record(str(host), port)
    elif event == "socket.connect":
        address = args[1]
        if not isinstance(address, tuple) or len(address) < 2:
            return  # a Unix socket: not the network
        if str(address[0]) not in _resolved:  # else recorded under its name already
            _record(str(address[0]), address[1])
    else:
        return
    if _offline:
        raise ConnectionRefusedError(OFFLINE_MESSAGE)


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
        "wanted": getattr(innermost, _WANTED, None),
        "outer": f"{type(exc).__name__}: {exc}",
        "frames": frames,
    }


def _chain(exc: BaseException) -> list[BaseException]:
    return list(_SERVING.chain(exc))


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
        # a namespace package (llama_index, google) has no __file__, only a __path__
        file = getattr(module, "__file__", None) or next(
            iter(getattr(module, "__path__", [])), None
        )
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
    if schema is None or _agent_kind(model):
        # an agent's output is built from MLflow's own response types, which check it
        return None
    import pandas as pd
    from mlflow.models.utils import _enforce_schema
    from mlflow.types.utils import _infer_schema

    try:  # MLflow inferred the logged schema so from the example's predictions at logging
        if _infer_schema(predictions) == schema:
            return None
    except Exception:  # not inferable: enforcing the schema below tells
        pass
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
            # a single answer (a chain's or an engine's text) is one row of one column
            rows = (
                [predictions] if isinstance(predictions, (str, bytes, int, float)) else predictions
            )
            frame = pd.DataFrame(rows)
            if schema.has_input_names() and list(frame.columns) == list(range(len(frame.columns))):
                frame.columns = schema.input_names()[: len(frame.columns)]
        _enforce_schema(frame, schema)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


_STREAM_CHUNKS = 5  # the first chunks are enough to show that predict_stream yields


def _serve(model: Any, payload: str) -> dict[str, Any]:
    """PAYLOAD through `invocations`, the function behind `/invocations` of `mlflow models
    serve`, by the validator's own code for it (`validator/serving.py`): the stage that failed,
    request (refused before predict ran), predict (raised) or respond (the answer is no JSON)."""
    served = _SERVING.serve(model, payload)
    if served.error is not None:
        return {"stage": served.stage, "status": served.status, "error": _error(served.error)}
    if served.stage != "ok":
        error = {"type": "HTTP", "message": served.body, "frames": []}
        return {"stage": "request", "status": served.status, "error": error}
    return {"stage": "ok", "status": 200, "body": served.body, "predictions": served.predictions}


def _streamable(model: Any) -> bool:
    """MLflow marks a model streamable (`streamable: true` in the MLmodel file's
    python_function flavor) when it defines predict_stream."""
    return bool(model.metadata.flavors.get("python_function", {}).get("streamable"))


def _agent_kind(model: Any) -> str | None:
    """ResponsesAgent, ChatAgent or ChatModel: MLflow loads each through its own wrapper."""
    wrapper = type(getattr(model, "_model_impl", None)).__name__
    return next((k for k in ("ResponsesAgent", "ChatAgent", "ChatModel") if k in wrapper), None)


def _chunk_problem(kind: str | None, chunk: Any) -> str | None:
    """A chunk against the documented type of the agent's stream, if it has one."""
    try:
        if kind == "ResponsesAgent":
            from mlflow.types.responses import ResponsesAgentStreamEvent

            ResponsesAgentStreamEvent(**chunk)
        elif kind == "ChatAgent":
            from mlflow.types.agent import ChatAgentChunk

            ChatAgentChunk(**chunk)
        elif kind == "ChatModel":
            from mlflow.types.llm import ChatCompletionChunk

            ChatCompletionChunk.from_dict(chunk)
    except Exception as exc:
        return f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
    return None


def _stream(model: Any, payload: str) -> dict[str, Any]:
    """Call predict_stream as a streaming request would: the request parsed by the scoring
    server's own code, then `_stream_input`."""
    if not _streamable(model):
        return {"streamable": False}
    from mlflow.pyfunc.scoring_server import _parse_json_data

    try:
        parsed = _parse_json_data(payload, model.metadata, model.metadata.get_input_schema())
    except Exception as exc:
        return {"streamable": True, "chunks": [], "types": [], "error": _error(exc)}
    return _stream_input(model, parsed.data, parsed.params)


def _stream_input(model: Any, data: Any, params: Any) -> dict[str, Any]:
    """predict_stream on one input (MLflow streams a single one: the first row of several),
    its first chunks, held to the agent's documented chunk type."""
    kind = _agent_kind(model)
    chunks: list[Any] = []
    kinds: list[str] = []
    problems: list[str] = []
    note = None
    mark = time.perf_counter()
    try:
        rows = len(data) if hasattr(data, "iloc") or isinstance(data, list) else 1
        if rows > 1:
            data = data.iloc[:1] if hasattr(data, "iloc") else data[:1]
            note = f"streamed the first of the example's {rows} rows: MLflow streams one input"
        stream = model.predict_stream(data, params=params) if params else model.predict_stream(data)
        for chunk in stream:
            # what serving can stream: a dict or a str, subclasses included (LangChain's
            # StrOutputParser yields a str subclass)
            kinds.append(
                "dict"
                if isinstance(chunk, dict)
                else "str"
                if isinstance(chunk, str)
                else type(chunk).__name__
            )
            chunks.append(json.loads(json.dumps(chunk, default=repr)))
            problem = _chunk_problem(kind, chunk) if isinstance(chunk, dict) else None
            if problem:
                problems.append(problem)
            if len(chunks) >= _STREAM_CHUNKS:
                break
        getattr(stream, "close", lambda: None)()
    except Exception as exc:
        outcome: dict[str, Any] = {"error": _error(exc)}
    else:
        outcome = {"problems": problems, "seconds": time.perf_counter() - mark}
    return {
        "streamable": True,
        "chunks": chunks,
        "types": kinds,
        "kind": kind,
        "note": note,
        **outcome,
    }


STAGE_MARK = "mfc-probe-stage:"


def _mark_stage() -> None:
    # a probe killed by a signal writes no result: this line tells how far it got
    print(f"{STAGE_MARK} {_stage}", flush=True)


def _warm() -> float:
    started = time.perf_counter()

    # the sandbox holds exactly the logged requirements: MLflow's mismatch scan is slow and moot
    _SKIPPED.enter_context(_SERVING.requirement_scan_skipped())
    _providers()  # while the validator is still logging: it depends only on the environment
    return time.perf_counter() - started


def _handle(request: dict[str, Any], import_s: float) -> None:
    """Load the model and predict, in the forked child; the result goes to request["output"]."""
    global _MODEL_DIR, _MLFLOW_DIR, _stage, _offline
    import mlflow.pyfunc

    _MLFLOW_DIR = os.path.dirname(os.path.realpath(mlflow.__file__)) + os.sep  # noqa: PTH120

    result: dict[str, Any] = {"ok": False, "timings": {}}
    model_dir, payload_path = request["model_dir"], request["payload"]
    _MODEL_DIR = os.path.realpath(model_dir)
    _offline = bool(request.get("offline"))
    if request.get(
        "max_memory"
    ):  # --max-memory: a MemoryError with a traceback, not the OOM killer
        import resource

        limit = int(request["max_memory"])
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        result["max_memory"] = limit
    socket.getaddrinfo = _traced_getaddrinfo
    sys.addaudithook(_audit)
    result["timings"]["import_s"] = import_s
    os._Environ.__getitem__ = _traced_getitem  # type: ignore[method-assign,assignment]
    os._Environ.__setitem__ = _traced_setitem  # type: ignore[method-assign,assignment]
    builtins.__import__ = _traced_import
    importlib.import_module = _traced_import_module
    try:
        _stage = "load"
        _mark_stage()
        mark = time.perf_counter()
        try:
            model = mlflow.pyfunc.load_model(model_dir)
        except BaseException as exc:
            result["stage"], result["error"] = "load", _error(exc)
            return
        result["timings"]["load_s"] = time.perf_counter() - mark
        _stage = "predict"
        _mark_stage()
        mark = time.perf_counter()
        with open(payload_path, encoding="utf-8") as handle:
            payload = handle.read()
        served = _serve(model, payload)
        result["status"] = served["status"]
        if served["stage"] != "ok":
            result["stage"], result["error"] = served["stage"], served["error"]
            return
        predictions = served["predictions"]
        result["timings"]["predict_s"] = time.perf_counter() - mark
        _stage = "stream"
        _mark_stage()
        result["stream"] = _stream(model, payload)
        _stage = "done"
        result["predictions"] = served["body"]
        result["output_schema_problem"] = _output_schema_problem(model, predictions)
        result["ok"] = True
    finally:
        _stage = "done"
        result["env_reads"] = _reads
        result["connections"] = _connections
        result["user_imports"] = sorted(_user_imports)
        try:
            result["modules"] = _modules()
            result["distributions"] = _requirement_modules()
        except Exception as exc:  # the report matters more than the module list
            result["modules_error"] = repr(exc)
        result["python"] = sys.version.split()[0]
        with open(request["output"], "w", encoding="utf-8") as handle:
            json.dump(result, handle)


def _child(request: dict[str, Any], import_s: float, inherited: list[socket.socket]) -> None:
    """The forked child: its own session, folder, environment and output; never returns."""
    code = 1
    try:
        os.setsid()
        for sock in inherited:
            sock.close()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        tempfile.tempdir = None  # TMPDIR is the request's now
        _handle(request, import_s)
        code = 0
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _send(conn: socket.socket, message: dict[str, Any]) -> None:
    with contextlib.suppress(Exception):
        conn.sendall((json.dumps(message) + "\n").encode())


def _read_request(conn: socket.socket) -> dict[str, Any] | None:
    conn.settimeout(10)
    data = b""
    with contextlib.suppress(Exception):
        while not data.endswith(b"\n"):
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
    conn.settimeout(None)
    try:
        request = json.loads(data.decode())
    except ValueError:
        return None
    return request if isinstance(request, dict) else None


def _kill(pid: int) -> None:
    with contextlib.suppress(Exception):
        os.killpg(pid, signal.SIGKILL)


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(0)


def serve(path: str) -> int:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path + ".tmp")
    listener.listen(64)
    os.replace(path + ".tmp", path)  # the path appears only once connections queue
    signal.signal(signal.SIGTERM, _stop)
    import_s = _warm()
    children: dict[int, socket.socket] = {}  # pid -> the connection waiting for it
    gone: set[int] = set()  # children whose client hung up
    try:
        while True:
            watched = [listener, sys.stdin, *(c for p, c in children.items() if p not in gone)]
            readable, _, _ = select.select(watched, [], [], 0.05)
            for ready in readable:
                if ready is sys.stdin:
                    if not os.read(0, 4096):  # the validator is gone
                        return 0
                elif ready is listener:
                    conn, _ = listener.accept()
                    request = _read_request(conn)
                    if request is None:
                        conn.close()
                        continue
                    pid = os.fork()
                    if pid == 0:
                        _child(request, import_s, [listener, conn, *children.values()])
                    children[pid] = conn
                    _send(conn, {"pid": pid})
                else:
                    assert isinstance(ready, socket.socket)
                    pid = next(p for p, c in children.items() if c is ready)
                    if not ready.recv(4096):  # the client hung up: its child is not wanted
                        _kill(pid)
                        gone.add(pid)
            while children:
                pid, status = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    break
                _kill(pid)  # what the model started in its session goes with it
                conn = children.pop(pid)
                gone.discard(pid)
                _send(conn, {"returncode": os.waitstatus_to_exitcode(status)})
                conn.close()
    finally:
        for pid in children:
            _kill(pid)
        with contextlib.suppress(Exception):
            os.remove(path)  # noqa: PTH107


def main() -> int:
    if len(sys.argv) != 3 or sys.argv[1] != "--serve":
        sys.stderr.write("usage: probe.py --serve SOCKET\n")
        return 2
    return serve(sys.argv[2])


if __name__ == "__main__":
    sys.exit(main())

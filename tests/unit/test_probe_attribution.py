"""The probe tells MLflow's own connections from the model's by the frames on the stack: real
threads and real sockets on 127.0.0.1, with a folder standing in for MLflow's package."""

from __future__ import annotations

import importlib.util
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from validator.sandbox import probe


def _module(path: Path, text: str) -> ModuleType:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(f"attribution_{path.parent.name}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CONNECT = """
import socket, threading

def connect(port):
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass

def in_thread(port):
    thread = threading.Thread(target=connect, args=(port,))
    thread.start()
    thread.join()

def through(function, port):
    function(port)
"""


@pytest.fixture
def traced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, Path]]:
    server = socket.create_server(("127.0.0.1", 0), backlog=8)  # the backlog accepts for us
    monkeypatch.setattr(probe, "_MODEL_DIR", str((tmp_path / "model").resolve()))
    monkeypatch.setattr(probe, "_MLFLOW_DIR", str((tmp_path / "mlflow").resolve()) + "/")
    monkeypatch.setattr(probe, "_stage", "predict")
    monkeypatch.setattr(probe, "_connections", {})
    monkeypatch.setattr(probe, "_offline", False)
    hook_on = [True]
    sys.addaudithook(lambda event, args: hook_on[0] and probe._audit(event, args))
    try:
        yield server.getsockname()[1], tmp_path
    finally:
        hook_on[0] = False  # audit hooks cannot be removed: this one goes quiet
        server.close()


def test_mlflow_telemetry_connects_as_mlflow(traced: tuple[int, Path]) -> None:
    port, root = traced
    mlflow_module = _module(root / "mlflow" / "telemetry" / "client.py", CONNECT)
    mlflow_module.in_thread(port)
    [contact] = probe._connections.values()
    assert contact["mlflow"] is True
    assert contact["user"] is False


def test_the_model_calling_through_mlflow_stays_the_models(traced: tuple[int, Path]) -> None:
    port, root = traced
    mlflow_module = _module(root / "mlflow" / "client.py", CONNECT)
    model = _module(root / "model" / "model.py", CONNECT)
    model.through(mlflow_module.connect, port)
    [contact] = probe._connections.values()
    assert contact["mlflow"] is False
    assert contact["user"] is True
    assert contact["file"].endswith("model.py")


def test_a_library_thread_without_mlflow_is_the_models(traced: tuple[int, Path]) -> None:
    port, root = traced
    library = _module(root / "site" / "library.py", CONNECT)
    library.in_thread(port)
    [contact] = probe._connections.values()
    assert contact["mlflow"] is False


def test_the_sandbox_reports_what_python_shows_not_a_hidden_context() -> None:
    import os

    def read() -> str:
        try:
            return os.environ["MFC_SURELY_UNSET_" + "TOKEN"]
        except KeyError:
            raise ValueError("the token is not set") from None

    with pytest.raises(ValueError) as info:
        read()
    error = probe._error(info.value)
    assert (error["type"], error["message"]) == ("ValueError", "the token is not set")

    with pytest.raises(KeyError) as unset:
        os.environ["MFC_SURELY_UNSET_TOKEN"]
    error = probe._error(unset.value)
    assert error["message"] == "'MFC_SURELY_UNSET_TOKEN'"  # never b'...'


def test_a_library_mlflow_calls_on_the_main_thread_is_the_models(
    traced: tuple[int, Path],
) -> None:
    # MLflow's flavor wrapper calls a chain the script built; the chain's client connects: the
    # model's host, though no frame of the model's files is on the stack
    port, root = traced
    wrapper = _module(root / "mlflow" / "langchain_wrapper.py", CONNECT)
    library = _module(root / "site" / "openai_client.py", CONNECT)
    wrapper.through(library.connect, port)
    [contact] = probe._connections.values()
    assert contact["mlflow"] is False
    assert contact["user"] is False


def test_a_thread_mlflow_starts_to_answer_a_request_is_the_models(
    traced: tuple[int, Path],
) -> None:
    # MLflow's LangChain flavor answers in a thread pool of its own; the agent's client connects
    port, root = traced
    processor = _module(
        root / "mlflow" / "langchain" / "api_request_parallel_processor.py", CONNECT
    )
    library = _module(root / "site" / "agent_client.py", CONNECT)
    thread = threading.Thread(target=processor.through, args=(library.connect, port))
    thread.start()
    thread.join()
    [contact] = probe._connections.values()
    assert contact["mlflow"] is False

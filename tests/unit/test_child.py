"""The zygote and its workers: whatever a worker does, the caller gets a value, the exception
it raised, or a ChildFailed that says what happened."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from validator.inprocess.child import ChildFailed, Zygote, mark, set_roots


def _nothing() -> None:
    pass


@pytest.fixture
def zygote() -> Iterator[Zygote]:
    started = Zygote.start(_nothing, dict(os.environ))
    try:
        yield started
    finally:
        started.close()


def double(value: int) -> int:
    return value * 2


def raises() -> None:
    raise ValueError("the model's own error")


def exits() -> None:
    sys.exit(0)


def hard_exit() -> None:
    set_roots(Path(__file__).parent)
    os._exit(3)


def hangs() -> None:
    mark("predict")
    time.sleep(60)


def writes_to_a_closed_pipe() -> str:
    read, write = os.pipe()
    os.close(read)
    try:
        os.write(write, b"x")
    except BrokenPipeError:
        return "BrokenPipeError"
    return "written"


def environment() -> tuple[str, str | None]:
    return str(Path.cwd()), os.environ.get("ONLY_THIS")


def test_a_call_returns_its_value(zygote: Zygote, tmp_path: Path) -> None:
    worker = zygote.worker({"ONLY_THIS": "1"}, tmp_path)
    assert worker.call(double, 21) == 42
    assert worker.call(environment) == (str(tmp_path), "1")


def test_an_exception_comes_back_as_itself(zygote: Zygote, tmp_path: Path) -> None:
    worker = zygote.worker({}, tmp_path)
    with pytest.raises(ValueError, match="the model's own error"):
        worker.call(raises)
    assert worker.call(double, 1) == 2  # the worker goes on


def test_sys_exit_never_ends_the_caller(zygote: Zygote, tmp_path: Path) -> None:
    with pytest.raises(ChildFailed) as failed:
        zygote.worker({}, tmp_path).call(exits)
    assert failed.value.what() == "raised SystemExit(0)"


def test_os_exit_is_named_with_its_status_and_line(zygote: Zygote, tmp_path: Path) -> None:
    with pytest.raises(ChildFailed) as failed:
        zygote.worker({}, tmp_path).call(hard_exit, stage="log")
    assert failed.value.status == 3 and failed.value.stage == "log"
    assert failed.value.exited_at is not None
    assert failed.value.exited_at.startswith("test_child.py:")
    assert failed.value.what() == "ended its process (os._exit with status 3)"


def test_a_hang_is_killed_at_the_limit_of_its_stage(zygote: Zygote, tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(ChildFailed) as failed:
        zygote.worker({}, tmp_path).call(hangs, limit=1.0)
    assert time.monotonic() - started < 10
    assert failed.value.stage == "predict" and failed.value.timed_out == 1.0
    assert failed.value.what() == "did not finish within 1 s"


def test_a_write_to_a_closed_pipe_raises_and_does_not_kill(zygote: Zygote, tmp_path: Path) -> None:
    assert zygote.worker({}, tmp_path).call(writes_to_a_closed_pipe) == "BrokenPipeError"

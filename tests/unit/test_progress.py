"""Progress lines of `validate` and `register` on standard error: nothing for a quick step, a
line (and its time when it ends) for one that outlasts the threshold; a spinner on a terminal,
plain lines elsewhere; the stages as the pipeline runs them; the ticker gone between steps."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from tests.unit.test_pipeline import FAKE, passed, stage
from validator.codes import REGISTER_STAGES, STATIC_STAGES, VALIDATE_STAGES
from validator.pipeline import run_stages
from validator.render.progress import STEP_WORDS, Progress


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _fast(stream: io.StringIO, spinner: bool = False) -> Progress:
    return Progress(stream, spinner=spinner, after=0.05, interval=0.01)


def test_a_quick_step_says_nothing_and_a_slow_one_says_what_and_how_long() -> None:
    stream = io.StringIO()
    progress = _fast(stream)
    with progress.step("reading model.yaml"):
        pass
    assert stream.getvalue() == ""
    with progress.step("building the sandbox environment"):
        time.sleep(0.3)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "mfc-validator: building the sandbox environment ..."
    assert lines[1].startswith("mfc-validator: building the sandbox environment: done (")
    assert len(lines) == 2
    assert "\r" not in stream.getvalue() and "\x1b" not in stream.getvalue()  # no terminal


def test_nested_steps_are_said_outermost_first() -> None:
    stream = io.StringIO()
    progress = _fast(stream)
    with progress.step("logging the model"), progress.step("opening the run"):
        time.sleep(0.3)
    assert [line.split(":")[1].strip() for line in stream.getvalue().splitlines()] == [
        "logging the model ...",
        "opening the run ...",
        "opening the run",
        "logging the model",
    ]


def test_on_a_terminal_a_spinner_redraws_one_line() -> None:
    stream = _Tty()
    progress = Progress.for_stream(stream, environ={})
    assert progress.spinner
    progress.after, progress.interval = 0.05, 0.01
    with progress.step("loading the model"):
        time.sleep(0.3)
        progress.say("sandbox environment reused from the cache")
        time.sleep(0.1)
    shown = stream.getvalue()
    assert shown.count("\r\x1b[K") >= 3  # redrawn, not a line a tick
    assert "mfc-validator: loading the model (0 s)" in shown
    # a line said meanwhile clears the spinner's first, and the step ends with its time
    assert "\r\x1b[Kmfc-validator: sandbox environment reused from the cache\n" in shown
    assert shown.endswith("s)\n") and "\r\x1b[Kmfc-validator: loading the model: done (" in shown


def test_no_spinner_where_it_would_garble() -> None:
    assert not Progress.for_stream(io.StringIO(), environ={}).spinner  # a pipe, a CI log
    assert not Progress.for_stream(_Tty(), environ={"TERM": "dumb"}).spinner
    # several projects' runs share the terminal: labelled lines instead
    labelled = Progress.for_stream(_Tty(), "[models/a] ", environ={})
    assert not labelled.spinner
    stream = io.StringIO()
    labelled.stream, labelled.after, labelled.interval = stream, 0.0, 0.01
    with labelled.step("evaluating the model"):
        time.sleep(0.1)
    assert stream.getvalue().startswith("mfc-validator: [models/a] evaluating the model ...\n")


def test_the_ticker_runs_only_while_a_step_does() -> None:
    progress = _fast(io.StringIO())
    before = threading.active_count()
    with progress.step("probing"):
        assert any(thread.name == "mfc-progress" for thread in threading.enumerate())
    assert threading.active_count() == before
    assert not any(thread.name == "mfc-progress" for thread in threading.enumerate())


def test_an_interrupted_step_leaves_no_half_drawn_line() -> None:
    stream = _Tty()
    progress = _fast(stream, spinner=True)
    try:
        with progress.step("predicting"):
            time.sleep(0.2)
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert stream.getvalue().endswith("\r\x1b[K")
    assert "done" not in stream.getvalue()


def test_the_pipeline_runs_each_stage_inside_its_watch() -> None:
    seen: list[tuple[str, str]] = []

    @contextmanager
    def watch(name: str) -> Iterator[None]:
        seen.append(("start", name))
        yield
        seen.append(("end", name))

    def watched(name: str) -> AbstractContextManager[object]:
        return watch(name)

    stages = [
        stage("first", passed("AAA001"), passed("AAA002")),
        stage("second", passed("BBB001")),
    ]
    run_stages(stages, None, FAKE, watch=watched)
    assert seen == [("start", "first"), ("end", "first"), ("start", "second"), ("end", "second")]


def test_every_stage_has_words_for_its_progress_line() -> None:
    assert set(STATIC_STAGES) | set(VALIDATE_STAGES) | set(REGISTER_STAGES) <= set(STEP_WORDS)
    stream = io.StringIO()
    progress = Progress(stream, after=0.0, interval=0.01)
    with progress.stage("probe"):
        time.sleep(0.1)
    assert stream.getvalue().startswith(f"mfc-validator: {STEP_WORDS['probe']} ...\n")

"""What `validate` and `register` are doing, on standard error, for every step that takes longer
than about two seconds: a spinner with the seconds so far on a terminal, plain lines otherwise
(a CI log, a pipe), so that standard output holds only the report (`--format json` stays clean).

The validator's own process reports the steps: the stages as the pipeline runs them, and the
longer calls inside a stage (logging the model in its worker, the sandbox). A step that ends
within the threshold prints nothing; one that outlasts it prints its line, and its time when it
ends. The ticker is a thread that runs only while a step is under way: the zygote is forked
before the first step (see `validator.inprocess.child`), never while the ticker runs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TextIO

AFTER_S = 2.0  # a step that ends sooner says nothing
_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_ASCII_FRAMES = "|/-\\"
_CLEAR = "\r\x1b[K"

# the stages of the code registry as a progress line names them
STEP_WORDS: dict[str, str] = {
    "config": "reading model.yaml",
    "shipping": "checking what ships with the model",
    "script": "checking the script",
    "input_example": "checking the input example",
    "dependencies": "checking the requirements",
    "artifacts": "checking the artifacts",
    "environment": "checking the environment variables",
    "secrets": "scanning the shipped files for secrets",
    "preflight": "checking the required variables",
    "resolution": "resolving the requirements with uv",
    "inprocess": "logging the model from code and checking it in-process",
    "evaluation": "evaluating the model",
    "logged_files": "checking the logged files",
    "interpreter": "finding the logged model's Python",
    "environment_build": "installing the logged requirements in the sandbox",
    "probe": "loading the model and predicting in the sandbox",
    "gate": "looking for a passed validation of this content",
    "registration": "registering the model version",
}


@dataclass
class _Step:
    what: str
    started: float
    announced: bool = False


@dataclass
class Progress:
    """Progress lines on STREAM, each `mfc-validator: LABEL…`; SPINNER redraws one line."""

    stream: TextIO
    spinner: bool = False
    label: str = ""  # "[project] " where several projects' runs share the stream
    after: float = AFTER_S
    interval: float = 0.1
    _steps: list[_Step] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _ticker: threading.Thread | None = None
    _drawn: bool = False
    _frame: int = 0

    @classmethod
    def for_stream(
        cls, stream: TextIO, label: str = "", environ: Mapping[str, str] | None = None
    ) -> Progress:
        """A spinner on a terminal (but for a labelled run: several share it), else lines."""
        env = os.environ if environ is None else environ
        try:
            terminal = stream.isatty()
        except (AttributeError, ValueError):
            terminal = False
        spinner = terminal and env.get("TERM") != "dumb" and not label
        return cls(stream, spinner=spinner, label=label, interval=0.1 if spinner else 0.25)

    # --- what the commands call ---------------------------------------------------------------

    def say(self, message: str) -> None:
        """One line now, whatever the time (the sandbox's build, a reused cache)."""
        with self._lock:
            self._write(f"mfc-validator: {self.label}{message}\n")

    def stage(self, name: str) -> contextlib.AbstractContextManager[None]:
        """The step of the pipeline's stage NAME (the pipeline's `watch`)."""
        return self.step(STEP_WORDS.get(name, name))

    @contextlib.contextmanager
    def step(self, what: str) -> Iterator[None]:
        """WHAT is under way for the block's duration: said if it takes longer than `after`."""
        step = _Step(what, time.monotonic())
        with self._lock:
            self._steps.append(step)
            first = len(self._steps) == 1
        if first:
            self._start()
        ended = False
        try:
            yield
            ended = True
        finally:
            with self._lock:
                self._steps.remove(step)
                last = not self._steps
                if step.announced and ended:
                    took = time.monotonic() - step.started
                    self._write(f"mfc-validator: {self.label}{what}: done ({took:.1f} s)\n")
                elif self._drawn and last:
                    self._write("")  # an interrupted step leaves no half-drawn line
            if last:
                self._end()

    # --- the ticker ---------------------------------------------------------------------------

    def _start(self) -> None:
        self._stop.clear()
        self._ticker = threading.Thread(target=self._tick, name="mfc-progress", daemon=True)
        self._ticker.start()

    def _end(self) -> None:
        self._stop.set()
        ticker, self._ticker = self._ticker, None
        if ticker is not None and ticker is not threading.current_thread():
            ticker.join()

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                now = time.monotonic()
                due = [step for step in self._steps if now - step.started >= self.after]
                for step in due:  # outermost first
                    if not step.announced and not self.spinner:
                        self._write(f"mfc-validator: {self.label}{step.what} ...\n")
                    step.announced = True
                if due and self.spinner:  # what is under way now: the innermost step
                    self._draw(self._steps[-1], now - self._steps[-1].started)

    def _draw(self, step: _Step, elapsed: float) -> None:
        frames = _FRAMES if _encodes(self.stream, _FRAMES) else _ASCII_FRAMES
        self._frame = (self._frame + 1) % len(frames)
        line = f"{frames[self._frame]} mfc-validator: {step.what} ({elapsed:.0f} s)"
        width = shutil.get_terminal_size((80, 24)).columns
        self._write(line[: max(width - 1, 10)], keep=True)

    def _write(self, text: str, keep: bool = False) -> None:
        """TEXT on the stream (the lock held): over the spinner's line, which KEEP redraws."""
        with contextlib.suppress(OSError, ValueError):
            if self._drawn:
                self.stream.write(_CLEAR)
            self.stream.write(text)
            self.stream.flush()
        self._drawn = keep


def _encodes(stream: TextIO, text: str) -> bool:
    try:
        text.encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True

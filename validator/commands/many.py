"""Several projects in one run: `check|validate|register PROJECT PROJECT…` or `--all [ROOT]`.

`check` runs the projects one after the other in this process: it is fast and imports nothing
of a project. `validate` and `register` keep each project's script in its own process, with its
own working folder, sys.path and sys.modules, without paying MLflow's imports once per project:

- A fork server (multiprocessing's "forkserver") imports mlflow, pandas and the validator once
  (`commands.warm`) and forks one worker per project; at most JOBS run at once.
- One warm probe server per sandbox environment: the projects whose requirements are the same
  share one environment build and one server, which imports mlflow once and forks one child
  per model (`sandbox.runner`). A model whose logged requirements differ from its project's
  file gets a sandbox of its own, as in a single-project run.

Ctrl-C or SIGTERM stops every worker, each of which ends its MLflow run as KILLED and stops its
probe; then the shared servers and any environment build under way stop, and the scratch
folders go.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import multiprocessing.util
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from validator.errors import ValidatorError
from validator.report import Batch, Report, unrunnable

if TYPE_CHECKING:  # imported where used: a batch of `check` needs neither
    from validator.commands.register import RegisterOptions
    from validator.commands.validate import ValidateOptions

Progress = Callable[[str], None]
STOP_GRACE_S = 60.0  # how long a stopped worker may take to end its run and stop its probe


@dataclass(frozen=True)
class Job:
    command: str
    project: str
    options: ValidateOptions
    choices: RegisterOptions | None  # for register


def run_check(projects: list[str], progress: Progress) -> Batch:
    from validator.commands import check

    started = time.perf_counter()
    reports = []
    for project in projects:
        try:
            reports.append(check.run(Path(project), project))
        except ValidatorError as exc:
            reports.append(unrunnable("check", project, str(exc)))
    return Batch("check", reports, time.perf_counter() - started)


def run_many(
    command: str,
    projects: list[str],
    jobs: int,
    options: ValidateOptions,
    choices: RegisterOptions | None,
    progress: Progress,
) -> Batch:
    """validate or register each of PROJECTS in a worker, JOBS at once."""
    started = time.perf_counter()
    with _shared_sandboxes(projects, options, progress) as shared:
        options = replace(options, shared=shared)
        reports = _run_workers(
            [Job(command, project, options, choices) for project in projects],
            max(1, jobs),
            progress,
        )
    return Batch(command, reports, time.perf_counter() - started)


def _early_requirements(project: str) -> tuple[str, dict[str, bytes]] | None:
    """PROJECT's requirements and the files they include (constraints); a uv project's: its
    uv.lock's export, which includes none."""
    from validator.commands.listing import UNREADABLE, requirements_of
    from validator.project.requirements import included

    try:
        loaded, text = requirements_of(project)
    except UNREADABLE:
        return None  # the project's worker says what is wrong
    return text, included(text, loaded.path(loaded.requirements).parent)


@contextlib.contextmanager
def _shared_sandboxes(
    projects: list[str], options: ValidateOptions, progress: Progress
) -> Iterator[dict[str, str]]:
    """One sandbox environment and warm probe server per distinct set of requirements, built
    and started in the background; yields {environment key: ready file} for the workers."""
    from validator.sandbox.envcache import early_key, this_python
    from validator.sandbox.runner import Sandbox, SandboxSettings

    version = this_python()
    wanted: dict[str, tuple[str, dict[str, bytes]]] = {}
    for project in projects:
        found = _early_requirements(project)
        if found is not None:
            wanted.setdefault(early_key(version, *found), found)
    scratch = Path(tempfile.mkdtemp(prefix="mfc-shared-"))
    shared: dict[str, str] = {}
    try:
        with contextlib.ExitStack() as stack:
            for key, (requirements, files) in wanted.items():
                settings = SandboxSettings(
                    sys.executable,
                    version,
                    requirements,
                    included=files,
                    use_cache=options.use_cache,
                )
                box = stack.enter_context(Sandbox(settings, progress=progress))
                ready = scratch / f"{key}.json"
                threading.Thread(
                    target=box.publish, args=(ready,), name=f"mfc-{key}", daemon=True
                ).start()
                shared[key] = str(ready)
            yield shared
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _interrupt_once(signum: int, frame: object) -> None:
    # the first Ctrl-C or SIGTERM stops the validation, which then cleans up undisturbed
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def _work(job: Job, tmp: str, conn: multiprocessing.connection.Connection) -> None:
    """In a worker forked from the warm server: one project's validate or register, with TMP as
    its temporary folder (and its children's), which the batch removes once the worker ended."""
    signal.signal(signal.SIGTERM, _interrupt_once)
    signal.signal(signal.SIGINT, _interrupt_once)
    os.environ["TMPDIR"] = tmp
    tempfile.tempdir = tmp
    from validator.commands import validate

    options = replace(job.options, label=f"[{job.project}] ")
    message: tuple[str, Any]
    try:
        if job.command == "validate":
            message = ("report", validate.run(Path(job.project), job.project, options))
        else:
            from validator.commands import register

            assert job.choices is not None
            report = register.run(Path(job.project), job.project, options, job.choices)
            message = ("report", report)
    except ValidatorError as exc:
        message = ("error", str(exc))
    except KeyboardInterrupt:
        message = ("interrupted", "")
    except BaseException:
        message = ("crash", traceback.format_exc())
    with contextlib.suppress(OSError):
        conn.send(message)
    conn.close()


def _context() -> Any:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["validator.commands.warm"])
    # the fork server listens on a Unix socket in multiprocessing's temporary folder, whose path
    # may not exceed about 100 bytes: under a deep TMPDIR, that folder goes under /tmp instead
    # (multiprocessing removes it at exit)
    deepest = Path(tempfile.gettempdir()) / "pymp-xxxxxxxx" / "listener-xxxxxxxx"
    if len(os.fsencode(deepest)) >= 100:
        previous = tempfile.tempdir
        tempfile.tempdir = "/tmp"
        try:
            multiprocessing.util.get_temp_dir()  # made now, and kept for this process
        finally:
            tempfile.tempdir = previous
    return context


@dataclass
class _Running:
    job: Job
    process: Any  # multiprocessing Process
    conn: multiprocessing.connection.Connection
    started: float
    tmp: str  # the worker's temporary folder: removed when it has ended, even killed

    def remove_tmp(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def _result(running: _Running) -> Report:
    message: tuple[str, Any] | None = None
    with contextlib.suppress(EOFError, OSError):
        if running.conn.poll():
            message = running.conn.recv()
    running.process.join()
    running.conn.close()
    running.remove_tmp()
    command, project = running.job.command, running.job.project
    if message is None or message[0] == "crash":
        detail = message[1].strip().splitlines()[-1] if message else ""
        why = detail or f"its worker ended with exit code {running.process.exitcode}"
        report = unrunnable(command, project, f"internal error: {why}")
    elif message[0] == "error":
        report = unrunnable(command, project, message[1])
    elif message[0] == "interrupted":
        report = unrunnable(command, project, "interrupted")
    else:
        report = message[1]
    report.duration_s = report.duration_s or time.perf_counter() - running.started
    return report


def _run_workers(jobs: list[Job], parallel: int, progress: Progress) -> list[Report]:
    context = _context()
    pending = list(enumerate(jobs))
    running: dict[int, _Running] = {}
    reports: dict[int, Report] = {}
    try:
        while pending or running:
            while pending and len(running) < parallel:
                index, job = pending.pop(0)
                reader, writer = context.Pipe(duplex=False)
                tmp = tempfile.mkdtemp(prefix="mfc-job-")
                process = context.Process(target=_work, args=(job, tmp, writer), daemon=False)
                try:
                    process.start()
                except BaseException:
                    shutil.rmtree(tmp, ignore_errors=True)
                    raise
                finally:
                    writer.close()
                running[index] = _Running(job, process, reader, time.perf_counter(), tmp)
            waited = [r.conn for r in running.values()] + [
                r.process.sentinel for r in running.values()
            ]
            ready = set(multiprocessing.connection.wait(waited, timeout=0.5))
            for index, item in list(running.items()):
                if item.conn in ready or item.process.sentinel in ready:
                    if item.process.is_alive() and not item.conn.poll():
                        continue
                    del running[index]
                    reports[index] = _result(item)
                    progress(f"[{item.job.project}] {_verdict(reports[index])}")
    except BaseException:
        _stop(list(running.values()), progress)
        raise
    return [reports[index] for index in range(len(jobs))]


def _verdict(report: Report) -> str:
    if report.error is not None:
        return f"could not run: {report.error}"
    return f"{report.status} ({report.duration_s:.1f} s)"


def _stop(running: list[_Running], progress: Progress) -> None:
    """SIGTERM to every worker: each ends its run as KILLED and stops its probe; wait for them,
    and kill those that do not end in time."""
    if running:
        progress(f"stopping {len(running)} running validation(s)")
    # a second Ctrl-C must not cut the workers' cleanup short
    previous = (
        signal.signal(signal.SIGINT, signal.SIG_IGN),
        signal.signal(signal.SIGTERM, signal.SIG_IGN),
    )
    try:
        _stop_all(running)
    finally:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])


def _stop_all(running: list[_Running]) -> None:
    for item in running:
        with contextlib.suppress(ProcessLookupError, OSError):
            os.kill(item.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    for item in running:
        item.process.join(max(0.0, deadline - time.monotonic()))
        if item.process.is_alive():
            item.process.kill()
            item.process.join()
        item.conn.close()
        item.remove_tmp()

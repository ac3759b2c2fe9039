"""The sandbox stages of `validate`: the requirements resolved before logging (DEP014, see
`resolution`), an interpreter of the logged Python (SBX006), the environment
built from the logged requirements (SBX001), and the probe's run there (SBX002-SBX005, SBX007,
SIG006, DEP009, DEP010, ENV004). The environment is started early, from the requirements the
model is about to be logged with, so that it is built while the model is being logged."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from validator.checks.logged_files import logged_python_version
from validator.project import uv_project
from validator.project.config import ProjectConfig
from validator.project.requirements import included, redact, requirement_lines
from validator.report import Finding, failed, passed
from validator.sandbox import probe_results
from validator.sandbox.envcache import SandboxError, early_key, installer_sources, this_python
from validator.sandbox.installer import unreachable, unreachable_fix
from validator.sandbox.interpreters import find_python, find_uv
from validator.sandbox.resolution import resolve
from validator.sandbox.runner import Sandbox, SandboxSettings


@dataclass(frozen=True)
class SandboxOptions:
    """The command's choices for its sandboxes, decided once."""

    use_cache: bool = True
    offline: bool = False  # every connection the model opens in the sandbox fails at once
    max_memory: int | None = None  # --max-memory, in bytes
    # environment key -> ready file of a warm probe server shared by several projects' runs
    shared: dict[str, str] = field(default_factory=dict)


@dataclass
class SandboxState:
    config: ProjectConfig
    options: SandboxOptions
    timeout: float
    progress: Callable[[str], None]
    stack: contextlib.ExitStack
    early: Sandbox | None = None  # started before logging, for the project's requirements
    box: Sandbox | None = None  # the one that runs the probe
    traced: dict[str, Any] | None = None  # the probe's result, for ENV002 (see environment.py)
    source: str = ""  # what the model is logged with, when not the requirements file


def _fits(box: Sandbox, model_dir: Path) -> bool:
    """Whether BOX was made for the Python and requirements the model was logged with."""
    version = logged_python_version(model_dir) or ""
    requirements = (model_dir / "requirements.txt").read_text(encoding="utf-8")
    made_for = box.settings
    return (
        made_for.python_version,
        sorted(requirement_lines(made_for.requirements_text)),
        _included_lines(made_for.included),
    ) == (
        version,
        sorted(requirement_lines(requirements)),
        _included_lines(included(requirements, model_dir)),
    )


def _included_lines(files: dict[str, bytes]) -> dict[str, list[str]]:
    """The requirement lines of each included file (the lock's comments aside: MLflow ships
    its constraints without them)."""
    return {
        name: sorted(requirement_lines(content.decode("utf-8", "replace")))
        for name, content in files.items()
    }


def _sandbox(
    state: SandboxState, python: str, version: str, requirements: str, folder: Path
) -> Sandbox:
    """A sandbox for VERSION and REQUIREMENTS (read from FOLDER, with the files they include):
    the shared one where several projects' runs share its environment, else one of our own."""
    files = included(requirements, folder)
    options = state.options
    shared = options.shared.get(early_key(version, requirements, files))
    settings = SandboxSettings(
        python,
        version,
        requirements,
        declared=tuple(var.name for var in state.config.env),
        included=files,
        use_cache=options.use_cache,
        offline=options.offline,
        max_memory=options.max_memory,
    )
    box = Sandbox(settings, progress=state.progress, shared=Path(shared) if shared else None)
    return state.stack.enter_context(box)


def resolution(state: SandboxState) -> list[Finding]:
    """DEP014: the project's requirements resolve, before anything is logged."""
    return resolve(state.config, use_cache=state.options.use_cache, progress=state.progress)


def start_early(state: SandboxState) -> None:
    """Start building the sandbox for the requirements the model is about to be logged with."""
    config = state.config
    if uv_project.is_uv_project(config.root):
        state.source = uv_project.SOURCE  # what the model is logged with, early sandbox or not
        try:
            requirements = uv_project.logged_requirements(config.root, find_uv())
        except uv_project.UvProjectError:  # DEP014 or logging says why; nothing to start
            return
        folder = config.root
    else:
        requirements = config.path(config.requirements).read_text(encoding="utf-8")
        folder = config.path(config.requirements).parent
    state.early = _sandbox(state, sys.executable, this_python(), requirements, folder)


def stop_early(state: SandboxState) -> None:
    """Stop a build started early, without keeping it: the validation cannot go on."""
    if state.early is not None:
        state.early.close()
        state.early = None


def start_probe_early(state: SandboxState, model_dir: Path, payload: Path) -> None:
    """Hand the early sandbox's probe the model as soon as it is downloaded, if it fits."""
    early = state.early
    if early is not None and early.ready() and _fits(early, model_dir):
        early.start(model_dir, payload)


def interpreter(state: SandboxState, model_dir: Path) -> list[Finding]:
    """SBX006: a Python of the logged major.minor, and the sandbox that will use it."""
    version = logged_python_version(model_dir) or ""
    if state.early is not None and _fits(state.early, model_dir):
        state.box = state.early
        return [passed("SBX006")]
    if state.early is not None:  # the logged model asks for something else than we guessed
        state.early.close()
        state.early = None
    python = find_python(version) if version else sys.executable
    if python is None:
        return [
            failed(
                "SBX006",
                f"the model was logged with Python {version}, and no Python {version} is on "
                "this machine to rebuild its environment",
                "python_env.yaml",
                f"install Python {version} (e.g. `uv python install {version}`) or log the "
                "model with the Python it will be served with",
            )
        ]
    requirements = (model_dir / "requirements.txt").read_text(encoding="utf-8")
    state.box = _sandbox(state, python, version, requirements, model_dir)
    return [passed("SBX006")]


def environment_build(state: SandboxState) -> list[Finding]:
    """SBX001: the logged requirements install in a fresh virtualenv."""
    assert state.box is not None
    config = state.config
    try:
        env = state.box.environment()
    except SandboxError as exc:
        return [_install_failure(config, exc, uv_lock=bool(state.source))]
    built = (
        "reused from the cache"
        if env.reused
        else f"built in {env.build_s:.1f} s" + ("" if state.options.use_cache else ", not cached")
    )
    source = f"from {state.source or config.requirements}"
    return [
        Finding(
            "SBX001",
            "passed",
            f"the logged requirements install in a fresh virtualenv ({source}; "
            f"installed with {env.sources or env.installer}; environment {built})",
        )
    ]


def _install_failure(config: ProjectConfig, exc: SandboxError, *, uv_lock: bool = False) -> Finding:
    """SBX001 failed: the requirements' fault (a uv project's: its uv.lock's), or the index's
    that could not be reached."""
    where = uv_project.LOCK if uv_lock else config.requirements
    fix = (
        f"fix the requirement the installer names in {uv_project.PYPROJECT} (a version that "
        f"exists for this Python and platform) and run `uv lock`"
        if uv_lock
        else f"fix the requirement the installer names in {config.requirements} (a version "
        "that exists for this Python and platform)"
    )
    output = exc.stderr.strip().splitlines()
    detail = redact(" | ".join(line.strip() for line in output[-6:] if line.strip()))
    found = exc.sources or installer_sources()
    reason = unreachable(exc.stderr)
    if reason is None:
        return failed(
            "SBX001",
            f"the logged requirements do not install in a new virtualenv ({found.shown()}): "
            f"{exc}: {detail}",
            where,
            fix,
        )
    return failed(
        "SBX001",
        f"the installer ({found.shown()}) could not reach the package index, so the logged "
        f"requirements were not installed: {reason}: {detail}",
        found.where(),
        f"{unreachable_fix(reason)}; this is no fault of {where}",
    )


def probe(
    state: SandboxState,
    model_dir: Path,
    payload: Path,
    local_predictions: str | None,
    unstable: list[str],
) -> list[Finding]:
    """The probe loads the logged model and predicts in the sandbox; its results as checks."""
    assert state.box is not None
    result = state.box.run(model_dir, payload, state.timeout)
    state.traced = result.result
    per_process: list[str] = []
    if probe_results.differs(result, local_predictions, unstable):
        # the same twice in one process is no proof of stable: ask another fresh process
        again = state.box.run_again(model_dir, payload, state.timeout)
        per_process = probe_results.per_process_paths(result, again)
    return probe_results.probe_checks(
        state.config, model_dir, result, local_predictions, state.timeout, unstable, per_process
    )

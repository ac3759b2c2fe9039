"""DEP014: the requirements resolve for the Python the model is logged with, on this platform,
before anything is logged.

`uv pip compile` resolves the requirements file (with the files it includes, constraints among
them) for the interpreter the validator runs on: the one MLflow records in `python_env.yaml` and
the sandbox installs for. It reads pip's configuration as the sandbox's installs do (see
`installer`). A requirement that cannot be had (a version the index does not have, a name it does
not know, no wheel for this platform or Python, two pins that exclude each other) is named with
its line of the requirements file, from uv's own explanation, and the run stops before a run is
created in the tracking store.

A resolution that succeeded is kept in the cache under the sandbox environment's key, so that a
second `validate` of unchanged requirements does not resolve again; an environment already built
for that key needs no resolution either. An index that cannot be reached is the sandbox build's to
report (SBX001 says where the index was configured), so it skips this check, never fails it.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from validator.paths import cache_root
from validator.project import uv_project
from validator.project.config import ProjectConfig
from validator.project.requirements import (
    INCLUDES,
    included,
    logical_lines,
    normalize,
    option,
    parse_requirement,
    redact,
)
from validator.report import Finding, failed, skipped
from validator.sandbox.envcache import (
    Canceller,
    SandboxError,
    TookTooLong,
    early_key,
    installer_sources,
    is_cached,
    run_step,
    this_python,
)
from validator.sandbox.installer import Sources, unreachable
from validator.sandbox.interpreters import find_uv

CODE = "DEP014"
RESOLUTIONS = "resolutions"
# seconds a resolution may take: longer is the index's trouble (the sandbox build says which)
RESOLVE_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Unresolvable:
    """What uv said could not be had, in a few words, and its own explanation."""

    requirement: str | None  # as uv names it: `numpy==9.9.9`, `mfc-no-such-dist`
    reason: str  # plain words: "the package index has no version numpy==9.9.9"
    fix: str
    cause: str  # uv's explanation, on one line
    uv_hint: str = ""  # uv's own hint, on one line
    kind: str = "alone"  # "conflict": it can be had, but not with the other requirements


_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]*"
# a requirement as uv writes it: name and specifiers, no spaces (a sentence's period stripped)
_REQ = r"[A-Za-z0-9][^\s,;`]*"
_DECORATION = re.compile(r"^[\s\u2502\u2570\u2500\u25b6\u00d7]*(?:cause:|error:)?\s*")
_NO_VERSION = re.compile(rf"there is no version of (?P<req>{_REQ})")
_NOT_FOUND = re.compile(
    rf"(?P<name>{_NAME}) was not found in the (?:package registry|provided package locations)"
)
_NO_WHEEL = re.compile(
    rf"(?P<req>{_REQ}) has no wheels with a matching (?P<what>platform tag|Python ABI tag|Python "
    r"implementation tag|Python version)(?: \(e\.g\., `(?P<tag>[^`]+)`\))?"
)
_NEEDS_PYTHON = re.compile(
    rf"(?P<req>{_REQ}) (?:depends on|requires) Python ?(?P<spec>[<>=!~][^\s,]*)"
)
_REQUIRED = re.compile(rf"you require (?P<req>{_REQ})")
_DEPENDS = re.compile(
    rf"(?:all versions of )?(?P<req>{_REQ}) depends? on (?P<dep>(?!Python){_REQ})"
)


def _req(match: re.Match[str], group: str = "req") -> str:
    return match[group].rstrip(".")


def _one_line(lines: list[str]) -> str:
    return " ".join(" ".join(_DECORATION.sub("", line).split()) for line in lines).strip()


def _explanation(output: str) -> tuple[str, str]:
    """(uv's explanation, uv's hint) from its output, each on one line."""
    lines = [line for line in output.splitlines() if line.strip()]
    hint_at = next((i for i, line in enumerate(lines) if line.startswith("hint:")), len(lines))
    body, hints = lines[:hint_at], lines[hint_at:]
    solution = next((i for i, line in enumerate(body) if "No solution found" in line), None)
    if solution is not None:
        body = body[solution + 1 :] or body[solution:]
    else:  # another error: uv's error lines themselves
        body = [line for line in body if not line.startswith(("warning:", "Resolved "))]
    return _one_line(body), " ".join(_one_line([h.removeprefix("hint:")]) for h in hints)


def parse_uv_error(output: str) -> Unresolvable:
    """What uv's failed resolution (its OUTPUT) says could not be had, and why."""
    cause, hint = _explanation(output)
    if match := _NO_VERSION.search(cause):
        req = _req(match)
        return Unresolvable(
            req,
            f"the package index has no version {req}",
            f"pin a version of {_name(req)} that the index has (`pip index versions "
            f"{_name(req)}` lists them)",
            cause,
            hint,
        )
    if match := _NOT_FOUND.search(cause):
        name = match["name"]
        required = [_req(m) for m in _REQUIRED.finditer(cause) if _same(_req(m), name)]
        return Unresolvable(
            required[0] if required else name,
            f"no distribution named {name} is on the package index",
            f"check the name's spelling on the index; if a private index serves {name}, name "
            "it in pip.conf or PIP_EXTRA_INDEX_URL (the sandbox hands it to uv)",
            cause,
            hint,
        )
    if match := _NO_WHEEL.search(cause):
        req, tag = _req(match), match["tag"]
        where = f"this platform ({tag})" if tag else "this platform and Python"
        return Unresolvable(
            req,
            f"{req} has no wheel for {where} and no source distribution",
            f"pin a version of {_name(req)} that has a wheel for {where}, or install the model "
            "where its wheels run",
            cause,
            hint,
        )
    if match := _NEEDS_PYTHON.search(cause):
        req, spec = _req(match), match["spec"].rstrip(".")
        return Unresolvable(
            req,
            f"{req} needs Python{spec}",
            f"pin a version of {_name(req)} that supports Python {this_python()}, or run the "
            f"validator (and serve the model) with a Python{spec}",
            cause,
            hint,
        )
    required = [_req(m) for m in _REQUIRED.finditer(cause)]
    depends = [f"{_req(m)} needs {_req(m, 'dep')}" for m in _DEPENDS.finditer(cause)]
    if required:
        conflict = "; ".join(dict.fromkeys(depends))
        return Unresolvable(
            required[-1],
            f"it conflicts with the other requirements ({conflict})"
            if conflict
            else "it conflicts with the other requirements",
            f"make the pins agree with what the other requirements need of {_name(required[-1])}",
            cause,
            hint,
            kind="conflict",
        )
    return Unresolvable(
        None, "the requirements do not resolve", "fix what uv names", cause or "no output", hint
    )


def _name(requirement: str) -> str:
    match = re.match(_NAME, requirement)
    name = match[0] if match else requirement
    return re.sub(r"[-_.]+$", "", name)


def _same(requirement: str, name: str) -> bool:
    return normalize(_name(requirement)) == normalize(name)


def _line_of(requirement: str | None, text: str) -> int | None:
    """The line of the requirements TEXT that asks for REQUIREMENT's distribution."""
    if requirement is None:
        return None
    for number, line in logical_lines(text):
        if line.startswith("-"):
            continue
        name = parse_requirement(line).name
        if name and _same(requirement, name):
            return number
    return None


def resolution_file(key: str) -> Path:
    return cache_root() / RESOLUTIONS / f"{key}.txt"


def resolve(
    config: ProjectConfig, *, use_cache: bool, progress: Callable[[str], None]
) -> list[Finding]:
    """DEP014 for the project's requirements file (a uv project's: its uv.lock)."""
    if uv_project.is_uv_project(config.root):
        return _uv_lock(config, progress)
    requirements = config.path(config.requirements)
    text = requirements.read_text(encoding="utf-8")
    version = this_python()
    key = early_key(version, text, included(text, requirements.parent))
    if use_cache and (resolution_file(key).is_file() or is_cached(key)):
        message = f"the requirements resolve for Python {version} (resolved before)"
        return [Finding(CODE, "passed", message)]
    found = installer_sources()
    if found.installer != "uv" or find_uv() is None:
        return [skipped(CODE, "uv is not installed: the sandbox build (SBX001) checks them")]
    outside = _not_beside(text, requirements.parent)
    if outside is not None:
        return [
            skipped(
                CODE,
                f"{config.requirements} includes {outside}, which is not a file beside it: "
                "not resolved here (the sandbox build installs what MLflow logged)",
            )
        ]
    started = time.perf_counter()
    progress(f"resolving {config.requirements} for Python {version} with {found.shown()}")
    with tempfile.TemporaryDirectory(prefix="mfc-resolve-") as scratch:
        output = Path(scratch) / "resolved.txt"
        try:
            failure = _compile(requirements, output, found)
        except TookTooLong:
            message = f"the resolution took longer than {RESOLVE_TIMEOUT_S:.0f} s: not judged"
            return [skipped(CODE, message + " (the sandbox build installs them)")]
        if failure is not None:
            return [_failure(config, text, version, found, failure, Path(scratch))]
        elapsed = time.perf_counter() - started
        count = sum(1 for _ in logical_lines(output.read_text(encoding="utf-8")))
        if use_cache:
            _keep(output, resolution_file(key))
    message = (
        f"the requirements resolve for Python {version} ({count} distributions, resolved in "
        f"{elapsed:.1f} s)"
    )
    return [Finding(CODE, "passed", message)]


def _uv_lock(config: ProjectConfig, progress: Callable[[str], None]) -> list[Finding]:
    """DEP014 of a uv project: uv.lock matches pyproject.toml (`uv lock --check`) and exports
    as MLflow exports it."""
    uv = find_uv()
    if uv is None:
        return [
            failed(
                CODE,
                f"a uv project ({uv_project.PYPROJECT} and {uv_project.LOCK}) needs uv, which "
                "is not installed where the validator runs",
                uv_project.LOCK,
                "install uv (`pip install uv`) beside the validator",
            )
        ]
    progress(f"checking {uv_project.LOCK} against {uv_project.PYPROJECT} with uv")
    try:
        uv_project.check_lock(config.root, uv)
        count = len(uv_project.export_lines(uv_project.export(config.root, uv)))
    except uv_project.UvProjectError as exc:
        said = str(exc)
        if unreachable(said) is not None:
            return [skipped(CODE, f"the package index cannot be reached: {said}")]
        stale = "needs to be updated" in said
        message = (
            f"{uv_project.LOCK} is stale: it no longer matches {uv_project.PYPROJECT} ({said})"
            if stale
            else f"{uv_project.LOCK} cannot be used: {said}"
        )
        return [
            failed(
                CODE,
                message,
                uv_project.LOCK,
                f"run `uv lock` in the project's folder and commit {uv_project.LOCK} with "
                f"{uv_project.PYPROJECT}",
            )
        ]
    message = (
        f"{uv_project.LOCK} is current with {uv_project.PYPROJECT} and pins {count} "
        "distributions (uv lock --check, uv export)"
    )
    return [Finding(CODE, "passed", message)]


def _compile(requirements: Path, output: Path, found: Sources) -> str | None:
    """Resolve REQUIREMENTS into OUTPUT for this interpreter; uv's output when it failed."""
    uv = find_uv()
    assert uv is not None
    command = [uv, "pip", "compile", str(requirements), "--python", sys.executable]
    command += ["--no-header", "--no-annotate", "--quiet", "--no-progress", "-o", str(output)]
    try:
        run_step(command, "resolving", Canceller(), found, timeout=RESOLVE_TIMEOUT_S)
    except TookTooLong:
        raise
    except SandboxError as exc:
        return exc.stderr
    return None


def _not_beside(text: str, folder: Path) -> str | None:
    """A file TEXT includes (`-r`, `-c`) that is not a regular file inside FOLDER: uv would
    read whatever it is (`-r /dev/zero` never ends)."""
    for line in logical_lines(text):
        name, value = option(line[1]) if line[1].startswith("-") else ("", "")
        if name not in INCLUDES:
            continue
        relative = Path(value)
        if not value or relative.is_absolute() or ".." in relative.parts:
            return value or name
        if not (folder / relative).is_file():
            return value
    return None


def _alone(text: str, requirement: str, found: Sources, scratch: Path) -> Unresolvable | None:
    """Why REQUIREMENT cannot be had even alone (with TEXT's index options), or None when it
    can: then it only conflicts with the others. uv names a conflict first when another pin
    also excludes the version (`mlflow` needs numpy<3, and numpy==9.9.9 does not exist)."""
    options = [
        line
        for _, line in logical_lines(text)
        if line.startswith("-") and option(line)[0] not in INCLUDES
    ]
    wanted = [
        line
        for _, line in logical_lines(text)
        if not line.startswith("-") and _same(requirement, parse_requirement(line).name or "")
    ]
    alone = scratch / "alone.txt"
    alone.write_text("\n".join([*options, *wanted]) + "\n", encoding="utf-8")
    failure = _compile(alone, scratch / "alone-resolved.txt", found)
    if failure is None or unreachable(failure) is not None:
        return None
    reason = parse_uv_error(redact(failure))
    return reason if reason.requirement is not None and reason.kind != "conflict" else None


def _keep(resolved: Path, target: Path) -> None:
    """Publish RESOLVED as TARGET atomically; a cache that cannot be written only costs time."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = target.with_name(f".{target.name}.{os.getpid()}")
        staged.write_bytes(resolved.read_bytes())
        os.replace(staged, target)
    except OSError:
        return


def _failure(
    config: ProjectConfig, text: str, version: str, found: Sources, output: str, scratch: Path
) -> Finding:
    reason = unreachable(output)
    if reason is not None:
        index_at = found.where()
        return skipped(
            CODE,
            f"the package index could not be reached to resolve the requirements ({reason}; "
            f"see SBX001{', configured in ' + index_at if index_at else ''})",
        )
    said = parse_uv_error(redact(output))
    if said.kind == "conflict" and said.requirement is not None:
        said = _alone(text, said.requirement, found, scratch) or said
    line = _line_of(said.requirement, text)
    location = f"{config.requirements}:{line}" if line else config.requirements
    named = said.requirement or config.requirements
    hint = said.fix + (f" (uv: {said.uv_hint})" if said.uv_hint else "")
    return failed(
        CODE,
        f"{named} cannot be installed for Python {version} on this platform: {said.reason}; "
        f"nothing was logged (uv: {said.cause})",
        location,
        hint,
    )

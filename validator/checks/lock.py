"""The lock (`constraints.txt`, see `validator.project.lock`), read as `check` reads everything:
files only, nothing resolved.

DEP015: the requirements are not locked, so what they leave open (the dependencies of the pins,
and any requirement not pinned with ==) is resolved afresh at every install (a warning, once).
DEP016: the lock is stale: a requirement it does not satisfy, or requirements changed since it
was made. DEP017: the file the requirements include as the lock is missing, corrupt, or another
project's. DEP018: the lock was made for another Python than the one the model is logged with.
A `-c constraints.txt` that `mfc-validator lock` did not write is the user's own constraints
file: the project counts as unlocked (DEP015), not as a broken lock.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from validator.paths import relative_path
from validator.project import lock
from validator.project.requirements import logical_lines, normalize, parse_requirement
from validator.report import Finding, failed, ran, skipped, warning

if TYPE_CHECKING:
    from validator.project.config import ProjectConfig

CODES = ("DEP015", "DEP016", "DEP017", "DEP018")
FIX = "run `mfc-validator lock` (in a generated project: `nox -s lock`)"


def _unlocked(requirements: str, text: str, own: str | None) -> Finding:
    open_ = []
    for _, line in logical_lines(text):
        if not line.startswith("-"):
            parsed = parse_requirement(line)
            if parsed.name and not parsed.pinned:
                open_.append(parsed.name)
    drift = "the dependencies of its pins"
    if open_:
        drift = f"{', '.join(sorted(open_))} (not pinned with ==) and {drift}"
    why = f"{own} was not written by `mfc-validator lock`, so " if own else ""
    return warning(
        "DEP015",
        f"{requirements} is not locked: {why}{drift} are resolved afresh at every install, so "
        "the sandbox and, later, serving can get versions that were never validated together",
        requirements,
        f"{FIX} and commit {lock.LOCK_FILE}: validate then builds under it and the model ships it",
    )


def _unsatisfied(text: str, locked: lock.Lock) -> list[str]:
    """What the lock does not satisfy among the requirement lines of TEXT."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    problems = []
    for _, line in logical_lines(text):
        if line.startswith("-"):
            continue
        parsed = parse_requirement(line)
        if not parsed.name:
            continue  # DEP005 says so
        name = normalize(parsed.name)
        pin = locked.pins.get(name)
        if pin is None:
            if not parsed.has_marker:  # a marker may leave it out of this environment
                problems.append(f"{parsed.name} is not in it")
            continue
        specifier = parsed.specifier.strip()
        if not specifier or specifier.startswith(("@", "http", "git+", "file:")):
            continue
        try:
            allowed = SpecifierSet(specifier)
        except InvalidSpecifier:
            continue
        if not allowed.contains(pin[0], prereleases=True):
            problems.append(f"it has {parsed.name}=={pin[0]}, the requirements {specifier}")
    return problems


def run(config: ProjectConfig) -> list[Finding]:
    """DEP015-DEP018 for CONFIG's requirements file."""
    path = config.path(config.requirements)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return [skipped(code, f"{config.requirements} cannot be read") for code in CODES]
    shown = relative_path(path.parent / lock.LOCK_FILE, config.root)
    if not lock.uses_lock(text):
        return ran(CODES, [_unlocked(config.requirements, text, None)])
    try:
        lock_text = (path.parent / lock.LOCK_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        return ran(CODES, [_broken(shown, f"{config.requirements} includes it, but it does not "
                                   "exist", 0)])  # fmt: skip
    except (OSError, UnicodeDecodeError) as exc:
        return ran(CODES, [_broken(shown, f"it cannot be read ({exc.__class__.__name__})", 0)])
    if not lock_text.startswith(lock.MARK):
        return ran(CODES, [_unlocked(config.requirements, text, shown)])
    try:
        locked = lock.parse(lock_text)
    except lock.LockError as exc:
        return ran(CODES, [_broken(shown, f"it is corrupt: {exc.reason}", exc.line)])
    if locked.project != config.name:
        return ran(
            CODES,
            [_broken(shown, f"it is the lock of the project '{locked.project}', not of "
                     f"'{config.name}'", 0)],
        )  # fmt: skip
    return ran(CODES, _current(config, text, path.parent, shown, locked))


def _broken(shown: str, why: str, line: int) -> Finding:
    return failed(
        "DEP017",
        f"{shown} cannot serve as the lock of this project: {why}",
        f"{shown}:{line}" if line else shown,
        f"{FIX} to write it anew; never edit or copy it by hand",
    )


def _current(
    config: ProjectConfig, text: str, folder: Path, shown: str, locked: lock.Lock
) -> list[Finding]:
    findings = []
    python = lock.python_version()
    if locked.python != python:
        findings.append(
            failed(
                "DEP018",
                f"{shown} was locked for Python {locked.python}, but the model is logged and "
                f"served with Python {python} (the Python the validator runs on)",
                shown,
                f"{FIX} with Python {python}, or run the validator with Python {locked.python}",
            )
        )
    problems = _unsatisfied(text, locked)
    if problems or locked.requirements_hash != lock.source_hash(text, folder):
        said = "; ".join(problems) if problems else "they changed since it was made"
        findings.append(
            failed(
                "DEP016",
                f"{shown} is stale: it no longer matches {config.requirements} ({said})",
                shown,
                f"{FIX} again after changing {config.requirements}, and commit both",
            )
        )
    return findings

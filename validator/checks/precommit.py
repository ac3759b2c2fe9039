"""DEP012: the `mfc-validate` pre-commit hook installs the model's requirements as its
`additional_dependencies` (it logs the model in the hook's own environment), and the two lists
are kept in step by hand. Entries that are not requirements (the validator itself, as a path or
URL) are left out of the comparison."""

from __future__ import annotations

from typing import TYPE_CHECKING

import yaml

from validator.project.requirements import logical_lines, normalize, parse_requirement, redact
from validator.report import Finding, ran, skipped, warning

if TYPE_CHECKING:
    from collections.abc import Iterable

    from validator.project.sources import Project

CONFIG = ".pre-commit-config.yaml"
HOOK = "mfc-validate"
VALIDATOR = "mfc-validator"


def pins(lines: Iterable[str]) -> dict[str, str]:
    """{normalized name: specifier} of every requirement among LINES."""
    found: dict[str, str] = {}
    for line in lines:
        if line.startswith("-"):
            continue
        parsed = parse_requirement(line)
        if parsed.name and normalize(parsed.name) != VALIDATOR:
            found[normalize(parsed.name)] = redact(parsed.specifier)
    return found


def _hook(project: Project) -> tuple[list[str], int] | str:
    """The hook's additional_dependencies and the line of its id, or why there is none."""
    path = project.root / CONFIG
    if not path.is_file():
        return f"the project has no {CONFIG}"
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return f"{CONFIG} cannot be read ({type(exc).__name__}); pre-commit reports why"
    repos = data.get("repos") if isinstance(data, dict) else None
    for repo in repos if isinstance(repos, list) else []:
        hooks = repo.get("hooks") if isinstance(repo, dict) else None
        for hook in hooks if isinstance(hooks, list) else []:
            if isinstance(hook, dict) and hook.get("id") == HOOK:
                dependencies = hook.get("additional_dependencies") or []
                rows = enumerate(text.splitlines(), 1)
                line = next(
                    (n for n, row in rows if HOOK in row and row.lstrip().startswith("- id")), 0
                )
                return [str(item).strip() for item in dependencies], line
    return f"{CONFIG} has no {HOOK} hook"


def drift(project: Project, declared: tuple[str, list[str]] | None = None) -> list[Finding]:
    """DEP012 against the requirements file, or DECLARED: (the file shown, its requirement
    lines), a uv project's pyproject.toml."""
    hook = _hook(project)
    if isinstance(hook, str):
        return [skipped("DEP012", hook)]
    dependencies, line = hook
    if declared is None:
        requirements_file = project.config.path(project.config.requirements)
        text = requirements_file.read_text(encoding="utf-8", errors="replace")
        declared = (project.config.requirements, [line for _, line in logical_lines(text)])
    relative, lines = declared
    wanted = pins(lines)
    listed = pins(dependencies)
    where = f"{CONFIG}:{line}" if line else CONFIG
    problems = [f"{name}{spec} is missing" for name, spec in wanted.items() if name not in listed]
    problems += [
        f"{name} is {listed[name] or 'unpinned'} there but {spec or 'unpinned'} in {relative}"
        for name, spec in wanted.items()
        if name in listed and listed[name] != spec
    ]
    problems += [
        f"{name}{spec} is not in {relative}" for name, spec in listed.items() if name not in wanted
    ]
    if not problems:
        return ran(("DEP012",), [])
    return [
        warning(
            "DEP012",
            f"the {HOOK} hook in {CONFIG} lists additional_dependencies that differ from "
            f"{relative}: " + "; ".join(problems),
            where,
            f"list exactly the requirements of {relative} under additional_dependencies of the "
            f"{HOOK} hook in {CONFIG}, so the hook validates with what the model pins",
        )
    ]

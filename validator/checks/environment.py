"""Every environment variable the code reads by a literal name is declared in model.yaml env.

A read is os.environ[...], os.environ.get/setdefault/pop(...), os.getenv(...) or ... in
os.environ, through any alias (import os as o, from os import environ, getenv). Any other use of
os.environ (passed on, iterated, copied) or a name that is not a literal hides which variables
are read: the sandbox traces those at run time (ENV004).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

from validator.checks.script import aliases, resolves_to
from validator.codes import owned_by
from validator.project.config import CONFIG_FILE
from validator.report import Finding, failed, ran, skipped, warning
from validator.secret_names import looks_secret

if TYPE_CHECKING:
    from collections.abc import Iterator

    from validator.project.config import ProjectConfig
    from validator.project.sources import Project, Source

CODES = owned_by("environment")
_ENVIRONS = ("os.environ", "os.environb")
_GETENVS = ("os.getenv", "os.getenvb")
_READ_METHODS = ("get", "setdefault", "pop")
_WRITE_METHODS = ("update", "clear", "__setitem__", "__delitem__")


class Read(NamedTuple):
    line: int
    name: str | None  # None: not a literal
    required: bool = True  # False where the code has a fallback: a default, or an `in` test
    how: str = ""  # for a non-literal read: what the code does


def _literal(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
        value = node.value
        return value.decode(errors="replace") if isinstance(value, bytes) else value
    return None


def _key_argument(call: ast.Call) -> ast.expr | None:
    if call.args:
        return call.args[0]
    return next((k.value for k in call.keywords if k.arg == "key"), None)


def _has_default(call: ast.Call) -> bool:
    return len(call.args) + len(call.keywords) >= 2


def _parents(tree: ast.AST) -> dict[int, ast.AST]:
    return {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _environ_use(node: ast.expr, parent: ast.AST | None, grand: ast.AST | None) -> Read | None:
    """The read made by this use of os.environ; None for a write (setting or deleting)."""
    line = node.lineno
    if isinstance(parent, ast.Subscript) and parent.value is node:
        if not isinstance(parent.ctx, ast.Load):
            return None
        return Read(line, _literal(parent.slice), how="os.environ[...] with a computed name")
    if isinstance(parent, ast.Compare) and any(c is node for c in parent.comparators):
        index = next(i for i, c in enumerate(parent.comparators) if c is node)
        operator = parent.ops[index]
        left = parent.left if index == 0 else parent.comparators[index - 1]
        if isinstance(operator, (ast.In, ast.NotIn)):
            return Read(line, _literal(left), False, "'... in os.environ' with a computed name")
    if isinstance(parent, ast.Attribute) and isinstance(grand, ast.Call) and grand.func is parent:
        if parent.attr in _WRITE_METHODS:
            return None
        if parent.attr in _READ_METHODS:
            required = parent.attr != "setdefault" and not _has_default(grand)
            return Read(
                line,
                _literal(_key_argument(grand)),
                required,
                f"os.environ.{parent.attr}(...) with a computed name",
            )
        return Read(line, None, how=f"os.environ.{parent.attr}(...) reads every variable")
    return Read(line, None, how="os.environ is passed on or iterated")


def _getenv_use(node: ast.expr, parent: ast.AST | None) -> Read:
    if isinstance(parent, ast.Call) and parent.func is node:
        return Read(
            node.lineno,
            _literal(_key_argument(parent)),
            not _has_default(parent),
            "os.getenv(...) with a computed name",
        )
    return Read(node.lineno, None, how="os.getenv is passed on as a function")


def reads(tree: ast.Module) -> Iterator[Read]:
    """Every read of the environment in the source, in line order; writes are left out."""
    names = aliases(tree)
    if not any(
        origin == "os" or origin.startswith(_ENVIRONS + _GETENVS) for origin in names.values()
    ):
        return
    parents = _parents(tree)
    found: list[Read | None] = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Name, ast.Attribute)):
            continue
        parent = parents.get(id(node))
        if any(resolves_to(node, names, target) for target in _ENVIRONS):
            found.append(_environ_use(node, parent, parents.get(id(parent))))
        elif any(resolves_to(node, names, target) for target in _GETENVS):
            found.append(_getenv_use(node, parent))
    yield from sorted((read for read in found if read is not None), key=lambda read: read.line)


def _hint(name: str, required: bool) -> str:
    secret = looks_secret(name)
    entry = (
        f"{{name: {name}, description: what {name} is for, secret: {str(secret).lower()}, "
        f"required: {str(required).lower()}}}"
    )
    return f"add '- {entry}' under env in {CONFIG_FILE}"


def _check(sources: list[Source], project: Project) -> Iterator[Finding]:
    declared = {var.name for var in project.config.env}
    used: set[str] = set()
    computed = False
    for source in sources:
        assert source.tree is not None
        reported: set[str] = set()
        for read in reads(source.tree):
            where = f"{source.relative}:{read.line}"
            if read.name is None:
                computed = True
                yield warning(
                    "ENV003",
                    f"{source.relative} reads the environment without a literal variable name "
                    f"({read.how}), so the static check cannot tell which variable",
                    where,
                    'use a literal name, e.g. os.environ.get("API_URL"); otherwise the sandbox '
                    "traces these reads when you run `mfc-validator validate`",
                )
                continue
            used.add(read.name)
            if read.name not in declared and read.name not in reported:
                reported.add(read.name)
                yield failed(
                    "ENV001",
                    f"{source.relative} reads environment variable {read.name}, which "
                    f"{CONFIG_FILE} env does not declare",
                    where,
                    _hint(read.name, read.required),
                )
    for var in project.config.env:
        if var.name not in used:
            also = (
                "; the code also reads variables by computed names, so it may be one of those"
                if computed
                else ""
            )
            yield warning(
                "ENV002",
                f"{CONFIG_FILE} env declares {var.name}, which the code never reads by name{also}",
                project.config.where("env"),
                f"remove {var.name} from env in {CONFIG_FILE}, unless a library the model uses "
                "reads it (an SDK reading its API key, say)",
            )


def run(project: Project) -> list[Finding]:
    script = project.script
    if script is None or script.tree is None:
        reason = "the script does not exist" if script is None else "the script does not parse"
        return [skipped(code, reason) for code in CODES]
    return ran(CODES, _check(project.code_sources(), project))


def required_unset(config: ProjectConfig, environ: Mapping[str, str]) -> list[Finding]:
    """ENV006, before anything is logged: the script may read a required variable at import."""
    return ran(
        ("ENV006",),
        (
            failed(
                "ENV006",
                f"{var.name} is declared required in {CONFIG_FILE} but is not set here, so the "
                "model cannot be logged and run as serving would",
                config.where("env"),
                f"export {var.name}=... before validating (or mark it required: false)",
            )
            for var in config.env
            if var.required and var.name not in environ
        ),
    )

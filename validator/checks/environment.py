"""Every environment variable the code reads by a literal name is declared in model.yaml env.

A read is os.environ[...], os.environ.get/setdefault/pop(...), os.getenv(...) or ... in
os.environ, through any alias (import os as o, from os import environ, getenv). Any other use of
os.environ (passed on, iterated, copied) or a name that is not a literal hides which variables
are read: the sandbox traces those at run time (ENV004).

A variable the model's own code sets (os.environ[...] = ..., setdefault, update, os.putenv)
before it reads it is not asked of deployers. A declared variable that no code of the model
reads by name may be read by a library (an SDK reading its API key): `validate` replaces the
static ENV002 with what the sandbox traced (`with_trace`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

from validator.checks.leaks import leaks
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
_PUTENVS = ("os.putenv",)
_READ_METHODS = ("get", "setdefault", "pop")
_WRITE_METHODS = ("update", "clear", "__setitem__", "__delitem__")


class Read(NamedTuple):
    line: int
    name: str | None  # None: not a literal
    required: bool = True  # False where the code has a fallback: a default, or an `in` test
    how: str = ""  # for a non-literal read: what the code does
    in_function: bool = False  # False: it runs when the module is imported
    # the code fails when the variable is unset: os.environ[...] (a KeyError), or an
    # `assert "NAME" in os.environ`
    fails_unset: bool = False


class Write(NamedTuple):
    """The model's code setting a variable by a literal name."""

    line: int
    name: str
    in_function: bool = False


Use = Read | Write


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


def _written_keys(call: ast.Call) -> list[str]:
    """The literal names os.environ.update(...) sets: dict keys, pairs, keywords."""
    names = [k.arg for k in call.keywords if k.arg]
    for argument in call.args[:1]:
        if isinstance(argument, ast.Dict):
            names += [n for n in map(_literal, argument.keys) if n is not None]
        elif isinstance(argument, (ast.List, ast.Tuple)):
            pairs = [e.elts[0] for e in argument.elts if isinstance(e, ast.Tuple) and e.elts]
            names += [n for n in map(_literal, pairs) if n is not None]
    return names


def _environ_use(node: ast.expr, parent: ast.AST | None, grand: ast.AST | None) -> list[Use]:
    """The reads and writes made by this use of os.environ (deleting is neither)."""
    line = node.lineno
    if isinstance(parent, ast.Subscript) and parent.value is node:
        if isinstance(parent.ctx, ast.Store):
            name = _literal(parent.slice)
            return [Write(line, name)] if name is not None else []
        if not isinstance(parent.ctx, ast.Load):
            return []
        name = _literal(parent.slice)
        return [Read(line, name, how="os.environ[...] with a computed name", fails_unset=True)]
    if isinstance(parent, ast.Compare) and any(c is node for c in parent.comparators):
        index = next(i for i, c in enumerate(parent.comparators) if c is node)
        operator = parent.ops[index]
        left = parent.left if index == 0 else parent.comparators[index - 1]
        if isinstance(operator, (ast.In, ast.NotIn)):
            # `assert "KEY" in os.environ` demands the variable; an `if` test is a fallback
            demanded = isinstance(grand, ast.Assert) and isinstance(operator, ast.In)
            how = "'... in os.environ' with a computed name"
            return [Read(line, _literal(left), demanded, how, fails_unset=demanded)]
    if isinstance(parent, ast.Attribute) and isinstance(grand, ast.Call) and grand.func is parent:
        if parent.attr == "update":
            return [Write(line, name) for name in _written_keys(grand)]
        if parent.attr in _WRITE_METHODS:
            return []
        if parent.attr in _READ_METHODS:
            required = parent.attr != "setdefault" and not _has_default(grand)
            name = _literal(_key_argument(grand))
            read = Read(line, name, required, f"os.environ.{parent.attr}(...) with a computed name")
            sets = parent.attr == "setdefault" and name is not None and _has_default(grand)
            return [read, Write(line, name)] if sets and name is not None else [read]
        return [Read(line, None, how=f"os.environ.{parent.attr}(...) reads every variable")]
    return [Read(line, None, how="os.environ is passed on or iterated")]


def _getenv_use(node: ast.expr, parent: ast.AST | None) -> Read:
    if isinstance(parent, ast.Call) and parent.func is node:
        return Read(
            node.lineno,
            _literal(_key_argument(parent)),
            not _has_default(parent),
            "os.getenv(...) with a computed name",
        )
    return Read(node.lineno, None, how="os.getenv is passed on as a function")


def _putenv_use(node: ast.expr, parent: ast.AST | None) -> list[Use]:
    if isinstance(parent, ast.Call) and parent.func is node:
        name = _literal(_key_argument(parent))
        return [Write(node.lineno, name)] if name is not None else []
    return []


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _in_function(node: ast.AST, parents: dict[int, ast.AST]) -> bool:
    current = parents.get(id(node))
    while current is not None:
        if isinstance(current, _FUNCTIONS):
            return True
        current = parents.get(id(current))
    return False


def uses(tree: ast.Module) -> Iterator[Use]:
    """Every read and write of the environment in the source, in line order."""
    names = aliases(tree)
    if not any(
        origin == "os" or origin.startswith(_ENVIRONS + _GETENVS + _PUTENVS)
        for origin in names.values()
    ):
        return
    parents = _parents(tree)
    found: list[Use] = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Name, ast.Attribute)):
            continue
        parent = parents.get(id(node))
        if any(resolves_to(node, names, target) for target in _ENVIRONS):
            events = _environ_use(node, parent, parents.get(id(parent)))
        elif any(resolves_to(node, names, target) for target in _GETENVS):
            events = [_getenv_use(node, parent)]
        elif any(resolves_to(node, names, target) for target in _PUTENVS):
            events = _putenv_use(node, parent)
        else:
            continue
        nested = _in_function(node, parents)
        found += [event._replace(in_function=nested) for event in events]
    yield from sorted(found, key=lambda use: use.line)


def reads(tree: ast.Module) -> Iterator[Read]:
    """Every read of the environment in the source, in line order; writes are left out."""
    return (use for use in uses(tree) if isinstance(use, Read))


def sets_first(read: Read, here: str, writes: list[tuple[str, Write]]) -> bool:
    """Whether the model's own code sets READ's variable before READ (in the file HERE) runs: a
    write at import time comes before every read in a function and every later read (an `in`
    test or a read with a default just before it is the fallback it completes); a write in a
    function, before the reads in functions of its file."""
    for where, write in writes:
        if write.name != read.name:
            continue
        before = where == here and (write.line < read.line or not read.required)
        if not write.in_function and (read.in_function or before):
            return True
        if write.in_function and read.in_function and where == here:
            return True
    return False


def written(project: Project) -> list[tuple[str, Write]]:
    """(file, write) for every variable the script and its code_paths modules set."""
    return [
        (source.relative, use)
        for source in project.code_sources()
        if source.tree is not None
        for use in uses(source.tree)
        if isinstance(use, Write)
    ]


def _hint(name: str, required: bool) -> str:
    secret = looks_secret(name)
    entry = (
        f"{{name: {name}, description: what {name} is for, secret: {str(secret).lower()}, "
        f"required: {str(required).lower()}}}"
    )
    return f"add '- {entry}' under env in {CONFIG_FILE}"


def _check(sources: list[Source], project: Project) -> Iterator[Finding]:
    declared = {var.name for var in project.config.env}
    writes = written(project)
    for source in sources:
        assert source.tree is not None
        reported: set[str] = set()
        for read in reads(source.tree):
            where = f"{source.relative}:{read.line}"
            if read.name is None:
                yield warning(
                    "ENV003",
                    f"{source.relative} reads the environment without a literal variable name "
                    f"({read.how}), so the static check cannot tell which variable",
                    where,
                    'use a literal name, e.g. os.environ.get("API_URL"); otherwise the sandbox '
                    "traces these reads when you run `mfc-validator validate`",
                )
                continue
            if read.name in declared or read.name in reported:
                continue
            if sets_first(read, source.relative, writes):
                continue  # the model gives it its own value: nothing for deployers to set
            reported.add(read.name)
            yield failed(
                "ENV001",
                f"{source.relative} reads environment variable {read.name}, which "
                f"{CONFIG_FILE} env does not declare",
                where,
                _hint(read.name, read.required),
            )
    yield from unread(project, None)


class Trace(NamedTuple):
    """What the sandbox saw read by name: variable -> who read it (libraries, the model)."""

    readers: dict[str, list[str]]
    answered: bool  # the model loaded and answered the example: every read had its chance


LOGGING = "while MLflow logged the model"


def trace(result: Mapping[str, object]) -> Trace:
    """The Trace in a probe RESULT (its env_reads: see validator/sandbox/probe.py), with the
    reads made while MLflow logged the model (logging_env_reads: validator/inprocess/env_reads.py)
    where the sandbox did not see the same variable read."""
    readers: dict[str, list[str]] = {}
    for key, when in (("logging_env_reads", f" {LOGGING}"), ("env_reads", "")):
        found = result.get(key)
        for name, read in (found if isinstance(found, dict) else {}).items():
            who = [str(library) for library in read.get("libraries") or []]
            if read.get("user"):
                who.insert(0, "the model's own code")
            if who:
                readers[str(name)] = [*who[:-1], who[-1] + when]
    answered = result.get("stage") not in ("load", "request", "predict", "respond")
    return Trace(readers, answered)


def _declared_at(config: ProjectConfig, name: str) -> str:
    """model.yaml:LINE of NAME's entry under env (else of the env key)."""
    start = config.lines.get("env", 1)
    try:
        lines = config.config_path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return config.where("env")
    word = re.compile(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])")
    line = next((i for i, text in enumerate(lines, 1) if i > start and word.search(text)), None)
    return f"{CONFIG_FILE}:{line}" if line else config.where("env")


def _own_code(project: Project) -> str:
    script = project.config.script
    return f"{script} and its code_paths" if project.code_path_files else script


def unread(project: Project, traced: Trace | None, untraced: str = "") -> list[Finding]:
    """ENV002: declared variables no code of the model reads by name. With TRACED, those that
    the sandbox saw read (by a library, or by the model under a computed name) are used; with
    UNTRACED, why there is no trace (the sandbox did not run), for `validate`."""
    used: set[str] = set()
    computed = False
    for source in project.code_sources():
        assert source.tree is not None
        for read in reads(source.tree):
            computed |= read.name is None
            used.add(read.name or "")
    config, own = project.config, _own_code(project)
    also = "; the code also reads variables by computed names, so it may be one of those"
    findings: list[Finding] = []
    by_library: list[str] = []
    for var in config.env:
        readers = traced.readers.get(var.name) if traced else None
        if var.name in used:
            continue
        if readers:
            by_library.append(f"{var.name} by {', '.join(readers)}")
            continue
        message = f"{CONFIG_FILE} env declares {var.name}, which {own} never reads by name"
        hint = (
            f"remove {var.name} from env in {CONFIG_FILE}, unless a library the model uses "
            "reads it (an SDK reading its API key, say)"
        )
        if traced is None:
            message += also if computed else ""
            hint += (
                f"; {untraced}, so reads by libraries were not traced"
                if untraced
                else ": `mfc-validator validate` traces what libraries read in the sandbox"
            )
        else:
            stage = (
                f"while loading and predicting on {config.input_example}"
                if traced.answered
                else "before the model failed"
            )
            message += f", and nothing read by name {stage} in the sandbox, nor {LOGGING}"
            hint = (
                f"remove {var.name} from env in {CONFIG_FILE}, unless the model reads it only on "
                "other requests (a library that copies the whole environment, as pydantic "
                "settings do, reads no variable by name: the trace cannot see it)"
            )
        findings.append(warning("ENV002", message, _declared_at(config, var.name), hint))
    if findings or not by_library:
        return findings or ran(("ENV002",), [])
    shown = "; ".join(by_library)
    where = "" if LOGGING in shown else " in the sandbox"
    message = f"every declared variable is read: {shown} (traced{where})"
    return [Finding("ENV002", "passed", message)]


def with_trace(
    findings: list[Finding], project: Project, result: Mapping[str, object] | None
) -> list[Finding]:
    """FINDINGS with the static ENV002 replaced by one that counts what the sandbox traced (the
    probe's RESULT), or that says why nothing was traced."""
    static = [f for f in findings if f.code == "ENV002"]
    if not static or any(f.status == "skipped" for f in static):
        return findings  # the script does not parse: nothing was checked
    if result is not None:
        revised = unread(project, trace(result))
    else:
        probe = next((f for f in findings if f.code == "ENV004"), None)
        why = probe.message.removeprefix("not run: ") if probe and probe.status == "skipped" else ""
        revised = unread(project, None, "the sandbox did not run" + (f" ({why})" if why else ""))
    at = findings.index(static[0])
    rest = [f for f in findings if f.code != "ENV002"]
    return rest[:at] + revised + rest[at:]


def run(project: Project) -> list[Finding]:
    script = project.script
    findings = ran(("ENV011",), leaks(project))  # the files alone decide it
    if script is None or script.tree is None:
        reason = "the script does not exist" if script is None else "the script does not parse"
        return findings + [skipped(code, reason) for code in CODES if code != "ENV011"]
    return findings + ran(
        [c for c in CODES if c != "ENV011"], _check(project.code_sources(), project)
    )


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

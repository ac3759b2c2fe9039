from __future__ import annotations

import ast
from collections.abc import Iterator

from validator.codes import owned_by
from validator.project.sources import TOO_DEEP, Project, Source
from validator.report import Finding, failed, ran, skipped

CODES = owned_by("script")
SET_MODEL = "mlflow.models.set_model"


def aliases(tree: ast.Module) -> dict[str, str]:
    """Local name -> the dotted name it was imported as."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    names[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _dotted(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def resolves_to(node: ast.expr, names: dict[str, str], target: str) -> bool:
    dotted = _dotted(node)
    if dotted is None:
        return False
    head, _, rest = dotted.partition(".")
    origin = names.get(head)
    if origin is None:
        return False
    return (f"{origin}.{rest}" if rest else origin) == target


def _set_model_sites(tree: ast.Module) -> tuple[list[tuple[ast.Call, bool]], list[ast.expr]]:
    """(call, at module level) for every set_model call, and every use as a decorator."""
    names = aliases(tree)
    top_level_calls: set[int] = set()
    for statement in tree.body:
        for node in ast.walk(statement):
            if isinstance(node, ast.Call) and not _in_nested_scope(statement, node):
                top_level_calls.add(id(node))
    calls: list[tuple[ast.Call, bool]] = []
    decorators: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if resolves_to(target, names, SET_MODEL):
                    decorators.append(decorator)
        if isinstance(node, ast.Call) and resolves_to(node.func, names, SET_MODEL):
            if any(node is d for d in decorators):
                continue
            calls.append((node, id(node) in top_level_calls))
    return calls, decorators


def module_level_set_model(tree: ast.Module) -> ast.Call | None:
    """The set_model call that runs when the module is imported (the last, if several)."""
    calls, _ = _set_model_sites(tree)
    top = [call for call, top_level in calls if top_level]
    return top[-1] if top else None


def calls_set_model(tree: ast.Module) -> bool:
    """Whether the module calls set_model anywhere (in a function too) or decorates with it."""
    calls, decorators = _set_model_sites(tree)
    return bool(calls or decorators)


_CONDITIONAL = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.If,
    ast.Try,
    getattr(ast, "TryStar", ast.Try),
    ast.For,
    ast.While,
    ast.AsyncFor,
    ast.Match,
)
_DEFERRED = (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.IfExp)


def _in_nested_scope(statement: ast.stmt, call: ast.Call) -> bool:
    """Whether the call only runs conditionally, or inside a function or class body.

    A `with` block always runs its body, so a call there counts as module level.
    """
    if isinstance(statement, (ast.With, ast.AsyncWith)):
        return any(
            _in_nested_scope(inner, call)
            for inner in statement.body
            if any(node is call for node in ast.walk(inner))
        )
    if isinstance(statement, _CONDITIONAL):
        return True
    for node in ast.walk(statement):
        if isinstance(node, _DEFERRED) and any(inner is call for inner in ast.walk(node)):
            return True
        # `ready and set_model(...)`: only the first operand always runs
        if isinstance(node, ast.BoolOp) and any(
            inner is call for value in node.values[1:] for inner in ast.walk(value)
        ):
            return True
    return False


def _at(source: Source, node: ast.AST) -> str:
    return f"{source.relative}:{getattr(node, 'lineno', 1)}"


def _check(source: Source) -> Iterator[Finding]:
    assert source.tree is not None
    calls, decorators = _set_model_sites(source.tree)
    for decorator in decorators:
        yield failed(
            "SCR006",
            f"{source.relative} uses set_model as a decorator; it returns None, so the "
            "decorated name becomes None",
            _at(source, decorator),
            "remove the decorator and call mlflow.models.set_model(YourModel()) at the end of "
            "the script",
        )
    if not calls and not decorators:
        yield failed(
            "SCR002",
            f"{source.relative} never calls mlflow.models.set_model, so MLflow has no model to log",
            source.relative,
            "end the script with mlflow.models.set_model(YourModel())",
        )
    if len(calls) > 1:
        for call, _ in calls[1:]:
            yield failed(
                "SCR003",
                f"{source.relative} calls set_model {len(calls)} times; only the last call that "
                "runs counts, so the logged model is ambiguous",
                _at(source, call),
                "keep exactly one mlflow.models.set_model(...) call, at the end of the script",
            )
    for call, top_level in calls:
        if not top_level:
            yield failed(
                "SCR004",
                f"{source.relative} calls set_model inside a function, class or conditional "
                "block, which may never run when MLflow loads the script",
                _at(source, call),
                "call mlflow.models.set_model(YourModel()) unconditionally at module level",
            )
    for node in ast.walk(source.tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            dots = "." * node.level
            yield failed(
                "SCR005",
                f"{source.relative} has a relative import (from {dots}{node.module or ''} "
                "import ...); MLflow runs the script as a standalone file, with no package",
                _at(source, node),
                "import the module by its absolute name and list its file or folder in "
                "model.yaml code_paths",
            )


def run(project: Project) -> list[Finding]:
    source = project.script
    if source is None:
        return [skipped(code, "the script does not exist") for code in CODES]
    if source.error is not None:
        error = source.error
        return [
            failed(
                "SCR001",
                f"{source.relative} does not compile: {error.msg}",
                f"{source.relative}:{error.lineno or 1}",
                (
                    "split the expression or nesting into smaller steps (named variables, "
                    "functions)"
                    if error.msg == TOO_DEEP
                    else f"fix the error on that line; `python -m py_compile {source.relative}` "
                    "shows it"
                ),
            )
        ] + [skipped(code, "the script does not compile") for code in CODES if code != "SCR001"]
    return ran(CODES, _check(source))

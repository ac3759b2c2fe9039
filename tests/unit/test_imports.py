"""The package's layers: no module imports another in a circle (lazy imports count too), and no
lower layer imports a higher one."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "validator"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, modules: set[str]) -> set[str]:
    found: set[str] = set()
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _type_checking(node):
            found |= set().union(*(_imports(child, modules) for child in node.orelse))
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in modules}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                dotted = f"{node.module}.{alias.name}"
                found.add(dotted if dotted in modules else node.module)
        found |= _imports(node, modules)
    return {name for name in found if name in modules}


def graph() -> dict[str, set[str]]:
    files = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    modules = set(files)
    return {
        name: _imports(ast.parse(path.read_text(encoding="utf-8")), modules) - {name}
        for name, path in files.items()
    }


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                found.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_another_in_a_circle() -> None:
    edges = graph()
    assert "validator.commands.validate" in edges  # the graph sees the whole package
    assert "validator.pipeline" in edges["validator.commands.validate"]
    assert cycles(edges) == []


def test_static_checks_never_reach_the_inprocess_or_sandbox_layers() -> None:
    reachable = _reachable(graph(), "validator.commands.check")
    layered = (
        "validator.inprocess",
        "validator.sandbox",
        "validator.registry",
        "validator.tracking",
    )
    assert not [name for name in reachable if name.startswith(layered)]


def _reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    reachable: set[str] = set()
    todo = [start]
    while todo:
        node = todo.pop()
        for target in edges[node] - reachable:
            reachable.add(target)
            todo.append(target)
    return reachable


def test_the_sandbox_and_the_registry_never_import_the_inprocess_layer() -> None:
    # what they share with it (the store, the server's failures) is in validator.tracking
    edges = graph()
    lower = [name for name in edges if name.startswith(("validator.sandbox", "validator.registry"))]
    assert "validator.sandbox.runner" in lower and "validator.registry.gate" in lower
    assert {
        name: sorted(target for target in edges[name] if target.startswith("validator.inprocess"))
        for name in lower
        if any(target.startswith("validator.inprocess") for target in _reachable(edges, name))
    } == {}


def test_the_tracking_package_imports_no_layer_above_it() -> None:
    edges = graph()
    above = ("validator.inprocess", "validator.sandbox", "validator.registry", "validator.commands")
    reached = set().union(
        *(_reachable(edges, name) for name in edges if name.startswith("validator.tracking"))
    )
    assert not sorted(name for name in reached if name.startswith(above))


def test_the_request_path_is_a_leaf_the_probe_can_load_by_file() -> None:
    # validator/serving.py runs in the sandbox too, where no other module of the validator is
    edges = graph()
    assert edges["validator.serving"] == set()
    assert "validator.serving" in edges["validator.inprocess.log_model"]
    assert "validator.serving" in edges["validator.tracebacks"]
    probe = (PACKAGE / "sandbox" / "probe.py").read_text(encoding="utf-8")
    assert '"serving.py"' in probe and "def _serve" in probe
    assert "invocations(" not in probe  # the request path is not written a second time

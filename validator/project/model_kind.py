"""What kind of model a project serves, read from its files (no import): it decides which
request format MLflow's scoring server accepts for it.

- `responses`: a `ResponsesAgent` subclass, served `{"input": [...], ...}`
- `chat`: a `ChatAgent` or `ChatModel` subclass, served `{"messages": [...], ...}`
- `langchain`, `llama_index`: `flavor` in model.yaml
- `tabular`: anything else (a `PythonModel`): one of the dataframe/tensor formats
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Literal

from validator.project.flavors import FLAVORS

if TYPE_CHECKING:
    from validator.project.sources import Project

Kind = Literal["tabular", "responses", "chat", "langchain", "llama_index"]
_AGENT_BASES: dict[str, Kind] = {
    "ResponsesAgent": "responses",
    "ChatAgent": "chat",
    "ChatModel": "chat",
}


def _base_name(node: ast.expr) -> str | None:
    """`ResponsesAgent` for `ResponsesAgent`, `mlflow.pyfunc.ResponsesAgent` or `pf.X[...]`."""
    if isinstance(node, ast.Subscript):
        node = node.value
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


def agent_bases(trees: list[ast.Module]) -> dict[str, str]:
    """Every class of TREES that is (through local classes too) an MLflow agent or chat model,
    with the MLflow class it derives from (`ResponsesAgent`, `ChatAgent` or `ChatModel`);
    imports are followed by name only, which is what the scripts do."""
    bases: dict[str, list[str]] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                names = [_base_name(base) for base in node.bases]
                bases[node.name] = [name for name in names if name]

    def base_of(name: str, seen: frozenset[str]) -> str | None:
        for base in bases.get(name, []):
            if base in _AGENT_BASES:
                return base
            if base in bases and base not in seen:
                found = base_of(base, seen | {base})
                if found:
                    return found
        return None

    return {name: base for name in bases if (base := base_of(name, frozenset({name})))}


def class_kinds(trees: list[ast.Module]) -> dict[str, Kind]:
    """Every class of TREES that is an MLflow agent or chat model, with its kind."""
    return {name: _AGENT_BASES[base] for name, base in agent_bases(trees).items()}


def model_kind(project: Project) -> Kind:
    flavor_kind = FLAVORS[project.config.flavor].kind
    if flavor_kind is not None:
        return flavor_kind  # type: ignore[return-value]
    trees = [source.tree for source in project.code_sources() if source.tree is not None]
    kinds = set(class_kinds(trees).values())
    if "responses" in kinds:
        return "responses"
    if "chat" in kinds:
        return "chat"
    return "tabular"

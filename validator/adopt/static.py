"""What `init` infers from a folder's files alone: the script, its flavor, the local modules it
ships, its requirements pinned to what is installed here, the variables it reads, its
model_config, its artifacts and a request. Every value carries where it came from, which the
written model.yaml says in a comment.

It reuses the static checks' own readers (set_model sites, imports, environment reads, the
flavor table, the module-to-distribution mapping), so that `init` writes what `check` accepts.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import string
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from validator.checks import modules
from validator.checks.dependencies import imports, module_at
from validator.checks.environment import reads, sets_first, written
from validator.checks.script import aliases, calls_set_model, module_level_set_model
from validator.errors import ValidatorError
from validator.paths import SKIPPED_DIRS, relative_path
from validator.project.config import ProjectConfig
from validator.project.flavors import FLAVORS
from validator.project.model_kind import agent_bases
from validator.project.requirements import normalize
from validator.project.sources import Project, Source
from validator.secret_names import looks_secret

STATIC = "(static)"
# the request keys MLflow's scoring server takes, per kind of model
SERVING_KEYS = (
    "dataframe_split",
    "dataframe_records",
    "instances",
    "inputs",
    "input",
    "messages",
)
PLACEHOLDER_KEY = "FILL_IN"
_MODEL_FILES = (".skops", ".safetensors", ".onnx", ".pt", ".pth", ".joblib", ".pkl", ".pickle")
_ENGINES = {"as_query_engine": "query", "as_chat_engine": "chat", "as_retriever": "retriever"}
# each MLflow base class's example request: the module of mlflow that defines it, and its name
_MLFLOW_EXAMPLES = {
    "ResponsesAgent": ("types/responses.py", "RESPONSES_AGENT_INPUT_EXAMPLE"),
    "ChatAgent": ("types/agent.py", "CHAT_AGENT_INPUT_EXAMPLE"),
    "ChatModel": ("types/llm.py", "CHAT_MODEL_INPUT_EXAMPLE"),
}
_HINT_VALUES: dict[str, Any] = {
    "float": 0.0,
    "int": 0,
    "bool": False,
    "str": "text",
    "bytes": "",
}
_INPUT_EXAMPLE = "input_example.json"
_MAX_FILES = 2000  # .py files looked at for the script, beyond which the folder is not a project


@dataclass(frozen=True)
class Sourced:
    """One inferred value and where it came from, as model.yaml's comment says it."""

    value: Any
    origin: str


@dataclass(frozen=True)
class Requirement:
    name: str  # the distribution, as it spells itself
    version: str | None  # installed here; None when it is not
    origin: str

    @property
    def line(self) -> str:
        return f"{self.name}=={self.version}" if self.version else self.name


@dataclass(frozen=True)
class EnvEntry:
    name: str
    secret: bool
    required: bool
    origin: str


@dataclass
class Adoption:
    """Everything `init` inferred for one folder."""

    root: Path
    script: Sourced  # its path relative to root
    flavor: Sourced
    flavor_options: dict[str, Sourced] = field(default_factory=dict)
    code_paths: list[Sourced] = field(default_factory=list)
    requirements: list[Requirement] = field(default_factory=list)
    env: list[EnvEntry] = field(default_factory=list)
    network: list[Sourced] = field(default_factory=list)
    model_config: Sourced | None = None
    artifacts: dict[str, Sourced] = field(default_factory=dict)
    example: Sourced | None = None  # the request; None: a placeholder is written
    notes: list[str] = field(default_factory=list)  # what the user must still fill in

    def add_requirement(self, requirement: Requirement) -> bool:
        """Add REQUIREMENT unless one of that name is there; whether it was added."""
        if any(normalize(r.name) == normalize(requirement.name) for r in self.requirements):
            return False
        self.requirements.append(requirement)
        return True

    def add_env(self, entry: EnvEntry) -> bool:
        if any(e.name == entry.name for e in self.env):
            return False
        self.env.append(entry)
        return True


# ---------------------------------------------------------------------------------------------
# the script


def _python_files(root: Path) -> list[Path]:
    found: list[Path] = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(
            name
            for name in subfolders
            if name not in SKIPPED_DIRS
            and not name.startswith(".")
            and not (Path(folder) / name / "pyvenv.cfg").exists()
        )
        found += [Path(folder) / name for name in sorted(files) if name.endswith(".py")]
        if len(found) > _MAX_FILES:
            raise ValidatorError(
                f"{root} holds more than {_MAX_FILES} Python files: give the folder that holds "
                "the models-from-code script"
            )
    return found


def _parse(path: Path, root: Path) -> tuple[ast.Module | None, str | None]:
    """(the tree, None) or (None, why it does not compile, as `file:line: message`)."""
    shown = relative_path(path, root)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"{shown}: cannot be read ({exc.__class__.__name__})"
    try:
        tree = ast.parse(text, filename=shown)
        compile(tree, shown, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return None, f"{shown}:{exc.lineno or 1}: {exc.msg}"
    except (RecursionError, MemoryError, ValueError) as exc:
        return None, f"{shown}: {exc.__class__.__name__}"
    return tree, None


def find_script(root: Path, chosen: str | None = None) -> tuple[str, ast.Module, ast.Call]:
    """(its path relative to ROOT, its tree, its set_model call): the one file of ROOT that calls
    set_model at module level (or CHOSEN). Several or none: a ValidatorError naming them."""
    if chosen is not None:
        path = root / chosen
        if not path.is_file():
            raise ValidatorError(f"--script {chosen}: no such file in {root}")
        tree, problem = _parse(path, root)
        if tree is None:
            raise ValidatorError(f"{problem}: the script does not compile; fix it and run again")
        call = module_level_set_model(tree)
        if call is None:
            raise ValidatorError(
                f"{chosen} does not call mlflow.models.set_model at module level, so it is not "
                "a models-from-code script"
            )
        return relative_path(path, root), tree, call
    files = _python_files(root)
    if not files:
        raise ValidatorError(
            f"{root} holds no Python file: init adopts a folder with a models-from-code script "
            "(one ending with mlflow.models.set_model(...))"
        )
    found: list[tuple[str, ast.Module, ast.Call]] = []
    broken: list[str] = []  # mentions set_model but does not compile
    nested: list[str] = []  # calls set_model only inside a function or a condition
    for path in files:
        tree, problem = _parse(path, root)
        shown = relative_path(path, root)
        if tree is None:
            try:
                mentions = "set_model" in path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                mentions = False
            if mentions and problem:
                broken.append(problem)
            continue
        call = module_level_set_model(tree)
        if call is not None:
            found.append((shown, tree, call))
        elif calls_set_model(tree):
            nested.append(shown)
    if len(found) + len(broken) > 1:
        names = [item[0] for item in found] + [problem.split(":")[0] for problem in broken]
        raise ValidatorError(
            f"{len(names)} files may be the models-from-code script ({', '.join(names)}): "
            "give the one to adopt with --script FILE"
        )
    if broken:
        raise ValidatorError(f"{broken[0]}: the script does not compile; fix it and run again")
    if found:
        return found[0]
    if nested:
        raise ValidatorError(
            f"{', '.join(nested)} call(s) set_model only inside a function or a condition: a "
            "models-from-code script calls mlflow.models.set_model(...) at module level"
        )
    raise ValidatorError(
        f"no Python file in {root} calls mlflow.models.set_model: init adopts a models-from-code "
        "script (one ending with mlflow.models.set_model(...))"
    )


# ---------------------------------------------------------------------------------------------
# local modules: code_paths


def _local_modules(root: Path, script: str, tree: ast.Module) -> list[Sourced]:
    """The local modules the script imports, and those they import in turn: code_paths."""
    beside = [(root / script).parent, root]
    shipped: list[Sourced] = []
    queue: list[tuple[str, ast.Module]] = [(script, tree)]
    seen: set[Path] = set()
    while queue:
        shown, current = queue.pop(0)
        for item in imports(current):
            top = item.name.split(".")[0]
            if top == "__future__" or top in sys.stdlib_module_names:
                continue
            local = next((m for folder in beside if (m := module_at(folder, top))), None)
            if local is None or local.resolve() in seen or local == root / script:
                continue
            seen.add(local.resolve())
            entry = relative_path(local, root)
            shipped.append(Sourced(entry, f"imported by {shown}:{item.line} {STATIC}"))
            files = [local] if local.is_file() else sorted(local.rglob("*.py"))
            for file in files:
                parsed, _ = _parse(file, root)
                if parsed is not None:
                    queue.append((relative_path(file, root), parsed))
    return shipped


# ---------------------------------------------------------------------------------------------
# the flavor


def _assignments(tree: ast.Module) -> dict[str, ast.expr]:
    """Module-level name -> the value last assigned to it."""
    found: dict[str, ast.expr] = {}
    for statement in tree.body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            targets, value = [statement.target], statement.value
        for target in targets:
            if isinstance(target, ast.Name) and value is not None:
                found[target.id] = value
    return found


def _definitions(tree: ast.Module) -> dict[str, ast.ClassDef | ast.FunctionDef]:
    return {
        node.name: node for node in tree.body if isinstance(node, (ast.ClassDef, ast.FunctionDef))
    }


@dataclass
class _Origins:
    """What the object given to set_model is built from: imported names, local classes and the
    methods called on the way."""

    imported: set[str] = field(default_factory=set)
    classes: set[str] = field(default_factory=set)
    functions: set[str] = field(default_factory=set)
    methods: list[str] = field(default_factory=list)


def _origins(tree: ast.Module, expression: ast.expr) -> _Origins:
    names = aliases(tree)
    assigned = _assignments(tree)
    defined = _definitions(tree)
    found = _Origins()
    pending: list[ast.AST] = [expression]
    seen: set[str] = set()
    while pending:
        node = pending.pop(0)
        for inner in ast.walk(node):
            if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute):
                found.methods.append(inner.func.attr)
            if not isinstance(inner, ast.Name) or inner.id in seen:
                continue
            seen.add(inner.id)
            if inner.id in names:
                found.imported.add(names[inner.id])
            elif isinstance(defined.get(inner.id), ast.ClassDef):
                found.classes.add(inner.id)
                definition = defined[inner.id]
                assert isinstance(definition, ast.ClassDef)
                pending.extend(definition.bases)
            elif isinstance(defined.get(inner.id), ast.FunctionDef):
                found.functions.add(inner.id)
            elif inner.id in assigned:
                pending.append(assigned[inner.id])
    return found


def _family(imported: set[str]) -> str | None:
    tops = {name.split(".")[0] for name in imported}
    if "mlflow" in tops and any(name.startswith("mlflow.pyfunc") for name in imported):
        return "pyfunc"
    if "llama_index" in tops:
        return "llama_index"
    if any(top == "langgraph" or top.startswith("langchain") for top in tops):
        return "langchain"
    return None


def set_model_argument(call: ast.Call) -> ast.expr | None:
    """What the script gives set_model: its first argument, or `model=` (MLflow's own LangChain
    example writes `mlflow.models.set_model(model=chain)`)."""
    if call.args:
        return call.args[0]
    return next((k.value for k in call.keywords if k.arg == "model"), None)


def infer_flavor(
    script: str, tree: ast.Module, call: ast.Call
) -> tuple[Sourced, dict[str, Sourced]]:
    """The flavor the object given to set_model logs with, and its flavor_options."""
    at = f"{script}:{call.lineno}"
    given = set_model_argument(call)
    if given is None:
        return Sourced("pyfunc", f"set_model at {at} {STATIC}"), {}
    found = _origins(tree, given)
    family = _family(found.imported)
    if family in (None, "pyfunc"):
        return Sourced("pyfunc", f"set_model at {at} gets a Python model {STATIC}"), {}
    library = sorted(name.split(".")[0] for name in found.imported if _family({name}) == family)[0]
    flavor = Sourced(family, f"set_model at {at} gets a {library} object {STATIC}")
    options: dict[str, Sourced] = {}
    if family == "llama_index":
        engines = [_ENGINES[method] for method in found.methods if method in _ENGINES]
        if engines:
            method = next(m for m in found.methods if m in _ENGINES)
            options["engine_type"] = Sourced(
                engines[0], f"the model is made by {method}() {STATIC}"
            )
    assert family in FLAVORS
    return flavor, options


# ---------------------------------------------------------------------------------------------
# requirements


def installed(dotted: str) -> modules.Installed | None:
    """The installed distribution that provides the import (a.b.C: a.b's, else a's)."""
    for name in modules.prefixes(dotted):
        found = modules.providers(name)
        if found:
            return found[0]
    return None


def infer_requirements(adoption: Adoption, project: Project) -> None:
    """mlflow, every distribution the script and its local modules import, and what the flavor's
    logging needs, pinned to the versions installed here."""
    mlflow = installed("mlflow")
    adoption.add_requirement(
        Requirement(
            mlflow.name if mlflow else "mlflow",
            mlflow.version if mlflow else None,
            f"MLflow logs and serves the model {STATIC}",
        )
    )
    local = {Path(entry.value).name.removesuffix(".py") for entry in adoption.code_paths}
    found: list[Requirement] = []
    missing: list[str] = []
    for source in project.code_sources():
        assert source.tree is not None
        for item in imports(source.tree):
            top = item.name.split(".")[0]
            if top in ("__future__", "mlflow") or top in sys.stdlib_module_names or top in local:
                continue
            if module_at((adoption.root / adoption.script.value).parent, top):
                continue  # the script's own folder: a local module
            origin = f"imported by {source.relative}:{item.line} {STATIC}"
            dist = installed(item.name)
            if dist is not None:
                found.append(Requirement(dist.name, dist.version, origin))
                continue
            entry = modules.known(item.name)
            name = entry[1][0] if entry else normalize(modules.missing_name(item.name))
            if name not in missing:
                missing.append(name)
                adoption.notes.append(
                    f"{source.relative}:{item.line} imports '{top}', which is not installed "
                    f"here: pin {name} in requirements.txt with == (or run init where the "
                    "model's packages are installed)"
                )
            found.append(Requirement(name, None, origin))
    needs = FLAVORS[adoption.flavor.value].needs
    if needs is not None:
        module, distribution = needs
        dist = installed(module)
        found.append(
            Requirement(
                dist.name if dist else distribution,
                dist.version if dist else None,
                f"mlflow.{FLAVORS[adoption.flavor.value].module}'s logging imports {module} "
                f"{STATIC}",
            )
        )
    for requirement in sorted(found, key=lambda r: normalize(r.name)):
        adoption.add_requirement(requirement)


# ---------------------------------------------------------------------------------------------
# environment variables


def infer_env(adoption: Adoption, project: Project) -> None:
    """Every variable the code reads by a literal name, unless it sets it itself first."""
    writes = written(project)
    for source in project.code_sources():
        assert source.tree is not None
        for read in reads(source.tree):
            if read.name is None or sets_first(read, source.relative, writes):
                continue
            adoption.add_env(
                EnvEntry(
                    read.name,
                    looks_secret(read.name),
                    read.fails_unset,
                    f"read at {source.relative}:{read.line} {STATIC}",
                )
            )


# ---------------------------------------------------------------------------------------------
# model_config and artifacts


def _literal(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def _keyword(call: ast.Call, name: str, position: int | None = None) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    if position is not None and len(call.args) > position:
        return call.args[position]
    return None


def _file_named(node: ast.expr, folder: Path, root: Path) -> str | None:
    """A file of the project that a path expression names by a string literal in it
    (`"config.yaml"`, `Path(__file__).with_name("config.yaml")`, `os.path.join(HERE, "c.yaml")`),
    relative to the project."""
    for inner in ast.walk(node):
        if isinstance(inner, ast.Constant) and isinstance(inner.value, str) and inner.value:
            for base in (folder, root):
                candidate = base / inner.value
                try:
                    if candidate.is_file() and candidate.resolve().is_relative_to(root.resolve()):
                        return relative_path(candidate, root)
                except (OSError, ValueError):
                    continue
    return None


def _other_sources(root: Path, project: Project) -> list[Source]:
    """Every .py file of the folder that parses: the script first, then its modules, then the
    rest (a driver that logs the model, the tests)."""
    sources = list(project.code_sources())
    known = {source.path.resolve() for source in sources}
    for path in _python_files(root):
        if path.resolve() in known:
            continue
        source = project.source(path)
        if source.tree is not None:
            sources.append(source)
    return sources


def infer_model_config(adoption: Adoption, project: Project, sources: list[Source]) -> None:
    """A literal development_config of ModelConfig(...), else a literal model_config= argument."""
    root = adoption.root
    for source in sources:
        assert source.tree is not None
        names = aliases(source.tree)
        for node in ast.walk(source.tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            head = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            is_model_config = head == "ModelConfig" and (
                not isinstance(func, ast.Name) or names.get(func.id, "").startswith("mlflow")
            )
            logs = head in ("log_model", "save_model")
            value = (
                _keyword(node, "development_config", 0)
                if is_model_config
                else _keyword(node, "model_config")
                if logs
                else None
            )
            if value is None:
                continue
            where = f"{source.relative}:{node.lineno}"
            what = "ModelConfig's development_config" if is_model_config else "model_config="
            literal = _literal(value)
            if isinstance(literal, dict):
                adoption.model_config = Sourced(literal, f"{what} at {where} {STATIC}")
                return
            file = _file_named(value, source.path.parent, root)
            if file is not None:
                adoption.model_config = Sourced(file, f"{what} at {where} {STATIC}")
                return
            if isinstance(literal, str):  # a path from somewhere else (the author's checkout)
                adoption.notes.append(
                    f"{what} at {where} names {literal!r}, which is not a file of this folder: "
                    "copy the file into the folder and set model_config in model.yaml to it"
                )


def _artifact_reads(tree: ast.Module) -> list[tuple[str, int]]:
    """(name, line) of every `context.artifacts[NAME]` with a literal or module-constant NAME."""
    constants = {
        name: value.value
        for name, value in _assignments(tree).items()
        if isinstance(value, ast.Constant) and isinstance(value.value, str)
    }
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "artifacts"
        ):
            key = node.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                found.append((key.value, node.lineno))
            elif isinstance(key, ast.Name) and key.id in constants:
                found.append((constants[key.id], node.lineno))
    return found


def infer_artifacts(adoption: Adoption, project: Project, sources: list[Source]) -> None:
    """A literal artifacts= mapping of a log_model call, else the names the model reads from
    context.artifacts, each with the folder's one model file when there is exactly one."""
    root = adoption.root
    for source in sources:
        assert source.tree is not None
        for node in ast.walk(source.tree):
            if isinstance(node, ast.Call) and (value := _keyword(node, "artifacts")) is not None:
                literal = _literal(value)
                if isinstance(literal, dict) and all(
                    isinstance(k, str) and isinstance(v, str) and (root / v).exists()
                    for k, v in literal.items()
                ):
                    origin = f"artifacts= at {source.relative}:{node.lineno} {STATIC}"
                    adoption.artifacts = {k: Sourced(v, origin) for k, v in literal.items()}
                    return
    wanted: dict[str, str] = {}
    for source in project.code_sources():
        assert source.tree is not None
        for name, line in _artifact_reads(source.tree):
            wanted.setdefault(name, f"{source.relative}:{line}")
    if not wanted:
        return
    files = sorted(
        path for path in root.iterdir() if path.is_file() and path.suffix.lower() in _MODEL_FILES
    )
    if len(wanted) == 1 and len(files) == 1:
        name, where = next(iter(wanted.items()))
        adoption.artifacts[name] = Sourced(
            files[0].name,
            f"{where} reads context.artifacts[{name!r}]; the folder's one model file {STATIC}",
        )
        return
    for name, where in wanted.items():
        adoption.notes.append(
            f"{where} reads context.artifacts[{name!r}]: name its file under artifacts in "
            "model.yaml"
        )


# ---------------------------------------------------------------------------------------------
# the request


def _constructed(tree: ast.Module, expression: ast.expr) -> str | None:
    """The name EXPRESSION is made by: `Agent(graph)`, or a module-level name assigned
    `Agent(graph)`, gives Agent; a bare local function or class given itself, its name."""
    assigned = _assignments(tree)
    seen: set[str] = set()
    while isinstance(expression, ast.Name) and expression.id in assigned:
        if expression.id in seen:
            return None
        seen.add(expression.id)
        expression = assigned[expression.id]
    if isinstance(expression, ast.Call):
        expression = expression.func
    return expression.id if isinstance(expression, ast.Name) else None


def _model_object(tree: ast.Module, call: ast.Call) -> ast.ClassDef | ast.FunctionDef | None:
    """The local class (or function) whose instance the script gives set_model."""
    given = set_model_argument(call)
    if given is None:
        return None
    defined = _definitions(tree)
    direct = _constructed(tree, given)
    if direct is not None and direct in defined:  # set_model(Agent(graph)): Agent, not graph's
        return defined[direct]
    found = _origins(tree, given)
    for name in sorted(found.classes | found.functions):
        definition = defined.get(name)
        if definition is not None and (
            isinstance(definition, ast.FunctionDef)
            or any(isinstance(item, ast.FunctionDef) for item in definition.body)
        ):
            return definition
    return None


def _hint_value(annotation: ast.expr | None, classes: dict[str, ast.ClassDef], depth: int) -> Any:
    """A value of the type ANNOTATION names: a record for a local class with fields."""
    if annotation is None or depth > 4:
        return None
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            annotation = ast.parse(annotation.value, mode="eval").body
        except SyntaxError:
            return None
    if isinstance(annotation, ast.Name):
        if annotation.id in _HINT_VALUES:
            return _HINT_VALUES[annotation.id]
        if annotation.id in classes:
            fields = {
                item.target.id: _hint_value(item.annotation, classes, depth + 1)
                for item in classes[annotation.id].body
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
            }
            if fields and None not in fields.values():
                return fields
        return None
    if isinstance(annotation, ast.BinOp):  # X | None
        return _hint_value(annotation.left, classes, depth + 1)
    if isinstance(annotation, ast.Subscript):
        head = annotation.value
        name = head.attr if isinstance(head, ast.Attribute) else getattr(head, "id", "")
        inner = annotation.slice
        if name in ("list", "List", "Sequence", "Iterable"):
            value = _hint_value(inner, classes, depth + 1)
            return None if value is None else [value]
        if name == "Optional":
            return _hint_value(inner, classes, depth + 1)
        if name in ("dict", "Dict") and isinstance(inner, ast.Tuple) and len(inner.elts) == 2:
            value = _hint_value(inner.elts[1], classes, depth + 1)
            return None if value is None else {"key": value}
    return None


def _typed_example(tree: ast.Module, model: ast.ClassDef | ast.FunctionDef) -> Any:
    """The `inputs` of a request from predict's type hints (a typed model, or a typed function)."""
    if isinstance(model, ast.ClassDef):
        predict = next(
            (f for f in model.body if isinstance(f, ast.FunctionDef) and f.name == "predict"),
            None,
        )
        if predict is None:
            return None
        parameters = predict.args.args[1:]  # self
        if len(parameters) >= 2 and parameters[0].arg == "context":
            parameters = parameters[1:]
    else:
        parameters = model.args.args
    if not parameters or parameters[0].annotation is None:
        return None
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    value = _hint_value(parameters[0].annotation, classes, 0)
    return value if isinstance(value, list) else None


def as_request(value: Any, flavor: str) -> dict[str, Any] | None:
    """VALUE, an input example as a script or test gives it to MLflow, as a serving request."""
    if isinstance(value, dict) and len(set(value) & set(SERVING_KEYS)) == 1:
        return value
    if flavor == "langchain":
        if isinstance(value, (dict, str)):
            return {"inputs": [value]}
        if isinstance(value, list):
            return {"inputs": value}
        return None
    if isinstance(value, dict) and value:
        if all(isinstance(v, list) for v in value.values()):
            lengths = {len(v) for v in value.values()}
            if len(lengths) == 1:
                columns = list(value)
                rows = [list(row) for row in zip(*value.values(), strict=True)]
                return {"dataframe_split": {"columns": columns, "data": rows}}
        return {"dataframe_records": [value]}
    if isinstance(value, list) and value:
        if all(isinstance(item, dict) for item in value):
            return {"dataframe_records": value}
        return {"inputs": value}
    if isinstance(value, str):
        return {"inputs": [value]}
    return None


def _literal_examples(sources: list[Source], flavor: str) -> Sourced | None:
    """An input example the script, its modules, a driver or the tests already use: an
    `input_example=` argument or an `input_example`/`INPUT_EXAMPLE` variable, literal."""
    for source in sources:
        assert source.tree is not None
        for node in ast.walk(source.tree):
            candidates: list[ast.expr] = []
            if isinstance(node, ast.Call):
                value = _keyword(node, "input_example")
                candidates += [value] if value is not None else []
            elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(
                    isinstance(t, ast.Name) and "input_example" in t.id.lower() for t in targets
                ):
                    candidates.append(node.value)
            for candidate in candidates:
                request = as_request(_literal(candidate), flavor)
                if request is not None:
                    where = f"{source.relative}:{getattr(node, 'lineno', 1)}"
                    return Sourced(request, f"the input example at {where} {STATIC}")
    return None


def _prompt_example(tree: ast.Module, script: str) -> Sourced | None:
    """A LangChain request from the variables of the script's prompt templates."""
    variables: list[str] = []
    line = 0
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        # ChatPromptTemplate.from_messages(...), PromptTemplate(template="What is {product}?")
        if called not in ("from_template", "from_messages", "PromptTemplate"):
            continue
        line = line or node.lineno
        for inner in ast.walk(node):
            if isinstance(inner, ast.Constant) and isinstance(inner.value, str):
                try:
                    parsed = list(string.Formatter().parse(inner.value))
                except ValueError:
                    continue
                for _, name, _, _ in parsed:
                    if name and name.isidentifier() and name not in variables:
                        variables.append(name)
    if not variables:
        return None
    record = {name: "Hello!" for name in variables}
    return Sourced({"inputs": [record]}, f"the prompt's variables at {script}:{line} {STATIC}")


def mlflow_example(base: str) -> Any:
    """MLflow's own example request for an agent or chat model deriving from BASE, read from the
    installed mlflow's source as a literal (mlflow is not imported: init's static part stays
    fast and runs where mlflow is not importable); None when mlflow is not installed here."""
    relative, name = _MLFLOW_EXAMPLES[base]
    spec = importlib.util.find_spec("mlflow")
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        try:
            tree = ast.parse((Path(folder) / relative).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, SyntaxError):
            continue
        value = _assignments(tree).get(name)
        literal = _literal(value) if value is not None else None
        if isinstance(literal, dict):
            return literal
    return None


def infer_example(
    adoption: Adoption, tree: ast.Module, call: ast.Call, sources: list[Source]
) -> None:
    """The folder's own input_example.json, else MLflow's own example request for agents and chat
    models, else one from type hints, else one the code already uses, else (LangChain) one from
    the prompt's variables."""
    script = adoption.script.value
    adoption.example = _existing_example(adoption.root)
    if adoption.example is not None:  # the folder's own request: what its author wrote
        return
    model = _model_object(tree, call)
    trees = [source.tree for source in sources if source.tree is not None]
    bases = agent_bases(trees)
    if model is not None and model.name in bases:
        base = bases[model.name]
        example = mlflow_example(base)
        if example is None:
            adoption.notes.append(
                f"mlflow is not installed here: write {base}'s request in {_INPUT_EXAMPLE}"
            )
        else:
            name = _MLFLOW_EXAMPLES[base][1]
            adoption.example = Sourced(example, f"MLflow's {name} for a {base} {STATIC}")
            return
    if model is not None and (typed := _typed_example(tree, model)) is not None:
        adoption.example = Sourced(
            {"inputs": typed},
            f"the type hints of {model.name}{'.predict' if isinstance(model, ast.ClassDef) else ''}"
            f": put real values in {STATIC}",
        )
        return
    found = _literal_examples(sources, adoption.flavor.value)
    if found is None and adoption.flavor.value == "langchain":
        found = _prompt_example(tree, script)
    adoption.example = found or _flavor_example(adoption, tree, model)


# what a graph built over chat messages is made with: its input is {"messages": [...]}
_MESSAGE_GRAPHS = ("create_react_agent", "create_agent", "MessagesState", "add_messages")


_EVENT_METHODS = frozenset({"get", "keys", "values", "items", "dict", "model_dump", "to_dict"})


def _named(annotation: ast.expr, names: dict[str, str], wanted: str) -> bool:
    """Whether ANNOTATION (or a decorator) is LlamaIndex's WANTED (StartEvent, step), as the
    script names it: imported from llama_index, or through a module of it."""
    name = (
        annotation.attr if isinstance(annotation, ast.Attribute) else getattr(annotation, "id", "")
    )
    return name == wanted and names.get(name, "llama_index").startswith("llama_index")


def _start_fields(tree: ast.Module, workflow: ast.ClassDef) -> tuple[list[str], int] | None:
    """The fields a LlamaIndex Workflow's start step reads of its StartEvent (`ev.topic`,
    `ev.get("topic")`, `ev["topic"]`, or those a StartEvent subclass declares), and the step's
    line: MLflow runs the workflow with the request's fields as the StartEvent's."""
    names = aliases(tree)
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    for step in workflow.body:
        if not isinstance(step, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if not any(_named(getattr(d, "func", d), names, "step") for d in step.decorator_list):
            continue
        for parameter in step.args.args[1:]:
            hint = parameter.annotation
            declared = classes.get(getattr(hint, "id", "")) if hint is not None else None
            if hint is None or not (
                _named(hint, names, "StartEvent")
                or (declared and any(_named(b, names, "StartEvent") for b in declared.bases))
            ):
                continue
            fields = [
                item.target.id
                for item in (declared.body if declared else [])
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
            ]
            fields += _event_reads(step, parameter.arg)
            unique = list(dict.fromkeys(fields))
            return (unique, step.lineno) if unique else None
    return None


def _event_reads(step: ast.FunctionDef | ast.AsyncFunctionDef, event: str) -> list[str]:
    """The fields STEP reads of its parameter EVENT, in the order of the source."""
    found: list[tuple[int, int, str]] = []
    for node in ast.walk(step):
        target = node.value if isinstance(node, (ast.Attribute, ast.Subscript)) else None
        if not (isinstance(target, ast.Name) and target.id == event):
            continue
        if isinstance(node, ast.Attribute) and node.attr not in _EVENT_METHODS:
            found.append((node.lineno, node.col_offset, node.attr))
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            found.append((node.lineno, node.col_offset, str(node.slice.value)))
    for node in ast.walk(step):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == event
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.append((node.lineno, node.col_offset, str(node.args[0].value)))
    return [name for _, _, name in sorted(found)]


def _flavor_example(
    adoption: Adoption, tree: ast.Module, model: ast.ClassDef | ast.FunctionDef | None
) -> Sourced | None:
    """A request that the flavor itself says: a LlamaIndex engine takes a question; a LlamaIndex
    Workflow the fields its start step reads of its StartEvent; a LangGraph graph over chat
    messages (create_react_agent, MessagesState, add_messages) takes messages."""
    flavor = adoption.flavor.value
    engine = adoption.flavor_options.get("engine_type")
    if flavor == "llama_index" and engine is not None:
        said = f"a LlamaIndex {engine.value} engine takes a question: put a real one {STATIC}"
        return Sourced({"inputs": ["Hello!"]}, said)
    if flavor == "llama_index" and isinstance(model, ast.ClassDef):
        start = _start_fields(tree, model)
        if start is None:
            return None
        fields, line = start
        said = (
            f"the StartEvent fields that {model.name}'s start step reads "
            f"({adoption.script.value}:{line}): put real values {STATIC}"
        )
        return Sourced({"inputs": [dict.fromkeys(fields, "Hello!")]}, said)
    if flavor != "langchain":
        return None
    names = aliases(tree)
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    marker = next(
        (
            name
            for name in _MESSAGE_GRAPHS
            if name in used and names.get(name, "").startswith(("langgraph", "langchain"))
        ),
        None,
    )
    if marker is None:
        return None
    message = {"role": "user", "content": "Hello!"}
    said = f"a LangGraph graph over chat messages ({marker}) {STATIC}"
    return Sourced({"inputs": [{"messages": [message]}]}, said)


def _existing_example(root: Path) -> Sourced | None:
    """The folder's own input_example.json, when it is one request: --force writes it again
    rather than one inferred (type hints give placeholder values) or a placeholder."""
    path = root / _INPUT_EXAMPLE
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if isinstance(value, dict) and len(set(value) & set(SERVING_KEYS)) == 1:
        return Sourced(value, f"the folder's {_INPUT_EXAMPLE} {STATIC}")
    return None


# ---------------------------------------------------------------------------------------------
# all of it


def infer(root: Path, chosen_script: str | None = None) -> Adoption:
    """Everything `init` infers from ROOT's files."""
    if not root.is_dir():
        raise ValidatorError(f"{root}: no such folder")
    root = root.absolute()
    script, tree, call = find_script(root, chosen_script)
    flavor, options = infer_flavor(script, tree, call)
    adoption = Adoption(
        root,
        Sourced(script, f"calls set_model at line {call.lineno} {STATIC}"),
        flavor,
        options,
    )
    adoption.code_paths = _local_modules(root, script, tree)
    config = ProjectConfig(
        root=root,
        name=root.resolve().name,
        script=script,
        code_paths=tuple(entry.value for entry in adoption.code_paths),
    )
    project = Project(config)
    infer_requirements(adoption, project)
    infer_env(adoption, project)
    sources = _other_sources(root, project)
    infer_model_config(adoption, project, sources)
    infer_artifacts(adoption, project, sources)
    infer_example(adoption, tree, call, sources)
    return adoption

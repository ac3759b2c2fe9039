"""Every import is shipped, standard or required (DEP001-DEP004); requirements (DEP005-DEP008,
DEP013); the pre-commit hook installs what the requirements pin (DEP012); the lock (DEP015-DEP018,
`validator.checks.lock`).

What counts as shipped mirrors MLflow: each code_paths entry is copied into the model's code/
folder, and only that folder is put on sys.path where the model is served, so an entry makes its
basename importable (helpers.py -> helpers, a folder pkg/ -> pkg and pkg.*), and nothing inside a
listed folder is importable by its own name. Any other module in the project is local but not
shipped: it imports on the developer's machine only.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from validator.checks import lock, modules, precommit
from validator.checks.requirements import Requirements, read_requirements, read_uv_requirements
from validator.paths import SKIPPED_DIRS, relative_path
from validator.project import uv_project
from validator.project.requirements import MLFLOW
from validator.project.uv_project import LOCK, PYPROJECT
from validator.report import Finding, failed, ran, skipped, warning

if TYPE_CHECKING:
    from collections.abc import Iterator

    from validator.project.sources import Project, Source

IMPORT_CODES = ("DEP001", "DEP002", "DEP003", "DEP004")
REQUIREMENT_CODES = ("DEP005", "DEP006", "DEP007", "DEP008", "DEP013")

_IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


class Import(NamedTuple):
    name: str  # dotted: a.b for `import a.b` and for `from a import b`
    line: int
    guarded: bool  # inside try/except ImportError


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(
        (isinstance(t, ast.Name) and t.id in _IMPORT_ERRORS)
        or (isinstance(t, ast.Attribute) and t.attr in _IMPORT_ERRORS)
        for t in types
    )


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(tree: ast.AST, guarded: bool = False) -> Iterator[Import]:
    """Every absolute import that runs, in order; `if TYPE_CHECKING:` blocks never run."""
    if isinstance(tree, ast.Import):
        for alias in tree.names:
            yield Import(alias.name, tree.lineno, guarded)
    elif isinstance(tree, ast.ImportFrom):
        if not tree.level and tree.module:
            for alias in tree.names:
                name = tree.module if alias.name == "*" else f"{tree.module}.{alias.name}"
                yield Import(name, tree.lineno, guarded)
    elif isinstance(tree, ast.If) and _type_checking(tree.test):
        for statement in tree.orelse:
            yield from imports(statement, guarded)
    elif isinstance(tree, ast.Try):
        optional = guarded or any(_catches_import_error(h) for h in tree.handlers)
        for statement in tree.body:
            yield from imports(statement, optional)
        for child in [*tree.handlers, *tree.orelse, *tree.finalbody]:
            yield from imports(child, guarded)
    else:
        for node in ast.iter_child_nodes(tree):
            yield from imports(node, guarded)


def module_at(folder: Path, top: str) -> Path | None:
    """folder/top.py, or folder/top/ when it is a package or namespace folder of .py files."""
    file = folder / f"{top}.py"
    if file.is_file():
        return file
    package = folder / top
    if package.is_dir() and ((package / "__init__.py").is_file() or any(package.glob("*.py"))):
        return package
    return None


class _Resolver:
    def __init__(self, project: Project, requirements: set[str]) -> None:
        self.project = project
        self.requirements = requirements
        # where the declared requirements are: a uv project's are pyproject.toml's
        self.declared_in = (
            PYPROJECT if uv_project.is_uv_project(project.root) else project.config.requirements
        )
        self.shipped: dict[str, str] = {}  # importable name -> the code_paths entry
        for entry in project.config.code_paths:
            path = project.config.path(entry)
            name = path.resolve().name
            self.shipped[name[:-3] if path.is_file() and name.endswith(".py") else name] = entry
        script = project.config.path(project.config.script).parent
        self.beside = [script, project.root]
        self._nested: dict[str, Path] | None = None

    def nested(self, top: str) -> Path | None:
        """A module of that name anywhere in the project (virtualenvs and caches aside)."""
        if self._nested is None:
            self._nested = {}
            for folder in sorted(self._folders(self.project.root), key=lambda p: len(p.parts)):
                for child in sorted(folder.iterdir()):
                    name = child.name[:-3] if child.suffix == ".py" else child.name
                    if name.isidentifier() and name not in self._nested:
                        found = module_at(folder, name)
                        if found is not None:
                            self._nested[name] = found
        return self._nested.get(top)

    def _folders(self, root: Path) -> Iterator[Path]:
        yield root
        for child in root.iterdir():
            if (
                child.is_dir()
                and not child.is_symlink()
                and not child.name.startswith(".")
                and child.name not in SKIPPED_DIRS
                and not (child / "pyvenv.cfg").exists()
            ):
                yield from self._folders(child)

    def relative(self, path: Path) -> str:
        return relative_path(path, self.project.root) + ("/" if path.is_dir() else "")

    def resolve(self, source: Source, item: Import) -> Finding | None:
        top = item.name.split(".")[0]
        if top == "__future__" or top in sys.stdlib_module_names or top in self.shipped:
            return None
        # a module beside the script shadows any distribution, as on sys.path
        local = next((m for folder in self.beside if (m := module_at(folder, top))), None)
        if local is None:
            if self.provided(item.name):
                return None
            local = self.nested(top)
        if local is not None:
            return self.not_shipped(source, item, top, local)
        return self.unrequired(source, item)

    def provided(self, dotted: str) -> bool:
        if modules.provided_by(dotted, self.requirements):
            return True
        return any(dist.key in self.requirements for dist in modules.providers(dotted))

    def not_shipped(self, source: Source, item: Import, top: str, local: Path) -> Finding:
        relative = self.relative(local)
        entry = relative.rstrip("/")
        inside = next(
            (listed for listed in self.shipped.values()
             if entry.startswith(listed.rstrip("/") + "/")),
            None,
        )  # fmt: skip
        if inside is not None:
            package = Path(inside).name
            hint = (
                f"MLflow ships code_paths entry '{inside}' as the package '{package}': import "
                f"{package}.{top} instead, or add '{entry}' itself to code_paths in model.yaml"
            )
        else:
            hint = f"add '{entry}' to code_paths in model.yaml"
        where = f"{source.relative}:{item.line}"
        if item.guarded:
            return warning(
                "DEP004",
                f"{source.relative} imports '{top}' ({relative}) inside try/except ImportError, "
                "but it is not shipped in code_paths, so the served model takes the other branch",
                where,
                hint,
            )
        return failed(
            "DEP002",
            f"{source.relative} imports '{top}' ({relative}), a local module not shipped in "
            "code_paths: it works on your machine but fails where the model is served",
            where,
            hint,
        )

    def not_installed(self) -> list[str]:
        """The requirements not installed where the validator runs: what they provide is
        unknown here."""
        here = modules.installed()
        return sorted(name for name in self.requirements if name not in here)

    def not_installed_here(
        self, source: Source, item: Import, shown: str, absent: list[str]
    ) -> Finding:
        """An import that nothing installed here provides, while some requirements are not
        installed here either: one of them may well provide it."""
        requirements = self.declared_in
        listed = ", ".join(absent[:5]) + (f" and {len(absent) - 5} more" if len(absent) > 5 else "")
        return warning(
            "DEP003",
            f"{source.relative} imports '{shown}', which is not installed here; {requirements} "
            f"lists {listed}, not installed here either, so the validator cannot tell whether "
            "one of them provides it",
            f"{source.relative}:{item.line}",
            f"install {requirements} where the validator runs (`nox -s validate` does, in its "
            f"own environment) and run it again; if no requirement provides '{shown}', add the "
            "distribution that does, pinned with ==",
        )

    def unrequired(self, source: Source, item: Import) -> Finding:
        requirements = self.declared_in
        where = f"{source.relative}:{item.line}"
        found = modules.providers(item.name)
        entry = modules.known(item.name)
        if found:
            shown = entry[0] if entry else modules.shown_name(item.name, found[0])
            fix = f"add {found[0].name}=={found[0].version} to {requirements}"
        elif entry:
            shown, (usual, *others) = entry
            fix = f"add {usual} to {requirements}, pinned with =="
            if others:
                fix += f" (or one of {', '.join(others)})"
        else:
            shown = modules.missing_name(item.name)
            fix = f"add the distribution that provides '{shown}' to {requirements}, pinned with =="
        absent = self.not_installed()
        if absent and not found and not entry:
            return self.not_installed_here(source, item, shown, absent)
        if item.guarded:
            return warning(
                "DEP004",
                f"{source.relative} imports '{shown}' inside try/except ImportError and no "
                "requirement provides it, so the served model may take the other branch",
                where,
                f"{fix}, so that serving runs the code you tested; or drop the optional import",
            )
        if not found and not entry:
            return warning(
                "DEP003",
                f"{source.relative} imports '{shown}', which is not installed here, not local "
                "and not named by any requirement, so the validator cannot tell what provides it",
                where,
                f"{fix}; if one is listed already, install the requirements here so that the "
                "validator can read what it provides",
            )
        return failed(
            "DEP001",
            f"{source.relative} imports '{shown}' but no requirement provides it",
            where,
            fix,
        )


def _import_findings(project: Project, requirements: set[str]) -> list[Finding]:
    resolver = _Resolver(project, requirements)
    findings: list[Finding] = []
    for source in project.code_sources():
        assert source.tree is not None
        reported: set[tuple[str, str]] = set()
        for item in imports(source.tree):
            finding = resolver.resolve(source, item)
            if finding is not None and (finding.code, finding.message) not in reported:
                reported.add((finding.code, finding.message))
                findings.append(finding)
    return findings


def _import_outcome(project: Project, requirements: Requirements | None) -> list[Finding]:
    """DEP001-DEP004; without a requirements file only DEP002 (local modules) can be judged."""
    judged = IMPORT_CODES if requirements is not None else ("DEP002",)
    script = project.script
    if script is None or script.tree is None:
        reason = "the script does not exist" if script is None else "the script does not compile"
        return [skipped(code, reason) for code in judged]
    provided = requirements.keys if requirements else set()
    if not provided & set(MLFLOW):
        provided.add("mlflow")  # DEP007 says so already, once
    found = _import_findings(project, provided)
    return ran(judged, (f for f in found if f.code in judged))


def _uv_project(project: Project) -> list[Finding]:
    """DEP019 and the requirement checks of a uv project (pyproject.toml and uv.lock): its
    declared requirements are pyproject.toml's [project] dependencies; uv.lock is its lock."""
    config, root = project.config, project.root
    requirements: Requirements | None = None
    found: list[Finding] = []
    try:
        dependencies = uv_project.direct_dependencies(root)
    except uv_project.UvProjectError as exc:
        found.append(
            failed(
                "DEP019",
                f"a uv project ({PYPROJECT} and {LOCK}), but {exc}",
                PYPROJECT,
                "declare the model's requirements under [project] dependencies of "
                f"{PYPROJECT} (mlflow among them), then run `uv lock`",
            )
        )
        reason = f"{PYPROJECT} cannot be read (DEP019)"
        findings = [skipped(code, reason) for code in (*REQUIREMENT_CODES, "DEP012")]
        findings += [skipped(code, reason) for code in IMPORT_CODES if code != "DEP002"]
    else:
        requirements = read_uv_requirements(project, dependencies)
        findings = ran(REQUIREMENT_CODES, requirements.findings)
        findings += precommit.drift(project, (PYPROJECT, dependencies))
    if config.path(config.requirements).is_file():
        found.append(
            warning(
                "DEP019",
                f"{config.requirements} is not used: this is a uv project ({PYPROJECT} and "
                f"{LOCK}), so the model is validated and logged with what {LOCK} pins, and "
                f"MLflow serves {LOCK} with --env-manager uv",
                config.requirements,
                f"delete {config.requirements} and keep the requirements in {PYPROJECT} "
                f"([project] dependencies); run `uv lock` after every change",
            )
        )
    reason = f"a uv project: {LOCK} is its lock (DEP014 checks that it is current)"
    findings += ran(("DEP019",), found)
    findings += [skipped(code, reason) for code in lock.CODES]
    return findings + _import_outcome(project, requirements)


def _orphan_lock(project: Project) -> list[Finding]:
    """DEP019 where the project is no uv project: a uv.lock without pyproject.toml."""
    if not uv_project.orphan_lock(project.root):
        return ran(("DEP019",), [])
    return [
        failed(
            "DEP019",
            f"{LOCK} has no {PYPROJECT} beside it, so MLflow ignores it: the model would be "
            f"logged and served with {project.config.requirements}, not with {LOCK}",
            LOCK,
            f"add the {PYPROJECT} that {LOCK} was made from (and run `uv lock`), or delete {LOCK}",
        )
    ]


def run(project: Project) -> list[Finding]:
    if uv_project.is_uv_project(project.root):
        return _uv_project(project)
    config = project.config
    findings: list[Finding] = _orphan_lock(project)
    requirements: Requirements | None = None
    if config.path(config.requirements).is_file():
        requirements = read_requirements(project)
        locked = lock.run(config)
        found = requirements.findings
        if all(finding.status == "passed" for finding in locked):
            # a current lock pins what the requirements leave open: it is what is served
            found = [finding for finding in found if finding.code != "DEP006"]
        findings += ran(REQUIREMENT_CODES, found)
        findings += precommit.drift(project)
        findings += locked
    else:
        reason = f"{config.requirements} does not exist"
        findings += [skipped(code, reason) for code in (*REQUIREMENT_CODES, "DEP012")]
        findings += [skipped(code, reason) for code in lock.CODES]
        findings += [skipped(code, reason) for code in IMPORT_CODES if code != "DEP002"]
    return findings + _import_outcome(project, requirements)

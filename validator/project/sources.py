"""A loaded project: its config plus the parsed sources the static checks share."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from validator.paths import SKIPPED_DIRS, relative_path
from validator.project.config import ProjectConfig
from validator.project.shipped import Survey, survey

# levels of nested expressions and statements (a chain `a + b + ...` is one level a term):
# Python's compiler gives up between 1,000 and 2,000 with a RecursionError, not a SyntaxError,
# and how soon depends on how deep the caller's stack already is
MAX_DEPTH = 500
TOO_DEEP = f"nested deeper than the limit of {MAX_DEPTH} levels"


def _too_deep(relative: str, line: int | None) -> SyntaxError:
    error = SyntaxError(TOO_DEEP)
    error.filename, error.lineno = relative, line
    return error


def _within_depth(tree: ast.Module, relative: str) -> None:
    """Raise a SyntaxError when TREE nests deeper than MAX_DEPTH (walked without recursion)."""
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _too_deep(relative, getattr(node, "lineno", None))
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


@dataclass(frozen=True)
class Source:
    relative: str  # as shown to the user, relative to the project root
    path: Path
    text: str
    tree: ast.Module | None
    error: SyntaxError | None = None


@dataclass
class Project:
    config: ProjectConfig
    _cache: dict[Path, Source] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return self.config.root

    def source(self, path: Path) -> Source:
        if path not in self._cache:
            relative = relative_path(path, self.root)
            text = path.read_text(encoding="utf-8", errors="replace")
            try:
                tree: ast.Module | None = ast.parse(text, filename=relative)
                assert tree is not None
                _within_depth(tree, relative)
                # what parses may still not compile: `return` outside a function, a late
                # `from __future__` import, `nonlocal` at module level, ...
                compile(tree, relative, "exec", dont_inherit=True)
                error = None
            except SyntaxError as exc:
                tree, error = None, exc
            except (RecursionError, MemoryError):  # Python's own parser or compiler gave up
                tree, error = None, _too_deep(relative, None)
            self._cache[path] = Source(relative, path, text, tree, error)
        return self._cache[path]

    @cached_property
    def script(self) -> Source | None:
        path = self.config.path(self.config.script)
        return self.source(path) if path.is_file() else None

    @cached_property
    def shipped(self) -> Survey:
        """Every named path that leaves the project, and what each code_paths and artifacts
        entry ships."""
        return survey(self.config)

    @cached_property
    def code_path_files(self) -> list[Path]:
        """Every .py file shipped through code_paths, as the survey found them: an entry that
        leaves the project (CFG002) is never read."""
        return [
            file.path
            for entry in self.shipped.entries
            if entry.key == "code_paths"
            for file in entry.files
            if file.path.suffix == ".py"
            and not SKIPPED_DIRS & set(file.path.relative_to(self.config.path(entry.written)).parts)
        ]

    def code_sources(self) -> list[Source]:
        """The script and every code_paths module that parses."""
        sources = [self.script] if self.script else []
        sources += [self.source(path) for path in self.code_path_files]
        return [source for source in sources if source.tree is not None]

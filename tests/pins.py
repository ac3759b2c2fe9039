"""The pins, in one place: `_pins` of cookiecutter.json, which the template renders into a generated
project (its requirements.txt, .pre-commit-config.yaml, noxfile.py, CI workflow and README).

The tests read the pins from here instead of repeating them. Every other place that names a pinned
version (README, docs, test fixtures, pyproject.toml, the validator's own version) is checked
against them by tests/unit/test_pins.py; `python -m tests.pins --fix` rewrites the places that
disagree after a pin was changed in cookiecutter.json. A line that names another version on purpose
(a drift to detect, a version to refuse) says so with `not-a-pin`.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SOURCE = "cookiecutter.json"
PINS: dict[str, str] = json.loads((REPO_ROOT / SOURCE).read_text(encoding="utf-8"))["_pins"]
VALIDATOR = "mfc-validator"
NOT_A_PIN = "not-a-pin"


def pin(name: str) -> str:
    """`name==version` of a pinned distribution."""
    return f"{name}=={PINS[name]}"


def requirements(*names: str) -> str:
    """A requirements.txt of the pins of NAMES, one a line."""
    return "".join(pin(name) + "\n" for name in names)


def rendered(template_text: str) -> str:
    """A template file's text with the pins rendered as cookiecutter renders them (a kind's
    requirements.txt is `name=={{ cookiecutter._pins["name"] }}` lines)."""
    import jinja2

    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return environment.from_string(template_text).render(cookiecutter={"_pins": PINS})


MLFLOW = pin("mlflow")
NUMPY = pin("numpy")
PANDAS = pin("pandas")
MLFLOW_VERSION = PINS["mlflow"]

# name==version (or ===) in requirement syntax; the version's release part and any pre, post or
# dev tag, so that `mlflow==3.17.2https://…` reads 3.17.2
_REQUIREMENT = re.compile(
    r"(?<![\w.-])(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?P<op>\s*===?\s*)"
    r"(?P<version>\d+(?:\.\d+)*(?:(?:a|b|rc|\.post|\.dev)\d+)*)(?!\.?\*)"
)
# the validator's release as a git tag of the template: `rev: v0.1.0`, `…/your-template@v0.1.0`
_VALIDATOR_TAG = re.compile(
    r"(?P<lead>\brev:\s*v|(?:template|models-from-code)(?:\.git)?@v)(?P<version>\d+(?:\.\d+)+)"
)
_TEXT_SUFFIXES = {".py", ".txt", ".md", ".yaml", ".yml", ".toml", ".json", ".cfg", ".ini", ".j2"}
_SKIPPED_DIRS = {"build", "dist", "node_modules", "site", "__pycache__"}
# the validator's code pins nothing: the versions in its messages are examples of the syntax; the
# checker's own test writes stale versions to find them
# validator/ holds no pin (its code_docs.py shows failing files, with other versions on purpose),
# and docs/codes.md is made from it
_NOT_CHECKED = ("validator/", "tests/unit/test_pins.py", "docs/codes.md")


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


_PINNED = {normalized(name): version for name, version in PINS.items()}


@dataclass(frozen=True)
class Disagreement:
    path: str  # relative to the repository
    line: int
    found: str
    expected: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.found}, but {SOURCE} pins {self.expected}"


def repinned(line: str) -> tuple[str, list[tuple[str, str]]]:
    """LINE with every pinned distribution's version made the pin's, and the (found, expected)
    pairs that differed. A line that says `not-a-pin` is left as it is."""
    if NOT_A_PIN in line:
        return line, []
    changed: list[tuple[str, str]] = []

    def requirement(match: re.Match[str]) -> str:
        wanted = _PINNED.get(normalized(match["name"]))
        if wanted is None or match["version"] == wanted:
            return match[0]
        fixed = f"{match['name']}{match['op']}{wanted}"
        changed.append((match[0], fixed))
        return fixed

    def tag(match: re.Match[str]) -> str:
        wanted = PINS[VALIDATOR]
        if match["version"] == wanted:
            return match[0]
        fixed = f"{match['lead']}{wanted}"
        changed.append((match[0], fixed))
        return fixed

    return _VALIDATOR_TAG.sub(tag, _REQUIREMENT.sub(requirement, line)), changed


def git_files(root: Path) -> list[str] | None:
    """The files git tracks or would add under ROOT (relative names); None outside a work tree."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    return sorted(set(filter(None, listed.stdout.split("\0")))) if listed.returncode == 0 else None


def text_files(root: Path = REPO_ROOT) -> Iterator[Path]:
    """The repository's text files: what git tracks or would add, else a walk of the tree."""
    names = git_files(root)
    if names is not None:
        paths = [root / name for name in names]
    else:
        paths = sorted(
            path
            for path in root.rglob("*")
            if not any(
                part in _SKIPPED_DIRS
                or part.endswith(".egg-info")
                or (part.startswith(".") and part not in {".github", ".ci"})
                for part in path.relative_to(root).parts[:-1]
            )
        )
    for path in paths:
        if path.relative_to(root).as_posix().startswith(_NOT_CHECKED):
            continue
        if path.suffix in _TEXT_SUFFIXES and path.is_file():
            yield path


def disagreements(root: Path = REPO_ROOT) -> list[Disagreement]:
    """Every pinned version written somewhere that is not the pin."""
    found: list[Disagreement] = []
    for path in text_files(root):
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            for was, wanted in repinned(line)[1]:
                found.append(Disagreement(path.relative_to(root).as_posix(), number, was, wanted))
    return found


def fix(root: Path = REPO_ROOT) -> list[Path]:
    """Rewrite every file that disagrees with the pins; return the files rewritten."""
    rewritten: list[Path] = []
    for path in text_files(root):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines(keepends=True)
        new = "".join(repinned(line)[0] for line in lines)
        if new != text:
            path.write_text(new, encoding="utf-8")
            rewritten.append(path)
    return rewritten


def main(argv: list[str]) -> int:
    if argv == ["--fix"]:
        for path in fix():
            print(f"rewrote {path.relative_to(REPO_ROOT)}")
        return 0
    found = disagreements()
    for disagreement in found:
        print(disagreement)
    if found:
        print(f"run `python -m tests.pins --fix` to make them {SOURCE}'s pins")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

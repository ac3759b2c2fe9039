"""Read requirements.txt as MLflow reads it when logging the model.

-r FILE is followed, -c FILE must exist (constraints provide nothing), pip's per-requirement
options (--hash, as pip-compile writes them) are accepted. Options that change where pip looks
for packages are copied into the logged model's requirements, so they are warnings (DEP005):
wherever the model is served must reach that index too. Editable installs, local files and other
options are failures. A URL with a credential in it (user:token@) fails DEP013, and no message
shows the credential. Lines with environment markers count as present whatever the markers say.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from validator.checks import modules
from validator.paths import relative_path
from validator.project.requirements import (
    MLFLOW,
    has_credential,
    is_local,
    logical_lines,
    normalize,
    option,
    parse_requirement,
    redact,
)
from validator.project.uv_project import PYPROJECT
from validator.report import Finding, failed, warning

if TYPE_CHECKING:
    from pathlib import Path

    from validator.project.sources import Project

_INDEX_OPTIONS = {
    "-i", "--index-url", "--extra-index-url", "--no-index", "-f", "--find-links",
    "--trusted-host", "--pre", "--prefer-binary", "--only-binary", "--no-binary",
    "--require-hashes", "--use-feature",
}  # fmt: skip
_INCLUDE_OPTIONS = {"-r": "-r", "--requirement": "-r", "-c": "-c", "--constraint": "-c"}


class Listed(NamedTuple):
    key: str  # normalized distribution name
    where: str  # requirements.txt:3
    has_marker: bool


class Requirements(NamedTuple):
    listed: list[Listed]
    findings: list[Finding]

    @property
    def keys(self) -> set[str]:
        return {item.key for item in self.listed}


class _Line(NamedTuple):
    path: Path
    relative: str  # the file, as shown to the user
    number: int
    text: str

    @property
    def where(self) -> str:
        return f"{self.relative}:{self.number}"

    @property
    def shown(self) -> str:
        """The line as messages show it: a credential in a URL as ***."""
        return redact(self.text)


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name too long, a NUL in it
        return False


class _Reader:
    def __init__(self, project: Project) -> None:
        self.project = project
        self.requirements = Requirements([], [])
        self.seen: set[Path] = set()

    def read(self, path: Path) -> None:
        if path.resolve() in self.seen:
            return
        self.seen.add(path.resolve())
        relative = relative_path(path, self.project.root)
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            self.problem(
                _Line(path, relative, 0, ""),
                f"{relative} cannot be read: {exc.strerror}",
                "make it readable",
            )
            return
        for number, text_line in logical_lines(text):
            line = _Line(path, relative, number, text_line)
            if has_credential(text_line):
                self.credential(line)
            if text_line.startswith("-"):
                self.option(line)
            else:
                self.requirement(line)

    def problem(self, line: _Line, message: str, hint: str, *, fatal: bool = True) -> None:
        make = failed if fatal else warning
        where = line.where if line.number else line.relative
        # whatever part of the line the message quotes, a credential in it is never shown
        self.requirements.findings.append(make("DEP005", redact(message), where, hint))

    def credential(self, line: _Line) -> None:
        self.requirements.findings.append(
            failed(
                "DEP013",
                f"{line.relative} has '{line.shown}', a URL with a credential in it (shown as "
                "***), which would ship in the logged model's requirements and reach every "
                "place that installs it",
                line.where,
                "remove the credential from the URL and give it to the installer where it runs: "
                "the whole index URL in PIP_INDEX_URL / PIP_EXTRA_INDEX_URL or UV_INDEX_URL / "
                "UV_EXTRA_INDEX_URL, pip.conf, or the host's login and password in a netrc file "
                "(~/.netrc); then rotate the credential",
            )
        )

    def requirement(self, line: _Line) -> None:
        parsed = parse_requirement(line.text)
        if parsed.bad_option:
            self.problem(
                line,
                f"{line.relative} has '{line.shown}', but after a requirement pip accepts only "
                f"--hash, not '{parsed.bad_option}'",
                "keep one requirement per line, e.g. scikit-learn==1.5.2, with only --hash "
                "options after it",
            )
        elif parsed.name is None:
            text = line.shown.split(" --")[0]
            self.invalid(line, text, parsed.error or "not a requirement")
        elif parsed.specifier.startswith("@") and is_local(parsed.specifier[1:].strip()):
            self.problem(
                line,
                f"{line.relative} has '{line.shown}', a file on this machine, which does not "
                "exist where the model is served",
                "publish the package to an index and pin it (name==version), or ship the code "
                "through code_paths in model.yaml",
            )
        else:
            self.listed(line, parsed.name, pinned=parsed.pinned, has_marker=parsed.has_marker)

    def listed(self, line: _Line, name: str, *, pinned: bool, has_marker: bool) -> None:
        key = normalize(name)
        self.requirements.listed.append(Listed(key, line.where, has_marker))
        if not pinned:
            version = modules.installed().get(key)
            example = f"{name}=={version.version}" if version else f"{name}==X.Y.Z"
            self.requirements.findings.append(
                warning(
                    "DEP006",
                    f"{line.relative} has '{line.shown}', which is not pinned, so the served "
                    "model may get another version than the one validated",
                    line.where,
                    f"pin it: {example}",
                )
            )

    def invalid(self, line: _Line, text: str, reason: str) -> None:
        if text.startswith((".", "/", "~")) or "://" in text:
            self.problem(
                line,
                f"{line.relative} has '{text}', a path or URL without a distribution name",
                "name it (name @ https://…), or ship local code through code_paths in model.yaml",
            )
        else:
            self.problem(
                line,
                f"{line.relative} has '{text}', which is not a valid requirement ({reason})",
                "write it as name==version, e.g. scikit-learn==1.5.2",
            )

    def option(self, line: _Line) -> None:
        name, value = option(line.text)
        if name in _INCLUDE_OPTIONS:
            included = line.path.parent / value
            if not value or not _is_file(included):
                self.problem(
                    line,
                    f"{line.relative} has '{line.shown}', which names a file that does not exist",
                    "correct the path (relative to this file), or remove the line",
                )
            elif _INCLUDE_OPTIONS[name] == "-r":
                self.read(included)
        elif name in _INDEX_OPTIONS:
            if has_credential(line.text):
                return  # DEP013 fails it, with the fix for both
            self.problem(
                line,
                f"{line.relative} has '{line.shown}', which is copied into the logged model's "
                "requirements, so wherever the model is served must honour it too",
                "keep index settings in pip's configuration (pip.conf or PIP_INDEX_URL) rather "
                "than in the model's requirements",
                fatal=False,
            )
        elif name in ("-e", "--editable"):
            self.problem(
                line,
                f"{line.relative} has '{line.shown}', an editable install, which cannot be "
                "rebuilt where the model is served",
                "pin a published version (name==version), or ship the code through code_paths "
                "in model.yaml",
            )
        else:
            self.problem(
                line,
                f"{line.relative} has '{line.shown}', an option a model's requirements cannot "
                "carry",
                "remove the line; keep only requirements (name==version), -r and -c lines",
            )


def read_requirements(project: Project) -> Requirements:
    reader = _Reader(project)
    reader.read(project.config.path(project.config.requirements))
    return _complete(reader.requirements, project.config.requirements)


def read_uv_requirements(project: Project, dependencies: list[str]) -> Requirements:
    """A uv project's declared requirements: pyproject.toml's [project] dependencies, each at
    its line of the file (uv.lock pins them: none needs ==)."""
    reader = _Reader(project)
    path = project.root / PYPROJECT
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        text = []
    for dependency in dependencies:
        number = next((n for n, line in enumerate(text, 1) if dependency in line), 0)
        line = _Line(path, PYPROJECT, number, dependency)
        if has_credential(dependency):
            reader.credential(line)
        reader.requirement(line)
    requirements = _complete(reader.requirements, PYPROJECT)
    kept = [finding for finding in requirements.findings if finding.code != "DEP006"]
    return Requirements(requirements.listed, kept)


def _complete(requirements: Requirements, relative: str) -> Requirements:
    """DEP007 and DEP008 over what was read."""
    if not requirements.keys & set(MLFLOW):
        version = modules.installed().get("mlflow")
        pin = f"mlflow=={version.version}" if version else "mlflow (pinned with ==)"
        requirements.findings.append(
            failed(
                "DEP007",
                f"{relative} does not list mlflow, which loads the model where it is served",
                relative,
                f"add {pin} to {relative}",
            )
        )
    first: dict[str, Listed] = {}
    for item in requirements.listed:
        earlier = first.setdefault(item.key, item)
        if earlier is not item and not (earlier.has_marker and item.has_marker):
            requirements.findings.append(
                failed(
                    "DEP008",
                    f"{item.key} is listed twice: {earlier.where} and {item.where}",
                    item.where,
                    "keep one line per distribution (different environment markers on both "
                    "lines are allowed)",
                )
            )
    return requirements

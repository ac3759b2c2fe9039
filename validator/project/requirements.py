"""requirements.txt as pip and MLflow read it: logical lines, options, and requirements parsed
with `packaging`. The one parser of requirements: the static checks, the sandbox's environment
key and the probe's results all read requirements through it."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Iterator

MLFLOW = ("mlflow", "mlflow-skinny")
_SEPARATORS = re.compile(r"[-_.]+")
_COMMENT = re.compile(r"(^|\s)#.*$")
_TRAILING_OPTION = re.compile(r"\s+(?=--?[A-Za-z])")
PER_REQUIREMENT = ("--hash", "--config-settings", "--global-option", "--install-option")
_SIMPLE = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(===?)\s*(\d+(?:\.\d+)*)$")
_EXACT_URL = re.compile(r"(\.whl|\.tar\.gz|\.zip)(#.*)?$|@[0-9a-f]{40}$")
# scheme://userinfo@host: the userinfo is a credential when it holds a password (user:token), or
# on its own (a token given as the user name) but over ssh, whose `git@` is a user, not a secret
_USERINFO = re.compile(r"([^\s:/]*:)?//([^/\s]+)@")  # also `//user@host`, a URL's authority
_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")


def _redacted(match: re.Match[str]) -> str:
    scheme, userinfo = match.group(1) or "", match.group(2)
    if ":" in userinfo or scheme.lower().rstrip(":").split("+")[-1] != "ssh":
        return f"{scheme}//***@"
    return match.group(0)


def redact(text: str) -> str:
    """TEXT with the credential of every URL in it shown as ***."""
    return _USERINFO.sub(_redacted, text)


def has_credential(text: str) -> bool:
    """Whether a URL in TEXT carries a credential (a password or token before '@')."""
    return redact(text) != text


def is_local(url: str) -> bool:
    """Whether a requirement's URL (after `name @`) is a file on this machine: `file:` or a
    path, which does not exist where the model is served."""
    scheme = _URL_SCHEME.match(url)
    return scheme is None or scheme.group(1).lower() == "file"


def normalize(name: str) -> str:
    """PEP 503: a distribution's comparable name (also applied to dotted import names)."""
    return _SEPARATORS.sub("-", name).lower()


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, text) with comments removed and continued lines joined."""
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = _COMMENT.sub("", raw).rstrip()
        if not pending:
            start = number
        if line.endswith("\\"):
            pending.append(line[:-1])
            continue
        pending.append(line)
        joined = " ".join(part.strip() for part in pending).strip()
        pending = []
        if joined:
            yield start, joined
    if pending and " ".join(pending).strip():
        yield start, " ".join(part.strip() for part in pending).strip()


def option(line: str) -> tuple[str, str]:
    """('--index-url', 'https://…') from '--index-url=https://…', '-i https://…' or '-rfile'."""
    name, _, value = line.partition("=") if line.startswith("--") else (line, "", "")
    if not value:
        name, _, value = line.partition(" ")
    if not name.startswith("--") and len(name) > 2:
        name, value = name[:2], name[2:] + value
    return name, value.strip()


def _pinned(specifiers: str, url: str | None) -> bool:
    if url:
        return bool(_EXACT_URL.search(url))
    return any(
        part.strip().startswith("===") or (part.strip().startswith("==") and "*" not in part)
        for part in specifiers.split(",")
    )


class Parsed(NamedTuple):
    """One requirement line: its distribution name, or why it is not a requirement."""

    name: str | None  # as written; None when the line is not a valid requirement
    specifier: str = ""  # the version specifiers, or the URL after '@'
    pinned: bool = False
    has_marker: bool = False
    error: str | None = None  # packaging's reason, for an invalid requirement
    bad_option: str | None = None  # an option after the requirement that pip refuses there


def parse_requirement(line: str) -> Parsed:
    """A logical line that is not an option (does not start with '-')."""
    simple = _SIMPLE.match(line)
    if simple:  # name==1.2.3, most lines: no need to import packaging's parser
        return Parsed(simple.group(1), simple.group(2) + simple.group(3), pinned=True)
    # pip-compile writes `name==1.0 --hash=sha256:…` (over continued lines)
    text, *options = _TRAILING_OPTION.split(line)
    unknown = [o for o in options if not o.startswith(PER_REQUIREMENT)]
    if unknown:
        return Parsed(None, bad_option=unknown[0])
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        parsed = Requirement(text)
    except InvalidRequirement as exc:
        return Parsed(None, error=str(exc).splitlines()[0])
    pinned = _pinned(str(parsed.specifier), parsed.url)
    specifier = f"@{parsed.url}" if parsed.url else str(parsed.specifier)
    return Parsed(parsed.name, specifier, pinned, has_marker=parsed.marker is not None)


def requirement_lines(text: str) -> list[str]:
    """Every logical line (requirements and options), comments dropped: what an environment
    built from TEXT depends on."""
    return [line for _, line in logical_lines(text)]


# options that name another file, read relative to the requirements file: MLflow logs a
# constraints file beside requirements.txt (`-c constraints.txt` in pip_requirements)
INCLUDES = ("-c", "--constraint", "-r", "--requirement")


def included(text: str, folder: Path) -> dict[str, bytes]:
    """{name as written: content} of the files TEXT includes that exist in FOLDER, beside it
    (names that leave FOLDER are left to the installer, which says they are missing)."""
    found: dict[str, bytes] = {}
    for line in requirement_lines(text):
        if not line.startswith("-"):
            continue
        name, value = option(line)
        relative = Path(value)
        if name not in INCLUDES or not value or relative.is_absolute() or ".." in relative.parts:
            continue
        with contextlib.suppress(OSError):
            found[value] = (folder / relative).read_bytes()
    return found


def requirement_names(text: str) -> set[str]:
    """The normalized names of the valid requirements in TEXT (options and includes aside)."""
    names = set()
    for line in requirement_lines(text):
        if not line.startswith("-"):
            name = parse_requirement(line).name
            if name:
                names.add(normalize(name))
    return names

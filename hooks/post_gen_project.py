"""Put the chosen model kind's files in place, then write where the validator comes from.

Every kind's files are rendered under `_kinds/<kind>/`; the chosen kind's are moved into the
project, replacing the shared file of the same name (a kind's `model.yaml` or `README.md` extends
the shared one with Jinja blocks), and `_kinds/` is removed, as is `.github/` unless the CI
workflow was asked for. The kinds are the folders under `_kinds/` (`_shared/` holds macros):
an answer naming no folder is refused here, as is a variable the kind's `model.yaml` declares
itself and the answers repeat.

The kind's pins are its `requirements.txt`; with `dependencies: uv` they are `pyproject.toml`'s
`[project] dependencies` instead (rendered from the same file), requirements.txt is removed, and
`uv lock` writes `uv.lock` last. Without uv, or without the package index, the project is still
generated, with a warning that says to run `uv lock` there.

noxfile.py and .pre-commit-config.yaml are rendered with cookiecutter's `_repo_dir`, which may be
relative to the folder cookiecutter was started from, or a clone of a git template: here it
becomes a pip requirement that works from the generated project (an absolute path, or
git+URL[@checkout]).

A project generated from a git template records where it came from in `.cruft.json`, as cruft
does: the template's URL (or the checkout's absolute path), the commit rendered and the answers,
so that `cruft update` (the project's `nox -s update`) can bring the template's changes in. A
git URL's validator spec is then pinned at that commit, which an update moves.

cruft renders the template with `generate_files` alone: it sets `_template` (an absolute path or
the URL) and `_commit`, but neither `_repo_dir` nor `_checkout`, which are therefore optional here;
cruft writes `.cruft.json` itself.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml  # cookiecutter's own dependency

# Cookiecutter renders this script with Jinja; tojson makes every value a safe JSON literal.
CONTEXT: dict[str, Any] = json.loads(
    r""" {
        "answers": {{ cookiecutter | tojson }},
        "template": {{ cookiecutter._template | tojson }},
        "repo_dir": {{ cookiecutter._repo_dir | default(none) | tojson }},
        "checkout": {{ cookiecutter._checkout | default(none) | tojson }},
        "commit": {{ cookiecutter._commit | default(none) | tojson }},
        "model_kind": {{ cookiecutter.model_kind | tojson }},
        "env_vars": {{ cookiecutter.env_vars | tojson }},
        "dependencies": {{ cookiecutter.dependencies | tojson }},
        "ci": {{ cookiecutter.ci | tojson }}
    } """
)

NOXFILE_LINE = re.compile(r"^DEFAULT_VALIDATOR_SPEC = .*$", re.MULTILINE)
PRE_COMMIT_LINE = re.compile(r"^(?P<head>\s*- ).*?(?P<tail>  # mfc-validator: .*)$", re.MULTILINE)
SCP_LIKE_URL = re.compile(r"^(?P<user_host>[\w.-]+@[\w.-]+):(?!//)(?P<path>.*)$")
KINDS_DIR = "_kinds"
REQUIREMENTS = "requirements.txt"
PYPROJECT = "pyproject.toml"
UV_LOCK = "uv.lock"
UV_LOCK_TIMEOUT_S = 600  # a resolution of the whole environment against the package index
CRUFT_FILE = ".cruft.json"
# cookiecutter's keys that say how it ran on this machine (its folders), not what was answered
NOT_ANSWERS = ("_output_dir", "_repo_dir", "_checkout", "_template", "_commit")


class SpecError(Exception):
    pass


class AnswerError(Exception):
    def __init__(self, question: str, value: object, expected: str) -> None:
        super().__init__(f"invalid answer to {question}: {value!r}; expected {expected}")


def is_template_folder(path: Path) -> bool:
    return (path / "cookiecutter.json").is_file()


def local_folder(repo_dir: str) -> Path:
    path = Path(repo_dir)
    if path.is_absolute():
        return path.resolve()
    # Hooks run with the generated project as working directory while cookiecutter itself works
    # in the template folder: on Linux its cwd is the exact answer.
    candidates = [Path(f"/proc/{os.getppid()}/cwd")]
    # Otherwise the shell's PWD, which os.chdir() inside a Python caller does not update.
    if os.environ.get("PWD"):
        candidates.append(Path(os.environ["PWD"], path))
    for candidate in candidates:
        try:
            if is_template_folder(candidate):
                return candidate.resolve()
        except OSError:
            continue
    raise SpecError(f"cannot tell which folder the relative template path {repo_dir!r} is")


def local_file(template: str) -> Path:
    path = Path(template).expanduser()
    if not path.is_absolute() and os.environ.get("PWD"):
        path = Path(os.environ["PWD"], path)
    if not path.is_file():
        raise SpecError(f"cannot find the template archive {template!r}")
    return path.resolve()


def vcs_spec(url: str, checkout: str | None) -> str:
    from cookiecutter.vcs import identify_repo

    repo_type, repo_url = identify_repo(url)
    scp_like = SCP_LIKE_URL.match(repo_url)
    if scp_like:
        # pip needs ssh://user@host/path where git accepts user@host:path.
        repo_url = f"ssh://{scp_like['user_host']}/{scp_like['path']}"
    return f"{repo_type}+{repo_url}" + (f"@{checkout}" if checkout else "")


def validator_spec(
    template: str, repo_dir: str, checkout: str | None, git_only: bool = False
) -> str:
    # The hook runs with cookiecutter's own interpreter, so its helpers are importable.
    from cookiecutter.config import get_user_config
    from cookiecutter.repository import expand_abbreviations, is_repo_url, is_zip_file

    expanded = expand_abbreviations(template, get_user_config()["abbreviations"])
    if is_zip_file(expanded):
        return expanded if is_repo_url(expanded) else str(local_file(expanded))
    if is_repo_url(expanded):
        if git_only and not expanded.startswith(("git+", "hg+")):
            # cruft clones with git whatever the URL looks like; cookiecutter would guess
            expanded = f"git+{expanded}"
        return vcs_spec(expanded, checkout)
    return str(local_folder(repo_dir))


def git_output(folder: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, check=False
        )
    except OSError:  # no git: nothing to record
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def cruft_state(
    template: str, repo_dir: str, checkout: str | None, answers: dict[str, Any]
) -> dict[str, Any] | None:
    """What cruft records in .cruft.json, for a template in git; None for any other."""
    from cookiecutter.config import get_user_config
    from cookiecutter.repository import expand_abbreviations, is_repo_url, is_zip_file
    from cookiecutter.vcs import identify_repo

    expanded = expand_abbreviations(template, get_user_config()["abbreviations"])
    if is_zip_file(expanded):
        return None
    if is_repo_url(expanded):
        repo_type, url = identify_repo(expanded)
        if repo_type != "git":
            return None
        folder = Path(repo_dir).resolve()  # cookiecutter's clone
    else:
        url, folder = None, local_folder(repo_dir)
    top = git_output(folder, "rev-parse", "--show-toplevel")
    commit = git_output(folder, "rev-parse", "HEAD")
    if not top or not commit:
        return None
    directory = folder.relative_to(Path(top).resolve()).as_posix()
    source = url or str(Path(top).resolve())
    recorded = {key: value for key, value in answers.items() if key not in NOT_ANSWERS}
    return {
        "template": source,
        "commit": commit,
        "checkout": checkout,
        "context": {"cookiecutter": {**recorded, "_template": source, "_commit": commit}},
        "directory": None if directory == "." else directory,
    }


def write_spec(project: Path, spec: str) -> None:
    literal = json.dumps(spec, ensure_ascii=False)
    noxfile = project / "noxfile.py"
    noxfile.write_text(
        NOXFILE_LINE.sub(
            lambda _: f"DEFAULT_VALIDATOR_SPEC = {literal}", noxfile.read_text("utf-8")
        ),
        encoding="utf-8",
    )
    pre_commit = project / ".pre-commit-config.yaml"
    pre_commit.write_text(
        PRE_COMMIT_LINE.sub(
            lambda match: f"{match['head']}{literal}{match['tail']}", pre_commit.read_text("utf-8")
        ),
        encoding="utf-8",
    )


def model_kinds(project: Path) -> list[str]:
    folders = (project / KINDS_DIR).iterdir()
    return sorted(path.name for path in folders if path.is_dir() and not path.name.startswith("_"))


def check_kind(project: Path, kind: str) -> None:
    # cookiecutter checks choices it asks for, but not those a replay file brings
    kinds = model_kinds(project)
    if kind not in kinds:
        raise AnswerError("model_kind", kind, "one of " + ", ".join(repr(k) for k in kinds))


def check_own_env(project: Path, kind: str, env_vars: str) -> None:
    """An answered variable the kind's model.yaml declares itself would be declared twice, and
    model.py would require an optional one."""
    declaration = yaml.safe_load((project / "model.yaml").read_text(encoding="utf-8")) or {}
    names = [str(entry["name"]) for entry in declaration.get("env") or []]
    twice = {name for name in names if names.count(name) > 1}
    if twice:
        answered = {name.strip() for name in env_vars.split(",")}
        own = [name for name in dict.fromkeys(names) if name in twice or name not in answered]
        raise AnswerError(
            "env_vars",
            env_vars,
            f"variables other than {', '.join(own)}, which the {kind} model declares itself",
        )


def assemble(project: Path, kind: str, ci: str) -> None:
    """Move the files of model kind KIND into PROJECT; keep .github/ only if CI is 'yes'."""
    kinds = project / KINDS_DIR
    chosen = kinds / kind
    for source in sorted(path for path in chosen.rglob("*") if path.is_file()):
        target = project / source.relative_to(chosen)
        target.parent.mkdir(parents=True, exist_ok=True)
        source.replace(target)
    shutil.rmtree(kinds)
    if ci != "yes":
        shutil.rmtree(project / ".github", ignore_errors=True)


def keep_dependency_files(project: Path, dependencies: str) -> None:
    """requirements.txt for 'requirements'; pyproject.toml, the same pins, for 'uv'."""
    unused = REQUIREMENTS if dependencies == "uv" else PYPROJECT
    (project / unused).unlink(missing_ok=True)


def find_uv() -> str | None:
    """$UV, as nox reads it; else uv on PATH, else beside this Python (installed with cookiecutter,
    as nox[uv] brings it)."""
    named = os.environ.get("UV")
    if named:
        return shutil.which(named)
    found = shutil.which("uv")
    if found:
        return found
    beside = Path(sys.executable).parent / ("uv.exe" if os.name == "nt" else "uv")
    return str(beside) if beside.is_file() else None


def uv_error(stderr: str) -> str:
    """uv's error and its causes, on one line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    kept = [line for line in lines if line.startswith(("error:", "cause:", "Caused by:"))]
    return " ".join(" ".join(kept or lines[-2:]).split()) or "no message"


def lock_uv_project(project: Path, uv: str | None) -> str | None:
    """Write PROJECT's uv.lock with `uv lock`; None, or why it could not be written."""
    if uv is None:
        return "uv is not installed (pip install uv, or see https://docs.astral.sh/uv/)"
    command = [uv, "lock", "--quiet", "--no-progress"]
    try:
        done = subprocess.run(
            command, cwd=project, capture_output=True, text=True, timeout=UV_LOCK_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        return f"`uv lock` took longer than {UV_LOCK_TIMEOUT_S} s"
    except OSError as error:
        return f"`uv lock` could not run: {error.strerror or error}"
    if done.returncode != 0:
        return f"`uv lock` failed: {uv_error(done.stderr)}"
    return None


def main() -> int:
    template = str(CONTEXT["template"])
    # Under cruft: the template's own path (cruft makes it absolute) and the commit it renders.
    repo_dir = str(CONTEXT["repo_dir"] or template)
    checkout = CONTEXT["checkout"] if CONTEXT["repo_dir"] else CONTEXT["commit"]
    kind = str(CONTEXT["model_kind"])
    try:
        check_kind(Path.cwd(), kind)
        assemble(Path.cwd(), kind, str(CONTEXT["ci"]))
        check_own_env(Path.cwd(), kind, str(CONTEXT["env_vars"]))
        keep_dependency_files(Path.cwd(), str(CONTEXT["dependencies"]))
    except AnswerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"error: could not assemble the project: {error}", file=sys.stderr)
        return 1
    try:
        if CONTEXT["commit"] is None:  # cookiecutter; under cruft, cruft records it
            state = cruft_state(template, repo_dir, checkout, CONTEXT["answers"])
            if state is not None:
                (Path.cwd() / CRUFT_FILE).write_text(
                    json.dumps(state, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
                )
                checkout = state["commit"]
        spec = validator_spec(template, repo_dir, checkout, git_only=CONTEXT["commit"] is not None)
        write_spec(Path.cwd(), spec)
    # The project works without it once MFC_VALIDATOR_SPEC is set: warn rather than fail.
    except Exception as error:
        print(
            f"warning: could not resolve where the validator comes from ({error}); set "
            "MFC_VALIDATOR_SPEC or edit DEFAULT_VALIDATOR_SPEC in noxfile.py and "
            ".pre-commit-config.yaml",
            file=sys.stderr,
        )
    if CONTEXT["dependencies"] == "uv":
        # last: it needs the package index, and the project is whole without it
        why = lock_uv_project(Path.cwd(), find_uv())
        if why is not None:
            print(
                f"warning: {UV_LOCK} was not written: {why}. The project is generated; run "
                f"`uv lock` in {Path.cwd().name}/ (nox -s lock does it too) before validating it",
                file=sys.stderr,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

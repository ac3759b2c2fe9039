"""Sessions of this model project: `nox -s tests`, `nox -s validate`, `nox -s register`,
`nox -s lock`, `nox -s update`{% block more_sessions %}{% endblock %}."""

from __future__ import annotations

{% set uv = cookiecutter.dependencies == "uv" -%}
{% if uv -%}
import contextlib
{% endif -%}
import hashlib
import os
{% if uv -%}
import shutil
{% endif -%}
import subprocess
{% if uv -%}
import tempfile
{% endif -%}
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests"]

PYTHON = "{{ cookiecutter.python_version }}"
{%- if uv %}
# a uv project: the model's requirements are pyproject.toml's [project] dependencies, locked in
# uv.lock; the shared environment installs uv.lock's export, as MLflow logs the model with it
PYPROJECT = "pyproject.toml"
LOCK = "uv.lock"  # written by `nox -s lock` (uv lock)
DEPENDENCY_FILES = (PYPROJECT, LOCK)
# MLflow's own flags (the export is the logged model's requirements.txt); no hashes, because
# pytest and the validator are installed beside it
EXPORT = (
    "export",
    "--frozen",
    "--no-dev",
    "--no-hashes",
    "--no-emit-project",
    "--no-header",
    "--no-annotate",
    "--quiet",
)
{%- else %}
REQUIREMENTS = "requirements.txt"
LOCK = "constraints.txt"  # written by `nox -s lock`, included by requirements.txt
DEPENDENCY_FILES = (REQUIREMENTS, LOCK)
{%- endif %}

# The validator comes from the template this project was generated from (a local path, or a
# git+URL@commit, which `nox -s update` moves); MFC_VALIDATOR_SPEC, any pip requirement,
# overrides it.
DEFAULT_VALIDATOR_SPEC = {{ cookiecutter._repo_dir | default(cookiecutter._template) | tojson }}

# `nox -s update` pulls the template's changes into this project with cruft (.cruft.json).
CRUFT = "cruft=={{ cookiecutter._pins["cruft"] }}"
STAMP = "mfc-installed.txt"
# what the shared environment has beside the requirements and the validator: the tests' runner
TOOLS = ("pytest",)
# The validator imports mlflow on every run: without .pyc files (PYTHONDONTWRITEBYTECODE=1, common
# in CI containers) that takes twice as long, so the validator's environment keeps its bytecode.
# The sandbox environments the validator builds write their own .pyc files whatever this says.
BYTECODE = {"PYTHONDONTWRITEBYTECODE": ""}


def validator_spec() -> str:
    return os.environ.get("MFC_VALIDATOR_SPEC") or DEFAULT_VALIDATOR_SPEC


def fingerprint(spec: str) -> str:
    """What the shared environment was installed from: the requirements and their lock, the
    tools and the validator spec, and for a local folder its files' sizes and times, so that an
    edit reinstalls it."""
    digest = hashlib.sha256()
    for name in DEPENDENCY_FILES:
        if Path(name).is_file():
            digest.update(f"\0{name}\0".encode() + Path(name).read_bytes())
    digest.update(b"\0" + "\0".join([*TOOLS, spec]).encode())
    if Path(spec).is_dir():
        for root, dirs, files in os.walk(spec):
            # not the validator's source: hidden folders (.git, .nox, .venv), caches, and what
            # installing the folder itself writes into it (build/, *.egg-info)
            dirs[:] = sorted(
                d
                for d in dirs
                if not d.startswith(".")
                and d not in ("__pycache__", "build", "dist")
                and not d.endswith(".egg-info")
            )
            for name in sorted(files):
                stat = os.stat(os.path.join(root, name))
                digest.update(f"\0{root}/{name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


{% if uv -%}
def uv_command(session: nox.Session) -> str:
    """uv: $UV or on PATH, else the one installed with nox (nox[uv])."""
    found = shutil.which(os.environ.get("UV") or "uv")
    if found is None:
        with contextlib.suppress(ImportError, FileNotFoundError):
            from uv import find_uv_bin

            found = find_uv_bin()
    if found is None:
        session.error("this uv project needs uv: pip install 'nox[uv]' (or uv), then run it again")
    return found


def lock_if_missing(session: nox.Session) -> None:
    """Write uv.lock where generating the project could not (no uv, or no package index then)."""
    if not Path(LOCK).is_file():
        session.log(f"{LOCK} is missing: locking {PYPROJECT} with `uv lock`")
        session.run(uv_command(session), "lock", external=True)


def install(session: nox.Session, spec: str) -> None:
    """uv.lock's pins (exported as MLflow exports them), pytest and the validator."""
    with tempfile.TemporaryDirectory() as folder:
        exported = str(Path(folder) / "uv-export.txt")
        session.run(uv_command(session), *EXPORT, "--output-file", exported, external=True)
        session.install("-r", exported, *TOOLS, spec)
{%- else -%}
def install(session: nox.Session, spec: str) -> None:
    """The requirements (with their lock, which they include), pytest and the validator."""
    session.install("-r", REQUIREMENTS, *TOOLS, spec)
{%- endif %}


def install_validator(session: nox.Session) -> None:
    """Install the requirements, pytest and the validator, unless this reused environment already
    has exactly them (a stamp of their fingerprint in the environment's folder)."""
    spec = validator_spec()
{%- if uv %}
    lock_if_missing(session)
{%- endif %}
    location = getattr(session.virtualenv, "location", None)
    if location is None:  # --no-venv: nothing of ours to reuse or stamp
        install(session, spec)
        return
    stamp = Path(location) / STAMP
    wanted = fingerprint(spec)
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == wanted:
        session.log("requirements and validator unchanged: reusing this environment")
        return
    stamp.unlink(missing_ok=True)
    install(session, spec)
    stamp.write_text(wanted, encoding="utf-8")


# tests, validate and register run in one environment, .nox/env (the `env` session, which each of
# them requires: nox runs it once, first), which they keep between runs and reinstall only when
# their requirements or the validator spec change (`nox -s validate --reuse-venv=never` rebuilds
# it). One environment instead of three: a third of the disk, and no session installs mlflow again.
SHARED: dict[str, str] = {}


@nox.session(python=PYTHON, reuse_venv=True)
def env(session: nox.Session) -> None:
    """The environment tests, validate and register share (they run this first)."""
    install_validator(session)
    location = getattr(session.virtualenv, "location", None)
    if location is not None:
        SHARED["location"] = location


def run_in_env(session: nox.Session, command: str, *args: str) -> None:
    """COMMAND from the shared environment's bin folder, as if it were this session's own."""
    location = SHARED.get("location")
    if location is None:  # --no-venv or --no-deps: whatever PATH has
        session.run(command, *args, env=BYTECODE, external=True)
        return
    bin_dir = Path(location) / ("Scripts" if os.name == "nt" else "bin")
    path = os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")])
    environ = {**BYTECODE, "VIRTUAL_ENV": location, "PATH": path}
    session.run(str(bin_dir / command), *args, env=environ, external=True)


@nox.session(python=False, requires=["env"])
def tests(session: nox.Session) -> None:
    """Run the model's own tests."""
    run_in_env(session, "pytest", "tests", *session.posargs)


@nox.session(python=False, requires=["env"])
def validate(session: nox.Session) -> None:
    """Check the project, log the model and predict with it in a rebuilt environment."""
    run_in_env(session, "mfc-validator", "validate", ".", *session.posargs)


@nox.session(python=False, requires=["env"])
def register(session: nox.Session) -> None:
    """Register the model once these exact files passed validation (validates if need be)."""
    run_in_env(session, "mfc-validator", "register", ".", *session.posargs)


{% if uv -%}
@nox.session(python=False)
def lock(session: nox.Session) -> None:
    """Lock pyproject.toml's dependencies and all they bring into uv.lock (uv lock), which
    validate builds from and that ships with the model; run it again after changing them."""
    session.run(uv_command(session), "lock", *session.posargs, external=True)
{%- else -%}
@nox.session(python=False, requires=["env"])
def lock(session: nox.Session) -> None:
    """Resolve the full environment of requirements.txt into constraints.txt, the lock that
    validate builds from and that ships with the model; run it again after changing them."""
    run_in_env(session, "mfc-validator", "lock", ".", *session.posargs)
{%- endif %}


@nox.session(python=PYTHON)
def update(session: nox.Session) -> None:
    """Pull the template's changes into this project (cruft update), then show what changed.
    Conflicts with your own edits are left as git conflict markers or *.rej files: see README."""
    if not Path(".cruft.json").is_file():
        session.error(
            ".cruft.json is missing: this project was not generated from a git template; link it "
            "to its template once with `cruft link <template>` (pip install " + CRUFT + ")"
        )
    session.install(CRUFT)
    session.run("cruft", "update", "--skip-apply-ask", *session.posargs)
    inside_git = subprocess.run(
        ["git", "rev-parse", "--is-inside-work-tree"], capture_output=True, text=True, check=False
    )
    if inside_git.stdout.strip() == "true":
        session.log("changed by the update (commit them, after resolving any conflict):")
        session.run("git", "status", "--short", external=True)
        session.run("git", "--no-pager", "diff", "--stat", "HEAD", external=True)
    rejected = sorted(str(path) for path in Path().rglob("*.rej") if ".nox" not in path.parts)
    if rejected:
        session.warn("conflicts to resolve by hand: " + ", ".join(rejected))
{%- block sessions %}{% endblock %}

"""The repository's own sessions: tests, lint, fuzz, demo, bench."""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True

ROOT = Path(__file__).parent


@nox.session
def tests(session: nox.Session) -> None:
    """The fast tier, then the slow tier, each on every core (pytest-xdist); arguments after `--` go
    to one pytest run instead: `nox -s tests -- -m "not slow"` for the fast tier only."""
    session.install("-e", ".[dev]")
    if session.posargs:
        session.run("python", "-m", "pytest", *session.posargs)
        return
    session.run("python", "-m", "pytest", "-m", "not slow", "-n", "auto")
    session.run("python", "-m", "pytest", "-m", "slow", "-n", "auto", "--durations=25")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint and format) and mypy strict on validator/."""
    session.install("-e", ".[dev]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")


@nox.session
def fuzz(session: nox.Session) -> None:
    """The fuzz test of `check` (tests/functional/test_fuzz.py) with many more examples
    (MFC_FUZZ_EXAMPLES, 2000 unless set) and a random seed it prints first: `nox -s fuzz --
    --hypothesis-seed=N` runs seed N again."""
    session.install("-e", ".[dev]")
    arguments = list(session.posargs)
    if not any(argument.startswith("--hypothesis-seed") for argument in arguments):
        seed = random.randrange(2**32)
        session.log(f"hypothesis seed {seed}: nox -s fuzz -- --hypothesis-seed={seed}")
        arguments.append(f"--hypothesis-seed={seed}")
    examples = os.environ.get("MFC_FUZZ_EXAMPLES", "2000")
    session.run(
        "python",
        "-m",
        "pytest",
        "tests/functional/test_fuzz.py",
        *arguments,
        env={"MFC_FUZZ_EXAMPLES": examples},
    )


@nox.session
def demo(session: nox.Session) -> None:
    """Bake the template with its defaults and validate the new project on the embedded store."""
    session.install("cookiecutter", "nox[uv]")
    work = Path(session.create_tmp()) / f"demo-{time.strftime('%Y%m%d-%H%M%S')}"
    work.mkdir(parents=True)
    session.run("cookiecutter", str(ROOT), "--no-input", "-o", str(work), external=False)
    (project,) = [path.resolve() for path in work.iterdir() if path.is_dir()]
    report = project / "report.json"
    session.chdir(project)
    session.run(
        "nox",
        "-s",
        "validate",
        "--",
        "--format",
        "json",
        "--output",
        str(report),
        env={"MFC_VALIDATOR_SPEC": str(ROOT)},
    )
    status = json.loads(report.read_text())["status"]
    session.log(f"validation {status}")
    session.log(f"project: {project}")
    session.log(
        f"store:   {project / '.mlflow'} (mlflow ui --backend-store-uri "
        f"sqlite:///{project / '.mlflow' / 'mlflow.db'})"
    )
    session.log(f"report:  {report}")


@nox.session
def bench(session: nox.Session) -> None:
    """Whole-process timings: `check`, and `validate` against MLflow's own sandbox."""
    session.install("-e", ".[dev]")
    for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        session.run("python", str(script), *session.posargs)

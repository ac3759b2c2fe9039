"""The repository's own sessions: tests, lint, docs, fuzz, demo, bench, docs_screenshots."""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "docs", "tests"]
nox.options.reuse_existing_virtualenvs = True

ROOT = Path(__file__).parent
# the docs' own pins (pyproject.toml's dependency group `docs`), installed only by the docs sessions
DOCS_REQUIREMENTS = nox.project.dependency_groups(
    nox.project.load_toml(ROOT / "pyproject.toml"), "docs"
)
# Material prints a notice about MkDocs 2.0 on every build; the build itself is what CI reads
DOCS_ENV = {"NO_MKDOCS_2_WARNING": "1"}
# the pages docs_screenshots takes, and the files it writes under docs/
SCREENSHOTS = {"": "screenshot-home.png", "codes/": "screenshot-codes.png"}


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
def docs(session: nox.Session) -> None:
    """The documentation site (mkdocs.yml, docs/) built into site/ with `mkdocs build --strict`:
    a broken link or anchor, or a page left out of the nav, fails it."""
    session.install(*DOCS_REQUIREMENTS)
    session.run("mkdocs", "build", "--strict", env=DOCS_ENV)


@nox.session(name="docs_screenshots")
def docs_screenshots(session: nox.Session) -> None:
    """Build the site and take the screenshots of its home and codes pages that README shows
    (docs/screenshot-*.png), with headless Chromium (`apt-get install -y chromium`); CI never
    runs it."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        session.error("no chromium on PATH: apt-get install -y chromium")
    session.install(*DOCS_REQUIREMENTS)
    session.run("mkdocs", "build", "--strict", env=DOCS_ENV)
    with socket.socket() as probe:  # a free port on the loopback interface
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=ROOT / "site",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/")
        for page, name in SCREENSHOTS.items():
            with tempfile.TemporaryDirectory() as profile:
                session.run(
                    browser,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    "--hide-scrollbars",
                    "--virtual-time-budget=5000",  # until the page has rendered and scrolled
                    f"--user-data-dir={profile}",
                    f"--screenshot={ROOT / 'docs' / name}",
                    "--window-size=1280,900",
                    f"http://127.0.0.1:{port}/{page}",
                    external=True,
                )
    finally:
        server.terminate()
        server.wait()


def _wait_for(url: str, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


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

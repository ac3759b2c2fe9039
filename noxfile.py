"""The repository's own sessions: tests, lint, docs, fuzz, demo, ui, record, bench,
docs_screenshots."""

from __future__ import annotations

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
# uv installs without bytecode, and where PYTHONDONTWRITEBYTECODE is set (CI containers; this
# project's machine) none is ever written: every process of the tests' environment (the
# validator's zygote, each `mlflow server`, each test importing mlflow) would then compile mlflow
# anew: 7 s of CPU each import against 2.6 s, measured here. Compiled once at install instead, in
# about a minute.
COMPILED = {"UV_COMPILE_BYTECODE": "1"}
# the pages docs_screenshots takes, and the files it writes under docs/
SCREENSHOTS = {"": "screenshot-home.png", "codes/": "screenshot-codes.png"}


@nox.session
def tests(session: nox.Session) -> None:
    """The fast tier, then the slow tier, each on every core (pytest-xdist); arguments after `--` go
    to one pytest run instead: `nox -s tests -- -m "not slow"` for the fast tier only."""
    session.install("-e", ".[dev]", env=COMPILED)
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


DEMOS = ROOT / ".nox" / "demo" / "tmp"


def demo_store(project: Path) -> str:
    """The tracking URI of a demo project's embedded store."""
    return f"sqlite:///{project / '.mlflow' / 'mlflow.db'}"


def demo_mlflow(project: Path) -> Path | None:
    """The `mlflow` command of the project's own nox environment (the one its validation ran
    in): the only mlflow the demo installs."""
    found = sorted(project.glob(".nox/*/bin/mlflow"))
    return found[0] if found else None


@nox.session
def demo(session: nox.Session) -> None:
    """Bake the template with its defaults and validate the new project on the embedded store:
    the text report as a user sees it, then how to open the run in the MLflow UI."""
    session.install("cookiecutter", "nox[uv]")
    work = DEMOS / f"demo-{time.strftime('%Y%m%d-%H%M%S')}"
    work.mkdir(parents=True)
    session.run("cookiecutter", str(ROOT), "--no-input", "-o", str(work), external=False)
    (project,) = [path.resolve() for path in work.iterdir() if path.is_dir()]
    session.chdir(project)
    # exit status 1 is a failed validation, which the report shows: the demo still says where
    # everything is
    session.run(
        "nox", "-s", "validate", env={"MFC_VALIDATOR_SPEC": str(ROOT)}, success_codes=[0, 1]
    )
    session.log(f"project: {project}")
    session.log(f"store:   {project / '.mlflow'}")
    mlflow = demo_mlflow(project)
    if mlflow is not None:
        session.log(
            "MLflow UI: nox -s ui (run as you ran nox -s demo), or "
            f"{mlflow} ui --backend-store-uri {demo_store(project)}"
        )


@nox.session(venv_backend="none")
def ui(session: nox.Session) -> None:
    """Open the MLflow UI on the newest demo project's store, with the mlflow of that project's
    own environment (run `nox -s demo` first); arguments after `--` go to `mlflow ui`
    (`-- --port 5001`)."""
    projects = sorted(path for path in DEMOS.glob("demo-*/*") if (path / "model.yaml").is_file())
    if not projects:
        session.error("no demo project yet: run `nox -s demo` first")
    project = projects[-1]
    mlflow = demo_mlflow(project)
    if mlflow is None:
        session.error(f"{project} has no environment with mlflow: run `nox -s demo` again")
    session.log(f"the store of {project}")
    session.run(
        str(mlflow),
        "ui",
        "--backend-store-uri",
        demo_store(project),
        *session.posargs,
        external=True,
    )


RECORDING = ROOT / "docs" / "validate-failing"  # .ansi.txt and .html
_SGR_CSS = {"1": "font-weight:bold", "2": "opacity:.6", "31": "color:#d22", "32": "color:#2a2",
            "33": "color:#b80", "36": "color:#08a"}  # fmt: skip


def ansi_to_html(text: str) -> str:
    """The colours of the text report (plain SGR sequences) as an HTML page."""
    import html
    import re

    body, open_spans = [], 0
    for chunk in re.split(r"(\x1b\[[0-9;]*m)", text):
        codes = re.fullmatch(r"\x1b\[([0-9;]*)m", chunk)
        if codes is None:
            body.append(html.escape(chunk))
        elif codes.group(1) in ("", "0"):
            body.append("</span>" * open_spans)
            open_spans = 0
        else:
            style = ";".join(_SGR_CSS.get(code, "") for code in codes.group(1).split(";"))
            body.append(f'<span style="{style}">')
            open_spans += 1
    body.append("</span>" * open_spans)
    return (
        '<!doctype html>\n<meta charset="utf-8">\n<title>mfc-validator validate, failing</title>\n'
        '<pre style="background:#fff;color:#222;padding:1em;font:14px/1.4 monospace">'
        + "".join(body)
        + "</pre>\n"
    )


@nox.session
def record(session: nox.Session) -> None:
    """Record a failing `validate` in colour (FORCE_COLOR=1, 100 columns) on a fixture project
    (tests/fixtures/good with env001_undeclared_variable over it): its standard output and
    error, with this machine's paths taken out, as docs/validate-failing.ansi.txt (`less -R`,
    `cat`) and docs/validate-failing.html."""
    import shutil
    import tempfile

    if session.venv_backend != "none":  # --no-venv: the validator already installed
        session.install("-e", ".[dev]")
    fixtures = ROOT / "tests" / "fixtures"
    with tempfile.TemporaryDirectory(prefix="mfc-record-") as scratch:
        work = Path(scratch).resolve()
        project = work / "sales-scaler"
        shutil.copytree(fixtures / "good", project)
        shutil.copytree(fixtures / "env001_undeclared_variable", project, dirs_exist_ok=True)
        env = {"FORCE_COLOR": "1", "NO_COLOR": "", "COLUMNS": "100", "MLFLOW_TRACKING_URI": ""}
        command = ["mfc-validator", "validate", project.name]
        session.chdir(work)
        # silent: standard output and error together, as a terminal shows them; 1: it fails
        output = session.run(*command, env=env, silent=True, success_codes=[1])
        session.chdir(ROOT)
        text = f"$ {' '.join(command)}\n{output}"
        for path, shown in ((work, "."), (ROOT, "<repo>"), (Path.home(), "~")):
            text = text.replace(f"{path}/", "" if shown == "." else f"{shown}/")
            text = text.replace(str(path), shown)
    RECORDING.parent.mkdir(exist_ok=True)
    RECORDING.with_suffix(".ansi.txt").write_text(text)
    page = RECORDING.with_suffix(".html")
    page.write_text(ansi_to_html(text))
    session.log(f"wrote {RECORDING}.ansi.txt and .html")
    browser = next(
        filter(None, map(shutil.which, ("chromium", "chromium-browser", "chrome"))), None
    )
    if browser is not None:  # a screenshot of the page, where a headless browser is at hand
        shot = f"--screenshot={RECORDING.with_suffix('.png')}"
        size = f"--window-size=1000,{24 * (text.count(chr(10)) + 2)}"
        flags = ("--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", size, shot)
        session.run(browser, *flags, page.as_uri(), external=True, silent=True)


@nox.session
def bench(session: nox.Session) -> None:
    """Whole-process timings: `check`, and `validate` against MLflow's own sandbox."""
    session.install("-e", ".[dev]")
    for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        session.run("python", str(script), *session.posargs)

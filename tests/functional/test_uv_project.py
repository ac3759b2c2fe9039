"""A uv project is validated as MLflow logs and serves it. The template's default kind, baked with
real cookiecutter as a uv project (`dependencies=uv`: pyproject.toml with the kind's pins, and
uv.lock from the template's own `uv lock`), passes its own `nox -s tests validate register` right
after generation: validate names uv.lock as the source, its sandbox holds exactly uv.lock's
versions, the logged model ships uv.lock, pyproject.toml and the export as its requirements.txt,
MLflow's own `mlflow models serve --env-manager uv` of it installs exactly the lock (`uv sync`)
and answers, and register registers it. Real cookiecutter, uv, nox, MLflow and package index
throughout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ProjectFactory, run_cli
from tests.functional import genai
from tests.functional.nox_session import run_nox
from tests.functional.test_template import REPO_ROOT, bake
from validator.project import uv_project

SERVE_TIMEOUT = 900  # `--env-manager uv` runs `uv sync` of the whole environment first
SEEDS = {"pip", "setuptools", "wheel"}  # what a virtualenv may hold besides the requirements


def pins(lines: list[str]) -> dict[str, str]:
    """{normalized name: version} of the `name==version` lines whose environment markers hold
    here (an export lists Windows' too)."""
    found = {}
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate():
            [spec] = requirement.specifier
            assert spec.operator == "==", line
            found[canonicalize_name(requirement.name)] = spec.version
    return found


def freeze(uv: str, environment: Path) -> dict[str, str]:
    """The pins of what ENVIRONMENT (a virtual environment's folder) holds, its seeds and what
    was installed from a folder (`name @ file://…`) aside."""
    frozen = subprocess.run(
        [uv, "pip", "freeze", "--python", str(environment / "bin" / "python")],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    pinned = [line for line in frozen.stdout.splitlines() if " @ " not in line]
    return {k: v for k, v in pins(pinned).items() if k not in SEEDS}


def make_uv_project(project: Path) -> list[str]:
    """pyproject.toml with the kind's pins as dependencies, requirements.txt deleted, `uv lock`;
    the pins."""
    requirements = project / "requirements.txt"
    dependencies = [line.strip() for line in requirements.read_text().splitlines() if line.strip()]
    requirements.unlink()
    listed = ", ".join(json.dumps(item) for item in dependencies)
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    (project / "pyproject.toml").write_text(
        f'[project]\nname = "{project.name}"\nversion = "0.1.0"\n'
        f'requires-python = "=={python}.*"\ndependencies = [{listed}]\n'
    )
    command = [*genai.uv_command(), "lock", "--quiet"]
    done = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return dependencies


def report_of(project: Path, command: str, env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    out = project.parent / f"{command}.json"
    done = run_cli(command, str(project), "--format", "json", "--output", str(out), env=env)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(out.read_text())


def logged_report(project: Path) -> dict[str, Any]:
    """The report the validation logged to its MLflow run."""
    [path] = (project / ".mlflow").rglob("validation/report.json")
    report: dict[str, Any] = json.loads(path.read_text())
    return report


@pytest.mark.slow
def test_a_uv_project_from_the_template_is_validated_served_and_registered_from_its_lock(
    tmp_path: Path,
) -> None:
    cache = tmp_path / "validator-cache"  # its own: the one sandbox environment is this lock's
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"MLFLOW_TRACKING_URI", "VIRTUAL_ENV", "UV"}
    }
    env |= {
        "MFC_VALIDATOR_CACHE": str(cache),
        "MFC_VALIDATOR_SPEC": str(REPO_ROOT),  # this working tree's validator
        "MLFLOW_TRACKING_URI": "",
    }
    (tmp_path / "cookiecutter.yaml").write_text(f"replay_dir: {tmp_path / 'replay'}\n")
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    project = bake(  # the default kind; the template's hook runs `uv lock`
        tmp_path / "out", tmp_path / "cookiecutter.yaml", dependencies="uv", python_version=python
    )
    assert not (project / "requirements.txt").exists() and (project / "uv.lock").is_file()
    dependencies = uv_project.direct_dependencies(project)
    uv = genai.uv_command()[0]
    exported = uv_project.export_lines(uv_project.export(project, uv))
    locked = pins(exported)
    assert {name for name, _ in (line.split("==") for line in dependencies)} <= set(locked)
    assert len(locked) > len(dependencies)  # the transitive ones are locked too

    code, output = run_nox(project, ("tests", "validate", "register"), env, timeout=1800)
    assert code == 0, output[-10000:]
    assert "validate passed" in output and "register passed" in output
    assert "models:/demand-forecast/1" in output  # registered
    report = logged_report(project)
    checks = {check["code"]: check for check in report["checks"]}
    assert report["status"] == "passed", [
        check for check in report["checks"] if check["status"] in ("failed", "warning")
    ]
    assert "from uv.lock (uv export)" in checks["SBX001"]["message"]
    assert checks["DEP014"]["message"].startswith("uv.lock is current with pyproject.toml")
    assert checks["DEP019"]["status"] == "passed" and checks["DEP015"]["status"] == "skipped"
    assert checks["DEP010"]["status"] == "passed"  # pyproject's dependencies, not the export's
    assert checks["DEP012"]["status"] == "passed"  # the pre-commit hook lists the same pins

    # the sandbox: one environment, holding exactly the lock's versions
    [sandbox] = [path for path in (cache / "envs").iterdir() if (path / "bin" / "python").exists()]
    assert freeze(uv, sandbox) == locked
    # nox's environment: the lock's versions too, beside pytest and the validator
    in_nox = freeze(uv, project / ".nox" / "env")
    assert {name: in_nox.get(name) for name in locked} == locked

    # the logged model: MLflow shipped the uv project, and its requirements are the export
    [model_dir] = {path.parent for path in (project / ".mlflow").rglob("MLmodel")}
    assert (model_dir / "uv.lock").read_bytes() == (project / "uv.lock").read_bytes()
    assert (model_dir / "pyproject.toml").is_file()
    shipped = (model_dir / "requirements.txt").read_text().splitlines()
    assert sorted(line for line in shipped if line.strip()) == sorted(exported)

    # MLflow's own serving of the logged model with uv: `uv sync --frozen` from its uv.lock
    served_from = genai.GenAIEnv(Path(sys.executable).parent.parent, cache)
    store = f"sqlite:///{project / '.mlflow' / 'mlflow.db'}"
    with genai.serving(
        served_from,
        report["model_uri"],
        store,
        tmp_path / "serve",
        timeout=SERVE_TIMEOUT,
        env_manager="uv",
        MLFLOW_ENV_ROOT=str(tmp_path / "mlflow-envs"),
    ) as url:
        status, body = genai.post(url, (project / "input_example.json").read_bytes())
    assert status == 200, body
    assert json.loads(body)["predictions"]
    served = (tmp_path / "serve-serve.log").read_text(errors="replace")
    assert "Found uv.lock artifact, restoring environment with uv sync" in served
    [made] = (tmp_path / "mlflow-envs").glob("mlflow-*")
    assert freeze(uv, made) == locked  # what was validated is what is served


@pytest.mark.parametrize(
    ("breakage", "failing", "said"),
    [
        ("stale", "DEP014", "uv.lock is stale: it no longer matches pyproject.toml"),
        ("corrupt", "DEP014", "uv.lock cannot be used: `uv lock --check` failed: "),
        ("not toml", "DEP019", "pyproject.toml is not valid TOML"),
        ("no pyproject", "DEP019", "uv.lock has no pyproject.toml beside it"),
    ],
)
def test_a_broken_uv_project_fails_once_and_logs_nothing(
    make_project: ProjectFactory, tmp_path: Path, breakage: str, failing: str, said: str
) -> None:
    project = make_project()
    requirements = make_uv_project(project)
    if breakage == "stale":
        (project / "pyproject.toml").write_text(
            (project / "pyproject.toml").read_text().replace('"]\n', '", "six"]\n')
        )
    elif breakage == "corrupt":
        (project / "uv.lock").write_text("garbage\n")
    elif breakage == "not toml":
        (project / "pyproject.toml").write_text("[project\n")
    else:
        (project / "pyproject.toml").unlink()
        (project / "requirements.txt").write_text("\n".join(requirements) + "\n")
    env = {"MFC_VALIDATOR_CACHE": str(tmp_path / "cache"), "MLFLOW_TRACKING_URI": ""}

    code, report = report_of(project, "validate", env)

    failures = [check for check in report["checks"] if check["status"] == "failed"]
    assert code == 1 and [check["code"] for check in failures] == [failing], failures
    assert said in failures[0]["message"] and "\n" not in failures[0]["message"]
    assert report["run_id"] is None and not (project / ".mlflow").exists()  # nothing logged

"""validate over several projects at once, as whole processes with real MLflow logging and real
sandboxes (slow tier): isolation between projects, a failing project among passing ones,
the docs' CI workflow (docs/ci.md) over two shards, and an interrupted batch."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import yaml

from tests.conftest import GOOD_FILES, REPO_ROOT

pytestmark = pytest.mark.slow

MODEL_USING_HELPERS = """\
from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
from helpers import {function}


class Scorer(mlflow.pyfunc.PythonModel):
    def load_context(self, context) -> None:
        self.weights = np.array({function}())

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        x = model_input[["a", "b"]].to_numpy(dtype=float)
        return pd.DataFrame({{"score": x @ self.weights}})


mlflow.models.set_model(Scorer())
"""

FAILING_MODEL = GOOD_FILES["model.py"].replace(
    "        x = model_input",
    "        raise ValueError('no scores today')\n        x = model_input",
)


def _write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in {**GOOD_FILES, **files}.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _helpers_project(root: Path, name: str, weights: str) -> Path:
    function = f"{name}_weights"
    return _write(
        root,
        {
            "model.yaml": f"name: {name}\ncode_paths: [helpers.py]\n",
            "model.py": MODEL_USING_HELPERS.format(function=function),
            "helpers.py": f"def {function}():\n    return {weights}\n",
        },
    )


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two projects that each ship their own helpers.py, and one whose predict raises."""
    root = tmp_path_factory.mktemp("many") / "repo"
    _helpers_project(root / "models/alpha", "alpha", "[0.5, 1.5]")
    _helpers_project(root / "models/beta", "beta", "[2.0, 1.0]")
    _write(root / "models/gamma", {"model.yaml": "name: gamma\n", "model.py": FAILING_MODEL})
    (root / ".gitignore").write_text(".mlflow/\n")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("env-cache")


def _cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "validator", *args],
        cwd=cwd,
        env={**os.environ, "MLFLOW_TRACKING_URI": "", **env},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def _failed(report: dict[str, object]) -> list[str]:
    checks = report["checks"]
    assert isinstance(checks, list)
    return [check["code"] for check in checks if check["status"] == "failed"]


def test_projects_with_their_own_helpers_validate_side_by_side(repo: Path, cache: Path) -> None:
    out = repo.parent / "report.json"
    result = _cli(
        "validate",
        "--all",
        "-j",
        "2",
        "--format",
        "json",
        "--output",
        str(out),
        cwd=repo,
        env={"MFC_VALIDATOR_CACHE": str(cache)},
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, result.stdout + result.stderr
    document = json.loads(out.read_text())
    reports = {report["project"]: report for report in document["reports"]}
    assert sorted(reports) == ["models/alpha", "models/beta", "models/gamma"]
    # each script imported its own helpers.py: the other's has no such function
    assert reports["models/alpha"]["status"] == "passed", _failed(reports["models/alpha"])
    assert reports["models/beta"]["status"] == "passed", _failed(reports["models/beta"])
    assert reports["models/gamma"]["status"] == "failed"
    assert _failed(reports["models/gamma"])
    messages = [c["message"] for c in reports["models/gamma"]["checks"] if c["status"] == "failed"]
    assert any("no scores today" in message for message in messages)
    # each project's run is in its own store, and ended
    for name in ("alpha", "beta", "gamma"):
        assert _run_statuses(repo / "models" / name) in (["FINISHED"], ["FAILED"])
    # one environment served all three, built or found once
    found = re.findall(
        r"building the sandbox environment|sandbox environment reused", result.stderr
    )
    assert len(found) == 1, result.stderr
    assert "models/gamma  failed" in result.stdout


def _run_statuses(project: Path) -> list[str]:
    database = project / ".mlflow" / "mlflow.db"
    if not database.exists():
        return []
    try:
        with sqlite3.connect(database) as connection:
            return [row[0] for row in connection.execute("select status from runs")]
    except sqlite3.OperationalError:  # the store is still being created (no table yet)
        return []


def _workflow() -> dict[str, object]:
    page = (REPO_ROOT / "docs" / "ci.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", page, re.DOTALL)
    (workflow,) = [block for block in blocks if "--shard" in block]
    loaded = yaml.safe_load(workflow)
    assert isinstance(loaded, dict)
    return loaded


def test_the_readme_workflow_validates_every_project_exactly_once(
    repo: Path, cache: Path, tmp_path: Path
) -> None:
    job = _workflow()["jobs"]["validate"]  # type: ignore[index]
    shards = job["strategy"]["matrix"]["shard"]
    assert shards == [1, 2]
    steps = {step.get("name"): step for step in job["steps"]}
    wanted = ("Key of this shard's sandbox environments", "Validate this shard's projects")
    shim = tmp_path / "bin"
    shim.mkdir()
    command = shim / "mfc-validator"
    command.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m validator "$@"\n')
    command.chmod(command.stat().st_mode | stat.S_IEXEC)

    def expand(text: str, shard: int) -> str:
        return text.replace("${{ matrix.shard }}", str(shard)).replace(
            "${{ strategy.job-total }}", str(len(shards))
        )

    validated: list[str] = []
    keys = []
    for shard in shards:
        output = tmp_path / f"github-output-{shard}"
        env = {
            **os.environ,
            "MLFLOW_TRACKING_URI": "",
            "MFC_VALIDATOR_CACHE": str(cache),
            "PATH": f"{shim}{os.pathsep}{os.environ['PATH']}",
            "GITHUB_OUTPUT": str(output),
            **{name: expand(value, shard) for name, value in job["env"].items()},
        }
        for name in wanted:
            result = subprocess.run(
                ["bash", "-c", expand(steps[name]["run"], shard)],
                cwd=repo,
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
            assert "Traceback" not in result.stderr, result.stderr
            assert result.returncode in (0, 1), result.stderr
        keys.append(output.read_text().strip())
        suites = ET.parse(repo / f"validation-{shard}.xml").getroot().findall("testsuite")
        validated += [
            str(suite.get("name")).removeprefix("mfc-validator validate ") for suite in suites
        ]
    assert sorted(validated) == ["models/alpha", "models/beta", "models/gamma"]
    assert all(key.startswith("key=mfc-validator-envs-") for key in keys)


def _ours(marker: str) -> list[int]:
    """Processes whose command line or environment mentions MARKER (our scratch folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            text = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in text and state != "Z":
            found.append(int(entry.name))
    return found


def test_interrupting_a_batch_leaves_nothing_behind(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    for name in ("one", "two", "three"):
        _helpers_project(root / name, name, "[1.0, 1.0]")
    cache = tmp_path / "cold-cache"  # empty: an environment build may be under way at the interrupt
    scratch = tmp_path / "scratch-marker"
    scratch.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "validator", "validate", "--all", str(root), "-j", "3"],
        env={
            **os.environ,
            "MLFLOW_TRACKING_URI": "",
            "MFC_VALIDATOR_CACHE": str(cache),
            "TMPDIR": str(scratch),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and process.poll() is None:
            # as soon as a run is open; the environment is then often still being built
            if any(_run_statuses(root / name) == ["RUNNING"] for name in ("one", "two", "three")):
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"no run ever started: {process.poll()} {process.communicate()}")
        os.kill(process.pid, signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr, stderr
    deadline = time.monotonic() + 10
    while _ours(str(scratch)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _ours(str(scratch)) == []
    assert list(scratch.iterdir()) == []
    # no half environment: none at all if the build was stopped, else a whole one
    built = [path for path in (cache / "envs").iterdir() if not path.name.endswith(".lock")]
    assert all((path / "mfc-environment.json").is_file() for path in built), built
    # a project that finished before the interrupt keeps its verdict; no run stays RUNNING
    statuses = [status for name in ("one", "two", "three") for status in _run_statuses(root / name)]
    assert "KILLED" in statuses and "RUNNING" not in statuses, (statuses, stderr)

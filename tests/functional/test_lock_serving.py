"""Issue 19's acceptance: what is validated is what is served. A dataframe project baked from the
template, its mlflow pinned to an old release and nothing else pinned, is locked (`nox -s lock`)
and validated (`nox -s validate`), both with the project's own nox; MLflow's own
`mlflow models serve --env-manager uv` then builds the served environment from the logged model's
files, and its `pip freeze` is the lock. A constraint changed in the logged model afterwards is
what the next serving installs. Real cookiecutter, nox, uv, MLflow and package index throughout.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.version import Version

from tests.functional import genai
from tests.functional.nox_session import run_nox

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
OLD_MLFLOW = "mlflow==3.4.0"  # not-a-pin: the release the issue measured SQLAlchemy 2.1 break
# the case: mlflow pinned, numpy and pandas left to the resolver
REQUIREMENTS = f"{OLD_MLFLOW}\nnumpy\npandas\n"
KIND = "model_kind=dataframe"
SERVE_TIMEOUT = 900  # `--env-manager uv` installs the whole environment before /ping answers


def pins(text: str) -> dict[str, str]:
    """{normalized name: version} of the `name==version` lines of TEXT (a lock, a pip freeze)."""
    found = {}
    for line in text.splitlines():
        name, sep, version = line.strip().partition("==")
        if sep and not name.startswith("#"):
            found[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    return found


def freeze(env_root: Path, before: set[Path]) -> dict[str, str]:
    """`pip freeze` of the one environment MLflow made under ENV_ROOT that is not in BEFORE."""
    [made] = set(env_root.glob("mlflow-*")) - before
    result = subprocess.run(
        [str(made / "bin" / "python"), "-m", "pip", "freeze"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return pins(result.stdout)


def test_the_served_environment_is_the_validated_lock(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"MLFLOW_TRACKING_URI", "MFC_VALIDATOR_SPEC", "VIRTUAL_ENV"}
    }
    env["MFC_VALIDATOR_CACHE"] = str(tmp_path / "validator-cache")
    env["COOKIECUTTER_CONFIG"] = str(tmp_path / "cookiecutter.yaml")
    (tmp_path / "cookiecutter.yaml").write_text(f"replay_dir: {tmp_path / 'replay'}\n")
    bake = subprocess.run(
        [sys.executable, "-m", "cookiecutter", str(REPO_ROOT), "--no-input", "-o", "out", KIND],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert bake.returncode == 0, bake.stderr
    [project] = (tmp_path / "out").iterdir()
    (project / "requirements.txt").write_text(REQUIREMENTS, encoding="utf-8")

    code, output = run_nox(project, "lock", env, timeout=900)

    assert code == 0, output
    assert "added '-c constraints.txt' to requirements.txt" in output
    assert (project / "requirements.txt").read_text() == REQUIREMENTS + "-c constraints.txt\n"
    lock_text = (project / "constraints.txt").read_text(encoding="utf-8")
    locked = pins(lock_text)
    assert "# exclude-newer: 20" in lock_text and f"the upload time of {OLD_MLFLOW}" in lock_text
    assert locked["mlflow"] == "3.4.0"
    # what broke the unlocked project: SQLAlchemy 2.1 came out after mlflow 3.4.0
    assert Version(locked["sqlalchemy"]) < Version("2.1")

    code, output = run_nox(
        project, "validate", env, "--format", "json", "--output", "r.json", timeout=1200
    )

    assert code == 0, output
    report = json.loads((project / "r.json").read_text())
    statuses = {check["code"]: check["status"] for check in report["checks"]}
    assert report["status"] == "passed" and report["mlflow_version"] == "3.4.0"
    assert statuses["DEP015"] == statuses["DEP016"] == statuses["SBX003"] == "passed"
    assert statuses["DEP006"] == "passed"  # numpy and pandas are unpinned, but locked
    [shipped] = (project / ".mlflow").rglob("constraints.txt")  # the logged model's copy
    assert pins(shipped.read_text(encoding="utf-8")) == locked

    # MLflow's own serving, from the logged model's files, with uv as MLflow runs it
    served_from = genai.GenAIEnv(project / ".nox" / "env", tmp_path / "validator-cache")
    store = f"sqlite:///{project / '.mlflow' / 'mlflow.db'}"
    env_root = tmp_path / "mlflow-envs"
    example = (project / "input_example.json").read_bytes()

    def serve() -> tuple[int, str, dict[str, str]]:
        before = set(env_root.glob("mlflow-*"))
        with genai.serving(
            served_from,
            report["model_uri"],
            store,
            tmp_path / "serve",
            timeout=SERVE_TIMEOUT,
            env_manager="uv",
            MLFLOW_ENV_ROOT=str(env_root),
        ) as url:
            status, body = genai.post(url, example)
        return status, body, freeze(env_root, before)

    status, body, served = serve()

    assert status == 200, body
    assert len(json.loads(body)["predictions"]) == 3
    assert served == locked  # every locked version, and nothing besides

    # the lock is what serving follows: a constraint changed in the logged model after validation
    old = locked["tzdata"]
    new = "2024.1" if old != "2024.1" else "2024.2"
    text = shipped.read_text(encoding="utf-8")
    assert f"tzdata=={old}" in text
    shipped.write_text(text.replace(f"tzdata=={old}", f"tzdata=={new}"), encoding="utf-8")

    status, body, served = serve()

    assert status == 200, body
    assert served == {**locked, "tzdata": new}

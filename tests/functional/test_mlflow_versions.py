"""Every MLflow 3.x a project may pin: the dataframe and agent kinds, generated from the template
with their mlflow pin moved to the oldest supported release, a middle one and the newest (the
template's own), are locked (`nox -s lock`) and validated (`nox -s validate`) as a user runs
them. The validator then runs in-process with that MLflow, and the sandbox installs what the
lock says.

Without the lock the old releases do not even start: a fresh resolve of mlflow 3.1 today brings a
SQLAlchemy it cannot import."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

from tests.functional.nox_session import run_nox
from tests.pins import PINS

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
# not-a-pin: the oldest supported, a middle one, and the template's own
VERSIONS = ("3.1.4", "3.10.1", PINS["mlflow"])
KINDS = ("dataframe", "agent")
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)", re.MULTILINE)


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed(environment: Path) -> dict[str, str]:
    """name -> version of every distribution in a virtualenv, from its dist-info folders."""
    found: dict[str, str] = {}
    for info in environment.glob("lib/python*/site-packages/*.dist-info"):
        name, _, version = info.name[: -len(".dist-info")].partition("-")
        found[_normalized(name)] = version
    return found


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("kind", KINDS)
def test_a_kind_pinned_to_an_mlflow_3_release_is_locked_and_validated(
    tmp_path: Path, kind: str, version: str
) -> None:
    (tmp_path / "cookiecutter.yaml").write_text(f"replay_dir: {tmp_path / 'replay'}\n")
    project = Path(
        cookiecutter(
            str(REPO_ROOT),
            no_input=True,
            output_dir=str(tmp_path / "out"),
            config_file=str(tmp_path / "cookiecutter.yaml"),
            extra_context={"model_kind": kind},
        )
    )
    requirements = project / "requirements.txt"
    # mlflow pinned to VERSION, the kind's other requirements left to the lock
    others = [m.group(1) for m in PIN.finditer(requirements.read_text(encoding="utf-8"))]
    requirements.write_text(
        "".join(f"mlflow=={version}\n" if name == "mlflow" else f"{name}\n" for name in others),
        encoding="utf-8",
    )
    cache = tmp_path / "env-cache"
    env = {**os.environ, "MFC_VALIDATOR_CACHE": str(cache)}
    env.pop("MFC_VALIDATOR_SPEC", None)  # the default: the template it was generated from

    code, output = run_nox(project, "lock", env)
    assert code == 0, output
    locked = dict(
        (_normalized(name), pinned)
        for name, pinned in PIN.findall((project / "constraints.txt").read_text(encoding="utf-8"))
    )
    assert locked["mlflow"] == version
    assert "-c constraints.txt" in requirements.read_text(encoding="utf-8")

    code, output = run_nox(project, "validate", env, "--format", "json", "--output", "r.json")
    assert code == 0, output
    report = json.loads((project / "r.json").read_text(encoding="utf-8"))
    assert report["status"] == "passed", output
    assert report["mlflow_version"] == version
    assert [c["code"] for c in report["checks"] if c["status"] == "failed"] == []
    checks = {c["code"]: c["status"] for c in report["checks"]}
    assert checks["SBX001"] == checks["SBX003"] == checks["SIG004"] == "passed"

    # every sandbox environment built (the one the model answered in) holds the locked versions
    environments = [p.parent.parent for p in cache.glob("envs/*/bin/python")]
    assert environments
    for environment in environments:
        installed = _installed(environment)
        different = {
            name: (pinned, installed[name])
            for name, pinned in locked.items()
            if name in installed and installed[name] != pinned
        }
        assert different == {}, environment.name
        assert installed["mlflow"] == version
    # and the logged model ships the lock, so that serving installs the same
    shipped = list((project / ".mlflow").rglob("artifacts/constraints.txt"))
    assert shipped, "the logged model has no constraints.txt"
    assert f"mlflow=={version}" in shipped[0].read_text(encoding="utf-8")

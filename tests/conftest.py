from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.pins import MLFLOW, NUMPY, PANDAS

REPO_ROOT = Path(__file__).resolve().parent.parent
# good/ is a whole valid project; every other folder is a scenario, an overlay holding only the
# files that differ from good/'s: materialize_scenario puts the two together
FIXTURES = Path(__file__).resolve().parent / "fixtures"
BASE_SCENARIO = "good"

GOOD_MODEL = """\
from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd


class Scorer(mlflow.pyfunc.PythonModel):
    def load_context(self, context) -> None:
        self.weights = np.array([0.5, 1.5])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        x = model_input[["a", "b"]].to_numpy(dtype=float)
        return pd.DataFrame({"score": x @ self.weights})


mlflow.models.set_model(Scorer())
"""

GOOD_FILES = {
    "model.yaml": "name: tiny-scorer\n",
    "model.py": GOOD_MODEL,
    "requirements.txt": f"{MLFLOW}\n{NUMPY}\n{PANDAS}\n",
    "input_example.json": json.dumps(
        {"dataframe_split": {"columns": ["a", "b"], "data": [[1.0, 2.0], [3.0, 4.0]]}}
    ),
}

ProjectFactory = Callable[..., Path]


def scenario_names() -> list[str]:
    """The folders of tests/fixtures: good/ and the overlays."""
    return sorted(path.name for path in FIXTURES.iterdir() if path.is_dir())


def materialize_scenario(scenario: str, destination: Path) -> Path:
    """Make the project SCENARIO in DESTINATION (which must not exist): a copy of good/, then the
    overlay's files copied over it. Return DESTINATION."""
    overlay = FIXTURES / scenario
    if not overlay.is_dir():
        raise ValueError(f"no scenario {scenario!r} in {FIXTURES}")
    shutil.copytree(FIXTURES / BASE_SCENARIO, destination)
    if scenario != BASE_SCENARIO:
        shutil.copytree(overlay, destination, dirs_exist_ok=True)
    return destination


ScenarioFactory = Callable[[str], Path]


@pytest.fixture
def scenario_project(tmp_path: Path) -> ScenarioFactory:
    """materialize_scenario(SCENARIO) into a folder named after it in the test's tmp_path."""

    def make(scenario: str) -> Path:
        return materialize_scenario(scenario, tmp_path / scenario)

    return make


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A cookiecutter config for the module: replays and clones stay out of the home folder, and
    the hooks, which read the same file through COOKIECUTTER_CONFIG, ignore the user's."""
    home = tmp_path_factory.mktemp("cookiecutter-home")
    path = home / "config.yaml"
    path.write_text(
        f"cookiecutters_dir: {json.dumps(str(home / 'cookiecutters'))}\n"
        f"replay_dir: {json.dumps(str(home / 'replay'))}\n",
        encoding="utf-8",
    )
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("COOKIECUTTER_CONFIG", str(path))
        yield path


@pytest.fixture(scope="session")
def shared_cache() -> Path:
    """The sandbox environment cache the slow tests share, across modules and xdist workers:
    the validator's default one (MFC_VALIDATOR_CACHE, else the user's cache folder). The
    validator builds each environment once under a file lock, so sharing saves every module its
    own builds; tests of the cache itself keep caches of their own."""
    from validator.paths import cache_root

    return cache_root()


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """A real PostgreSQL server for the session (slow tests only); the URL of its database
    `mlflow`. Tests make databases of their own with `tests.functional.postgres.new_database`."""
    from tests.functional.postgres import postgres_server

    with postgres_server() as url:
        yield url


@pytest.fixture
def make_project(tmp_path: Path) -> ProjectFactory:
    """A small valid project; FILES replace or add files by relative path (None: leave out)."""

    def make(files: dict[str, str | None] | None = None, name: str = "proj") -> Path:
        root = tmp_path / name
        root.mkdir()
        contents: dict[str, str | None] = {**GOOD_FILES, **(files or {})}
        for relative, text in contents.items():
            if text is None:
                continue
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text) if relative.endswith(".py") else text)
        return root

    return make


def run_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run `python -m validator ARGS` as a whole process, the way users do."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "validator", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# The slow tier's longest tests (modules of tests/functional/; minutes each: several validations,
# a registry, baked projects running their own nox sessions, MLflow's own serving), started
# first, so that pytest-xdist's workers end together instead of one waiting on a long test that
# started last. In the order of their longest test, as CI's --durations measured them; a module
# left out runs after these.
LONG_FIRST = (
    "test_faults.py",
    "test_webhook_shared.py",
    "test_webhook.py",
    "test_registry.py",
    "test_logged_model.py",
    "test_lock_serving.py",
    "test_mlflow_versions.py",
    "test_template.py",
    "test_genai.py",
    "test_uv_project.py",
    "test_sandbox.py",
    "test_many.py",
    "test_baked_validate.py",
    "test_isolation.py",
    "test_precommit.py",
    "test_init.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name if item.path.parent.name == "functional" else ""
        return LONG_FIRST.index(name) if name in LONG_FIRST else len(LONG_FIRST)

    items.sort(key=rank)  # stable: the order within a module stays

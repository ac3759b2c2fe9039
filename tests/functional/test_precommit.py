"""The hooks of .pre-commit-hooks.yaml, run by the real pre-commit (slow: it installs the hook)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BASE_SCENARIO, materialize_scenario
from tests.pins import git_files

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "user.email=tests@example.com", "-c", "user.name=tests",
         "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )  # fmt: skip


def commit_all(folder: Path) -> None:
    git("init", "-q", cwd=folder)
    git("add", "-A", cwd=folder)
    git("commit", "-q", "-m", "snapshot", cwd=folder)


def pre_commit(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env["PRE_COMMIT_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args, "--color", "never"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit")


@pytest.fixture(scope="module")
def home(workdir: Path) -> Path:
    """One pre-commit cache for the module, so that a hook environment is installed once."""
    return workdir / "cache"


@pytest.fixture(scope="module")
def hook_repo(workdir: Path) -> Path:
    """This checkout's working tree, committed as it is (new files too) into a scratch repo."""
    listed = git_files(REPO)
    assert listed is not None, f"{REPO} is not a git work tree"
    target = workdir / "hook-repo"
    for name in listed:
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    commit_all(target)
    return target


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = materialize_scenario(BASE_SCENARIO, tmp_path / "project")
    commit_all(folder)
    return folder


def test_mfc_check_passes_on_a_good_project(hook_repo: Path, project: Path, home: Path) -> None:
    result = pre_commit(
        "try-repo", str(hook_repo), "mfc-check", "--all-files", cwd=project, home=home
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "mfc-validator check" in result.stdout
    assert "Passed" in result.stdout


def test_mfc_check_fails_on_an_undeclared_variable(
    hook_repo: Path, project: Path, home: Path
) -> None:
    model = project / "model.py"
    model.write_text(
        model.read_text().replace(
            "        self.factor =",
            '        self.extra = os.environ.get("UNDECLARED_X")\n        self.factor =',
        )
    )
    git("add", "model.py", cwd=project)
    result = pre_commit(
        "try-repo", str(hook_repo), "mfc-check", "--all-files", cwd=project, home=home
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Failed" in result.stdout
    assert "ENV001" in result.stdout
    assert "UNDECLARED_X" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.skipif(not (REPO / "cookiecutter.json").exists(), reason="no template yet")
def test_baked_projects_own_pre_commit_config_passes(
    hook_repo: Path, workdir: Path, home: Path
) -> None:
    from cookiecutter.main import cookiecutter

    # cookiecutter's replay file goes to the workdir, not to ~/.cookiecutter_replay
    settings = workdir / "cookiecutter.yaml"
    settings.write_text(json.dumps({"replay_dir": str(workdir / "replay")}))
    # baked from the snapshot, so that its hooks install the validator as it is in this checkout
    baked = Path(
        cookiecutter(
            str(hook_repo),
            no_input=True,
            output_dir=str(workdir / "baked"),
            config_file=str(settings),
        )
    )
    assert (baked / ".pre-commit-config.yaml").is_file()
    commit_all(baked)
    result = pre_commit("run", "--all-files", cwd=baked, home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "mfc-validator check" in result.stdout
    assert "Passed" in result.stdout

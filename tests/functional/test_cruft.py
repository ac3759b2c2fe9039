"""The template under cruft: `cruft create` from a git checkout of the template, the same
pre-generation checks, a `.cruft.json`, and `nox -s update` pulling a template change into a
project whose model.py was edited."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.functional.nox_session import run_nox
from tests.functional.test_template import copy_template

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

CRUFT = str(Path(sys.executable).with_name("cruft"))
NEW_NOXFILE_LINE = "# A line the template gained after the project was generated."
OWN_EDIT = "# The project's own edit, which an update must keep."


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", "-c", "user.email=tests@example.com", "-c", "user.name=tests",
         "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()  # fmt: skip


def template_checkout(folder: Path) -> str:
    """A git repository holding the template's files, as a user's clone of it; its commit."""
    copy_template(folder)
    git("init", "-q", cwd=folder)
    git("add", "-A", cwd=folder)
    git("commit", "-q", "-m", "template", cwd=folder)
    return git("rev-parse", "HEAD", cwd=folder)


def cruft_create(
    template: Path, out: Path, config_file: Path, **answers: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CRUFT, "create", "--no-input", "--output-dir", str(out),
         "--config-file", str(config_file), "--extra-context", json.dumps(answers), str(template)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )  # fmt: skip


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("cruft") / "template"
    return folder, template_checkout(folder)


def test_cruft_create_records_the_template_and_its_commit(
    origin: tuple[Path, str], tmp_path: Path, config_file: Path
) -> None:
    template, commit = origin

    result = cruft_create(template, tmp_path, config_file, ci="yes")

    assert result.returncode == 0, result.stderr
    project = tmp_path / "demand_forecast"
    state = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert state["template"] == str(template)
    assert state["commit"] == commit
    assert state["context"]["cookiecutter"]["model_kind"] == "dataframe"
    # the validator comes from the template checkout, as with cookiecutter
    noxfile = (project / "noxfile.py").read_text(encoding="utf-8")
    assert f"DEFAULT_VALIDATOR_SPEC = {json.dumps(str(template))}" in noxfile
    assert "def update(session" in noxfile
    assert f"{json.dumps(str(template))}  # mfc-validator" in (
        project / ".pre-commit-config.yaml"
    ).read_text(encoding="utf-8")
    assert not (project / "_kinds").exists()
    workflow = (project / ".github" / "workflows" / "validate.yml").read_text(encoding="utf-8")
    assert "if ! cruft check; then" in workflow
    assert "::warning file=.cruft.json::" in workflow


def test_cruft_create_runs_the_pre_generation_checks(
    origin: tuple[Path, str], tmp_path: Path, config_file: Path
) -> None:
    template, _ = origin

    result = cruft_create(template, tmp_path, config_file, project_slug="Bad Slug")

    assert result.returncode != 0
    assert (
        "error: invalid answer to project_slug: 'Bad Slug'; expected a folder name of lower-case "
        "letters, digits and '_', starting with a letter"
    ) in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_nox_update_brings_a_template_change_and_keeps_the_projects_edit(
    tmp_path: Path, config_file: Path
) -> None:
    template = tmp_path / "template"
    template_checkout(template)
    assert cruft_create(template, tmp_path / "out", config_file).returncode == 0
    project = tmp_path / "out" / "demand_forecast"
    git("init", "-q", cwd=project)
    git("add", "-A", cwd=project)
    git("commit", "-q", "-m", "generated", cwd=project)
    model = project / "model.py"
    model.write_text(OWN_EDIT + "\n" + model.read_text(encoding="utf-8"), encoding="utf-8")
    git("commit", "-q", "-am", "my edit", cwd=project)
    noxfile = template / "{{cookiecutter.project_slug}}" / "noxfile.py"
    noxfile.write_text(noxfile.read_text(encoding="utf-8") + "\n" + NEW_NOXFILE_LINE + "\n")
    git("commit", "-q", "-am", "template: a new line in the noxfile", cwd=template)
    new_commit = git("rev-parse", "HEAD", cwd=template)
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}

    code, output = run_nox(project, "update", {**env, "COOKIECUTTER_CONFIG": str(config_file)})

    assert code == 0, output
    assert NEW_NOXFILE_LINE in (project / "noxfile.py").read_text(encoding="utf-8")
    assert model.read_text(encoding="utf-8").startswith(OWN_EDIT + "\n")
    assert json.loads((project / ".cruft.json").read_text(encoding="utf-8"))["commit"] == new_commit
    # what changed is shown: the noxfile and .cruft.json, and no conflict
    assert re.search(r"^ noxfile.py +\| 2 \+\+$", output, re.MULTILINE), output
    assert re.search(r"^ .cruft.json +\| \d+ \+*-*$", output, re.MULTILINE), output
    assert not list(project.rglob("*.rej"))

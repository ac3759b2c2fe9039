"""A bad project or bad arguments through the command, as a whole process: exit 2 and a message
naming what is wrong, without a traceback."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import ProjectFactory, run_cli


def test_not_a_project(tmp_path: Path) -> None:
    result = run_cli("check", str(tmp_path))
    assert result.returncode == 2
    assert "no model.yaml" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_folder(tmp_path: Path) -> None:
    result = run_cli("check", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert "no such folder" in result.stderr


def test_unknown_key_through_the_command(make_project: ProjectFactory) -> None:
    project = make_project({"model.yaml": "name: x\nscirpt: model.py\n"})
    for command in ("check", "validate"):
        result = run_cli(command, str(project))
        assert result.returncode == 2, result.stderr
        assert "model.yaml:2: unknown key 'scirpt'" in result.stderr
        assert "Traceback" not in result.stderr


def test_bad_arguments_exit_2(make_project: ProjectFactory) -> None:
    project = make_project()
    result = run_cli("check", str(project), "--format", "xml")
    assert result.returncode == 2
    assert "invalid choice: 'xml'" in result.stderr
    assert run_cli("frobnicate").returncode == 2
    assert run_cli().returncode == 2


def test_missing_named_file_is_a_failed_config_check_with_exit_2(
    make_project: ProjectFactory,
) -> None:
    project = make_project({"model.yaml": "requirements: reqs/prod.txt\n"})
    result = run_cli("check", str(project), "--format", "json")
    assert result.returncode == 2
    assert '"code": "CFG001"' in result.stdout
    assert "reqs/prod.txt" in result.stdout


def test_a_uv_project_not_locked_yet_is_told_to_run_uv_lock(make_project: ProjectFactory) -> None:
    # what the template makes with dependencies=uv where uv or the package index was missing
    pyproject = '[project]\nname = "proj"\nversion = "0.1.0"\ndependencies = ["mlflow"]\n'
    project = make_project({"requirements.txt": None, "pyproject.toml": pyproject})

    result = run_cli("check", str(project), "--format", "json")

    assert result.returncode == 2, result.stderr
    [finding] = [c for c in json.loads(result.stdout)["checks"] if c["status"] == "failed"]
    assert finding["code"] == "CFG001"
    assert finding["message"] == (
        "requirements names 'requirements.txt', which does not exist, and pyproject.toml has no "
        "uv.lock beside it"
    )
    assert finding["hint"].startswith("run `uv lock` here to make this a uv project")

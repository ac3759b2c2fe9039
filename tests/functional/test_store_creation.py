"""The embedded store: created safely when two validations start at once, and a project folder
where it cannot be created is one clear line (exit status 2)."""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ProjectFactory, run_cli
from tests.functional.faults import tmpfs

pytestmark = pytest.mark.slow


def test_two_first_validations_at_once_both_pass(make_project: ProjectFactory) -> None:
    project = make_project()
    assert not (project / ".mlflow").exists()
    processes = [
        subprocess.Popen(
            [
                *(sys.executable, "-m", "validator", "validate", str(project)),
                *("--format", "json", "--output", str(project.parent / f"report-{index}.json")),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for index in range(2)
    ]
    printed = [process.communicate(timeout=600)[0] for process in processes]
    for index, process in enumerate(processes):
        assert process.returncode == 0, printed[index]
        report = json.loads((project.parent / f"report-{index}.json").read_text())
        assert report["status"] == "passed"
    with sqlite3.connect(project / ".mlflow" / "mlflow.db") as connection:
        statuses = [row[0] for row in connection.execute("select status from runs")]
    assert statuses == ["FINISHED", "FINISHED"]


@contextlib.contextmanager
def _read_only_copy(project: Path, folder: Path) -> Iterator[Path]:
    """PROJECT copied onto a tmpfs at FOLDER, then made read-only (root only; else skipped)."""
    with tmpfs(folder, "size=4m"):
        copy = folder / project.name
        shutil.copytree(project, copy)
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], timeout=30, check=True)
        yield copy


def test_a_read_only_project_folder_is_one_line(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    with _read_only_copy(make_project(), tmp_path / "ro") as project:
        result = run_cli("validate", str(project))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "cannot create the embedded MLflow store .mlflow/" in line
    assert "Read-only file system" in line and "--tracking-uri" in line


def test_the_embedded_store_never_ships_whatever_code_paths_says(
    make_project: ProjectFactory,
) -> None:
    project = make_project({"model.yaml": 'name: tiny-scorer\ncode_paths: ["."]\n'})
    for _ in range(2):  # the second run finds the store there from the start
        result = run_cli("validate", str(project), "--format", "json")
        assert result.returncode == 0, result.stdout + result.stderr
        report = json.loads(result.stdout)
        assert not any(
            check["code"] == "CFG004" and check["status"] == "warning" for check in report["checks"]
        ), report
    codes = list((project / ".mlflow").rglob("artifacts/code"))
    assert len(codes) == 2  # one logged model a run, each with the project's files
    for code in codes:
        assert (code / project.name / "model.py").is_file()
        assert not (code / project.name / ".mlflow").exists()

"""A credential in a requirement URL, through the whole command: DEP013 fails in `check` and
stops `validate` before anything is logged, and the token appears in nothing printed and no file
written (the report, the store, temporary folders)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ProjectFactory, run_cli
from tests.pins import MLFLOW, NUMPY

TOKEN = "s3cr3t-t0ken-9f8e7d"
LINES = [
    f"--extra-index-url https://build-bot:{TOKEN}@pypi.example.com/simple",
    f"-f https://build-bot:{TOKEN}@files.example.com/wheels/",
    f"private-pkg @ git+https://oauth2:{TOKEN}@gitlab.example.com/team/private-pkg.git@v1.0",
]


def files_holding(folder: Path, needle: str, leave_out: Path) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file() and path != leave_out and needle.encode() in path.read_bytes():
            found.append(str(path))
    return found


# validate stops before anything starts: one line is enough
@pytest.mark.parametrize(
    ("command", "line"), [*(("check", line) for line in LINES), ("validate", LINES[0])]
)
def test_a_credential_fails_dep013_and_is_never_shown(
    make_project: ProjectFactory, tmp_path: Path, command: str, line: str
) -> None:
    project = make_project({"requirements.txt": f"{MLFLOW}\n{NUMPY}\n{line}\n"})
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    report_file = tmp_path / "out" / "report.json"
    env = {"TMPDIR": str(scratch), "MLFLOW_TRACKING_URI": ""}
    args = ["--format", "json", "--output", str(report_file)]
    result = run_cli(command, str(project), *args, env=env, timeout=300)
    assert "Traceback" not in result.stderr
    assert result.returncode == 1, result.stdout + result.stderr
    assert TOKEN not in result.stdout + result.stderr
    assert files_holding(tmp_path, TOKEN, project / "requirements.txt") == []
    report = json.loads(report_file.read_text())
    [finding] = [c for c in report["checks"] if c["code"] == "DEP013"]
    assert (finding["status"], finding["location"]) == ("failed", "requirements.txt:3")
    assert "://***@" in finding["message"]
    assert "PIP_INDEX_URL" in finding["hint"] and "netrc" in finding["hint"]
    if command == "validate":
        # stopped before the store was opened: nothing logged, no run, no model
        assert report["run_id"] is None and report["model_uri"] is None
        assert not (project / ".mlflow").exists()
        skipped = {c["code"] for c in report["checks"] if c["status"] == "skipped"}
        assert {"SCR007", "SBX001"} <= skipped
        # the scan of shipped files finds it too
        [scan] = [c for c in report["checks"] if c["code"] == "ENV010"]
        assert scan["status"] == "failed" and "Basic Auth Credentials" in scan["message"]
    assert list(scratch.iterdir()) == []

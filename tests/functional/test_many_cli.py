"""Several projects in one command, as whole processes: check, list and cache-key (fast: no
MLflow, no sandbox). validate and register over several projects are in test_many.py (slow)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from tests.conftest import materialize_scenario, run_cli


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository of model projects: two good ones (one with other requirements), one
    broken one, and projects in places --all leaves out."""
    root = tmp_path / "repo"
    materialize_scenario("good", root / "models/alpha")
    materialize_scenario("good", root / "models/beta")
    with (root / "models/beta/requirements.txt").open("a") as handle:
        handle.write("scikit-learn==1.7.2\n")  # not-a-pin: one project differs
    materialize_scenario("scr001_syntax_error", root / "models/broken")
    materialize_scenario("good", root / ".venv/lib/vendored")
    materialize_scenario("good", root / "scratch/old")
    (root / ".gitignore").write_text("scratch/\n")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def test_check_all_reports_each_project_and_fails_for_the_broken_one(repo: Path) -> None:
    out = repo / "report.json"
    result = run_cli("check", "--all", "--format", "json", "--output", str(out), cwd=repo)
    assert result.returncode == 1, result.stderr
    document = json.loads(out.read_text())
    assert set(document) == {"schema_version", "command", "status", "duration_s", "reports"}
    assert (document["schema_version"], document["command"], document["status"]) == (
        1,
        "check",
        "failed",
    )
    reports = {report["project"]: report for report in document["reports"]}
    assert sorted(reports) == ["models/alpha", "models/beta", "models/broken"]
    failing = {
        project: [c["code"] for c in report["checks"] if c["status"] == "failed"]
        for project, report in reports.items()
    }
    assert failing == {"models/alpha": [], "models/beta": [], "models/broken": ["SCR001"]}
    # the terminal gets the summary table
    assert "models/broken  failed" in result.stdout
    assert "check failed: 3 projects, 2 passed, 1 failed" in result.stdout


def test_check_text_says_why_only_in_the_failing_block(repo: Path) -> None:
    result = run_cli("check", "models/alpha", "models/broken", "models/beta", cwd=repo)
    assert result.returncode == 1
    blocks = result.stdout.split("\n\n")
    assert [block.splitlines()[0] for block in blocks[:3]] == [
        "mfc-validator check models/alpha",
        "mfc-validator check models/broken",
        "mfc-validator check models/beta",
    ]
    assert "FAIL" not in blocks[0] and "FAIL" not in blocks[2]
    assert "FAIL SCR001" in blocks[1] and "model.py:" in blocks[1]


def test_a_project_that_cannot_be_run_gives_exit_2_and_its_reason(repo: Path) -> None:
    (repo / "models/alpha/model.yaml").write_text("nme: typo\n")
    result = run_cli("check", "--all", "--format", "junit", cwd=repo)
    assert result.returncode == 2
    suites = ET.fromstring(result.stdout).findall("testsuite")
    assert len(suites) == 3
    error = suites[0].find("testcase/error")
    assert error is not None and "model.yaml:1" in (error.get("message") or "")
    assert "'nme'" in (error.get("message") or "")


def test_list_prints_projects_with_their_environment_keys(repo: Path) -> None:
    result = run_cli("list", "--all", "--format", "json", cwd=repo)
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert listed["schema_version"] == 1 and listed["command"] == "list"
    projects = {item["project"]: item for item in listed["projects"]}
    assert sorted(projects) == ["models/alpha", "models/beta", "models/broken"]
    assert projects["models/alpha"]["name"] == "fixture-scaler"  # model.yaml's name
    assert projects["models/beta"]["requirements"] == "models/beta/requirements.txt"
    keys = {project: item["environment"] for project, item in projects.items()}
    # same requirements, same environment; one more requirement, another one
    assert keys["models/alpha"] == keys["models/broken"] != keys["models/beta"]
    assert keys["models/alpha"].startswith("py3.")
    assert listed["environment_cache"]


def test_shards_cover_the_projects_once_and_keep_environments_together(repo: Path) -> None:
    shares = []
    for index in (1, 2):
        result = run_cli("list", "--all", "--shard", f"{index}/2", "--format", "json", cwd=repo)
        assert result.returncode == 0, result.stderr
        shares.append([item["project"] for item in json.loads(result.stdout)["projects"]])
    assert sorted(shares[0] + shares[1]) == ["models/alpha", "models/beta", "models/broken"]
    together = [share for share in shares if "models/alpha" in share]
    assert len(together) == 1 and "models/broken" in together[0]


def test_cache_key_follows_the_environments(repo: Path) -> None:
    def key(*args: str) -> str:
        result = run_cli("cache-key", *args, cwd=repo)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    first = key("--all")
    assert first.startswith("mfc-validator-envs-") and first == key("--all")
    # alpha and broken share an environment: the set of environments is the same
    assert key("models/alpha", "models/beta") == first
    with (repo / "models/alpha/requirements.txt").open("a") as handle:
        handle.write("scipy==1.16.3\n")
    assert key("--all") != first


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "--shard", "3/2", "--all"], "--shard '3/2': expected K/N"),
        (["check", "a", "--all", "."], "either PROJECT folders or --all"),
        (["validate", "--all", "missing"], "--all missing: no such folder"),
        (["list", "--all", "models/alpha/tests"], "no model.yaml under it"),
    ],
)
def test_unusable_selections_exit_2(repo: Path, args: list[str], message: str) -> None:
    (repo / "models/alpha/tests").mkdir(exist_ok=True)
    result = run_cli(*args, cwd=repo)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_an_empty_shard_passes_with_no_projects(repo: Path) -> None:
    result = run_cli("check", "--all", "--shard", "4/4", "--format", "json", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["reports"] == []

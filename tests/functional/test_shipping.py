"""What leaves the project, as whole processes: paths that escape it (CFG002), secret files and
caches in what ships (CFG003, CFG004), secrets in shipped text (ENV010). Each case of issue 13
fails before anything is logged, so even `validate` runs here in a second or so."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ProjectFactory, run_cli

# documented in AWS's own examples; detect-secrets recognises its format
FAKE_AWS_KEY = "AKIA" + "IOSFODNN7EXAMPLE"


def _run(command: str, project: Path) -> tuple[int, dict[str, Any], str]:
    out = project.parent / f"{project.name}-{command}.json"
    result = run_cli(command, str(project), "--format", "json", "--output", str(out))
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(out.read_text(encoding="utf-8")), result.stdout


def _with(report: dict[str, Any], code: str, status: str = "failed") -> list[dict[str, Any]]:
    return [c for c in report["checks"] if c["code"] == code and c["status"] == status]


def _failed_codes(report: dict[str, Any]) -> set[str]:
    return {c["code"] for c in report["checks"] if c["status"] == "failed"}


def _nothing_logged(project: Path, report: dict[str, Any]) -> None:
    assert report["run_id"] is None and report["model_uri"] is None
    assert report["mlflow_version"] is None
    assert not (project / ".mlflow").exists() and not (project / "mlruns").exists()
    skipped = {c["code"]: c["message"] for c in report["checks"] if c["status"] == "skipped"}
    assert "SCR007" in skipped and "SBX002" in skipped


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A file beside the project, outside it."""
    path = tmp_path / "outside-secret.txt"
    path.write_text("SECRET=not-really\n", encoding="utf-8")
    return path


def _with_package(make_project: ProjectFactory, yaml_extra: str = "") -> Path:
    project = make_project({"model.yaml": f"name: proj\ncode_paths:\n  - pkg\n{yaml_extra}"})
    (project / "pkg").mkdir()
    (project / "pkg" / "__init__.py").write_text('"""Shipped."""\n', encoding="utf-8")
    return project


@pytest.mark.parametrize("command", ["check", "validate"])
def test_an_artifact_outside_the_project_fails_before_anything_is_logged(
    make_project: ProjectFactory, outside: Path, command: str
) -> None:
    project = make_project(
        {"model.yaml": "name: proj\nartifacts:\n  leak: ../outside-secret.txt\n"}
    )
    code, report, stdout = _run(command, project)
    assert code == 1
    assert _failed_codes(report) == {"CFG002"}
    [finding] = _with(report, "CFG002")
    assert finding["location"] == "model.yaml:2"
    assert "artifacts.leak names '../outside-secret.txt'" in finding["message"]
    assert str(outside.resolve()) in finding["message"]  # where it resolves to
    assert "copy the file into the project" in finding["hint"]
    assert "SECRET" not in stdout + json.dumps(report)  # the outside file's content
    if command == "validate":
        _nothing_logged(project, report)


def test_a_symlink_to_a_file_outside_in_code_paths_fails_before_anything_is_logged(
    make_project: ProjectFactory, outside: Path
) -> None:
    project = _with_package(make_project)
    (project / "pkg" / "creds.txt").symlink_to(os.path.relpath(outside, project / "pkg"))
    code, report, _ = _run("validate", project)
    assert code == 1
    assert _failed_codes(report) == {"CFG002"}
    [finding] = _with(report, "CFG002")
    assert "code_paths 'pkg' holds pkg/creds.txt, a symlink to" in finding["message"]
    assert str(outside.resolve()) in finding["message"]
    assert finding["location"] == "model.yaml:2"
    _nothing_logged(project, report)


def test_a_symlink_loop_in_code_paths_fails_in_a_line(make_project: ProjectFactory) -> None:
    project = _with_package(make_project)
    (project / "pkg" / "outside").symlink_to("..")  # a link to the folder above it
    code, report, _ = _run("check", project)
    assert code == 1
    [finding] = _with(report, "CFG002")
    assert "pkg/outside" in finding["message"] and "loop" in finding["message"]
    assert len(finding["message"]) < 200 and "\n" not in finding["message"]
    assert "remove the symlink pkg/outside" in finding["hint"]


def test_two_folders_linking_to_each_other_are_a_loop(make_project: ProjectFactory) -> None:
    project = _with_package(make_project)
    (project / "other").mkdir()
    (project / "pkg" / "to_other").symlink_to("../other")
    (project / "other" / "back").symlink_to("../pkg")
    code, report, _ = _run("check", project)
    assert code == 1
    [finding] = _with(report, "CFG002")
    assert "holds pkg/to_other/back, a symlink to '../pkg'" in finding["message"]


def test_an_entry_that_is_itself_a_symlink_loop_is_cfg002_not_a_missing_file(
    make_project: ProjectFactory,
) -> None:
    project = make_project({"model.yaml": "name: proj\nartifacts:\n  weights: a\n"})
    (project / "a").symlink_to("b")
    (project / "b").symlink_to("a")
    code, report, _ = _run("check", project)
    assert code == 1  # a config failure, not an unusable model.yaml (CFG001, exit 2)
    assert _failed_codes(report) == {"CFG002"}
    assert "names 'a', a symlink loop" in _with(report, "CFG002")[0]["message"]


def test_symlinks_that_stay_inside_the_project_ship(make_project: ProjectFactory) -> None:
    project = _with_package(make_project)
    (project / "data").mkdir()
    (project / "data" / "table.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (project / "pkg" / "data").symlink_to("../data")
    (project / "pkg" / "helpers.py").symlink_to("../model.py")
    code, report, stdout = _run("check", project)
    assert code == 0, stdout
    [listing] = _with(report, "CFG003", "passed")
    assert listing["message"].startswith("code_paths 'pkg' ships 3 files, ")


def test_an_absolute_path_fails_cfg002(make_project: ProjectFactory, outside: Path) -> None:
    project = make_project({"model.yaml": f"name: proj\nmodel_config: {outside}\n"})
    code, report, _ = _run("check", project)
    assert code == 1
    assert _failed_codes(report) == {"CFG002"}
    [finding] = _with(report, "CFG002")
    assert f"model_config names '{outside}', an absolute path" in finding["message"]
    assert "relative to model.yaml" in finding["hint"]


SECRET_FILES = {
    "pkg/.env": "a dotenv file",
    "pkg/.env.production": "a dotenv file",
    "pkg/keys/server.pem": "a private key or key store",
    "pkg/id_rsa": "an SSH private key",
    "pkg/.netrc": "a credentials file",
    "pkg/.pypirc": "a package index credentials file",
    "pkg/.aws/credentials": "an AWS credentials file",
    "pkg/application_default_credentials.json": "a Google Cloud credentials file",
    "pkg/.azure/msal_token_cache.json": "an Azure CLI credentials file",
}
NOT_SECRET = ["pkg/.env.example", "pkg/id_rsa.pub", "pkg/environment.py", "pkg/keys.py"]


def test_secret_files_in_code_paths_fail_and_caches_warn(make_project: ProjectFactory) -> None:
    project = _with_package(make_project)
    for relative in [*SECRET_FILES, *NOT_SECRET, "pkg/.git/HEAD", "pkg/__pycache__/x.pyc"]:
        (project / relative).parent.mkdir(parents=True, exist_ok=True)
        (project / relative).write_text("x = 1\n", encoding="utf-8")
    # a harmless name for a secret file elsewhere in the project
    (project / ".env").write_text("TOKEN=x\n", encoding="utf-8")
    (project / "pkg" / "settings.txt").symlink_to("../.env")
    code, report, _ = _run("check", project)
    assert code == 1
    failed = {c["location"]: c for c in _with(report, "CFG003")}
    assert set(failed) == {*SECRET_FILES, "pkg/settings.txt"}
    assert (
        "ships pkg/settings.txt (a symlink to .env), a dotenv file"
        in failed["pkg/settings.txt"]["message"]
    )
    for location, kind in SECRET_FILES.items():
        assert f"ships {location}, {kind}" in failed[location]["message"]
        assert "model.yaml env" in failed[location]["hint"]
    # __pycache__ is left out of code_paths by MLflow itself: only .git warns
    [cache] = _with(report, "CFG004", "warning")
    assert cache["location"] == "pkg/.git"
    assert "ships pkg/.git/ (1 file, 6 bytes)" in cache["message"]
    text = run_cli("check", str(project)).stdout
    assert "FAIL CFG003" in text and "WARN CFG004" in text


@pytest.mark.parametrize("command", ["check", pytest.param("validate", marks=pytest.mark.slow)])
def test_a_folder_that_is_not_the_model_warns_and_is_never_read(
    make_project: ProjectFactory, command: str
) -> None:
    # one list (validator.paths.SKIPPED_DIRS): a site-packages and a .tox folder in code_paths
    # both warn CFG004, and the variables their files read are no ENV001, in check and validate
    project = make_project(
        {
            "model.yaml": "name: proj\ncode_paths:\n  - helpers.py\n  - lib\n",
            "helpers.py": "SCALE = 2\n",
            "lib/__init__.py": '"""Shipped."""\n',
            "lib/site-packages/vendored.py": "import os\n\nA = os.environ['VENDORED_VAR']\n",
            "lib/.tox/tool.py": "import os\n\nB = os.environ['TOX_TOOL_VAR']\n",
        }
    )
    _, report, _ = _run(command, project)
    assert sorted(c["location"] for c in _with(report, "CFG004", "warning")) == [
        "lib/.tox",
        "lib/site-packages",
    ]
    environment = [c for c in report["checks"] if c["family"] == "environment"]
    assert {c["status"] for c in environment} <= {"passed", "skipped"}, environment
    assert "VENDORED_VAR" not in json.dumps(report) and "TOX_TOOL_VAR" not in json.dumps(report)
    # MLflow copies lib with its subfolders (shutil's recursion through the validator's patch)
    assert _failed_codes(report) == set()


def test_the_text_report_shows_what_each_entry_ships(make_project: ProjectFactory) -> None:
    project = make_project(
        {
            "model.yaml": "name: proj\ncode_paths:\n  - lib\nartifacts:\n  table: data.csv\n",
            "lib/a.py": "A = 1\n",
            "lib/sub/b.py": "B = 2\n",
            "data.csv": "a\n" + "1\n" * 600,
        }
    )
    result = run_cli("check", str(project))
    assert result.returncode == 0, result.stdout
    assert "PASS CFG003 code_paths 'lib' ships 2 files, 12 bytes" in result.stdout
    assert "PASS CFG003 artifact 'table' (data.csv) ships 1 file, 1.2 kB" in result.stdout


def test_a_secret_in_a_shipped_file_fails_validate_without_showing_it(
    make_project: ProjectFactory,
) -> None:
    project = _with_package(make_project)
    (project / "pkg" / "settings.py").write_text(
        f'"""Settings."""\n\nREGION = "eu-west-1"\nKEY_ID = "{FAKE_AWS_KEY}"\n', encoding="utf-8"
    )
    code, report, stdout = _run("validate", project)
    assert code == 1
    assert _failed_codes(report) == {"ENV010"}
    [finding] = _with(report, "ENV010")
    assert finding["location"] == "pkg/settings.py:4"
    assert "pkg/settings.py:4" in finding["message"] and "AWS Access Key" in finding["message"]
    assert ".secrets.baseline" in finding["hint"]
    out = project.parent / f"{project.name}-validate.json"
    assert FAKE_AWS_KEY not in stdout + out.read_text(encoding="utf-8")
    _nothing_logged(project, report)
    # check does not scan (it would not fit its budget): it passes
    assert run_cli("check", str(project)).returncode == 0


@pytest.mark.slow
def test_mlflow_failing_to_copy_code_paths_is_cfg005_not_the_script_raising(
    make_project: ProjectFactory,
) -> None:
    # a named pipe passes the static checks (it is not a file that ships), and MLflow's copy of
    # the folder refuses it: the script did not raise
    project = _with_package(make_project)
    os.mkfifo(project / "pkg" / "pipe")
    code, report, _ = _run("validate", project)
    assert code == 1
    assert _failed_codes(report) == {"CFG005"}
    [finding] = _with(report, "CFG005")
    assert finding["location"] == "model.yaml:2"
    message = finding["message"]
    assert message.startswith("MLflow could not copy code_paths 'pkg' into the model: ")
    assert "pkg/pipe" in message and "named pipe" in message and str(project) not in message
    assert "\n" not in message and len(message) < 400
    assert "named pipes" in finding["hint"]
    [scr007] = [c for c in report["checks"] if c["code"] == "SCR007"]
    assert scr007["status"] == "skipped" and "CFG005" in scr007["message"]

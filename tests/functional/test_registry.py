"""`register` against a real `mlflow server` and on the embedded default store (slow tier)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import GOOD_MODEL, ProjectFactory, run_cli
from tests.functional.server import mlflow_server

pytestmark = pytest.mark.slow

ONE_INPUT_EXAMPLE = json.dumps({"dataframe_split": {"columns": ["a"], "data": [[1.0], [3.0]]}})
ONE_INPUT_MODEL = GOOD_MODEL.replace('[["a", "b"]]', '[["a"]]').replace("[0.5, 1.5]", "[0.5]")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with mlflow_server(tmp_path_factory.mktemp("mlflow-server")) as url:
        yield url


@pytest.fixture(scope="module")
def cache(shared_cache: Path) -> Path:
    return shared_cache


@pytest.fixture
def client(server: str) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=server, registry_uri=server)


@pytest.fixture
def scratch_tmp(tmp_path: Path) -> Path:
    """TMPDIR for the command: whatever it downloads must be gone when it ends."""
    folder = tmp_path / "process-tmp"
    folder.mkdir()
    return folder


def environment(cache: Path, tmp: Path) -> dict[str, str]:
    # MLFLOW_TRACKING_URI empty: the embedded store unless --tracking-uri says otherwise
    return {"MFC_VALIDATOR_CACHE": str(cache), "TMPDIR": str(tmp), "MLFLOW_TRACKING_URI": ""}


def cli(
    command: str, project: Path, cache: Path, tmp: Path, *extra: str
) -> tuple[int, dict[str, Any], str]:
    # a logged model's URI (models:/NAME/1) is no folder: its report goes beside TMP
    folder = project.parent if project.parent.is_dir() else tmp.parent
    out = folder / f"{project.name}-{command}.json"
    out.unlink(missing_ok=True)
    result = run_cli(
        command,
        str(project),
        "--format",
        "json",
        "--output",
        str(out),
        *extra,
        env=environment(cache, tmp),
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert out.exists(), result.stdout + result.stderr
    assert not list(tmp.iterdir())  # downloads from the store included: nothing left behind
    return result.returncode, json.loads(out.read_text()), result.stdout


def checks(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each code's worst finding."""
    order = {"failed": 0, "warning": 1, "skipped": 2, "passed": 3}
    found: dict[str, dict[str, Any]] = {}
    for check in sorted(report["checks"], key=lambda c: order[c["status"]], reverse=True):
        found[check["code"]] = check
    return found


def versions(client: Any, name: str) -> list[str]:
    return sorted(v.version for v in client.search_model_versions(f"name = '{name}'"))


def test_versions_compatible_changes_and_breaking_changes(
    make_project: ProjectFactory, server: str, cache: Path, client: Any, scratch_tmp: Path
) -> None:
    project = make_project({"model.yaml": "name: scorer-a\n"})
    at = ("--tracking-uri", server)

    code, report, stdout = cli("register", project, cache, scratch_tmp, *at)
    assert code == 0, checks(report)
    assert report["command"] == "register" and report["status"] == "passed"
    assert report["model_uri"] == "models:/scorer-a/1"
    assert "models:/scorer-a/1" in stdout, stdout
    found = checks(report)
    assert "validated now" in found["REG001"]["message"]  # nothing was validated before
    assert found["SBX005"]["status"] == "passed"  # the sandbox ran on the downloaded copy
    assert found["SIG007"]["status"] == "skipped"

    # the registered version, validated from its own files, gets the project's sandbox verdicts
    code, logged, _ = cli("validate", Path("models:/scorer-a/1"), cache, scratch_tmp, *at)
    assert code == 0, checks(logged)
    assert logged["project"] == "models:/scorer-a/1" and logged["run_id"] == report["run_id"]
    sandboxed = ("SBX001", "SBX002", "SBX003", "SBX004", "SBX006", "SBX008", "SBX009", "SIG006")
    in_project = checks(report)
    assert {c: checks(logged)[c]["status"] for c in sandboxed} == {
        c: in_project[c]["status"] for c in sandboxed
    }
    assert checks(logged)["SCR007"]["status"] == "skipped"  # it needs the project

    # a compatible change: other weights, same signature
    (project / "model.py").write_text(GOOD_MODEL.replace("[0.5, 1.5]", "[0.7, 1.5]"))
    code, report, _ = cli("register", project, cache, scratch_tmp, *at)
    assert code == 0, checks(report)
    assert report["model_uri"] == "models:/scorer-a/2"
    assert checks(report)["SIG007"]["status"] == "passed"

    # a breaking change: input b removed
    (project / "model.py").write_text(ONE_INPUT_MODEL)
    (project / "input_example.json").write_text(ONE_INPUT_EXAMPLE)
    code, report, _ = cli("register", project, cache, scratch_tmp, *at)
    found = checks(report)
    assert code == 1 and report["status"] == "failed"
    assert found["SIG007"]["status"] == "failed"
    assert "breaking change against version 2" in found["SIG007"]["message"]
    assert "input 'b'" in found["SIG007"]["message"]
    assert found["REG002"]["status"] == "skipped"
    assert report["model_uri"] is None
    assert versions(client, "scorer-a") == ["1", "2"]

    # ...accepted when allowed, reusing the validation that just passed
    code, report, _ = cli("register", project, cache, scratch_tmp, *at, "--allow-breaking")
    found = checks(report)
    assert code == 0, found
    assert found["SIG007"]["status"] == "warning"
    assert found["REG001"]["message"].endswith("validated this exact content")
    assert [c["code"] for c in report["checks"]] == ["REG001", "SIG007", "REG002", "REG003"]
    assert report["model_uri"] == "models:/scorer-a/3"
    assert versions(client, "scorer-a") == ["1", "2", "3"]

    # registering the same content again, validated anew, makes no new version, and the report
    # names the run version 3 came from, not the newer validation
    code, _, _ = cli("validate", project, cache, scratch_tmp, *at)
    assert code == 0
    code, report, _ = cli("register", project, cache, scratch_tmp, *at)
    assert code == 0 and report["model_uri"] == "models:/scorer-a/3"
    assert versions(client, "scorer-a") == ["1", "2", "3"]
    # (the text's "already registered, no new version" line: tests/unit/test_render_registered.py)
    assert report["run_id"] == client.get_model_version("scorer-a", "3").run_id


def test_validation_is_recorded_and_reused_with_its_tags(
    make_project: ProjectFactory,
    server: str,
    cache: Path,
    client: Any,
    scratch_tmp: Path,
    tmp_path: Path,
) -> None:
    project = make_project(
        {
            "model.yaml": "name: scorer-b\nregistry:\n  tags: {owner: team-b}\n  datagrok:\n"
            "    semtypes: {b: Molecule, score: pIC50}\n"
        }
    )
    at = ("--tracking-uri", server)
    code, validated, said = cli("validate", project, cache, scratch_tmp, *at)
    assert code == 0, checks(validated)
    run = client.get_run(validated["run_id"])
    assert run.info.status == "FINISHED"
    # the run's page in the MLflow UI, printed because the store is a server
    page = f"{server.rstrip('/')}/#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}"
    assert f"  MLflow UI: {page}\n" in said
    tags = run.data.tags
    assert tags["mfc.validation.status"] == "passed"
    # its one warning: the project is not locked (DEP015)
    assert [c["code"] for c in validated["checks"] if c["status"] == "warning"] == ["DEP015"]
    assert tags["mfc.checks.failed"] == "0" and tags["mfc.checks.warning"] == "1"
    assert len(tags["mfc.content_hash"]) == 64
    assert tags["owner"] == "team-b" and tags["datagrok-inputs-1-name"] == "b"
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "validation")}
    assert artifacts == {"validation/report.json", "validation/report.md"}
    downloaded = Path(
        client.download_artifacts(run.info.run_id, "validation", str(tmp_path / "dl"))
    )
    logged = json.loads((downloaded / "report.json").read_text())
    assert logged["status"] == "passed" and logged["run_id"] == run.info.run_id
    assert logged["checks"] == validated["checks"]
    assert "# mfc-validator validate: passed" in (downloaded / "report.md").read_text()
    # the verdict at a glance: the run's description and its metrics
    note = tags["mlflow.note.content"]
    assert re.match(
        r"\*\*mfc-validator validate: passed\*\* \(1 warning, \d+ passed, \d+ skipped; ", note
    )
    assert "Failed:" not in note and "validation/report.md" in note
    metrics = run.data.metrics
    assert metrics["mfc.checks.failed"] == 0 and metrics["mfc.checks.warning"] == 1
    assert metrics["mfc.checks.passed"] == sum(c["status"] == "passed" for c in validated["checks"])
    assert 0 < metrics["mfc.duration_s"] <= validated["duration_s"]

    code, report, said = cli("register", project, cache, scratch_tmp, *at)
    found = checks(report)
    assert code == 0, found
    assert found["REG001"]["message"] == f"run {run.info.run_id} validated this exact content"
    assert f"  MLflow UI: {page}\n" in said
    assert report["run_id"] == run.info.run_id
    assert found["REG003"]["status"] == "passed"
    version = client.get_model_version("scorer-b", "1")
    assert version.run_id == run.info.run_id
    for key in ("mfc.validation.status", "mfc.content_hash", "mfc.validator.version"):
        assert version.tags[key] == tags[key]
    assert version.tags["owner"] == "team-b"
    # exactly the tags Datagrok's connector reads, on the version and on the registered model
    datagrok = {
        "datagrok": "true",
        "datagrok-inputs-0-name": "a",
        "datagrok-inputs-1-name": "b",
        "datagrok-inputs-1-semtype": "Molecule",
        "datagrok-outputs-0-name": "score",
        "datagrok-outputs-0-semtype": "pIC50",
    }
    assert {
        key: version.tags[key] for key in version.tags if key.startswith("datagrok")
    } == datagrok
    model_tags = client.get_registered_model("scorer-b").tags
    assert {key: model_tags[key] for key in model_tags if key.startswith("datagrok")} == datagrok
    assert version.description.startswith(f"Validated by run `{run.info.run_id}`: passed")

    # an edit after validating: that content never passed, so it is not taken as validated
    with (project / "model.py").open("a") as handle:
        handle.write("# edited after validation\n")
    code, report, _ = cli("register", project, cache, scratch_tmp, *at, "--require-validated")
    found = checks(report)
    assert code == 1
    assert found["REG001"]["status"] == "failed"
    assert "no passed validation of this exact content" in found["REG001"]["message"]
    assert found["REG002"]["status"] == "skipped"
    assert versions(client, "scorer-b") == ["1"]


def test_a_model_that_fails_validation_is_never_registered(
    make_project: ProjectFactory, server: str, cache: Path, client: Any, scratch_tmp: Path
) -> None:
    broken = GOOD_MODEL.replace('[["a", "b"]]', '[["a", "missing"]]')
    project = make_project({"model.yaml": "name: scorer-c\n", "model.py": broken})
    code, report, _ = cli("register", project, cache, scratch_tmp, "--tracking-uri", server)
    found = checks(report)
    assert code == 1
    assert found["SCR008"]["status"] == "failed"
    assert found["REG001"]["status"] == "failed"
    assert "never registered" in found["REG001"]["message"]
    assert {found[c]["status"] for c in ("SIG007", "REG002", "REG003")} == {"skipped"}
    assert report["model_uri"] is None
    assert versions(client, "scorer-c") == []
    run = client.get_run(report["run_id"])
    assert run.info.status == "FAILED"
    assert run.data.tags["mfc.validation.status"] == "failed"
    assert int(run.data.tags["mfc.checks.failed"]) >= 1
    note = run.data.tags["mlflow.note.content"]
    assert note.startswith("**mfc-validator validate: failed** (")
    assert "Failed:" in note and "**SCR008**" in note and "  - fix: " in note
    assert run.data.metrics["mfc.checks.failed"] == float(run.data.tags["mfc.checks.failed"])


def test_a_semtype_for_a_column_the_signature_lacks_registers_nothing(
    make_project: ProjectFactory, server: str, cache: Path, client: Any, scratch_tmp: Path
) -> None:
    project = make_project(
        {"model.yaml": "name: scorer-d\nregistry:\n  datagrok:\n    semtypes: {scroe: pIC50}\n"}
    )
    code, report, _ = cli("register", project, cache, scratch_tmp, "--tracking-uri", server)
    found = checks(report)
    assert code == 1
    assert found["REG001"]["status"] == "passed"  # the model itself is fine
    reg003 = found["REG003"]
    assert (reg003["status"], reg003["location"]) == ("failed", "model.yaml:2")
    assert reg003["message"].endswith(
        "which is not a column of the logged signature; did you mean 'score'?"
    )
    assert reg003["hint"] == "name a column of the signature: 'a', 'b', 'score'"
    assert {found[c]["status"] for c in ("SIG007", "REG002")} == {"skipped"}
    assert report["model_uri"] is None
    assert versions(client, "scorer-d") == []


def test_register_on_the_embedded_store(
    make_project: ProjectFactory, cache: Path, scratch_tmp: Path
) -> None:
    project = make_project()
    result = run_cli("register", str(project), env=environment(cache, scratch_tmp))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "registered: models:/tiny-scorer/1" in result.stdout
    assert result.stdout.rstrip().endswith(": models:/tiny-scorer/1")
    assert "MLflow UI" not in result.stdout  # no server to open
    # the steps that took a while, as plain lines on standard error (no terminal: no spinner)
    assert re.search(r"^mfc-validator: .+: done \(\d+\.\d s\)$", result.stderr, re.MULTILINE)
    assert "\r" not in result.stderr and "mfc-validator: " not in result.stdout
    assert (project / ".mlflow" / "mlflow.db").exists()
    assert not list(scratch_tmp.iterdir())

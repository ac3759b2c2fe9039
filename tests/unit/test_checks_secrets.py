"""ENV010 in-process with the real detect-secrets: what is a hit, what the baseline accepts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ProjectFactory
from validator.checks import secrets
from validator.project import config
from validator.project.sources import Project
from validator.report import Finding

FAKE_AWS_KEY = "AKIA" + "IOSFODNN7EXAMPLE"
HASHED = "25910f981e85ca04baf359199dd0bd4a3ae738b6"  # detect-secrets' sha1 of it
SETTINGS = f'"""Settings."""\n\nKEY_ID = "{FAKE_AWS_KEY}"\n'


def _run(project: Path) -> list[Finding]:
    return secrets.run(Project(config.load(project)))


def _failed(findings: list[Finding]) -> list[Finding]:
    return [finding for finding in findings if finding.status == "failed"]


@pytest.fixture
def leaky(make_project: ProjectFactory) -> Path:
    return make_project(
        {"model.yaml": "name: proj\ncode_paths:\n  - settings.py\n", "settings.py": SETTINGS}
    )


def _baseline(project: Path, **extra: object) -> None:
    entry = {"type": "AWS Access Key", "filename": "settings.py", "hashed_secret": HASHED}
    results = {"settings.py": [{**entry, "is_verified": False, "line_number": 3, **extra}]}
    (project / secrets.BASELINE).write_text(json.dumps({"version": "1.5.0", "results": results}))


def test_a_hit_names_file_line_and_kind_never_the_value(leaky: Path) -> None:
    [finding] = _failed(_run(leaky))
    assert finding.code == "ENV010" and finding.location == "settings.py:3"
    assert "AWS Access Key" in finding.message
    assert FAKE_AWS_KEY not in f"{finding.message} {finding.hint}"


def test_the_baseline_accepts_a_known_false_positive(leaky: Path) -> None:
    _baseline(leaky)
    assert [(f.code, f.status) for f in _run(leaky)] == [("ENV010", "passed")]


def test_a_baseline_entry_audited_as_a_true_secret_still_fails(leaky: Path) -> None:
    _baseline(leaky, is_secret=True)
    assert [f.location for f in _failed(_run(leaky))] == ["settings.py:3"]


def test_an_unusable_baseline_is_a_failure_naming_it(leaky: Path) -> None:
    (leaky / secrets.BASELINE).write_text("{not json")
    locations = sorted(str(f.location) for f in _failed(_run(leaky)))
    assert locations == [secrets.BASELINE, "settings.py:3"]


def test_an_allowlist_pragma_accepts_the_line(make_project: ProjectFactory) -> None:
    source = SETTINGS.replace('EXAMPLE"\n', 'EXAMPLE"  # pragma: allowlist secret\n')
    project = make_project(
        {"model.yaml": "name: proj\ncode_paths:\n  - settings.py\n", "settings.py": source}
    )
    assert _failed(_run(project)) == []


def test_a_private_key_in_an_artifact_folder_and_the_script_are_found(
    make_project: ProjectFactory,
) -> None:
    key = "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\n"
    model = "import mlflow\n# token: ghp_" + "a" * 36 + "\nmlflow.models.set_model(None)\n"
    project = make_project(
        {
            "model.yaml": "name: proj\nartifacts:\n  data: data\n",
            "data/deploy.txt": key,
            "data/blob.bin": f"\0{FAKE_AWS_KEY}",  # binary: not scanned
            "model.py": model,
        }
    )
    found = {(f.location, f.message.split("(")[1].split(")")[0]) for f in _failed(_run(project))}
    assert found == {("data/deploy.txt:1", "Private Key"), ("model.py:2", "GitHub Token")}


def test_ordinary_model_code_and_data_are_not_secrets(make_project: ProjectFactory) -> None:
    project = make_project(
        {
            "model.yaml": "name: proj\ncode_paths:\n  - lib\nartifacts:\n  table: t.csv\n",
            "lib/auth.py": 'password = os.environ["DB_PASSWORD"]\nTOKEN_URL = "https://x/y"\n',
            "lib/ids.py": 'RUN = "3f2b9c1d4e5a6b7c8d9e0f1a2b3c4d5e"\nSHA = "' + "ab12" * 10 + '"\n',
            "t.csv": "id,uuid\n1,123e4567-e89b-12d3-a456-426614174000\n",
        }
    )
    assert _failed(_run(project)) == []


def test_a_credential_in_a_url_is_found(make_project: ProjectFactory) -> None:
    token = "s3cr3t-t0ken-9f8e7d"
    project = make_project(
        {
            "model.yaml": "name: proj\ncode_paths:\n  - db.py\n",
            "db.py": f'URL = "postgresql://model:{token}@db.example.com/scores"\n',
        }
    )
    [finding] = _failed(_run(project))
    assert (finding.code, finding.location) == ("ENV010", "db.py:1")
    assert "Basic Auth Credentials" in finding.message
    assert token not in f"{finding.message} {finding.hint}"

"""ENV011: a secret variable's value in a file the model would ship, found from the files alone
(before anything is logged, whether or not the model loads)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from validator.checks.leaks import leaks
from validator.project import config
from validator.project.sources import Project
from validator.report import Finding

SECRET = "tok-3f9a1c77e2-value"
ENVIRON = {"SCORER_API_TOKEN": SECRET, "PATH": "/usr/bin"}


def found(
    tmp_path: Path, model_yaml: str, environ: dict[str, str] = ENVIRON, **files: str
) -> list[Finding]:
    (tmp_path / "model.yaml").write_text(textwrap.dedent(model_yaml))
    (tmp_path / "model.py").write_text("import mlflow\n")
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return leaks(Project(config.load(tmp_path)), environ)


def test_a_secret_in_the_model_config_mapping_names_its_line(tmp_path: Path) -> None:
    model_yaml = f"""\
        name: demo
        model_config:
          endpoint: https://scoring.example.com
          token: {SECRET}
        """
    [finding] = found(tmp_path, model_yaml)
    assert (finding.code, finding.status, finding.location) == ("ENV011", "failed", "model.yaml:4")
    assert "SCORER_API_TOKEN in model_config" in finding.message
    assert "MLmodel" in finding.message
    assert finding.hint is not None and "os.environ at load time" in finding.hint
    assert SECRET not in finding.message + (finding.hint or "") + (finding.location or "")


def test_a_secret_in_a_model_config_file_or_code_paths_names_the_file(tmp_path: Path) -> None:
    findings = found(
        tmp_path,
        "model_config: config.yaml\ncode_paths: [pkg]\n",
        **{"config.yaml": f"a: 1\nkey: {SECRET}\n", "pkg/client.py": f'KEY = "{SECRET}"\n'},
    )
    assert sorted(f.location or "" for f in findings) == ["config.yaml:2", "pkg/client.py:1"]


def test_a_declared_secret_counts_whatever_its_name(tmp_path: Path) -> None:
    model_yaml = (
        "env:\n  - {name: SCORER_PASS_PHRASE_X, secret: true}\nmodel_config: {p: open-sesame-42}\n"
    )
    environ = {"SCORER_PASS_PHRASE_X": "open-sesame-42"}
    assert [f.code for f in found(tmp_path, model_yaml, environ)] == ["ENV011"]


def test_no_false_alarm(tmp_path: Path) -> None:
    # a variable that is neither declared secret nor credential-like; a short value; a secret
    # that is not set here
    model_yaml = "model_config: {url: http://127.0.0.1:8080, mode: fast}\n"
    environ = {"SCORER_URL": "http://127.0.0.1:8080", "SCORER_TOKEN": "fast"}
    assert found(tmp_path, model_yaml, environ) == []
    assert found(tmp_path, f"model_config: {{token: {SECRET}}}\n", {}) == []


def test_env005_leaves_out_the_variables_the_model_sets_itself(tmp_path: Path) -> None:
    from validator.checks.logged_files import ENV_FILE, logged_files_checks

    (tmp_path / "model.yaml").write_text("name: demo\n")
    model_dir = tmp_path / "logged"
    model_dir.mkdir()
    (model_dir / ENV_FILE).write_text("SDK_API_KEY\nOTHER_API_KEY\n")
    project_config = config.load(tmp_path)
    findings = logged_files_checks(project_config, model_dir, frozenset({"SDK_API_KEY"}))
    env005 = [f for f in findings if f.code == "ENV005" and f.status == "failed"]
    assert [f.message for f in env005] == [
        f"the logged {ENV_FILE} lists OTHER_API_KEY, which model.yaml does not declare"
    ]

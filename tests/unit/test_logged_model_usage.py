"""`validate` of a logged model: the invocations that cannot work exit 2 with one line, before
anything is downloaded or built."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli
from validator.commands.validate_logged import is_logged_model


def test_what_names_a_logged_model(tmp_path: Path) -> None:
    assert is_logged_model("models:/scorer/1") and is_logged_model("models:/scorer@champion")
    assert is_logged_model("runs:/0123abcd/model")
    (tmp_path / "MLmodel").write_text("flavors: {}\n")
    assert is_logged_model(str(tmp_path))
    (tmp_path / "model.yaml").write_text("name: scorer\n")  # a project that holds an MLmodel
    assert not is_logged_model(str(tmp_path))
    assert not is_logged_model(".")


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ("validate", "models:/scorer/1"),
            "models:/scorer/1 is in a tracking store: give it with --tracking-uri or "
            "MLFLOW_TRACKING_URI",
        ),
        (("register", "models:/scorer/1"), "models:/scorer/1 is a logged model"),
        (("validate", "models:/scorer/1", "models:/scorer/2"), "takes one at a time"),
    ],
)
def test_unusable_invocations_exit_2(args: tuple[str, ...], said: str) -> None:
    done = run_cli(*args, env={"MLFLOW_TRACKING_URI": ""})
    assert done.returncode == 2, done.stderr
    assert said in done.stderr and "Traceback" not in done.stderr


def test_a_model_folder_that_mlflow_cannot_serve(tmp_path: Path) -> None:
    (tmp_path / "MLmodel").write_text("flavors:\n  sklearn: {pickled_model: model.pkl}\n")
    done = run_cli("validate", str(tmp_path), env={"MLFLOW_TRACKING_URI": ""})
    assert done.returncode == 2, done.stderr
    assert "has no python_function flavor" in done.stderr and "Traceback" not in done.stderr
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "MLmodel").write_text("flavors: [unclosed\n")
    done = run_cli("validate", str(broken), env={"MLFLOW_TRACKING_URI": ""})
    assert done.returncode == 2 and "its MLmodel file cannot be read" in done.stderr


def test_what_a_logged_model_cannot_declare_is_a_warning_that_reads_well(tmp_path: Path) -> None:
    from validator.commands.validate_logged import _undeclared_by_nature
    from validator.project.config import ProjectConfig
    from validator.sandbox import probe_results

    config = ProjectConfig(root=tmp_path, name="logged", script="model.py")
    contact = {"host": "api.example.com", "port": 443, "stage": "predict", "file": "", "line": 0}
    (host, _) = probe_results.network_checks(config, tmp_path, {"c": contact})
    read = {"user": True, "file": "", "line": 7, "stage": "predict"}
    (variable,) = probe_results._env_reads(config, tmp_path, {"env_reads": {"PRICE_URL": read}})
    assert host.status == variable.status == "failed"  # what a project gets

    warned_host = _undeclared_by_nature(host)
    assert warned_host.status == "warning" and "model.yaml" not in warned_host.message
    assert warned_host.message == (
        "the model contacted api.example.com:443 while predicting in the sandbox"
    )
    warned_variable = _undeclared_by_nature(variable)
    assert warned_variable.status == "warning"
    assert warned_variable.message == (
        "the model read PRICE_URL at run time (predict), and the logged "
        "environment_variables.txt does not list it"
    )


def test_a_webhook_queue_that_cannot_be_opened_is_one_line(tmp_path: Path) -> None:
    done = run_cli(
        *("webhook", "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}"),
        *("--secret-env", "MFC_TEST_SECRET", "--queue", str(tmp_path / "missing" / "q.db")),
        env={"MFC_TEST_SECRET": "s", "MLFLOW_TRACKING_URI": ""},
    )
    assert done.returncode == 2, done.stderr
    assert "cannot open the queue there" in done.stderr and "Traceback" not in done.stderr

"""SCR007 and SCR008 against exceptions raised by real code in a project's files: the user's own
line (never a `<string>` frame of generated code), what reproduces it, a chain Python would
show, and an environment that refuses to run the script."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from validator.inprocess import log_model
from validator.inprocess.log_model import _script_failure
from validator.project.config import ProjectConfig
from validator.tracebacks import chain, user_frame

# stands in for MLflow: a dataclass whose generated __init__ (file "<string>") calls a check
LIBRARY = """
from dataclasses import dataclass


@dataclass
class Response:
    message: object

    def __post_init__(self):
        if not isinstance(self.message, dict):
            raise ValueError("message must be a dict")


def log(model):
    return model.predict(None, [{"role": "user"}])


def run(path):
    exec(compile(open(path).read(), path, "exec"), {})


def load(model, model_config):
    model.load_context(model_config)
"""

MODEL = """
from library import Response


class Model:
    def predict(self, context, messages, params=None):
        return Response(message=["assistant", "hi"])


def load_context_fails():
    try:
        {}["internal"]
    except KeyError:
        raise ValueError("price table is not loaded") from None


model = Model()


class Configured:
    def load_context(self, context):
        self.horizon = float(context["horizon_days"])
"""


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, ModuleType]:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "model.py").write_text(MODEL)
    site = tmp_path / "site-packages"
    site.mkdir()
    (site / "library.py").write_text(LIBRARY)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.chdir(root)  # as the logging worker runs: a "<string>" would resolve here
    return root, _load(root / "model.py", "model_under_test")


def _raised(call: object) -> BaseException:
    assert callable(call)
    with pytest.raises(BaseException) as info:
        call()
    return info.value


def test_a_frame_of_generated_code_is_not_the_users_line(project: tuple[Path, ModuleType]) -> None:
    root, model = project
    import library  # type: ignore[import-not-found]

    error = _raised(lambda: library.log(model.model))
    finding = _script_failure(error, ProjectConfig(root, "proj"), [])

    assert finding.code == "SCR007" and finding.location == "model.py:7"
    assert finding.message == (
        "predict raised while MLflow logged the model: ValueError: message must be a dict"
    )
    assert finding.hint is not None
    assert "MLflow calls it on input_example.json when it logs the model" in finding.hint
    assert "does not reproduce this" in finding.hint


def test_the_script_raising_as_it_runs_is_reproduced_by_running_it(
    project: tuple[Path, ModuleType],
) -> None:
    root, _ = project
    (root / "broken.py").write_text("import os\n\nos.environ['MISSING_VARIABLE']\n")
    import library

    error = _raised(lambda: library.run(str(root / "broken.py")))
    finding = _script_failure(error, ProjectConfig(root, "proj", script="broken.py"), [])

    assert finding.location == "broken.py:3"
    assert finding.message.startswith("broken.py raised while MLflow ran it: KeyError")
    assert finding.hint == "fix the error at that line; run `python broken.py` to reproduce it"


def test_raise_from_none_hides_the_context_as_python_does(
    project: tuple[Path, ModuleType],
) -> None:
    root, model = project
    error = _raised(model.load_context_fails)

    assert [type(e).__name__ for e in chain(error)] == ["ValueError"]
    assert user_frame(error, [(root, "")]) == (
        "model.py:14",
        "ValueError: price table is not loaded",
    )


def test_an_environment_refusing_model_code_is_named(
    project: tuple[Path, ModuleType], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _ = project
    monkeypatch.setenv("MLFLOW_ALLOW_MODEL_CODE_EXECUTION", "false")
    refusal = RuntimeError("loading code is disabled by MLFLOW_ALLOW_MODEL_CODE_EXECUTION")

    finding = _script_failure(refusal, ProjectConfig(root, "proj"), [])

    assert finding.location == "model.py"
    assert finding.message.startswith(
        "model.py did not run: MLFLOW_ALLOW_MODEL_CODE_EXECUTION=false is set where the "
        "validator runs"
    )
    assert finding.hint is not None and finding.hint.startswith(
        "unset MLFLOW_ALLOW_MODEL_CODE_EXECUTION for the validator"
    )


def test_the_variable_is_not_blamed_where_mlflow_ignores_it(
    project: tuple[Path, ModuleType], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, model = project
    monkeypatch.setenv("MLFLOW_ALLOW_MODEL_CODE_EXECUTION", "false")
    monkeypatch.setattr("mlflow.__version__", "3.17.2")
    error = _raised(model.load_context_fails)

    finding = _script_failure(error, ProjectConfig(root, "proj"), [])

    assert "MLFLOW_ALLOW_MODEL_CODE_EXECUTION" not in finding.message
    assert finding.message.endswith("ValueError: price table is not loaded")


def test_from_318_the_variable_is_named_whatever_mlflow_says(
    project: tuple[Path, ModuleType], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _ = project
    monkeypatch.setenv("MLFLOW_ALLOW_MODEL_CODE_EXECUTION", "0")
    monkeypatch.setattr("mlflow.__version__", "3.18.0")

    finding = _script_failure(RuntimeError("refused"), ProjectConfig(root, "proj"), [])

    assert "MLFLOW_ALLOW_MODEL_CODE_EXECUTION=0 is set" in finding.message
    assert log_model.CODE_EXECUTION in (finding.hint or "")


@pytest.mark.parametrize("with_tests", [True, False])
def test_load_context_raising_on_a_model_yaml_value_says_what_reproduces_it(
    project: tuple[Path, ModuleType], with_tests: bool
) -> None:
    # `python model.py` only defines the model and exits 0: loading it with model.yaml's
    # model_config is what raises
    root, model = project
    if with_tests:
        (root / "tests").mkdir()
        (root / "tests" / "conftest.py").write_text(
            "def model(cls, context):\n    return cls().load_context(context)\n"
        )
    import library

    error = _raised(lambda: library.load(model.Configured(), {"horizon_days": "seven"}))
    config = ProjectConfig(
        root, "proj", model_config={"horizon_days": "seven"}, lines={"model_config": 4}
    )
    finding = _script_failure(error, config, [])

    assert finding.location == "model.py:22"
    assert finding.message == (
        "load_context raised while MLflow logged the model: ValueError: could not convert "
        "string to float: 'seven'"
    )
    reproduces = (
        "`nox -s tests` reproduces it (tests/conftest.py calls load_context with model.yaml's "
        "values)"
        if with_tests
        else "a test that calls load_context with model.yaml's model_config and artifacts, as "
        "MLflow does, reproduces it"
    )
    assert finding.hint == (
        "fix load_context at that line, or the model_config value it read (model.yaml:4): "
        "MLflow calls it with model.yaml's model_config and artifacts when it logs and when it "
        "loads the model, and `python model.py` never does (it exits 0); " + reproduces
    )

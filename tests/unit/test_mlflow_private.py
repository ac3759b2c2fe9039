"""Each private MLflow name in validator/mlflow_private.py still exists in the installed MLflow
and behaves as the validator assumes: a new MLflow release that changes one fails the test
named after it, not a user's validation."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from validator import mlflow_private
from validator.mlflow_private import NAMES, PrivateName, resolve

pd = pytest.importorskip("pandas")
mlflow = pytest.importorskip("mlflow")

from mlflow.models import Model  # noqa: E402
from mlflow.models.signature import ModelSignature  # noqa: E402
from mlflow.pyfunc import PyFuncModel  # noqa: E402
from mlflow.types.schema import ColSpec, Schema  # noqa: E402
from packaging.version import Version  # noqa: E402

VALIDATOR = Path(__file__).resolve().parents[2] / "validator"
BY_NAME = {name.dotted: name for name in NAMES}


class Doubler:
    def predict(self, data: Any, params: Any = None) -> Any:
        return data * 2


def _model(**signature: Schema) -> PyFuncModel:
    meta = Model()
    if signature:
        meta.signature = ModelSignature(**signature)
    return PyFuncModel(model_meta=meta, model_impl=Doubler(), predict_fn="predict")


def _frame() -> Any:
    return pd.DataFrame({"x": [1.0, 2.0]})


@pytest.mark.parametrize("name", NAMES, ids=[name.dotted for name in NAMES])
def test_the_name_exists(name: PrivateName) -> None:
    assert resolve(name) is not None, name.assumes


def test_every_private_name_the_validator_imports_is_listed() -> None:
    """`from mlflow.x import _y` and the private attributes of MLflow's objects, in every file of
    validator/ (the probe and serving.py too, which cannot import the list)."""
    listed = {(name.module, name.attribute.split(".")[-1]) for name in NAMES}
    attributes = {name.attribute.split(".")[-1] for name in NAMES}
    imported = re.compile(r"from (mlflow[\w.]*) import (_\w+)")
    for path in VALIDATOR.rglob("*.py"):
        if path.name == "mlflow_private.py":
            continue
        text = path.read_text(encoding="utf-8")
        for module, attribute in imported.findall(text):
            assert (module, attribute) in listed, f"{path.name}: {module}.{attribute} is not listed"
        for attribute in re.findall(r"\b(?:model|unlinked|metadata)\.(_\w+)", text):
            assert attribute in attributes, f"{path.name}: .{attribute} is not listed"


def test_invocations_answers_as_the_server() -> None:
    from mlflow.pyfunc.scoring_server import invocations

    payload = json.dumps({"dataframe_split": {"columns": ["x"], "data": [[1.0], [2.0]]}})
    model = _model()
    response = invocations(payload, "application/json", model, None)
    assert response.status == 200
    assert json.loads(response.response) == {"predictions": [{"x": 2.0}, {"x": 4.0}]}


def test_parse_json_data_gives_data_and_params() -> None:
    from mlflow.pyfunc.scoring_server import _parse_json_data

    payload = json.dumps({"dataframe_records": [{"x": 1.0}], "params": {"k": 1}})
    parsed = _parse_json_data(payload, Model(), None)
    assert list(parsed.data.columns) == ["x"]
    assert parsed.params == {"k": 1}


def test_infer_and_parse_data_gives_a_frame() -> None:
    parsed = mlflow_private.infer_and_parse_data(
        {"dataframe_split": {"columns": ["x"], "data": [[3]]}}
    )
    assert isinstance(parsed, pd.DataFrame)
    assert parsed["x"].tolist() == [3]


def test_enforce_schema_refuses_what_does_not_fit() -> None:
    from mlflow.models.utils import _enforce_schema

    schema = Schema([ColSpec("double", "x")])
    _enforce_schema(_frame(), schema)
    with pytest.raises(Exception, match="x"):
        _enforce_schema(pd.DataFrame({"y": [1.0]}), schema)


def test_infer_schema_is_the_logged_one() -> None:
    from mlflow.types.utils import _infer_schema

    assert _infer_schema(_frame()) == Schema([ColSpec("double", "x")])


def test_data_validation_result_has_an_error_message() -> None:
    assert mlflow_private.data_validation_error([1, 2], list[int]) is None
    assert mlflow_private.data_validation_error(["a"], list[int])


def test_is_signature_from_type_hint() -> None:
    assert mlflow_private.signature_from_type_hint(_model()) is False


def test_predict_calls_the_predict_fn_attribute() -> None:
    from validator.serving import serve

    model = _model()
    assert callable(model._predict_fn)
    served = serve(model, json.dumps({"dataframe_records": [{"x": 1.0}]}))
    assert (served.status, served.stage) == (200, "ok")
    assert served.predictions is not None  # seen by the wrapper serve puts on _predict_fn
    assert list(served.predictions["x"]) == [2.0]


def test_model_impl_names_the_agent_kind() -> None:
    from mlflow.pyfunc.loaders import chat_agent, chat_model, responses_agent

    model = _model()
    assert isinstance(model._model_impl, Doubler)
    wrappers = [
        responses_agent._ResponsesAgentPyfuncWrapper,
        chat_agent._ChatAgentPyfuncWrapper,
        chat_model._ChatModelPyfuncWrapper,
    ]
    names = [wrapper.__name__ for wrapper in wrappers]
    for kind, name in zip(("ResponsesAgent", "ChatAgent", "ChatModel"), names, strict=True):
        assert kind in name


def test_model_id_can_be_unlinked() -> None:
    model = PyFuncModel(model_meta=Model(), model_impl=Doubler(), model_id="m-1")
    assert model._model_id == "m-1"
    mlflow_private.unlink_model_id(model)
    assert model._model_id is None


def test_requirement_scan_is_one_function_under_two_names() -> None:
    import mlflow.pyfunc
    import mlflow.utils.environment as environment

    from validator.serving import requirement_scan_skipped

    original = environment.warn_dependency_requirement_mismatches
    assert mlflow.pyfunc.warn_dependency_requirement_mismatches is original
    with requirement_scan_skipped():
        assert environment.warn_dependency_requirement_mismatches is not original
        assert mlflow.pyfunc.warn_dependency_requirement_mismatches is not original
    assert environment.warn_dependency_requirement_mismatches is original


def test_constraints_ship_as_constraints_txt(tmp_path: Path) -> None:
    import mlflow.utils.environment as environment

    assert environment._CONSTRAINTS_FILE_NAME == mlflow_private.CONSTRAINTS_FILE
    constraints = tmp_path / "project" / "constraints.txt"
    constraints.parent.mkdir()
    constraints.write_text("mfc-example==1.0\n", encoding="utf-8")
    _, requirements, written = environment._process_pip_requirements(
        [], pip_requirements=["mlflow", "pandas", f"-c {constraints}"]
    )
    assert "-c constraints.txt" in requirements
    assert written == ["mfc-example==1.0"]


def test_telemetry_is_a_package_folder() -> None:
    import mlflow.telemetry

    assert Path(mlflow.telemetry.__file__).parent.name == "telemetry"
    assert Path(mlflow.telemetry.__file__).parent.parent == Path(mlflow.__file__).parent


def test_sqlalchemy_store_takes_uri_and_artifact_root() -> None:
    import inspect

    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    parameters = list(inspect.signature(SqlAlchemyStore.__init__).parameters)
    assert parameters[1:3] == ["db_uri", "default_artifact_root"]
    assert "SqlAlchemyStore(" in mlflow_private.MAKE_STORE_SCRIPT


# _validate_model_name's rule against ours: tests/unit/test_model_name.py


def test_run_note_tag() -> None:
    from mlflow.utils.mlflow_tags import MLFLOW_RUN_NOTE

    from validator.render.run_summary import NOTE_TAG

    assert MLFLOW_RUN_NOTE == NOTE_TAG


@pytest.mark.parametrize("variable", mlflow_private.ENVIRONMENT_VARIABLES)
def test_environment_variable(variable: str) -> None:
    import mlflow.environment_variables as variables

    assert getattr(variables, variable).name == variable


@pytest.mark.parametrize("variable", sorted(mlflow_private.ENVIRONMENT_VARIABLES_SINCE))
def test_environment_variable_of_newer_releases(variable: str) -> None:
    import mlflow.environment_variables as variables

    since = mlflow_private.ENVIRONMENT_VARIABLES_SINCE[variable]
    present = hasattr(variables, variable)
    assert present == (Version(mlflow.__version__).release[:2] >= since)


def test_warm_modules_import() -> None:
    """commands/warm.py imports these MLflow modules ahead (speed only: a missing one is
    imported later), so a rename shows here first."""
    import importlib

    from validator.commands.warm import WARM

    for module in (name for name in WARM if name.startswith("mlflow.")):
        importlib.import_module(module)


def test_every_row_is_used_by_someone() -> None:
    assert all(name.used_by and name.assumes for name in NAMES)
    assert len(BY_NAME) == len(NAMES)

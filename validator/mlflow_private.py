"""Every private MLflow name the validator or its sandbox probe relies on, in one place.

A private name is one MLflow may change in any release without notice: an underscore function or
attribute, a function of an internal module (`mlflow.pyfunc.scoring_server`, `mlflow.utils.*`,
`mlflow.types.utils`, …), an environment variable read by MLflow's internals. Each is listed here
with who uses it and what the validator assumes of it; `tests/unit/test_mlflow_private.py` checks,
one named test each, that the installed MLflow still has it and still behaves so, so that a new
MLflow release fails that test rather than a user's validation.

The validator's own in-process code gets these names from the functions below. Two users cannot:
`validator/serving.py` and `validator/sandbox/probe.py` run with the sandbox's interpreter, where
the validator is not installed, so they import the names themselves; their rows here say so, and
the test checks that every private name those files use is listed.

Imports mlflow only inside functions: `check` may import this module and stays free of mlflow.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PrivateName:
    """MODULE's ATTRIBUTE (a dotted path within the module; empty for the module itself), used
    by USED_BY, assumed to behave as ASSUMES says."""

    module: str
    attribute: str
    used_by: str
    assumes: str

    @property
    def dotted(self) -> str:
        return f"{self.module}.{self.attribute}" if self.attribute else self.module


SCORING_SERVER = "mlflow.pyfunc.scoring_server"
ENVIRONMENT = "mlflow.utils.environment"

NAMES: tuple[PrivateName, ...] = (
    PrivateName(
        SCORING_SERVER,
        "invocations",
        "validator/serving.py (checking worker and sandbox probe)",
        "invocations(data, content_type, model, input_schema) answers as /invocations does: "
        "an object with .status and .response (the JSON body), calling model.predict",
    ),
    PrivateName(
        SCORING_SERVER,
        "_parse_json_data",
        "validator/sandbox/probe.py (_stream)",
        "_parse_json_data(data, metadata, input_schema) parses a request as the server does, "
        "into an object with .data and .params",
    ),
    PrivateName(
        SCORING_SERVER,
        "infer_and_parse_data",
        "validator/inprocess/type_hints.py (logging_example)",
        "infer_and_parse_data(request_dict) gives the input the scoring server passes predict",
    ),
    PrivateName(
        "mlflow.models.utils",
        "_enforce_schema",
        "validator/sandbox/probe.py (_output_schema_problem)",
        "_enforce_schema(data, schema) raises when DATA does not fit SCHEMA",
    ),
    PrivateName(
        "mlflow.types.utils",
        "_infer_schema",
        "validator/sandbox/probe.py (_output_schema_problem)",
        "_infer_schema(data) is the Schema MLflow infers from DATA when it logs an example",
    ),
    PrivateName(
        "mlflow.types.type_hints",
        "_get_data_validation_result",
        "validator/inprocess/type_hints.py (check)",
        "_get_data_validation_result(data, type_hint).error_message is None when DATA fits",
    ),
    PrivateName(
        "mlflow.models",
        "Model._is_signature_from_type_hint",
        "validator/inprocess/type_hints.py (check)",
        "a Model's _is_signature_from_type_hint() tells whether predict's hints made its signature",
    ),
    PrivateName(
        "mlflow.pyfunc",
        "PyFuncModel._predict_fn",
        "validator/serving.py (serve)",
        "a PyFuncModel calls its instance attribute _predict_fn when it predicts",
    ),
    PrivateName(
        "mlflow.pyfunc",
        "PyFuncModel._model_impl",
        "validator/sandbox/probe.py (_agent_kind)",
        "a PyFuncModel's _model_impl is the flavor's wrapper; an agent's wrapper class is named "
        "after its kind (ResponsesAgent, ChatAgent, ChatModel)",
    ),
    PrivateName(
        "mlflow.pyfunc",
        "PyFuncModel._model_id",
        "validator/inprocess/jobs.py (evaluate)",
        "a PyFuncModel's _model_id links mlflow.models.evaluate's results to the logged model; "
        "None unlinks them",
    ),
    PrivateName(
        ENVIRONMENT,
        "warn_dependency_requirement_mismatches",
        "validator/serving.py (requirement_scan_skipped)",
        "the scan of installed packages at logging and loading, looked up by this name in "
        "mlflow.utils.environment and in mlflow.pyfunc: replacing both skips it",
    ),
    PrivateName(
        ENVIRONMENT,
        "_CONSTRAINTS_FILE_NAME",
        "validator/sandbox (the lock that ships with the model)",
        "'-c <file>' in pip_requirements ships <file> as constraints.txt beside the model's "
        "requirements.txt, which then holds '-c constraints.txt'",
    ),
    PrivateName(
        "mlflow.telemetry",
        "",
        "validator/sandbox/probe.py (_mlflow_own)",
        "MLflow's usage telemetry lives in the package folder mlflow/telemetry/",
    ),
    PrivateName(
        "mlflow.store.tracking.sqlalchemy_store",
        "SqlAlchemyStore",
        "validator/tracking/store.py (store_template)",
        "SqlAlchemyStore(db_uri, default_artifact_root) creates a SQLite store with its schema",
    ),
    PrivateName(
        "mlflow.utils.validation",
        "_validate_model_name",
        "validator/project/config.py (model_name_problem, a copy of its rules)",
        "_validate_model_name(name) raises for the names model_name_problem refuses, only those "
        "(compared in tests/unit/test_model_name.py)",
    ),
    PrivateName(
        "mlflow.utils.mlflow_tags",
        "MLFLOW_RUN_NOTE",
        "validator/render/run_summary.py (NOTE_TAG)",
        "the run's description is the tag 'mlflow.note.content'",
    ),
)

# MLflow's environment variables the validator sets or reads for MLflow's sake, each an entry
# of mlflow.environment_variables by the same name (the user-facing MLFLOW_TRACKING_* too)
ENVIRONMENT_VARIABLES: tuple[str, ...] = (
    "MLFLOW_RECORD_ENV_VARS_IN_MODEL_LOGGING",  # checks/logged_files.py
    "MLFLOW_ALLOW_FILE_STORE",  # inprocess/jobs.py (the evaluation's throw-away store)
    "MLFLOW_TRACE_SAMPLING_RATIO",  # served_env.py, tracking/store.py
    "MLFLOW_ENABLE_ASYNC_TRACE_LOGGING",  # served_env.py, tracking/store.py
    "MLFLOW_DISABLE_TELEMETRY",  # served_env.py, tracking/store.py
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES",  # tracking/server_check.py, tracking/store.py
    "MLFLOW_HTTP_REQUEST_TIMEOUT",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR",
    "MLFLOW_TRACKING_URI",
    "MLFLOW_REGISTRY_URI",
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_TRACKING_INSECURE_TLS",
    "MLFLOW_TRACKING_SERVER_CERT_PATH",
    "MLFLOW_TRACKING_CLIENT_CERT_PATH",
)
# read only by MLflow 3.18 and later (inprocess/log_model.py sets it for those)
ENVIRONMENT_VARIABLES_SINCE = {"MLFLOW_ALLOW_MODEL_CODE_EXECUTION": (3, 18)}


def resolve(name: PrivateName) -> Any:
    """The object NAME stands for in the installed MLflow (AttributeError or ImportError when it
    is gone). An instance attribute (PyFuncModel._predict_fn) resolves to its class."""
    found: Any = importlib.import_module(name.module)
    parts = name.attribute.split(".") if name.attribute else []
    if parts and parts[-1] in INSTANCE_ATTRIBUTES:
        parts = parts[:-1]
    for part in parts:
        found = getattr(found, part)
    return found


# set in PyFuncModel.__init__, so not on the class
INSTANCE_ATTRIBUTES = frozenset({"_predict_fn", "_model_impl", "_model_id"})


# The in-process users' accessors: mlflow is imported when one is called.


def infer_and_parse_data(data: dict[str, Any]) -> Any:
    from mlflow.pyfunc.scoring_server import infer_and_parse_data as parse

    return parse(data)


def data_validation_error(data: Any, hint: Any) -> str | None:
    """MLflow's own message when DATA does not fit the type hint HINT, or None."""
    from mlflow.types.type_hints import _get_data_validation_result

    message: str | None = _get_data_validation_result(data, hint).error_message
    return message


def signature_from_type_hint(model: Any) -> bool:
    """Whether the loaded MODEL's signature was made from predict's type hints."""
    return bool(model.metadata._is_signature_from_type_hint())


def unlink_model_id(model: Any) -> None:
    """Unlink MODEL (a PyFuncModel, MLflow 3) from its logged model, so that
    mlflow.models.evaluate does not write to the store the model was logged to."""
    if hasattr(model, "_model_id"):
        model._model_id = None


CONSTRAINTS_FILE = "constraints.txt"  # mlflow.utils.environment._CONSTRAINTS_FILE_NAME

# the script that makes an empty SQLite store (run with the validator's interpreter)
MAKE_STORE_SCRIPT = """
import sys
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
SqlAlchemyStore("sqlite:///" + sys.argv[1], sys.argv[2])
"""

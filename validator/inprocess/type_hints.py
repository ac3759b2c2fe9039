"""Models whose signature MLflow takes from predict's type hints (SIG008). Imports mlflow.

For such a model MLflow builds the signature from the hints and only warns (at logging) when the
input example disagrees with them, and the scoring server hands the model a request's `inputs`
as they are. An example that does not match the hints is logged all the same, and serving then
refuses the very request it shows, or drops the fields the hints do not declare.
"""

from __future__ import annotations

import re
import typing
from typing import TYPE_CHECKING, Any

from validator import mlflow_private
from validator.report import Finding, failed, passed, skipped

if TYPE_CHECKING:
    from validator.project.config import ProjectConfig

CODE = "SIG008"
INPUTS = "inputs"
_MODULE_PATH = re.compile(r"\b(?:\w+\.)+(\w+)")
_SHOWN_PROBLEM = 300  # characters of MLflow's own message, when it is the only one there is


def logging_example(data: dict[str, Any]) -> Any:
    """The input example to log for the request DATA (without its params): parsed as the
    scoring server parses it, except `inputs` records, which MLflow accepts only as they are
    (and which a type-hinted predict receives as they are)."""
    inputs = data.get(INPUTS)
    if isinstance(inputs, list) and inputs and all(isinstance(item, dict) for item in inputs):
        return inputs
    return mlflow_private.infer_and_parse_data(data)


def _input_hint(model: Any) -> Any:
    try:
        return model.unwrap_python_model().predict_type_hints.input
    except Exception:  # not a PythonModel: nothing to compare with
        return None


def hint_name(hint: Any) -> str:
    """list[DemandInput], not list[code_model_<hash>.DemandInput]."""
    return _MODULE_PATH.sub(r"\1", str(hint)).replace("typing.", "")


def _pydantic_problem(inputs: Any, hint: Any) -> str | None:
    """The first field error, for a list of a pydantic model: inputs[0].price: Field required."""
    (element,) = typing.get_args(hint) or (None,)
    if not isinstance(inputs, list) or not hasattr(element, "model_validate"):
        return None
    import pydantic

    for index, item in enumerate(inputs):
        try:
            element.model_validate(item)
        except pydantic.ValidationError as exc:
            error = exc.errors()[0]
            where = "".join(
                f".{part}" if isinstance(part, str) else f"[{part}]" for part in error["loc"]
            )
            return f"inputs[{index}]{where}: {error['msg']}"
    return None


def _declared_fields(schema: Any) -> set[str] | None:
    """The fields of the one object a list[...] type hint takes, if that is its schema."""
    specs = list(getattr(schema, "inputs", None) or [])
    if len(specs) != 1:
        return None
    properties = getattr(specs[0].type, "properties", None)
    if properties is None:
        return None
    return {str(prop.name) for prop in properties}


def check(model: Any, config: ProjectConfig, payload: dict[str, Any]) -> Finding:
    """SIG008 for the loaded MODEL and the example request PAYLOAD."""
    if not mlflow_private.signature_from_type_hint(model):
        return skipped(CODE, "the signature comes from the input example, not from type hints")
    example = config.input_example
    if INPUTS not in payload:
        used = next((key for key in payload if key != "params"), "?")
        return failed(
            CODE,
            f"{example} is a '{used}' request, but a model whose signature comes from predict's "
            "type hints is served only 'inputs' requests",
            example,
            'write the request as {"inputs": [...]}, one item for each element of the list '
            "predict takes",
        )
    hint = _input_hint(model)
    if hint is None:
        return skipped(CODE, "predict's type hints cannot be read back from the logged model")
    inputs = payload[INPUTS]
    shown = hint_name(hint)
    problem = mlflow_private.data_validation_error(inputs, hint)
    if problem:
        problem = _pydantic_problem(inputs, hint) or " ".join(problem.split())[:_SHOWN_PROBLEM]
        return failed(
            CODE,
            f"{example} does not match predict's type hint {shown}: {problem}; MLflow logged "
            "the signature of the type hints all the same, so serving refuses this request",
            example,
            "give the example the fields and types predict's type hints declare",
        )
    declared = _declared_fields(model.metadata.get_input_schema())
    items = inputs if isinstance(inputs, list) else [inputs]
    extra = sorted(
        {key for item in items if isinstance(item, dict) for key in item} - (declared or set())
    )
    if declared is not None and extra:
        return failed(
            CODE,
            f"{example} sends {', '.join(repr(key) for key in extra)}, which predict's type hint "
            f"{shown} does not declare: serving drops them without a word",
            example,
            "remove them from the example, or declare them in the type hint",
        )
    return passed(CODE)

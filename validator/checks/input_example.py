from __future__ import annotations

import difflib
import json
from typing import Any

from validator.codes import owned_by
from validator.project import bounded
from validator.project.model_kind import Kind, model_kind
from validator.project.sources import Project
from validator.report import Finding, failed, passed, ran, skipped

CODES = owned_by("input_example")
# the request's serving format and its shape: they need a JSON object (SIG001) to look at
SHAPE = ("SIG002", "SIG003")
FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
# the keys MLflow's scoring server reads as a unified LLM request, passed to the model as is
LLM_KEYS = ("messages", "prompt", "input")
KIND_NAMES: dict[Kind, str] = {
    "tabular": "tabular PythonModel",
    "responses": "ResponsesAgent",
    "chat": "ChatAgent or ChatModel",
    "langchain": "LangChain model",
    "llama_index": "LlamaIndex model",
}
HINT_INPUTS = (
    'write one request as a client would POST it, e.g. {"inputs": [{"question": "hi"}]} '
    '(a list of the chain\'s inputs) or {"dataframe_records": [{"question": "hi"}]}'
)
# kind -> (the request's key, what it is, a hint)
AGENT_REQUESTS: dict[Kind, tuple[str, str, str]] = {
    "responses": (
        "input",
        "ResponsesAgent",
        'write the request a client POSTs, e.g. {"input": [{"role": "user", "content": "hi"}]}',
    ),
    "chat": (
        "messages",
        "ChatAgent or ChatModel",
        'write the request a client POSTs, e.g. {"messages": [{"role": "user", "content": "hi"}]}',
    ),
}
HINT_FORMAT = (
    'write one request as a client would POST it, e.g. {"dataframe_split": '
    '{"columns": ["a", "b"], "data": [[1.0, 2.0]]}}'
)


def _shape_problem(key: str, value: Any) -> str | None:
    if key == "dataframe_split":
        if not isinstance(value, dict):
            return "dataframe_split must be an object with 'columns' and 'data'"
        unknown = set(value) - {"columns", "data", "index"}
        if unknown:
            return f"dataframe_split has unexpected keys {sorted(unknown)}"
        data = value.get("data")
        if not isinstance(data, list) or not data:
            return "dataframe_split.data must be a non-empty list of rows"
        columns = value.get("columns")
        if columns is not None and (
            not isinstance(columns, list) or not all(isinstance(c, str) for c in columns)
        ):
            return "dataframe_split.columns must be a list of column names"
        for number, row in enumerate(data):
            if not isinstance(row, list):
                return f"dataframe_split.data[{number}] must be a list (one row)"
            if columns is not None and len(row) != len(columns):
                return (
                    f"dataframe_split.data[{number}] has {len(row)} values for "
                    f"{len(columns)} columns"
                )
        return None
    if key == "dataframe_records":
        if not isinstance(value, list) or not value:
            return "dataframe_records must be a non-empty list of objects (one per row)"
        for number, row in enumerate(value):
            if not isinstance(row, dict):
                return f"dataframe_records[{number}] must be an object of column: value"
        return None
    if key == "instances":
        if isinstance(value, dict):
            if not value or not all(isinstance(v, list) for v in value.values()):
                return "instances given as an object must map each input name to a list"
            return None
        if not isinstance(value, list) or not value:
            return "instances must be a non-empty list (one entry per instance)"
        return None
    if value is None or value == [] or value == {}:
        return "inputs must not be empty"
    return None


def run(project: Project) -> list[Finding]:
    relative = project.config.input_example
    path = project.config.path(relative)
    if not path.is_file():
        return [skipped(code, f"{relative} does not exist") for code in CODES]
    try:
        payload = bounded.read_json(path, relative)
    except (bounded.Refused, OSError) as exc:
        where: str | None
        hint: str | None
        if isinstance(exc, OSError):
            message, where, hint = f"{relative} cannot be read: {exc.strerror}", relative, None
        elif isinstance(exc, bounded.DuplicateKey):
            message, where, hint = str(exc), exc.where, "keep each key once in every object"
        else:
            message, where, hint = str(exc), exc.where, HINT_FORMAT
        return [failed("SIG001", message, where or relative, hint or "make it readable")] + [
            skipped(code, f"{relative} cannot be read") for code in SHAPE
        ]
    except json.JSONDecodeError as exc:
        return [
            failed(
                "SIG001",
                f"{relative} is not valid JSON: {exc.msg} (column {exc.colno})",
                f"{relative}:{exc.lineno}",
                "fix the JSON on that line",
            )
        ] + [skipped(code, f"{relative} is not valid JSON") for code in SHAPE]
    if not isinstance(payload, dict):
        return [
            failed(
                "SIG001",
                f"{relative} holds a JSON {type(payload).__name__}, not an object",
                relative,
                HINT_FORMAT,
            )
        ] + [skipped(code, f"{relative} is not a JSON object") for code in SHAPE]
    kind = model_kind(project)
    if kind in ("responses", "chat"):
        return [passed("SIG001"), *_agent_request(kind, payload, relative)]
    if kind in ("langchain", "llama_index") and set(payload) & set(LLM_KEYS):
        # the scoring server passes a unified LLM request to the model as it is
        return [passed("SIG001"), *_llm_request(payload, relative)]
    keys = [key for key in payload if key in FORMATS]
    others = [key for key in payload if key not in FORMATS and key != "params"]
    if len(keys) != 1 or others:
        found = ", ".join(repr(key) for key in payload) or "no keys"
        chat = sorted(set(payload) & set(LLM_KEYS))
        why = (
            f"; {chat[0]!r} is a chat request, which a tabular PythonModel cannot take (a "
            "ResponsesAgent takes 'input', a ChatAgent or ChatModel 'messages')"
            if chat and kind == "tabular"
            else ""
        )
        meant = [m for key in others for m in difflib.get_close_matches(key, FORMATS, n=1)]
        if meant and not why:
            why = f"; did you mean '{meant[0]}'?"
        return [
            passed("SIG001"),
            failed(
                "SIG002",
                f"{relative} must have exactly one of {', '.join(FORMATS)} (and optionally "
                f"'params') for a {KIND_NAMES[kind]}; found {found}{why}",
                relative,
                HINT_FORMAT if kind == "tabular" else HINT_INPUTS,
            ),
            skipped("SIG003", "the serving format is unclear"),
        ]
    findings: list[Finding] = []
    problem = _shape_problem(keys[0], payload[keys[0]])
    if problem is None and "params" in payload and not isinstance(payload["params"], dict):
        problem = "params must be an object of parameter names to values"
    if problem:
        findings.append(failed("SIG003", f"{relative}: {problem}", relative, HINT_FORMAT))
    return ran(CODES, findings)


def _agent_request(kind: Kind, payload: dict[str, Any], relative: str) -> list[Finding]:
    """SIG002 and SIG003 for a ResponsesAgent's request ('input') or a chat request
    ('messages'), as the scoring server hands them to the agent."""
    key, name, hint = AGENT_REQUESTS[kind]
    wrong = sorted(set(payload) & (set(FORMATS) | set(LLM_KEYS)) - {key})
    if key not in payload or wrong:
        found = ", ".join(repr(k) for k in payload) or "no keys"
        return [
            failed(
                "SIG002",
                f"{relative} must be a {name} request with '{key}' (and optionally "
                f"custom_inputs, context and parameters); found {found}",
                relative,
                hint,
            ),
            skipped("SIG003", "the serving format is unclear"),
        ]
    problem = _messages_problem(key, payload[key])
    custom = payload.get("custom_inputs", {})
    if problem is None and not isinstance(custom, dict):
        problem = "custom_inputs must be an object"
    findings = [failed("SIG003", f"{relative}: {problem}", relative, hint)] if problem else []
    return ran(SHAPE, findings)


def _llm_request(payload: dict[str, Any], relative: str) -> list[Finding]:
    keys = sorted(set(payload) & set(LLM_KEYS))
    mixed = sorted(set(payload) & set(FORMATS))
    if len(keys) > 1 or mixed:
        return [
            failed(
                "SIG002",
                f"{relative} mixes request formats: {', '.join(keys + mixed)}",
                relative,
                HINT_INPUTS,
            ),
            skipped("SIG003", "the serving format is unclear"),
        ]
    problem = _messages_problem(keys[0], payload[keys[0]]) if keys[0] != "prompt" else None
    findings = (
        [failed("SIG003", f"{relative}: {problem}", relative, HINT_INPUTS)] if problem else []
    )
    return ran(SHAPE, findings)


def _messages_problem(key: str, value: Any) -> str | None:
    """A chat request's messages ('messages') or a ResponsesAgent's input items ('input')."""
    if key == "input" and isinstance(value, str) and value:
        return None
    if not isinstance(value, list) or not value:
        return f"{key} must be a non-empty list of messages"
    for number, item in enumerate(value):
        if not isinstance(item, dict):
            return f'{key}[{number}] must be an object, e.g. {{"role": "user", "content": "hi"}}'
        if key == "input" and "type" in item:
            continue  # a typed input item (function_call_output, ...)
        if not isinstance(item.get("role"), str):
            return f"{key}[{number}] has no 'role' (user, assistant, system or tool)"
        if "content" not in item and "tool_calls" not in item:
            return f"{key}[{number}] has no 'content'"
    return None

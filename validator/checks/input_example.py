from __future__ import annotations

import json
from typing import Any

from validator.codes import owned_by
from validator.project.sources import Project
from validator.report import Finding, failed, passed, ran, skipped

CODES = owned_by("input_example")
FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
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
        payload = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        return [failed("SIG001", f"{relative} is not UTF-8 text", relative, HINT_FORMAT)] + [
            skipped(code, f"{relative} is not valid JSON") for code in CODES[1:]
        ]
    except json.JSONDecodeError as exc:
        return [
            failed(
                "SIG001",
                f"{relative} is not valid JSON: {exc.msg} (column {exc.colno})",
                f"{relative}:{exc.lineno}",
                "fix the JSON on that line",
            )
        ] + [skipped(code, f"{relative} is not valid JSON") for code in CODES[1:]]
    if not isinstance(payload, dict):
        return [
            failed(
                "SIG001",
                f"{relative} holds a JSON {type(payload).__name__}, not an object",
                relative,
                HINT_FORMAT,
            )
        ] + [skipped(code, f"{relative} is not a JSON object") for code in CODES[1:]]
    keys = [key for key in payload if key in FORMATS]
    others = [key for key in payload if key not in FORMATS and key != "params"]
    if len(keys) != 1 or others:
        found = ", ".join(repr(key) for key in payload) or "no keys"
        return [
            passed("SIG001"),
            failed(
                "SIG002",
                f"{relative} must have exactly one of {', '.join(FORMATS)} (and optionally "
                f"'params'); found {found}",
                relative,
                HINT_FORMAT,
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

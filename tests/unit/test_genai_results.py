"""Pure logic behind the GenAI checks: unstable values, network findings, streams, refused
requests (no MLflow, no sandbox)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from validator.json_compare import differences, same, unstable_paths
from validator.project.config import ProjectConfig
from validator.sandbox import probe_results
from validator.sandbox.probe_results import network_checks, stream_check
from validator.sandbox.runner import ProbeRun

MODEL_DIR = Path("/logged/model")


def config(**values: Any) -> ProjectConfig:
    return ProjectConfig(root=Path("/project"), name="m", **values)


def test_unstable_paths_are_where_two_answers_differ() -> None:
    first = {"output": [{"id": "a1", "text": "hi"}], "created": 1.0, "usage": [1, 2]}
    second = {"output": [{"id": "b2", "text": "hi"}], "created": 2.0, "usage": [1, 2, 3]}
    assert unstable_paths(first, second) == ["$.output[0].id", "$.created", "$.usage"]
    assert unstable_paths(first, first) == []


def test_unstable_paths_are_compared_by_type_and_shape_only() -> None:
    local = {"output": [{"id": "a1", "text": "hi"}], "n": 1}
    loose = frozenset({"$.output[0].id"})
    assert same(local, {"output": [{"id": "zz", "text": "hi"}], "n": 1}, loose)
    assert not same(local, {"output": [{"id": 7, "text": "hi"}], "n": 1}, loose)  # type
    assert not same(local, {"output": [{"id": "zz", "text": "bye"}], "n": 1}, loose)  # stable
    assert not same(local, {"output": [{"id": "zz", "text": "hi"}], "n": 2}, loose)
    assert same([1.0, 2.0], [1.0 + 1e-9, 2.0])
    assert not same([1.0], [1.1])


def contact(host: str, port: int | None = 443, stage: str = "load", **extra: Any) -> dict[str, Any]:
    return {"host": host, "port": port, "stage": stage, "file": None, "line": None, **extra}


def test_an_undeclared_host_fails_and_a_declared_one_passes() -> None:
    found = network_checks(
        config(network=("api.example.com",)),
        MODEL_DIR,
        {"a": contact("api.example.com"), "b": contact("evil.example.net", 80, "predict")},
    )
    statuses = {(f.code, f.status) for f in found}
    assert statuses == {("NET001", "failed"), ("NET002", "passed")}
    [failure] = [f for f in found if f.status == "failed"]
    assert "evil.example.net:80 while predicting" in failure.message
    assert failure.hint and "under network in model.yaml" in failure.hint


def test_a_port_narrows_a_declaration_and_offline_is_said() -> None:
    found = network_checks(
        config(network=("api.example.com:8443",)),
        MODEL_DIR,
        {"a": contact("api.example.com", 443, blocked=True)},
    )
    codes = {(f.code, f.status) for f in found}
    assert codes == {("NET001", "failed"), ("NET002", "warning")}
    assert any("--offline refused" in f.message for f in found)


def test_nothing_contacted_nothing_declared_passes() -> None:
    assert [(f.code, f.status) for f in network_checks(config(), MODEL_DIR, {})] == [
        ("NET001", "passed"),
        ("NET002", "passed"),
    ]


def test_stream_chunks_of_the_wrong_type_fail() -> None:
    stream = {
        "streamable": True,
        "chunks": [{"text": "hi"}],
        "types": ["dict"],
        "kind": "ResponsesAgent",
        "problems": ["ValidationError: type field required"],
    }
    finding = stream_check(config(), MODEL_DIR, stream)
    assert (finding.code, finding.status) == ("SBX007", "failed")
    assert "not ResponsesAgent stream chunks" in finding.message


def test_an_agent_without_predict_stream_is_skipped() -> None:
    error = {"type": "NotImplementedError", "message": "no stream", "frames": []}
    stream = {"streamable": True, "chunks": [], "types": [], "kind": "ChatAgent", "error": error}
    assert stream_check(config(), MODEL_DIR, stream).status == "skipped"


def test_the_first_row_note_is_in_the_message() -> None:
    stream = {
        "streamable": True,
        "chunks": [{"a": 1}],
        "types": ["dict"],
        "note": "streamed the first of the example's 2 rows: MLflow streams one input",
    }
    assert "first of the example's 2 rows" in stream_check(config(), MODEL_DIR, stream).message


@pytest.mark.parametrize(("stage", "sbx003"), [("request", "skipped"), ("respond", "passed")])
def test_a_request_the_server_refuses_in_the_sandbox_fails_sbx008(stage: str, sbx003: str) -> None:
    result = {
        "stage": stage,
        "status": 400,
        "error": {"type": "MlflowException", "message": "Invalid input\nline two", "frames": []},
        "env_reads": {},
        "connections": {},
    }
    run = ProbeRun(result, False, "", 0, 1.0)
    found = {f.code: f for f in probe_results.probe_checks(config(), MODEL_DIR, run, None, 60)}
    assert found["SBX008"].status == "failed"
    assert (
        "HTTP 400" in found["SBX008"].message
        and "Invalid input line two" in found["SBX008"].message
    )
    assert found["SBX003"].status == sbx003
    assert found["SBX005"].status == "skipped"


def test_a_declared_host_is_not_called_unused_when_the_model_never_answered() -> None:
    found = network_checks(config(network=("api.example.com",)), MODEL_DIR, {}, answered=False)
    assert [(f.code, f.status) for f in found] == [("NET001", "passed"), ("NET002", "skipped")]


def test_a_connection_mlflow_makes_on_its_own_is_not_the_models() -> None:
    found = network_checks(
        config(),
        MODEL_DIR,
        {"t": contact("config.mlflow-telemetry.io", mlflow=True, user=False)},
    )
    assert [(f.code, f.status) for f in found] == [("NET001", "passed"), ("NET002", "passed")]
    assert "MLflow's usage telemetry, not the model, contacted config.mlflow-telemetry.io" in (
        found[0].message
    )


def test_mlflow_own_connections_do_not_hide_the_models() -> None:
    found = network_checks(
        config(),
        MODEL_DIR,
        {
            "t": contact("config.mlflow-telemetry.io", mlflow=True),
            "m": contact("evil.example.net", 80, "predict"),
        },
    )
    [failure] = [f for f in found if f.status == "failed"]
    assert "evil.example.net:80" in failure.message
    assert "telemetry" not in failure.message


def _answered(predictions: Any) -> ProbeRun:
    result = {
        "ok": True,
        "predictions": json.dumps(predictions),
        "env_reads": {},
        "connections": {},
        "stream": {"streamable": False},
    }
    return ProbeRun(result, False, "", 0, 1.0)


def test_differences_name_every_path_with_both_values() -> None:
    expected = {"id": "a", "rows": [1, 2, 3], "text": "hi", "meta": {"k": 1}}
    actual = {"id": "b", "rows": [1, 9, 3], "text": "hi", "meta": {"k": 1, "x": 2}}
    assert differences(expected, actual) == [
        ("$.id", "a", "b"),
        ("$.rows[1]", 2, 9),
        ("$.meta", {"k": 1}, {"k": 1, "x": 2}),
    ]
    assert differences(expected, actual, frozenset({"$.id", "$.rows[1]", "$.meta"})) == [
        ("$.meta", {"k": 1}, {"k": 1, "x": 2})  # loose, yet its keys changed
    ]


def test_a_second_sandbox_process_is_asked_only_when_the_first_differs() -> None:
    local = json.dumps({"id": "a", "n": 1})
    assert not probe_results.differs(_answered({"id": "a", "n": 1}), local, [])
    assert probe_results.differs(_answered({"id": "b", "n": 1}), local, [])
    assert not probe_results.differs(_answered({"id": "b", "n": 1}), local, ["$.id"])
    assert not probe_results.differs(_answered({"id": "b"}), None, [])
    assert probe_results.per_process_paths(
        _answered({"id": "b", "n": 1}), _answered({"id": "c", "n": 1})
    ) == ["$.id"]


def test_ids_made_once_per_process_pass_and_are_named() -> None:
    local = json.dumps({"messages": [{"id": "run-1", "content": "hi"}]})
    run = _answered({"messages": [{"id": "run-2", "content": "hi"}]})
    found = {
        f.code: f
        for f in probe_results.probe_checks(
            config(), MODEL_DIR, run, local, 60, [], ["$.messages[0].id"]
        )
    }
    assert found["SBX005"].status == "passed"
    assert "between two fresh processes: $.messages[0].id" in found["SBX005"].message


def test_a_difference_two_sandbox_processes_agree_on_fails_naming_it() -> None:
    local = json.dumps({"answer": "x" * 300 + "local", "id": "run-1"})
    run = _answered({"answer": "x" * 300 + "sandbox", "id": "run-2"})
    found = {
        f.code: f
        for f in probe_results.probe_checks(config(), MODEL_DIR, run, local, 60, [], ["$.id"])
    }
    sbx005 = found["SBX005"]
    assert sbx005.status == "failed"
    assert "at 1 path (the same in two fresh sandbox processes" in sbx005.message
    assert "$.answer: in-process …" in sbx005.message and "$.id" not in sbx005.message
    assert 'xlocal"' in sbx005.message and 'xsandbox"' in sbx005.message

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
import pytest
from mlflow.types.responses import ResponsesAgentRequest, ResponsesAgentStreamEvent

if TYPE_CHECKING:
    from types import ModuleType

PROJECT = Path(__file__).resolve().parents[1]
# the agent traces every call, and some tests log the model: all of it goes to a store of
# the test session
pytestmark = pytest.mark.usefixtures("tracking_store")
API_KEY = "sk-test-0123456789abcdef"


def request(question: str) -> dict[str, Any]:
    return {"input": [{"role": "user", "content": question}]}


def dumped(response: Any) -> dict[str, Any]:
    answer: dict[str, Any] = response.model_dump(exclude_none=True)
    return answer


def item_types(response: Any) -> list[str]:
    return [item["type"] for item in dumped(response)["output"]]


def final_text(response: Any) -> str:
    message = dumped(response)["output"][-1]
    assert message["type"] == "message"
    text: str = message["content"][0]["text"]
    return text


class ChatEndpoint(BaseHTTPRequestHandler):
    """An OpenAI-compatible chat completions endpoint on localhost: it asks for the tool on
    espresso beans, then answers with what the tool said. It records every request it gets."""

    url: str
    requests: list[tuple[dict[str, str], dict[str, Any]]]
    status = 200

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append((dict(self.headers), body))
        last = body["messages"][-1]
        if last["role"] == "tool":
            message = {"role": "assistant", "content": f"The tool says {last['content']}"}
        else:
            call = {"name": "forecast_units", "arguments": json.dumps({"product": "espresso beans"})}
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "call_1", "type": "function", "function": call}],
            }
        answer = json.dumps({"choices": [{"index": 0, "message": message}]}).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep the test output quiet


@pytest.fixture
def endpoint() -> Iterator[type[ChatEndpoint]]:
    handler = type("Endpoint", (ChatEndpoint,), {"requests": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # a short poll interval: shutdown() waits for one
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_port}/v1/chat/completions"
    yield handler
    server.shutdown()
    server.server_close()


@pytest.fixture
def remote_model(
    model_class: type[mlflow.pyfunc.PythonModel],
    model_config: dict[str, Any],
    env: dict[str, str],
    endpoint: type[ChatEndpoint],
    monkeypatch: pytest.MonkeyPatch,
) -> mlflow.pyfunc.PythonModel:
    """The model loaded with AGENT_ENDPOINT at the local endpoint, and an API key."""
    monkeypatch.setenv("AGENT_ENDPOINT", endpoint.url)
    monkeypatch.setenv("AGENT_API_KEY", API_KEY)
    model = model_class()
    model.load_context(mlflow.pyfunc.PythonModelContext(artifacts={}, model_config=model_config))
    return model


def test_predict_calls_the_tool_then_answers(
    model: mlflow.pyfunc.PythonModel, input_example: dict[str, Any]
) -> None:
    response = model.predict(input_example)

    call, output, message = dumped(response)["output"]
    assert (call["type"], output["type"], message["type"]) == (
        "function_call",
        "function_call_output",
        "message",
    )
    assert call["name"] == "forecast_units"
    assert json.loads(call["arguments"]) == {"product": "oat milk"}
    assert output["call_id"] == call["call_id"]
    # 10 a day, price at 80% of reference (elasticity -1.2), promotion +25%, over 7 days
    assert json.loads(output["output"])["forecast_units"] == pytest.approx(114.4)
    assert final_text(response) == "Oat milk: about 114.4 units over the next 7 days."


def test_a_conversation_becomes_chat_messages_as_mlflow_converts_it(
    model_module: ModuleType,
) -> None:
    items = [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "How much oat milk next week?"},
        {"type": "function_call", "call_id": "c1", "name": "forecast_units", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": '{"forecast_units": 3}'},
        {
            "type": "message",
            "role": "assistant",
            "id": "m1",
            "content": [{"type": "output_text", "text": "About 3 units."}],
        },
    ]
    request = ResponsesAgentRequest(input=items)

    messages = model_module.chat_messages(request.input)

    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool", "assistant"]
    assert messages[2]["tool_calls"][0]["id"] == messages[3]["tool_call_id"] == "c1"
    assert json.loads(messages[3]["content"]) == {"forecast_units": 3}
    assert messages[4]["content"] == "About 3 units."
    # where MLflow has its own conversion (not in 3.1), the model's gives the same messages
    mlflow_own = getattr(model_module.ResponsesAgent, "prep_msgs_for_cc_llm", None)
    if mlflow_own is not None:
        assert messages == mlflow_own(request.input)


@pytest.mark.parametrize(
    ("product", "units"),
    [("espresso beans", 140.0), ("oat milk", 70.0 * 0.8**-1.2 * 1.25), ("Green Tea", 281.2)],
)
def test_the_tool_forecasts_with_the_formula(
    model_module: ModuleType, product: str, units: float
) -> None:
    result = model_module.forecast_units(product)

    assert result["forecast_units"] == pytest.approx(units, abs=0.05)
    assert result["horizon_days"] == 7
    assert result["product"] == product.lower()


def test_the_stream_yields_each_item_once_it_is_done(
    model: mlflow.pyfunc.PythonModel, input_example: dict[str, Any]
) -> None:
    stream = model.predict_stream(input_example)

    assert isinstance(stream, Iterator)
    events = list(stream)
    assert all(isinstance(event, ResponsesAgentStreamEvent) for event in events)
    assert [event.type for event in events] == ["response.output_item.done"] * 3
    items = [event.model_dump(exclude_none=True)["item"] for event in events]
    assert items == dumped(model.predict(input_example))["output"]


def test_the_stream_yields_the_call_before_the_llm_answers(
    model: mlflow.pyfunc.PythonModel, input_example: dict[str, Any]
) -> None:
    calls: list[str] = []
    complete = model.llm.complete

    def counted(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> dict[str, Any]:
        calls.append(messages[-1]["role"])
        return complete(messages, tools)

    model.llm.complete = counted
    stream = model.predict_stream(input_example)

    first = next(stream)

    assert first.item["type"] == "function_call"
    assert calls == ["user"]  # the answer is not asked for yet
    list(stream)
    assert calls == ["user", "tool"]


def test_the_fake_llm_is_used_when_agent_endpoint_is_unset(
    model: mlflow.pyfunc.PythonModel,
    model_module: ModuleType,
    model_class: type[mlflow.pyfunc.PythonModel],
    model_config: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the env fixture unset AGENT_ENDPOINT; an empty value counts as unset too
    assert isinstance(model.llm, model_module.FakeLLM)
    monkeypatch.setenv("AGENT_ENDPOINT", "")
    empty = model_class()

    empty.load_context(mlflow.pyfunc.PythonModelContext(artifacts={}, model_config=model_config))

    assert isinstance(empty.llm, model_module.FakeLLM)


def test_the_same_request_gets_the_same_answer(
    model: mlflow.pyfunc.PythonModel, input_example: dict[str, Any]
) -> None:
    # the item ids too, so that the validator can compare answers
    assert dumped(model.predict(input_example)) == dumped(model.predict(input_example))
    other = dumped(model.predict(request("And espresso beans?")))
    assert other["output"][0]["id"] != dumped(model.predict(input_example))["output"][0]["id"]


def test_a_question_without_a_known_product_gets_a_plain_answer(
    model: mlflow.pyfunc.PythonModel,
) -> None:
    response = model.predict(request("How is the weather?"))

    assert item_types(response) == ["message"]
    assert "espresso beans, green tea, oat milk" in final_text(response)


@pytest.mark.parametrize(
    ("name", "arguments", "error"),
    [
        ("forecast_units", '{"product": "bananas"}', "unknown product 'bananas'"),
        ("forecast_units", "not json", "takes a JSON object with a 'product'"),
        ("forecast_units", "{}", "takes a JSON object with a 'product'"),
        ("order_more", '{"product": "oat milk"}', "unknown tool 'order_more'"),
    ],
)
def test_a_bad_tool_call_gets_an_error_the_llm_can_read(
    model_module: ModuleType, name: str, arguments: str, error: str
) -> None:
    output = json.loads(model_module.run_tool(name, arguments))

    assert error in output["error"]


def test_an_llm_that_never_answers_is_stopped(
    model: mlflow.pyfunc.PythonModel, model_config: dict[str, Any], input_example: dict[str, Any]
) -> None:
    class ToolForever:
        def complete(self, messages: list[Any], tools: list[Any]) -> dict[str, Any]:
            call = {"name": "forecast_units", "arguments": '{"product": "oat milk"}'}
            tool_call = {"id": f"call_{len(messages)}", "type": "function", "function": call}
            return {"role": "assistant", "content": None, "tool_calls": [tool_call]}

    model.llm = ToolForever()

    response = model.predict(input_example)

    turns = int(model_config["max_turns"])
    assert item_types(response) == ["function_call", "function_call_output"] * turns + ["message"]
    assert final_text(response).startswith("I stopped")


def test_an_endpoint_is_asked_with_the_key_as_bearer_token(
    remote_model: mlflow.pyfunc.PythonModel,
    endpoint: type[ChatEndpoint],
    model_config: dict[str, Any],
    input_example: dict[str, Any],
) -> None:
    response = remote_model.predict(input_example)

    assert item_types(response) == ["function_call", "function_call_output", "message"]
    assert final_text(response).startswith('The tool says {"product": "espresso beans"')
    (first_headers, first), (_, second) = endpoint.requests
    assert first_headers["Authorization"] == f"Bearer {API_KEY}"
    assert first["model"] == model_config["llm_model"]
    assert [tool["function"]["name"] for tool in first["tools"]] == ["forecast_units"]
    assert first["messages"] == [{"role": "user", "content": input_example["input"][0]["content"]}]
    assert [message["role"] for message in second["messages"]] == ["user", "assistant", "tool"]


def test_the_api_key_is_never_in_the_output(
    remote_model: mlflow.pyfunc.PythonModel, input_example: dict[str, Any]
) -> None:
    answer = json.dumps(dumped(remote_model.predict(input_example)))
    events = [event.model_dump_json() for event in remote_model.predict_stream(input_example)]

    assert API_KEY not in answer
    assert all(API_KEY not in event for event in events)
    assert API_KEY not in repr(remote_model.llm)


def test_an_endpoint_error_names_the_status_and_not_the_key(
    remote_model: mlflow.pyfunc.PythonModel,
    endpoint: type[ChatEndpoint],
    input_example: dict[str, Any],
) -> None:
    endpoint.status = 401

    with pytest.raises(RuntimeError, match="answered HTTP 401") as raised:
        remote_model.predict(input_example)

    assert API_KEY not in str(raised.value)


def test_an_endpoint_that_is_not_http_is_refused(
    model_class: type[mlflow.pyfunc.PythonModel],
    model_config: dict[str, Any],
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AGENT_ENDPOINT", "file:///etc/passwd")
    model = model_class()

    with pytest.raises(ValueError, match="http"):
        model.load_context(mlflow.pyfunc.PythonModelContext(artifacts={}, model_config=model_config))


def test_unknown_model_config_key_is_refused(
    model_class: type[mlflow.pyfunc.PythonModel], env: dict[str, str]
) -> None:
    model = model_class()
    context = mlflow.pyfunc.PythonModelContext(artifacts={}, model_config={"max_turn": 3})

    with pytest.raises(ValueError, match="max_turn"):
        model.load_context(context)


def test_input_example_is_a_responses_request_that_calls_the_tool(
    model: mlflow.pyfunc.PythonModel, payload: dict[str, Any]
) -> None:
    # a ResponsesAgent is served the responses format: {"input": [messages]}
    assert list(payload) == ["input"]
    ResponsesAgentRequest(**payload)

    assert "function_call" in item_types(model.predict(payload))


def test_the_logged_model_answers_through_pyfunc(
    model_config: dict[str, Any],
    payload: dict[str, Any],
    env: dict[str, str],
    pinned_requirements: list[str],
) -> None:
    # what the validator and serving do: log the script, load it back, predict with dicts
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(
            name="agent",
            python_model=str(PROJECT / "model.py"),
            model_config=model_config,
            input_example=payload,
            pip_requirements=pinned_requirements,
        )
    loaded = mlflow.pyfunc.load_model(info.model_uri)

    answer = loaded.predict(payload)
    chunks = list(loaded.predict_stream(payload))

    assert [item["type"] for item in answer["output"]] == [
        "function_call",
        "function_call_output",
        "message",
    ]
    assert [chunk["item"] for chunk in chunks] == answer["output"]

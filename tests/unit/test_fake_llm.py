"""The fake OpenAI-compatible server of tests/real_world/fake_llm.py, spoken to with urllib as a
client library would: plain and streamed chat completions, tool calls, the Responses API,
embeddings, models, Ollama's chat; loopback only; stopped means closed."""

from __future__ import annotations

import base64
import json
import socket
import struct
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.real_world.fake_llm import DEFAULT_DIMENSIONS, FakeLLM

TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "enum": ["nyc", "sf"]},
                "days": {"type": "integer"},
            },
            "required": ["city"],
        },
    },
}


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


def _post(url: str, body: dict[str, Any]) -> tuple[str, bytes]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": "Bearer x"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers.get("Content-Type", ""), response.read()


def _json(url: str, body: dict[str, Any]) -> Any:
    kind, data = _post(url, body)
    assert kind.startswith("application/json"), kind
    return json.loads(data)


def _events(url: str, body: dict[str, Any]) -> list[tuple[str | None, str]]:
    """(event name, data) of each server-sent event."""
    kind, data = _post(url, body)
    assert kind.startswith("text/event-stream"), kind
    events = []
    for block in data.decode().split("\n\n"):
        if not block.strip():
            continue
        name, payload = None, ""
        for line in block.splitlines():
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                payload = line[len("data: ") :]
        events.append((name, payload))
    return events


def test_it_listens_on_loopback_with_an_ephemeral_port(llm: FakeLLM) -> None:
    assert llm.url.startswith("http://127.0.0.1:")
    assert llm.base_url == f"{llm.url}/v1"
    environ = llm.environ()
    assert environ["OPENAI_BASE_URL"] == environ["OPENAI_API_BASE"] == llm.base_url
    assert environ["OLLAMA_HOST"] == llm.url
    assert environ["OPENAI_API_KEY"]
    with urllib.request.urlopen(f"{llm.base_url}/models", timeout=10) as response:
        models = json.loads(response.read())
    assert models["object"] == "list" and models["data"][0]["id"]


def test_chat_completion_answers_the_last_message_the_same_way_twice(llm: FakeLLM) -> None:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "what is MLflow?"}]}
    first = _json(f"{llm.base_url}/chat/completions", body)
    second = _json(f"{llm.base_url}/chat/completions", body)
    assert first == second
    message = first["choices"][0]["message"]
    assert message["role"] == "assistant"
    assert "what is MLflow?" in message["content"]
    assert first["choices"][0]["finish_reason"] == "stop"
    other = _json(
        f"{llm.base_url}/chat/completions",
        {"model": "gpt-4o", "messages": [{"role": "user", "content": "something else"}]},
    )
    assert other["choices"][0]["message"]["content"] != message["content"]
    assert ("POST", "/v1/chat/completions", body) in llm.requests


def test_streamed_chat_completion_adds_up_to_the_plain_answer(llm: FakeLLM) -> None:
    messages = [{"role": "user", "content": "stream this please"}]
    plain = _json(f"{llm.base_url}/chat/completions", {"model": "m", "messages": messages})
    events = _events(
        f"{llm.base_url}/chat/completions",
        {
            "model": "m",
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    )
    assert events[-1] == (None, "[DONE]")
    chunks = [json.loads(data) for _, data in events[:-1]]
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    text = "".join(
        choice["delta"].get("content") or "" for chunk in chunks for choice in chunk["choices"]
    )
    assert text == plain["choices"][0]["message"]["content"]
    assert len([c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")]) > 1
    assert chunks[-1]["usage"]["total_tokens"] > 0


def test_tools_get_a_call_of_the_first_tool_then_an_answer(llm: FakeLLM) -> None:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "weather in sf?"}]
    reply = _json(
        f"{llm.base_url}/chat/completions", {"model": "m", "messages": messages, "tools": [TOOL]}
    )
    choice = reply["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    (call,) = choice["message"]["tool_calls"]
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "nyc", "days": 1}
    messages += [
        choice["message"],
        {"role": "tool", "tool_call_id": call["id"], "content": "sunny"},
    ]
    after = _json(
        f"{llm.base_url}/chat/completions", {"model": "m", "messages": messages, "tools": [TOOL]}
    )
    assert after["choices"][0]["finish_reason"] == "stop"
    assert after["choices"][0]["message"]["content"]
    streamed = _events(
        f"{llm.base_url}/chat/completions",
        {"model": "m", "messages": messages[:1], "tools": [TOOL], "stream": True},
    )
    deltas = [json.loads(data)["choices"][0]["delta"] for _, data in streamed[:-1]]
    calls = [call for delta in deltas for call in delta.get("tool_calls", [])]
    assert [c["function"]["name"] for c in calls] == ["get_weather"]


def test_responses_api_plain_streamed_and_with_tools(llm: FakeLLM) -> None:
    body = {"model": "gpt-4o", "input": [{"role": "user", "content": "hello there"}]}
    response = _json(f"{llm.base_url}/responses", body)
    assert response["object"] == "response" and response["status"] == "completed"
    (item,) = response["output"]
    assert item["type"] == "message" and item["role"] == "assistant"
    text = item["content"][0]["text"]
    assert "hello there" in text

    events = _events(f"{llm.base_url}/responses", {**body, "stream": True})
    names = [name for name, _ in events]
    assert names[0] == "response.created" and names[-1] == "response.completed"
    payloads = [json.loads(data) for _, data in events]
    assert [p["type"] for p in payloads] == names
    assert [p["sequence_number"] for p in payloads] == list(range(len(payloads)))
    deltas = "".join(p["delta"] for p in payloads if p["type"] == "response.output_text.delta")
    assert deltas == text
    (done,) = [p["item"] for p in payloads if p["type"] == "response.output_item.done"]
    assert done["content"] == item["content"]
    deltas_item = {p["item_id"] for p in payloads if p["type"] == "response.output_text.delta"}
    assert deltas_item == {done["id"]}

    flat_tool = {"type": "function", **TOOL["function"]}
    called = _json(f"{llm.base_url}/responses", {**body, "tools": [flat_tool]})
    (call,) = called["output"]
    assert call["type"] == "function_call" and call["name"] == "get_weather"
    answered = _json(
        f"{llm.base_url}/responses",
        {
            **body,
            "tools": [flat_tool],
            "input": [
                *body["input"],
                call,
                {"type": "function_call_output", "call_id": call["call_id"], "output": "70"},
            ],
        },
    )
    assert answered["output"][0]["type"] == "message"


def test_embeddings_have_the_requested_dimension_in_floats_and_base64(llm: FakeLLM) -> None:
    url = f"{llm.base_url}/embeddings"
    default = _json(url, {"model": "e", "input": ["a", "b"], "encoding_format": "float"})
    first, second = (row["embedding"] for row in default["data"])
    assert len(first) == len(second) == DEFAULT_DIMENSIONS
    assert first != second
    assert abs(sum(v * v for v in first) - 1.0) < 1e-3
    again = _json(url, {"model": "e", "input": "a", "encoding_format": "float"})
    assert again["data"][0]["embedding"] == first
    small = _json(url, {"model": "e", "input": "a", "dimensions": 8, "encoding_format": "float"})
    assert len(small["data"][0]["embedding"]) == 8
    packed = _json(url, {"model": "e", "input": "a", "dimensions": 8})
    assert packed["data"][0]["embedding"] == small["data"][0]["embedding"]  # float by default
    encoded = _json(url, {"model": "e", "input": "a", "dimensions": 8, "encoding_format": "base64"})
    raw = base64.b64decode(encoded["data"][0]["embedding"])
    assert list(struct.unpack("<8f", raw)) == small["data"][0]["embedding"]


def test_ollama_chat(llm: FakeLLM) -> None:
    reply = _json(
        f"{llm.url}/api/chat",
        {"model": "llama3.2:1b", "messages": [{"role": "user", "content": "hi"}], "stream": False},
    )
    assert reply["done"] is True
    assert reply["message"]["role"] == "assistant" and "hi" in reply["message"]["content"]


def test_an_unknown_route_is_a_404(llm: FakeLLM) -> None:
    with pytest.raises(urllib.error.HTTPError) as raised:
        _post(f"{llm.base_url}/nowhere", {})
    assert raised.value.code == 404


def test_stopped_means_closed() -> None:
    server = FakeLLM().start()
    host, port = server.url.removeprefix("http://").split(":")
    server.stop()
    with pytest.raises(OSError), socket.create_connection((host, int(port)), timeout=2):
        pass
    with pytest.raises(RuntimeError):
        _ = server.url

"""A fake OpenAI-compatible server on 127.0.0.1, standard library only, so that real scripts that
call an LLM run unmodified and offline.

It answers, deterministically (the same request gets the same answer, in any process):

- `GET  /v1/models`
- `POST /v1/chat/completions`: plain, streamed (SSE) and, when `tools` are given and the last
  message is not a tool result, a call of the first tool with arguments made from its schema
- `POST /v1/completions`: the legacy completions API, plain and streamed
- `POST /v1/responses`: the Responses API, plain and streamed, with a `function_call` when `tools`
  are given and the input holds no `function_call_output` yet
- `POST /v1/embeddings`: vectors of the requested `dimensions` (default 1536) drawn from a hash of
  the text, as floats or base64 (the `openai` client asks for base64 by default)
- `POST /api/chat`: Ollama's chat endpoint (not streamed), for the `ollama` client

Scripts are pointed at it through the variables their libraries read (`FakeLLM.environ()`):
`OPENAI_BASE_URL` (the `openai` client), `OPENAI_API_BASE` (LangChain, LlamaIndex),
`OPENAI_API_KEY` (a dummy) and `OLLAMA_HOST`. It listens on loopback only and never opens a
connection itself.

    with FakeLLM() as llm:
        subprocess.run(command, env={**os.environ, **llm.environ()})
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOST = "127.0.0.1"
MODEL = "fake-model"
DEFAULT_DIMENSIONS = 1536
# a fixed time: answers do not depend on when they are made
CREATED = 1_700_000_000
DUMMY_KEY = "sk-fake-key-for-tests"


def digest(value: Any) -> str:
    """A short stable hash of VALUE (JSON-serialised with sorted keys)."""
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def embedding(text: str, dimensions: int) -> list[float]:
    """A deterministic unit vector of DIMENSIONS floats for TEXT."""
    values: list[float] = []
    counter = 0
    while len(values) < dimensions:
        block = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        values.extend((byte - 127.5) / 127.5 for byte in block)
        counter += 1
    values = values[:dimensions]
    norm = sum(value * value for value in values) ** 0.5 or 1.0
    # rounded through float32, so that the float and the base64 forms carry the same numbers
    return [struct.unpack("<f", struct.pack("<f", value / norm))[0] for value in values]


def _text_of(content: Any) -> str:
    """The text of a chat message's or a Responses input item's content (a string or parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict):
                parts.append(str(part.get("text", "")))
            else:
                parts.append(str(part))
        return " ".join(parts)
    return "" if content is None else str(content)


def answer_text(prompt: str) -> str:
    """The fake model's answer to PROMPT."""
    prompt = " ".join(prompt.split())
    if len(prompt) > 60:
        prompt = prompt[:57] + "..."
    return f"Fake answer to: {prompt}"


def _example_value(schema: Any) -> Any:
    """A value that fits the JSON schema SCHEMA (first enum value, or one per type)."""
    if not isinstance(schema, dict):
        return "x"
    if schema.get("enum"):
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return _example_value(schema[key][0])
    kind = schema.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object":
        properties = schema.get("properties") or {}
        return {name: _example_value(sub) for name, sub in properties.items()}
    if kind == "array":
        return [_example_value(schema.get("items", {}))]
    return {"integer": 1, "number": 1.0, "boolean": True, "null": None}.get(kind, "x")


def _tool_name_and_parameters(tool: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(name, parameters) of a chat-completions tool (`{"function": {...}}`) or a Responses
    tool (flat)."""
    function = tool.get("function") if isinstance(tool.get("function"), dict) else tool
    return str(function.get("name", "tool")), function.get("parameters") or {}


def _tool_arguments(tool: dict[str, Any]) -> str:
    _, parameters = _tool_name_and_parameters(tool)
    return json.dumps(_example_value({"type": "object", **parameters}), sort_keys=True)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests read FakeLLM.requests instead

    # plumbing

    def _read_json(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            body = {}
        return body if isinstance(body, dict) else {"input": body}

    def _send_json(self, payload: Any, status: int = 200) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_events(self, events: list[tuple[str | None, Any]]) -> None:
        """Server-sent events, then the connection closes (no chunked encoding needed)."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        for name, payload in events:
            data = payload if isinstance(payload, str) else json.dumps(payload)
            prefix = f"event: {name}\n" if name else ""
            self.wfile.write(f"{prefix}data: {data}\n\n".encode())
            self.wfile.flush()

    # routes

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        self.server.record("GET", path, None)
        if path in {"/v1/models", "/models"}:
            self._send_json(
                {
                    "object": "list",
                    "data": [
                        {"id": MODEL, "object": "model", "created": CREATED, "owned_by": "fake"}
                    ],
                }
            )
        elif path == "/api/tags":
            self._send_json({"models": [{"name": MODEL, "model": MODEL}]})
        elif path in {"", "/"}:
            self._send_json({"status": "ok"})
        else:
            self._send_json({"error": {"message": f"no route {path}"}}, 404)

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        body = self._read_json()
        self.server.record("POST", path, body)
        routes = {
            "/v1/chat/completions": self._chat_completions,
            "/chat/completions": self._chat_completions,
            "/v1/completions": self._completions,
            "/completions": self._completions,
            "/v1/responses": self._responses,
            "/responses": self._responses,
            "/v1/embeddings": self._embeddings,
            "/embeddings": self._embeddings,
            "/api/chat": self._ollama_chat,
        }
        route = routes.get(path)
        if route is None:
            self._send_json({"error": {"message": f"no route {path}"}}, 404)
            return
        route(body)

    # chat completions

    def _chat_completions(self, body: dict[str, Any]) -> None:
        messages = body.get("messages") or []
        model = body.get("model") or MODEL
        ident = f"chatcmpl-{digest(body)}"
        last = messages[-1] if messages and isinstance(messages[-1], dict) else {}
        tools = body.get("tools") or []
        calls: list[dict[str, Any]] = []
        content: str | None
        if tools and last.get("role") not in {"tool", "function"}:
            name, _ = _tool_name_and_parameters(tools[0])
            calls = [
                {
                    "id": f"call_{digest([body, 0])[:12]}",
                    "type": "function",
                    "function": {"name": name, "arguments": _tool_arguments(tools[0])},
                }
            ]
            content = None
        else:
            content = answer_text(_text_of(last.get("content")))
        finish = "tool_calls" if calls else "stop"
        usage = {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10}
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": content}
            if calls:
                message["tool_calls"] = calls
            self._send_json(
                {
                    "id": ident,
                    "object": "chat.completion",
                    "created": CREATED,
                    "model": model,
                    "choices": [
                        {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
                    ],
                    "usage": usage,
                }
            )
            return

        def chunk(delta: dict[str, Any], reason: str | None) -> dict[str, Any]:
            return {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": CREATED,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": reason}],
            }

        events: list[tuple[str | None, Any]] = [(None, chunk({"role": "assistant"}, None))]
        if calls:
            delta_calls = [{"index": i, **call} for i, call in enumerate(calls)]
            events.append((None, chunk({"tool_calls": delta_calls}, None)))
        else:
            events.extend((None, chunk({"content": piece}, None)) for piece in _pieces(content))
        events.append((None, chunk({}, finish)))
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append(
                (
                    None,
                    {
                        "id": ident,
                        "object": "chat.completion.chunk",
                        "created": CREATED,
                        "model": model,
                        "choices": [],
                        "usage": usage,
                    },
                )
            )
        events.append((None, "[DONE]"))
        self._send_events(events)

    def _completions(self, body: dict[str, Any]) -> None:
        prompt = body.get("prompt")
        prompt = prompt[0] if isinstance(prompt, list) and prompt else prompt
        text = answer_text(_text_of(prompt))
        ident = f"cmpl-{digest(body)}"
        model = body.get("model") or MODEL

        def choice(piece: str, reason: str | None) -> dict[str, Any]:
            return {
                "id": ident,
                "object": "text_completion",
                "created": CREATED,
                "model": model,
                "choices": [{"index": 0, "text": piece, "finish_reason": reason, "logprobs": None}],
            }

        if not body.get("stream"):
            reply = choice(text, "stop")
            reply["usage"] = {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10}
            self._send_json(reply)
            return
        events: list[tuple[str | None, Any]] = [(None, choice(p, None)) for p in _pieces(text)]
        events += [(None, choice("", "stop")), (None, "[DONE]")]
        self._send_events(events)

    # the Responses API

    def _responses(self, body: dict[str, Any]) -> None:
        items = body.get("input")
        items = [{"role": "user", "content": items}] if isinstance(items, str) else items or []
        tools = [tool for tool in body.get("tools") or [] if isinstance(tool, dict)]
        answered = any(
            isinstance(item, dict) and item.get("type") == "function_call_output" for item in items
        )
        ident = digest(body)
        model = body.get("model") or MODEL
        output: dict[str, Any]
        text = ""
        if tools and not answered:
            name, _ = _tool_name_and_parameters(tools[0])
            output = {
                "type": "function_call",
                "id": f"fc_{ident}",
                "call_id": f"call_{ident[:12]}",
                "name": name,
                "arguments": _tool_arguments(tools[0]),
                "status": "completed",
            }
        else:
            users = [
                item for item in items if isinstance(item, dict) and item.get("role") == "user"
            ]
            text = answer_text(_text_of(users[-1].get("content")) if users else "")
            output = {
                "type": "message",
                "id": f"msg_{ident}",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        response = {
            "id": f"resp_{ident}",
            "object": "response",
            "created_at": CREATED,
            "status": "completed",
            "model": model,
            "output": [output],
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": tools,
            "usage": {
                "input_tokens": 5,
                "output_tokens": 5,
                "total_tokens": 10,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens_details": {"reasoning_tokens": 0},
            },
        }
        if not body.get("stream"):
            self._send_json(response)
            return
        started = {**response, "status": "in_progress", "output": [], "usage": None}
        events: list[tuple[str, dict[str, Any]]] = [
            ("response.created", {"type": "response.created", "response": started}),
            ("response.in_progress", {"type": "response.in_progress", "response": started}),
        ]
        if output["type"] == "message":
            item_id = output["id"]
            empty = {**output, "status": "in_progress", "content": []}
            events.append(
                (
                    "response.output_item.added",
                    {"type": "response.output_item.added", "output_index": 0, "item": empty},
                )
            )
            for piece in _pieces(text):
                events.append(
                    (
                        "response.output_text.delta",
                        {
                            "type": "response.output_text.delta",
                            "item_id": item_id,
                            "output_index": 0,
                            "content_index": 0,
                            "delta": piece,
                            "logprobs": [],
                        },
                    )
                )
            events.append(
                (
                    "response.output_text.done",
                    {
                        "type": "response.output_text.done",
                        "item_id": item_id,
                        "output_index": 0,
                        "content_index": 0,
                        "text": text,
                        "logprobs": [],
                    },
                )
            )
        events.append(
            (
                "response.output_item.done",
                {"type": "response.output_item.done", "output_index": 0, "item": output},
            )
        )
        events.append(("response.completed", {"type": "response.completed", "response": response}))
        self._send_events(
            [(name, {**event, "sequence_number": n}) for n, (name, event) in enumerate(events)]
        )

    # embeddings

    def _embeddings(self, body: dict[str, Any]) -> None:
        texts = body.get("input")
        if isinstance(texts, str) or (
            isinstance(texts, list) and texts and isinstance(texts[0], int)
        ):
            texts = [texts]
        texts = texts if isinstance(texts, list) else [texts]
        dimensions = body.get("dimensions")
        size = dimensions if isinstance(dimensions, int) and dimensions > 0 else DEFAULT_DIMENSIONS
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for index, text in enumerate(texts):
            vector = embedding(json.dumps(text) if not isinstance(text, str) else text, size)
            value: Any = vector
            if as_base64:
                value = base64.b64encode(struct.pack(f"<{size}f", *vector)).decode("ascii")
            data.append({"object": "embedding", "index": index, "embedding": value})
        self._send_json(
            {
                "object": "list",
                "data": data,
                "model": body.get("model") or MODEL,
                "usage": {"prompt_tokens": len(texts), "total_tokens": len(texts)},
            }
        )

    # Ollama

    def _ollama_chat(self, body: dict[str, Any]) -> None:
        messages = body.get("messages") or []
        last = messages[-1] if messages and isinstance(messages[-1], dict) else {}
        self._send_json(
            {
                "model": body.get("model") or MODEL,
                "created_at": "2023-11-14T22:13:20Z",
                "message": {
                    "role": "assistant",
                    "content": answer_text(_text_of(last.get("content"))),
                },
                "done": True,
                "done_reason": "stop",
                "total_duration": 1,
                "load_duration": 1,
                "prompt_eval_count": 5,
                "prompt_eval_duration": 1,
                "eval_count": 5,
                "eval_duration": 1,
            }
        )


def _pieces(text: str | None) -> list[str]:
    """TEXT cut in a few stream chunks (words with their following space)."""
    if not text:
        return [""]
    words = text.split(" ")
    return [word + (" " if i < len(words) - 1 else "") for i, word in enumerate(words)]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # a restarted test may bind again at once
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__((HOST, 0), _Handler)
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str, Any]] = []

    def record(self, method: str, path: str, body: Any) -> None:
        with self.lock:
            self.requests.append((method, path, body))


class FakeLLM:
    """The fake server, started by `start()` or `with`, on an ephemeral port of 127.0.0.1."""

    def __init__(self) -> None:
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeLLM:
        if self._server is None:
            self._server = _Server()
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="fake-llm", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=10)
            self._server = None
            self._thread = None

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT, without a path."""
        if self._server is None:
            raise RuntimeError("the fake LLM server is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def base_url(self) -> str:
        """The OpenAI base URL: URL/v1."""
        return f"{self.url}/v1"

    @property
    def requests(self) -> list[tuple[str, str, Any]]:
        """(method, path, JSON body) of every request answered so far."""
        if self._server is None:
            return []
        with self._server.lock:
            return list(self._server.requests)

    def environ(self) -> dict[str, str]:
        """The variables that point the OpenAI, LangChain, LlamaIndex and Ollama clients here."""
        return {
            "OPENAI_BASE_URL": self.base_url,
            "OPENAI_API_BASE": self.base_url,
            "OPENAI_API_KEY": DUMMY_KEY,
            "OLLAMA_HOST": self.url,
        }

"""The model of this project, as code: an MLflow ResponsesAgent that calls one tool.

The agent hands the conversation to its LLM together with the tool `forecast_units` (next week's
units of a product of CATALOG). The LLM asks for the tool, the agent runs it and hands the result
back, and the LLM answers in words. The answer holds three output items: the function call, its
output and the final message. `predict_stream` yields each item as soon as it is done; `predict`
collects them. Requests use the responses format: {"input": [{"role": "user", "content": "..."}]}.

The LLM is FakeLLM, deterministic and offline, unless AGENT_ENDPOINT names an OpenAI-compatible
chat completions endpoint: then ChatCompletionsClient talks to it, with AGENT_API_KEY as its bearer
token. Add the endpoint's host to model.yaml's `network` when you set it.
"""

# {{ cookiecutter.project_name }}: {{ cookiecutter.description }}

from __future__ import annotations

{% import "_kinds/_shared/env.j2" as env -%}
{% set env_names = cookiecutter.env_vars.split(",") | map("trim") | reject("equalto", "") | list -%}
import hashlib
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from typing import Any

import mlflow
from mlflow.pyfunc import ResponsesAgent
from mlflow.types.responses import (
    ResponsesAgentRequest,
    ResponsesAgentResponse,
    ResponsesAgentStreamEvent,
)

# Used when model.yaml's model_config leaves a parameter out.
DEFAULTS: dict[str, Any] = {
    "llm_model": "gpt-4o-mini",
    "max_turns": 4,
    "timeout_seconds": 30.0,
}

# What the tool knows of each product: last week's sales, its price and reference price, and
# whether it is on promotion next week. A real agent would look them up in a database.
CATALOG: dict[str, dict[str, float]] = {
    "espresso beans": {"units_last_7d": 140, "price": 2.5, "reference_price": 2.5, "promotion": 0},
    "oat milk": {"units_last_7d": 70, "price": 2.0, "reference_price": 2.5, "promotion": 1},
    "green tea": {"units_last_7d": 350, "price": 3.0, "reference_price": 2.5, "promotion": 0},
}
HORIZON_DAYS = 7
PRICE_ELASTICITY = -1.2
PROMOTION_UPLIFT = 0.25

# A chat completions message: {"role": ..., "content": ..., "tool_calls": [...]}.
Message = dict[str, Any]

TOOL_NAME = "forecast_units"
# The tool as an OpenAI-compatible endpoint expects it; the enum tells the LLM every product the
# tool knows, so that it never has to guess a name.
TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": TOOL_NAME,
        "description": f"Units of a product expected to sell over the next {HORIZON_DAYS} days.",
        "parameters": {
            "type": "object",
            "properties": {
                "product": {"type": "string", "enum": sorted(CATALOG)},
            },
            "required": ["product"],
            "additionalProperties": False,
        },
    },
}


def forecast_units(product: str) -> dict[str, Any]:
    """The tool: the product's units over HORIZON_DAYS, from last week's sales, price and
    promotion (the same formula as this template's other model kinds)."""
    name = product.strip().lower()
    facts = CATALOG.get(name)
    if facts is None:
        return {"error": f"unknown product {product!r}; known: {', '.join(sorted(CATALOG))}"}
    price_effect = (facts["price"] / facts["reference_price"]) ** PRICE_ELASTICITY
    promotion_effect = 1.0 + PROMOTION_UPLIFT * facts["promotion"]
    units = facts["units_last_7d"] / 7.0 * HORIZON_DAYS * price_effect * promotion_effect
    return {"product": name, "horizon_days": HORIZON_DAYS, "forecast_units": round(units, 1)}


def run_tool(name: str, arguments: str) -> str:
    """The tool's output as the LLM reads it: JSON, an error included, so that it can recover."""
    if name != TOOL_NAME:
        return json.dumps({"error": f"unknown tool {name!r}; the only tool is {TOOL_NAME!r}"})
    try:
        product = json.loads(arguments or "{}")["product"]
    except (ValueError, TypeError, KeyError):
        error = f"{TOOL_NAME} takes a JSON object with a 'product', got {arguments!r}"
        return json.dumps({"error": error})
    return json.dumps(forecast_units(str(product)))


class FakeLLM:
    """A chat model that needs no network: deterministic, so that tests and the validator can
    compare answers. It reads what a real one would, the messages and the tools, and answers in
    the chat completions format: first it asks for the tool for the product the user names, then
    it puts the tool's output in words."""

    def complete(self, messages: list[Message], tools: list[dict[str, Any]]) -> Message:
        last: Message = messages[-1] if messages else {"role": "user", "content": ""}
        if last.get("role") == "tool":
            return {"role": "assistant", "content": self.summarize(str(last.get("content")))}
        question = str(last.get("content") or "").lower()
        products = tools[0]["function"]["parameters"]["properties"]["product"]["enum"]
        named = [product for product in products if product in question]
        if not named:
            return {
                "role": "assistant",
                "content": f"I can forecast the demand for: {', '.join(products)}. Which one?",
            }
        arguments = json.dumps({"product": named[0]})
        return {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    # a real LLM makes up its own call ids; these only need to be unique
                    "id": "call_" + hashlib.sha256(question.encode()).hexdigest()[:12],
                    "type": "function",
                    "function": {"name": tools[0]["function"]["name"], "arguments": arguments},
                }
            ],
        }

    @staticmethod
    def summarize(tool_output: str) -> str:
        result = json.loads(tool_output)
        if "error" in result:
            return f"Sorry, I could not forecast that: {result['error']}."
        return (
            f"{result['product'].capitalize()}: about {result['forecast_units']:g} units over "
            f"the next {result['horizon_days']} days."
        )


class ChatCompletionsClient:
    """An OpenAI-compatible chat completions endpoint, over HTTP with the standard library."""

    def __init__(self, endpoint: str, api_key: str | None, model: str, timeout: float) -> None:
        if urllib.parse.urlsplit(endpoint).scheme not in ("http", "https"):
            # urllib also opens file: and ftp: URLs, which an endpoint has no business being
            raise ValueError(f"AGENT_ENDPOINT must be an http(s) URL, got {endpoint!r}")
        self.endpoint = endpoint
        self.model = model
        self.timeout = timeout
        self._api_key = api_key

    def __repr__(self) -> str:
        # never the key: a repr ends up in logs and tracebacks
        return f"ChatCompletionsClient({self.endpoint!r}, model={self.model!r})"

    def complete(self, messages: list[Message], tools: list[dict[str, Any]]) -> Message:
        body = {"model": self.model, "messages": messages, "tools": tools}
        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        request = urllib.request.Request(
            self.endpoint, data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.load(response)
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"{self.endpoint} answered HTTP {error.code}") from None
        except (urllib.error.URLError, TimeoutError) as error:
            raise RuntimeError(f"cannot reach {self.endpoint}: {error}") from None
        message: dict[str, Any] = answer["choices"][0]["message"]
        return message


class ItemIds:
    """Output item ids, unique within an answer and the same for the same request."""

    def __init__(self, seed: str) -> None:
        self.prefix = hashlib.sha256(seed.encode()).hexdigest()[:12]
        self.count = 0

    def next(self, kind: str) -> str:
        self.count += 1
        return f"{kind}_{self.prefix}_{self.count}"


def chat_messages(items: Sequence[Any]) -> list[dict[str, Any]]:
    """The request's input items as chat completions messages: a message, a function call (an
    assistant message with its tool call) and a function call's output (a tool message). Newer
    MLflow releases have this as ResponsesAgent.prep_msgs_for_cc_llm; MLflow 3.1 does not, and
    the model serves on every MLflow 3.x that requirements.txt may pin."""
    messages: list[dict[str, Any]] = []
    for entry in items:
        item = entry.model_dump() if hasattr(entry, "model_dump") else dict(entry)
        kind = item.get("type")
        if kind == "function_call":
            call = {"name": item["name"], "arguments": item.get("arguments") or "{}"}
            messages.append(
                {
                    "role": "assistant",
                    "content": "tool call",  # some endpoints refuse an empty content
                    "tool_calls": [{"id": item["call_id"], "type": "function", "function": call}],
                }
            )
        elif kind == "function_call_output":
            output = item["output"]
            content = output if isinstance(output, str) else json.dumps(output)
            messages.append({"role": "tool", "tool_call_id": item["call_id"], "content": content})
        elif isinstance(item.get("content"), list):  # content parts: one message each
            messages += [{"role": item["role"], "content": p["text"]} for p in item["content"]]
        else:
            messages.append({"role": item["role"], "content": item.get("content")})
    return messages


def done(item: dict[str, Any]) -> ResponsesAgentStreamEvent:
    return ResponsesAgentStreamEvent(type="response.output_item.done", item=item)


class ForecastAgent(ResponsesAgent):
    """Answers questions about next week's demand, calling the tool `forecast_units`."""

    def __init__(self) -> None:
        super().__init__()
        # MLflow 3.1 calls predict on the input example when it logs the model, before
        # load_context: until load_context runs, the agent answers offline with the defaults
        self.max_turns = int(DEFAULTS["max_turns"])
        self.llm: FakeLLM | ChatCompletionsClient = FakeLLM()

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        config = {**DEFAULTS, **(context.model_config or {})}
        unknown = sorted(set(config) - set(DEFAULTS))
        if unknown:
            raise ValueError(f"unknown model_config keys: {', '.join(unknown)}")
        self.max_turns = int(config["max_turns"])
        if self.max_turns < 2:
            raise ValueError("model_config max_turns must be at least 2: the tool, then the answer")
        # Both optional (model.yaml env): without an endpoint, the agent runs offline.
        endpoint = os.environ.get("AGENT_ENDPOINT")
        api_key = os.environ.get("AGENT_API_KEY")
        self.llm = (
            ChatCompletionsClient(
                endpoint, api_key, str(config["llm_model"]), float(config["timeout_seconds"])
            )
            if endpoint
            else FakeLLM()
        )
{{- env.read_settings(env_names) }}

    def predict(self, request: ResponsesAgentRequest) -> ResponsesAgentResponse:
        events = list(self.predict_stream(request))
        return ResponsesAgentResponse(
            output=[event.item for event in events if event.type == "response.output_item.done"]
        )

    def predict_stream(self, request: ResponsesAgentRequest) -> Iterator[ResponsesAgentStreamEvent]:
        messages = chat_messages(request.input)
        # Item ids come from the request, so that the same request gets the same answer: the
        # validator compares the sandbox's answer with the one it got in-process.
        ids = ItemIds(json.dumps(messages, sort_keys=True))
        for _ in range(self.max_turns):
            reply = self.llm.complete(messages, [TOOL])
            calls = reply.get("tool_calls") or []
            if not calls:
                text = str(reply.get("content") or "")
                yield done(self.create_text_output_item(text=text, id=ids.next("msg")))
                return
            # only what the endpoint reads back: some refuse the extra fields of their own answers
            messages.append(
                {"role": "assistant", "content": reply.get("content"), "tool_calls": calls}
            )
            for call in calls:
                name, arguments = call["function"]["name"], call["function"]["arguments"]
                yield done(
                    self.create_function_call_item(
                        id=ids.next("fc"), call_id=call["id"], name=name, arguments=arguments
                    )
                )
                output = run_tool(name, arguments)
                yield done(self.create_function_call_output_item(call_id=call["id"], output=output))
                messages.append({"role": "tool", "tool_call_id": call["id"], "content": output})
        text = f"I stopped: the LLM still asked for tools after {self.max_turns} turns."
        yield done(self.create_text_output_item(text=text, id=ids.next("msg")))


mlflow.models.set_model(ForecastAgent())

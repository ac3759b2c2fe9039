"""The kind of model decides the request format: model.yaml flavor, agent base classes, and the
static SIG002/SIG003 for each kind."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from validator.checks import input_example
from validator.errors import ValidatorError
from validator.project import config
from validator.project.model_kind import model_kind
from validator.project.sources import Project

RESPONSES = """\
import mlflow
from mlflow.pyfunc import ResponsesAgent


class Agent(ResponsesAgent):
    def predict(self, request):
        ...


mlflow.models.set_model(Agent())
"""
CHAT_AGENT = RESPONSES.replace("ResponsesAgent", "ChatAgent")
CHAT_MODEL = (
    "import mlflow\n\nclass M(mlflow.pyfunc.ChatModel):\n    pass\n\nmlflow.models.set_model(M())\n"
)
INDIRECT = (
    "import mlflow\n\nclass Base(mlflow.pyfunc.ResponsesAgent):\n    pass\n\n"
    "class Agent(Base):\n    pass\n\nmlflow.models.set_model(Agent())\n"
)
TABULAR = CHAT_MODEL.replace("ChatModel", "PythonModel")
CHAT = {"messages": [{"role": "user", "content": "hi"}]}
RESPONSES_REQUEST = {"input": [{"role": "user", "content": "hi"}]}


def project(tmp_path: Path, script: str, payload: Any, model_yaml: str = "") -> Project:
    (tmp_path / "model.yaml").write_text(model_yaml)
    (tmp_path / "model.py").write_text(textwrap.dedent(script))
    (tmp_path / "input_example.json").write_text(json.dumps(payload))
    return Project(config.load(tmp_path))


def outcome(found: Project) -> dict[str, str]:
    return {f.code: f.status for f in input_example.run(found)}


@pytest.mark.parametrize(
    ("script", "model_yaml", "kind"),
    [
        (RESPONSES, "", "responses"),
        (CHAT_AGENT, "", "chat"),
        (CHAT_MODEL, "", "chat"),
        (INDIRECT, "", "responses"),
        (TABULAR, "", "tabular"),
        (TABULAR, "flavor: langchain\n", "langchain"),
        (TABULAR, "flavor: llama_index\n", "llama_index"),
    ],
)
def test_the_kind_comes_from_the_flavor_and_the_classes(
    tmp_path: Path, script: str, model_yaml: str, kind: str
) -> None:
    assert model_kind(project(tmp_path, script, {}, model_yaml)) == kind


@pytest.mark.parametrize(
    ("script", "payload"),
    [
        (RESPONSES, RESPONSES_REQUEST),
        (RESPONSES, {"input": "hi", "custom_inputs": {"user": "a"}, "context": {}}),
        (CHAT_AGENT, CHAT),
        (CHAT_MODEL, {**CHAT, "temperature": 0.1, "max_tokens": 20}),
    ],
)
def test_agent_requests_pass(tmp_path: Path, script: str, payload: Any) -> None:
    assert outcome(project(tmp_path, script, payload)) == dict.fromkeys(
        ("SIG001", "SIG002", "SIG003"), "passed"
    )


@pytest.mark.parametrize(
    ("script", "payload", "code", "says"),
    [
        (RESPONSES, CHAT, "SIG002", "with 'input'"),
        (RESPONSES, {"inputs": [{"a": 1}]}, "SIG002", "ResponsesAgent request"),
        (CHAT_AGENT, RESPONSES_REQUEST, "SIG002", "with 'messages'"),
        (CHAT_AGENT, {"messages": []}, "SIG003", "non-empty list"),
        (CHAT_AGENT, {"messages": [{"content": "hi"}]}, "SIG003", "no 'role'"),
        (RESPONSES, {"input": [{"role": "user"}]}, "SIG003", "no 'content'"),
        (TABULAR, CHAT, "SIG002", "a tabular PythonModel cannot take"),
        (TABULAR, {"question": "hi"}, "SIG002", "exactly one of"),
    ],
)
def test_wrong_requests_fail_with_the_kinds_format(
    tmp_path: Path, script: str, payload: Any, code: str, says: str
) -> None:
    found = input_example.run(project(tmp_path, script, payload))
    [failure] = [f for f in found if f.status == "failed"]
    assert failure.code == code and says in failure.message
    assert failure.location == "input_example.json" and failure.hint


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"inputs": [{"question": "hi"}]}, "passed"),
        ({"dataframe_records": [{"question": "hi"}]}, "passed"),
        ({"messages": [{"role": "user", "content": "hi"}]}, "passed"),
        ({"question": "hi"}, "failed"),
    ],
)
def test_langchain_takes_its_inputs_and_refuses_a_bare_dict(
    tmp_path: Path, payload: Any, status: str
) -> None:
    found = project(tmp_path, TABULAR, payload, "flavor: langchain\n")
    assert outcome(found)["SIG002"] == status


@pytest.mark.parametrize(
    ("model_yaml", "says"),
    [
        ("flavor: langchian\n", "did you mean 'langchain'?"),
        ("flavor: [pyfunc]\n", "'flavor' must be one of pyfunc, langchain, llama_index"),
        ("flavor: llama_index\nflavor_options: {engine_type: vector}\n", "query, chat, retriever"),
        ("flavor: langchain\nflavor_options: {engine_type: query}\n", "takes no option"),
        ("flavor: langchain\nartifacts: {weights: w.bin}\n", "only with flavor pyfunc"),
        ("network: api.example.com\n", "'network' must be a list"),
        ("network: [https://api.example.com/v1]\n", "no scheme, no path"),
        ("network: [api.example.com:99999]\n", "host or host:port"),
    ],
)
def test_bad_flavor_and_network_keys_name_the_fix(
    tmp_path: Path, model_yaml: str, says: str
) -> None:
    (tmp_path / "model.yaml").write_text(model_yaml)
    with pytest.raises(ValidatorError, match=r"model\.yaml:") as caught:
        config.load(tmp_path)
    assert says in str(caught.value)


def test_network_hosts_are_kept_lower_case(tmp_path: Path) -> None:
    (tmp_path / "model.yaml").write_text("network: [API.example.com, 10.0.0.5:8080, '[::1]:443']\n")
    loaded = config.load(tmp_path)
    assert loaded.network == ("api.example.com", "10.0.0.5:8080", "[::1]:443")
    assert loaded.flavor == "pyfunc"

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
import pytest
from langchain_core.messages import HumanMessage, SystemMessage

if TYPE_CHECKING:
    from types import ModuleType

    from langchain_core.runnables import Runnable

PROJECT = Path(__file__).resolve().parents[1]
# some tests log the model: into a store of the test session
pytestmark = pytest.mark.usefixtures("tracking_store")


@pytest.fixture(scope="module")
def chain(model_module: ModuleType) -> Runnable[Any, str]:
    runnable: Runnable[Any, str] = model_module.chain
    return runnable


@pytest.fixture(scope="module")
def answer(model_module: ModuleType) -> str:
    (only,) = model_module.ANSWERS
    return str(only)


def test_the_chain_answers_the_example(
    chain: Runnable[Any, str], input_example: list[dict[str, str]], answer: str
) -> None:
    assert chain.batch(input_example) == [answer] * len(input_example)


def test_the_prompt_puts_the_question_under_the_system_message(model_module: ModuleType) -> None:
    messages = model_module.prompt.invoke({"question": "How much green tea?"}).to_messages()

    assert [type(message) for message in messages] == [SystemMessage, HumanMessage]
    assert messages[0].content == model_module.SYSTEM
    assert messages[1].content == "How much green tea?"


def test_the_same_question_gets_the_same_answer(chain: Runnable[Any, str], answer: str) -> None:
    # FakeListChatModel goes through its answers in turn: with one, it never changes
    answers = [chain.invoke({"question": "How much oat milk?"}) for _ in range(3)]

    assert answers == [answer] * 3


def test_the_stream_adds_up_to_the_answer(chain: Runnable[Any, str], answer: str) -> None:
    chunks = list(chain.stream({"question": "How much oat milk?"}))

    assert len(chunks) > 1
    assert all(isinstance(chunk, str) for chunk in chunks)
    assert "".join(chunks) == answer


def test_a_request_without_a_question_is_refused(chain: Runnable[Any, str]) -> None:
    with pytest.raises(KeyError, match="question"):
        chain.invoke({"query": "How much oat milk?"})


def test_input_example_holds_the_chain_s_input_variables(
    model_module: ModuleType, payload: dict[str, Any]
) -> None:
    # serving takes a LangChain model's input under `inputs`; a bare {"question": ...} is refused
    assert list(payload) == ["inputs"]
    assert payload["inputs"]
    for row in payload["inputs"]:
        assert set(row) == set(model_module.prompt.input_variables)


def test_the_logged_chain_answers_through_pyfunc(
    payload: dict[str, Any], answer: str, env: dict[str, str], pinned_requirements: list[str]
) -> None:
    # what the validator and serving do: log the script with the langchain flavor, load it back
    # as a pyfunc model, predict
    with mlflow.start_run():
        info = mlflow.langchain.log_model(
            lc_model=str(PROJECT / "model.py"),
            name="chain",
            input_example=payload["inputs"],
            pip_requirements=pinned_requirements,
        )
    loaded = mlflow.pyfunc.load_model(info.model_uri)

    assert "langchain" in loaded.metadata.flavors
    assert loaded.predict(payload["inputs"]) == [answer] * len(payload["inputs"])
    assert "".join(loaded.predict_stream(payload["inputs"][0])) == answer

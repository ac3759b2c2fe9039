"""A chat agent that answers with the number of words in the user's last message."""

from typing import Any
from uuid import uuid4

import mlflow
from mlflow.pyfunc import ChatAgent
from mlflow.types.agent import ChatAgentMessage, ChatAgentResponse, ChatContext


class WordCounter(ChatAgent):
    def predict(
        self,
        messages: list[ChatAgentMessage],
        context: ChatContext | None = None,
        custom_inputs: dict[str, Any] | None = None,
    ) -> ChatAgentResponse:
        last = next((m.content or "" for m in reversed(messages) if m.role == "user"), "")
        answer = ChatAgentMessage(
            role="assistant",
            content=f"Your message has {len(last.split())} word(s).",
            id=str(uuid4()),
        )
        return ChatAgentResponse(messages=[answer])


mlflow.models.set_model(WordCounter())

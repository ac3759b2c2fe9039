"""An agent that answers by echoing the last thing the user said."""

from collections.abc import Generator
from uuid import uuid4

import mlflow
from mlflow.pyfunc import ResponsesAgent
from mlflow.types.responses import (
    ResponsesAgentRequest,
    ResponsesAgentResponse,
    ResponsesAgentStreamEvent,
)


def last_user_text(request: ResponsesAgentRequest) -> str:
    for item in reversed(request.input):
        data = item.model_dump()
        if data.get("role") == "user":
            content = data.get("content")
            if isinstance(content, str):
                return content
            return " ".join(part.get("text", "") for part in content or [])
    return ""


class EchoAgent(ResponsesAgent):
    def predict(self, request: ResponsesAgentRequest) -> ResponsesAgentResponse:
        text = f"You said: {last_user_text(request)}"
        item = self.create_text_output_item(text=text, id=str(uuid4()))
        return ResponsesAgentResponse(output=[item])

    def predict_stream(
        self, request: ResponsesAgentRequest
    ) -> Generator[ResponsesAgentStreamEvent, None, None]:
        item_id = str(uuid4())
        words = f"You said: {last_user_text(request)}".split(" ")
        for index, word in enumerate(words):
            delta = word if index == 0 else f" {word}"
            yield ResponsesAgentStreamEvent(**self.create_text_delta(delta=delta, item_id=item_id))
        yield ResponsesAgentStreamEvent(
            type="response.output_item.done",
            item=self.create_text_output_item(text=" ".join(words), id=item_id),
        )


mlflow.models.set_model(EchoAgent())

"""A prompt | chat model | parser chain; the chat model is a fake, so it runs offline."""

import mlflow
from langchain_core.language_models import FakeListChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

prompt = ChatPromptTemplate.from_messages(
    [
        ("system", "You answer questions about the weather in one sentence."),
        ("human", "{question}"),
    ]
)
llm = FakeListChatModel(responses=["It is sunny today."])
chain = prompt | llm | StrOutputParser()

mlflow.models.set_model(chain)

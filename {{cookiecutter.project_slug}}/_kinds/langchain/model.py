"""The model of this project, as code: a LangChain chain, logged with MLflow's langchain flavor.

The chain is prompt | chat model | parser: the prompt puts the question under a system message,
the chat model answers, and the parser returns the answer's text. The chat model is
langchain_core's FakeListChatModel, which answers from a fixed list without any network: swap in
a real one once you have an endpoint, add its package to requirements.txt, the variables it reads
to model.yaml's `env` and its host to model.yaml's `network`.

model.yaml says `flavor: langchain`, so the validator logs this script with
mlflow.langchain.log_model(lc_model="model.py"). Serving takes the chain's input variables under
`inputs`: {"inputs": [{"question": "..."}]}.
"""

# {{ cookiecutter.project_name }}: {{ cookiecutter.description }}

from __future__ import annotations

{% import "_kinds/_shared/env.j2" as env -%}
{% set env_names = cookiecutter.env_vars.split(",") | map("trim") | reject("equalto", "") | list -%}
{% if env_names -%}
import os

{% endif -%}
import mlflow
from langchain_core.language_models import FakeListChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
{{- env.read_settings_when_run(env_names) }}

SYSTEM = "You forecast next week's demand of a shop's products. Answer in one sentence."
# FakeListChatModel answers with these in turn, whatever it is asked. A single answer keeps the
# chain deterministic: the same question, the same answer, in the tests and in the validator.
ANSWERS = ["Oat milk: about 114 units over the next 7 days."]

prompt = ChatPromptTemplate.from_messages([("system", SYSTEM), ("human", "{question}")])
chat_model = FakeListChatModel(responses=ANSWERS)
chain = prompt | chat_model | StrOutputParser()

mlflow.models.set_model(chain)

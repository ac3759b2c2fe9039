"""A vector index over two notes, queried with a mock LLM and mock embeddings (runs offline)."""

import mlflow
from llama_index.core import Document, Settings, VectorStoreIndex
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.llms import MockLLM

Settings.llm = MockLLM(max_tokens=16)
Settings.embed_model = MockEmbedding(embed_dim=8)

documents = [
    Document(text="The office opens at nine in the morning and closes at six."),
    Document(text="Visitors sign in at the front desk and wear a badge."),
]
index = VectorStoreIndex.from_documents(documents)

mlflow.models.set_model(index)

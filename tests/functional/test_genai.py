"""GenAI models (ResponsesAgent, ChatAgent, LangChain, LlamaIndex) validated as whole processes,
and checked against MLflow's real scoring server: what the validator says about an input example
must be what `mlflow models serve` does with it.

The projects live in tests/genai_projects/ and are copied to tmp_path before each run."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.functional import genai

pytestmark = pytest.mark.slow

genai_env = genai.genai_env  # the session's environment: a fixture

GOOD = ("responses_agent", "chat_agent", "langchain_chain", "llama_index_query")
# a validate that fails fast offline, with the sandbox environment already in the cache
OFFLINE_BOUND_SECONDS = 30


def _example(project: Path) -> bytes:
    return (project / "input_example.json").read_bytes()


# The projects themselves, without the validator: logged from code with the flavor's own
# log_model, served by `mlflow models serve`. When these fail, the fixture is wrong, not the
# validator.


@pytest.mark.parametrize("name", GOOD)
def test_the_scoring_server_answers_the_example(
    genai_env: genai.GenAIEnv, tmp_path: Path, name: str
) -> None:
    project = genai.copy_project(name, tmp_path / name)
    store = f"sqlite:///{tmp_path / 'store.db'}"
    model_uri = genai.log_model(genai_env, project, store)
    status, body = genai.serve(genai_env, model_uri, store, tmp_path / "serve", _example(project))
    assert status == 200, body


def test_the_scoring_server_refuses_a_bare_dict_for_a_chain(
    genai_env: genai.GenAIEnv, tmp_path: Path
) -> None:
    chain = genai.copy_project("langchain_chain", tmp_path / "langchain_chain")
    bare = genai.copy_project("langchain_bare_dict", tmp_path / "langchain_bare_dict")
    assert (bare / "model.py").read_text() == (chain / "model.py").read_text()
    store = f"sqlite:///{tmp_path / 'store.db'}"
    model_uri = genai.log_model(genai_env, chain, store)
    with genai.serving(genai_env, model_uri, store, tmp_path / "serve") as url:
        refused, refusal = genai.post(url, _example(bare))
        answered, answer = genai.post(url, _example(chain))
    assert refused == 400, refusal
    assert answered == 200, answer


# The validator


@pytest.mark.parametrize("name", GOOD)
def test_good_project_passes_and_its_logged_model_serves(
    genai_env: genai.GenAIEnv, tmp_path: Path, name: str
) -> None:
    project = genai.copy_project(name, tmp_path / name)
    result = genai.validate(genai_env, project)
    assert result.code == 0, result.describe()
    assert result.report["status"] == "passed", result.describe()
    model_uri = result.report["model_uri"]
    assert str(model_uri).startswith("models:/m-"), result.describe()
    assert isinstance(result.report["run_id"], str) and result.report["run_id"]
    # the validator's sandbox predicted the example, as the server must; answers with fresh
    # uuid ids (the agents) are not a difference between sandbox and in-process predictions
    checks = result.checks()
    assert checks["SBX003"]["status"] == "passed", result.describe()
    assert checks["SBX005"]["status"] != "failed", result.describe()
    if name == "responses_agent":
        assert checks["SBX007"]["status"] == "passed", result.describe()
    status, body = genai.serve(
        genai_env, model_uri, genai.tracking_uri(project), tmp_path / "serve", _example(project)
    )
    assert status == 200, body


def test_bare_dict_for_a_chain_fails_sig002(genai_env: genai.GenAIEnv, tmp_path: Path) -> None:
    project = genai.copy_project("langchain_bare_dict", tmp_path / "langchain_bare_dict")
    result = genai.validate(genai_env, project)
    assert result.code == 1, result.describe()
    check = result.checks().get("SIG002")
    assert check is not None and check["status"] == "failed", result.describe()
    assert check["location"] == "input_example.json", result.describe()


def test_chat_payload_for_a_tabular_model_fails_statically(
    genai_env: genai.GenAIEnv, tmp_path: Path
) -> None:
    project = genai.copy_project("tabular_with_chat_payload", tmp_path / "tabular")
    result = genai.validate(genai_env, project)
    assert result.code == 1, result.describe()
    check = result.checks().get("SIG002")
    assert check is not None and check["status"] == "failed", result.describe()
    assert check["location"] == "input_example.json", result.describe()
    assert result.report["run_id"] is None and result.report["model_uri"] is None
    database = project / ".mlflow" / "mlflow.db"
    if database.exists():
        with sqlite3.connect(database) as connection:
            (runs,) = connection.execute("select count(*) from runs").fetchone()
        assert runs == 0


def _urlopen_line(project: Path) -> int:
    lines = (project / "model.py").read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if "urlopen(" in line)


@pytest.fixture(scope="module")
def fetches_online(
    genai_env: genai.GenAIEnv, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, genai.Validation]:
    """fetches_at_load validated once for the module (which also fills the session's cache)."""
    project = genai.copy_project(
        "fetches_at_load", tmp_path_factory.mktemp("fetches") / "fetches_at_load"
    )
    return project, genai.validate(genai_env, project)


def test_contacting_an_undeclared_host_fails_net001(
    fetches_online: tuple[Path, genai.Validation],
) -> None:
    project, result = fetches_online
    assert result.code == 1, result.describe()
    check = result.checks("failed").get("NET001")
    assert check is not None, result.describe()
    assert "example.invalid" in check["message"], json.dumps(check, indent=2)
    assert str(check["location"]).startswith("model.py:"), json.dumps(check, indent=2)
    assert check["location"] == f"model.py:{_urlopen_line(project)}", json.dumps(check, indent=2)


def test_offline_fails_fast_and_names_the_host(
    genai_env: genai.GenAIEnv,
    tmp_path: Path,
    fetches_online: tuple[Path, genai.Validation],
) -> None:
    # fetches_online ran first: the sandbox environment is in the session's cache
    project = genai.copy_project("fetches_at_load", tmp_path / "fetches_at_load")
    result = genai.validate(genai_env, project, "--offline", timeout=OFFLINE_BOUND_SECONDS * 4)
    assert result.code == 1, result.describe()
    assert result.seconds < OFFLINE_BOUND_SECONDS, f"{result.seconds:.1f} s\n{result.describe()}"
    check = result.checks("failed").get("NET001")
    assert check is not None, result.describe()
    assert "example.invalid" in check["message"], json.dumps(check, indent=2)


def test_an_agents_secret_api_key_works_end_to_end_and_is_never_written(
    genai_env: genai.GenAIEnv, tmp_path: Path
) -> None:
    """Declared secret: passed into the sandbox, recorded in environment_variables.txt, and its
    value in no file the validation wrote (the store, the logged model, the report)."""
    project = genai.copy_project("responses_agent", tmp_path / "agent")
    script = project / "model.py"
    source = script.read_text()
    source = source.replace("from uuid import uuid4\n", "import os\nfrom uuid import uuid4\n")
    source = source.replace(
        "class EchoAgent(ResponsesAgent):\n",
        "class EchoAgent(ResponsesAgent):\n"
        "    def __init__(self) -> None:\n"
        "        self.api_key = None\n\n"
        "    def _client(self) -> None:\n"
        '        self.api_key = os.environ["AGENT_API_KEY"]  # the LLM client would use it\n\n',
    )
    source = source.replace(
        '        text = f"You said: {last_user_text(request)}"\n',
        '        self._client()\n        text = f"You said: {last_user_text(request)}"\n',
    )
    script.write_text(source)
    model_yaml = project / "model.yaml"
    model_yaml.write_text(
        model_yaml.read_text()
        + "env:\n  - name: AGENT_API_KEY\n    description: the LLM's key\n    secret: true\n"
    )
    secret = "sk-mfc-test-0123456789abcdef"
    result = genai.validate(genai_env, project, variables={"AGENT_API_KEY": secret})
    assert result.code == 0, result.describe()
    checks = result.checks()
    # read in the sandbox with the caller's value: predict ran there and read it
    assert checks["SBX003"]["status"] == "passed", result.describe()
    assert checks["ENV004"]["status"] == "passed", result.describe()
    # recorded for deployers, and no logged file holds the value
    assert checks["ENV007"]["status"] == "passed", result.describe()
    assert checks["ENV009"]["status"] == "passed", result.describe()
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    recorded = [p for p in written if p.name == "environment_variables.txt"]
    assert recorded and all("AGENT_API_KEY" in p.read_text() for p in recorded)
    assert [p for p in written if secret.encode() in p.read_bytes()] == []
    assert secret not in result.stdout + result.stderr

"""`mfc-validator init`'s static inference, in-process, on small scripts of each shape: the script,
the flavor and its options, the local modules, the requirements, the variables, model_config and
the request, each written with where it came from. The command as a whole process (bad input,
--dry-run, --force, the template's files) is tests/functional/test_init.py."""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path

import pytest
import yaml

from validator.adopt import static
from validator.commands import check as check_command
from validator.commands import init as init_command
from validator.project import config as project_config

PYFUNC = """\
import os

import mlflow
import pandas as pd
from helpers import scale

os.environ["MY_OWN_SETTING"] = "1"


class Model(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        self.token = os.environ["SERVICE_TOKEN"]
        self.region = os.getenv("SERVICE_REGION", "eu")
        self.mine = os.environ["MY_OWN_SETTING"]

    def predict(self, context, model_input, params=None):
        return pd.DataFrame({"y": scale(model_input["x"])})


mlflow.models.set_model(Model())
"""
HELPERS = "def scale(values):\n    return values * 2\n"
DRIVER = """\
import mlflow

mlflow.pyfunc.log_model(
    name="model",
    python_model="forecast.py",
    code_paths=["helpers.py"],
    input_example={"x": [1.0, 2.0]},
    model_config={"threshold": 0.5},
)
"""


class Result:
    def __init__(self, returncode: int, stdout: str) -> None:
        self.returncode = returncode
        self.stdout = stdout


def folder(tmp_path: Path, files: dict[str, str]) -> Path:
    """tmp_path/adopted holding FILES (relative path -> text, dedented)."""
    root = tmp_path / "adopted"
    root.mkdir()
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def init(root: Path, *args: str) -> Result:
    """init.run in-process, as `mfc-validator init ROOT --no-trace ARGS` runs it."""
    options = init_command.InitOptions(force="--force" in args)
    out = io.StringIO()
    status = init_command.run(root, str(root), options, out)
    return Result(status, out.getvalue())


# --- what init infers ------------------------------------------------------------------------


def declaration(root: Path) -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load((root / "model.yaml").read_text(encoding="utf-8"))
    return loaded


def test_a_python_model_with_a_driver_script(tmp_path: Path) -> None:
    root = folder(tmp_path, {"forecast.py": PYFUNC, "helpers.py": HELPERS, "log.py": DRIVER})

    result = init(root)

    assert result.returncode == 0, result.stdout
    text = (root / "model.yaml").read_text(encoding="utf-8")
    loaded = declaration(root)
    assert loaded["script"] == "forecast.py"
    assert loaded["flavor"] == "pyfunc"
    assert loaded["code_paths"] == ["helpers.py"]
    assert loaded["model_config"] == {"threshold": 0.5}
    # the script sets MY_OWN_SETTING itself: not asked of deployers
    assert loaded["env"] == [
        {"name": "SERVICE_TOKEN", "secret": True, "required": True},
        {"name": "SERVICE_REGION", "secret": False, "required": False},
    ]
    assert "script: forecast.py  # calls set_model at line 20 (static)" in text
    assert "  - helpers.py  # imported by forecast.py:5 (static)" in text
    assert "  - name: SERVICE_TOKEN  # read at forecast.py:12 (static)" in text
    assert "model_config:  # model_config= at log.py:3 (static)" in text
    example = json.loads((root / "input_example.json").read_text(encoding="utf-8"))
    assert example == {"dataframe_split": {"columns": ["x"], "data": [[1.0], [2.0]]}}
    requirements = (root / "requirements.txt").read_text(encoding="utf-8")
    assert requirements.splitlines()[2].startswith("mlflow==")
    assert any(line.startswith("pandas==") for line in requirements.splitlines())
    # what init wrote is a project the static checks accept
    report = check_command.run(root, str(root))
    assert [(f.code, f.message) for f in report.checks if f.status == "failed"] == []
    project_config.load(root)


def test_a_langgraph_graph_is_logged_with_the_langchain_flavor(tmp_path: Path) -> None:
    script = """\
        import mlflow
        from langgraph.graph import StateGraph

        builder = StateGraph(dict)
        graph = builder.compile()
        mlflow.models.set_model(graph)
    """
    root = folder(tmp_path, {"agent.py": script})

    result = init(root)

    assert result.returncode == 1, result.stdout  # no request: a placeholder
    loaded = declaration(root)
    assert loaded["flavor"] == "langchain"
    text = (root / "model.yaml").read_text(encoding="utf-8")
    assert "gets a langgraph object (static)" in text
    requirements = (root / "requirements.txt").read_text(encoding="utf-8")
    assert "langgraph  # imported by agent.py:2 (static): not installed here" in requirements
    assert "SIG002 failed: input_example.json:" in result.stdout
    placeholder = json.loads((root / "input_example.json").read_text(encoding="utf-8"))
    assert list(placeholder) == ["FILL_IN"]
    # check names the placeholder too
    report = check_command.run(root, str(root))
    assert "SIG002" in {f.code for f in report.checks if f.status == "failed"}


def test_set_model_s_keyword_argument_and_an_asserted_variable(tmp_path: Path) -> None:
    # as MLflow's own LangChain example writes it: set_model(model=chain), and an assert that
    # the key is set, which demands the variable (an `if ... in os.environ` would be a fallback)
    script = """\
        import os

        import mlflow
        from langchain_core.runnables import RunnableLambda

        assert "OPENAI_API_KEY" in os.environ, "set OPENAI_API_KEY"
        if "CHAIN_PREFIX" in os.environ:
            pass

        chain = RunnableLambda(lambda question: question)
        mlflow.models.set_model(model=chain)
    """
    root = folder(tmp_path, {"chain_as_code.py": script})

    init(root)

    loaded = declaration(root)
    assert loaded["flavor"] == "langchain"
    assert loaded["env"] == [
        {"name": "OPENAI_API_KEY", "secret": True, "required": True},
        {"name": "CHAIN_PREFIX", "secret": False, "required": False},
    ]


@pytest.mark.parametrize(
    ("method", "engine"),
    [("as_query_engine", "query"), ("as_chat_engine", "chat"), ("as_retriever", "retriever")],
)
def test_a_llama_index_engine_gets_its_engine_type(
    tmp_path: Path, method: str, engine: str
) -> None:
    script = f"""\
        import mlflow
        from llama_index.core import Document, VectorStoreIndex

        index = VectorStoreIndex.from_documents([Document(text="hi")])
        engine = index.{method}()
        mlflow.models.set_model(engine)
    """
    root = folder(tmp_path, {"index.py": script})

    init(root)

    loaded = declaration(root)
    assert loaded["flavor"] == "llama_index"
    assert loaded["flavor_options"] == {"engine_type": engine}


def test_a_react_agent_and_a_chat_engine_get_the_request_their_flavor_takes(
    tmp_path: Path,
) -> None:
    agent = """\
        import mlflow
        from langgraph.prebuilt import create_react_agent

        graph = create_react_agent(model=None, tools=[])
        mlflow.models.set_model(graph)
    """
    engine = """\
        import mlflow
        from llama_index.core import VectorStoreIndex

        index = VectorStoreIndex.from_documents([])
        mlflow.models.set_model(index.as_chat_engine())
    """
    plain = """\
        import mlflow
        from langgraph.graph import StateGraph

        graph = StateGraph(dict).compile()
        mlflow.models.set_model(graph)
    """
    for name in ("agent", "engine", "plain"):
        (tmp_path / name).mkdir()
    roots = {
        name: folder(tmp_path / name, {"model.py": script})
        for name, script in (("agent", agent), ("engine", engine), ("plain", plain))
    }
    for root in roots.values():
        init(root)

    def example(name: str) -> object:
        return json.loads((roots[name] / "input_example.json").read_text(encoding="utf-8"))

    message = {"role": "user", "content": "Hello!"}
    assert example("agent") == {"inputs": [{"messages": [message]}]}
    assert example("engine") == {"inputs": ["Hello!"]}
    # a graph over a state of its own: nothing tells its input, so a placeholder, not a guess
    assert list(example("plain")) == ["FILL_IN"]


WORKFLOW = """\
    import mlflow
    from llama_index.core.workflow import Event, StartEvent, StopEvent, Workflow, step


    class Drafted(Event):
        draft: str


    class Writer(Workflow):
        @step
        async def draft(self, ev: StartEvent) -> Drafted:
            return Drafted(draft=f"{ev.topic} in {ev.get('style')} for {ev['reader']}{ev.topic}")

        @step
        async def finish(self, ev: Drafted) -> StopEvent:
            return StopEvent(result=ev.draft)


    mlflow.models.set_model(Writer(timeout=10))
"""
TYPED_START = """\
    import mlflow
    from llama_index.core import workflow as wf


    class Ask(wf.StartEvent):
        question: str
        language: str = "en"


    class Answerer(wf.Workflow):
        @wf.step(num_workers=2)
        async def answer(self, ev: Ask) -> wf.StopEvent:
            return wf.StopEvent(result=ev.question)


    flow = Answerer()
    mlflow.models.set_model(flow)
"""


@pytest.mark.parametrize(
    ("script", "request_", "line"),
    [
        (WORKFLOW, {"topic": "Hello!", "style": "Hello!", "reader": "Hello!"}, 11),
        (TYPED_START, {"question": "Hello!", "language": "Hello!"}, 12),
    ],
    ids=["reads-of-its-start-event", "a-start-event-of-its-own"],
)
def test_a_llama_index_workflow_is_asked_the_fields_its_start_step_reads(
    tmp_path: Path, script: str, request_: dict[str, str], line: int
) -> None:
    root = folder(tmp_path, {"flow.py": script})

    result = init(root)

    assert result.returncode == 0, result.stdout  # no placeholder
    example = json.loads((root / "input_example.json").read_text(encoding="utf-8"))
    assert example == {"inputs": [request_]}
    text = (root / "model.yaml").read_text(encoding="utf-8")
    assert f"start step reads (flow.py:{line}): put real values (static)" in text


def test_a_workflow_whose_start_step_reads_nothing_gets_a_placeholder(tmp_path: Path) -> None:
    reads = next(line for line in WORKFLOW.splitlines() if "Drafted(draft=" in line)
    script = WORKFLOW.replace(reads, '            return Drafted(draft="a fixed draft")')
    root = folder(tmp_path, {"flow.py": script})

    result = init(root)

    assert result.returncode == 1  # SIG002: nothing says what the workflow takes
    example = json.loads((root / "input_example.json").read_text(encoding="utf-8"))
    assert list(example) == ["FILL_IN"]


def test_a_development_config_outside_the_folder_is_a_to_do(tmp_path: Path) -> None:
    script = """\
        import mlflow
        from mlflow.models import ModelConfig

        config = ModelConfig(development_config="tests/pyfunc/sample_code/config.yml")


        def predict(model_input: list[str]) -> list[str]:
            return model_input


        mlflow.models.set_model(predict)
    """
    root = folder(tmp_path, {"model.py": script})

    result = init(root)

    assert (
        "to do: ModelConfig's development_config at model.py:4 names "
        "'tests/pyfunc/sample_code/config.yml', which is not a file of this folder" in result.stdout
    )
    assert "model_config" not in declaration(root) or not declaration(root)["model_config"]


def test_a_prompt_template_s_constructor_gives_the_request(tmp_path: Path) -> None:
    script = """\
        import mlflow
        from langchain_core.prompts import PromptTemplate

        prompt = PromptTemplate(
            template="What is a good name for {product}?", input_variables=["product"]
        )
        mlflow.models.set_model(prompt)
    """
    root = folder(tmp_path, {"chain.py": script})

    init(root)

    example = json.loads((root / "input_example.json").read_text(encoding="utf-8"))
    assert example == {"inputs": [{"product": "Hello!"}]}


def test_the_agent_wrapping_a_graph_is_the_model_not_the_graph_s_fake_llm(tmp_path: Path) -> None:
    # as MLflow's LangGraph ChatAgent sample: a stub LLM class sorts before the agent's class
    script = """\
        import mlflow
        from mlflow.pyfunc import ChatAgent


        class FakeOpenAI:
            def invoke(self, messages):
                return messages


        graph = FakeOpenAI()


        class LangGraphChatAgent(ChatAgent):
            def __init__(self, agent):
                self.agent = agent

            def predict(self, messages, context=None, custom_inputs=None):
                return None


        chat_agent = LangGraphChatAgent(graph)
        mlflow.models.set_model(chat_agent)
    """
    root = folder(tmp_path, {"agent.py": script})

    result = init(root)

    assert result.returncode == 0, result.stdout
    example = json.loads((root / "input_example.json").read_text(encoding="utf-8"))
    assert example == static.mlflow_example("ChatAgent")


@pytest.mark.parametrize(
    ("base", "key"),
    [("ResponsesAgent", "input"), ("ChatAgent", "messages"), ("ChatModel", "messages")],
)
def test_an_agent_gets_mlflow_s_own_example_request(tmp_path: Path, base: str, key: str) -> None:
    script = f"""\
        import mlflow
        from mlflow.pyfunc import {base}


        class Base({base}):
            pass


        class Agent(Base):
            def predict(self, *args):
                return None


        mlflow.models.set_model(Agent())
    """
    root = folder(tmp_path, {"agent.py": script})

    result = init(root)

    assert result.returncode == 0, result.stdout
    example = json.loads((root / "input_example.json").read_text(encoding="utf-8"))
    # MLflow's own request, read from its files (mlflow is not imported)
    assert example == static.mlflow_example(base)
    assert example[key] == [{"role": "user", "content": "Hello!"}]
    text = (root / "model.yaml").read_text(encoding="utf-8")
    assert f"for a {base} (static)" in text


def test_a_typed_model_gets_a_request_from_its_type_hints(tmp_path: Path) -> None:
    script = """\
        import mlflow
        import pydantic
        from mlflow.models import ModelConfig

        CONFIG = ModelConfig(development_config={"scale": 2})


        class Item(pydantic.BaseModel):
            price: float
            count: int
            label: str
            promoted: bool


        class Model(mlflow.pyfunc.PythonModel):
            def predict(self, model_input: list[Item], params=None) -> list[float]:
                return [item.price for item in model_input]


        mlflow.models.set_model(Model())
    """
    root = folder(tmp_path, {"typed.py": script})

    result = init(root)

    assert result.returncode == 0, result.stdout
    example = json.loads((root / "input_example.json").read_text(encoding="utf-8"))
    assert example == {"inputs": [{"price": 0.0, "count": 0, "label": "text", "promoted": False}]}
    assert declaration(root)["model_config"] == {"scale": 2}


def test_a_test_s_input_example_and_a_prompt(tmp_path: Path) -> None:
    script = """\
        import mlflow
        from langchain_core.prompts import ChatPromptTemplate

        chain = ChatPromptTemplate.from_template("Answer {question} for {customer}")
        mlflow.models.set_model(chain)
    """
    test = 'INPUT_EXAMPLE = [{"question": "how many?", "customer": "ACME"}]\n'
    root = folder(tmp_path, {"chain.py": script, "tests/test_chain.py": test})
    init(root)
    example = json.loads((root / "input_example.json").read_text(encoding="utf-8"))
    assert example == {"inputs": [{"question": "how many?", "customer": "ACME"}]}

    (root / "tests" / "test_chain.py").unlink()
    (root / "input_example.json").unlink()  # else --force keeps the folder's own request
    init(root, "--force")
    example = json.loads((root / "input_example.json").read_text(encoding="utf-8"))
    assert example == {"inputs": [{"question": "Hello!", "customer": "Hello!"}]}


def test_a_trace_adds_the_model_s_variables_hosts_and_imports_only(tmp_path: Path) -> None:
    from validator.adopt import traced

    # the model imports openai (not installed here: required all the same, unpinned)
    root = folder(tmp_path, {"forecast.py": "import openai\n" + PYFUNC, "helpers.py": HELPERS})
    adoption = static.infer(root)
    assert "openai" in [r.name for r in adoption.requirements]
    before = [entry.name for entry in adoption.env]
    # the probe's result as the sandbox writes it (validator/sandbox/probe.py)
    result = {
        "env_reads": {
            "OPENAI_API_KEY": {"stage": "load", "user": False, "libraries": ["openai"]},
            # looked up by the SDK but set nowhere (its other options): not the model's
            "AZURE_OPENAI_AD_TOKEN": {"stage": "load", "user": False, "libraries": ["openai"]},
            "MLFLOW_TRACKING_URI": {"stage": "load", "user": False, "libraries": ["mlflow"]},
            "HOME": {"stage": "load", "user": False, "libraries": ["pandas"]},
            # what MLflow's own dependencies and the standard library read: not the model's
            "GIT_DIR": {"stage": "predict", "user": False, "libraries": ["git"]},
            "OTEL_SDK_DISABLED": {
                "stage": "predict",
                "user": False,
                "libraries": ["opentelemetry"],
            },
            "LOGNAME": {"stage": "predict", "user": False, "libraries": ["getpass"]},
            "PANDAS_API_URL": {"stage": "load", "user": False, "libraries": ["getpass", "pandas"]},
            # a library's own tuning, not where to connect nor a credential
            "PANDAS_OPTION": {"stage": "load", "user": False, "libraries": ["pandas"]},
            "ONLY_MLFLOW_READS_IT": {"stage": "load", "user": False, "libraries": ["mlflow"]},
            "SET_BY_THE_MODEL": {"stage": "load", "user": True, "written": True},
            "SERVICE_TOKEN": {"stage": "load", "user": True, "libraries": []},
            "COMPUTED_NAME": {"stage": "predict", "user": True, "libraries": []},
        },
        "connections": {
            "api.openai.com:443": {"host": "api.openai.com", "port": 443, "stage": "predict"},
            "api.openai.com": {"host": "api.openai.com", "port": None, "stage": "predict"},
            "telemetry:443": {"host": "telemetry.mlflow.org", "port": 443, "mlflow": True},
        },
        "user_imports": ["helpers", "pandas", "yaml"],
        "modules": {
            "helpers": {"distributions": []},
            "pandas": {"distributions": ["pandas"]},
            "yaml": {"distributions": ["PyYAML"]},
            "git": {"distributions": ["GitPython"]},
            "opentelemetry": {"distributions": ["opentelemetry-api"]},
            "openai": {"distributions": ["openai"]},
            "getpass": {"distributions": []},
        },
    }

    environ = {"OPENAI_API_KEY": "sk-x", "PANDAS_API_URL": "http://x", "GIT_DIR": "g"}
    said = traced.merge(adoption, result, environ)

    assert said == "added 3 variables, 1 host, 1 requirement"
    added = {e.name: (e.secret, e.required, e.origin) for e in adoption.env if e.name not in before}
    assert added == {
        "COMPUTED_NAME": (False, False, "read by the model's own code while answering (traced)"),
        "OPENAI_API_KEY": (True, False, "read by openai while loading (traced)"),
        "PANDAS_API_URL": (False, False, "read by pandas while loading (traced)"),
    }
    assert [(h.value, h.origin) for h in adoption.network] == [
        ("api.openai.com", "contacted while answering (traced)")
    ]
    assert [r.origin for r in adoption.requirements if r.name.lower() == "pyyaml"] == [
        "the model imported yaml while running, which no import statement shows (traced)"
    ]


def test_force_keeps_the_folder_s_own_request_where_nothing_else_shows_one(
    tmp_path: Path,
) -> None:
    request = {"dataframe_split": {"columns": ["x"], "data": [[1.0]]}}
    root = folder(tmp_path, {"forecast.py": PYFUNC, "helpers.py": HELPERS})
    (root / "input_example.json").write_text(json.dumps(request), encoding="utf-8")

    result = init(root, "--force")

    assert result.returncode == 0, result.stdout  # no placeholder, no SIG002
    assert json.loads((root / "input_example.json").read_text(encoding="utf-8")) == request
    text = (root / "model.yaml").read_text(encoding="utf-8")
    assert "one request from the folder's input_example.json (static)" in text

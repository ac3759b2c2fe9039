"""`mfc-validator init`: a folder holding a models-from-code script becomes a project. The static
inference (--no-trace) on small scripts of each shape, the files it writes and keeps, and bad
input: one line, exit status 2, the folder left exactly as it was."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import run_cli
from validator.commands import check as check_command
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


def snapshot(root: Path) -> dict[str, tuple[int, bytes | None]]:
    """Every path under ROOT with its mode and (for a file) its bytes."""
    found: dict[str, tuple[int, bytes | None]] = {".": (root.stat().st_mode, None)}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        found[relative] = (path.lstat().st_mode, path.read_bytes() if path.is_file() else None)
    return found


def folder(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "adopted"
    root.mkdir()
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def init(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("init", str(root), "--no-trace", *args, timeout=120)


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("mfc-validator: error: ")
    return lines[0]


# --- bad input ------------------------------------------------------------------------------


def test_an_empty_folder_is_one_line_and_left_as_it_was(tmp_path: Path) -> None:
    root = folder(tmp_path, {})
    before = snapshot(root)

    line = one_error_line(init(root))

    assert "holds no Python file" in line
    assert snapshot(root) == before


def test_two_set_model_scripts_are_named_and_left_as_they_were(tmp_path: Path) -> None:
    root = folder(tmp_path, {"a.py": PYFUNC, "b.py": PYFUNC, "helpers.py": HELPERS})
    before = snapshot(root)

    line = one_error_line(init(root))

    assert "a.py, b.py" in line and "--script" in line
    assert snapshot(root) == before
    chosen = init(root, "--script", "b.py")
    assert chosen.returncode in (0, 1), chosen.stderr
    assert "script: b.py" in (root / "model.yaml").read_text(encoding="utf-8")


def test_a_script_that_does_not_compile_is_one_line_and_left_as_it_was(tmp_path: Path) -> None:
    root = folder(
        tmp_path,
        {"model.py": "import mlflow\n\ndef broken(:\n    pass\n\nmlflow.models.set_model(1)\n"},
    )
    before = snapshot(root)

    line = one_error_line(init(root))

    assert "model.py:3:" in line and "does not compile" in line
    assert snapshot(root) == before


def test_a_folder_without_set_model_at_module_level_is_one_line(tmp_path: Path) -> None:
    root = folder(
        tmp_path,
        {"model.py": "import mlflow\n\ndef later():\n    mlflow.models.set_model(1)\n"},
    )
    before = snapshot(root)

    line = one_error_line(init(root))

    assert "model.py" in line and "at module level" in line
    assert snapshot(root) == before


@contextlib.contextmanager
def read_only(root: Path) -> Iterator[None]:
    """ROOT made read-only: by its mode, or (as root, whom modes do not stop) by a read-only
    bind mount of it."""
    if os.geteuid() != 0:
        mode = root.stat().st_mode
        root.chmod(0o555)
        try:
            yield
        finally:
            root.chmod(mode)
        return
    mounted = subprocess.run(["mount", "--bind", str(root), str(root)], check=False)
    if mounted.returncode != 0:
        pytest.skip("running as root, and a read-only bind mount is not allowed here")
    try:
        remounted = subprocess.run(
            ["mount", "-o", "remount,bind,ro", str(root)], check=False, capture_output=True
        )
        if remounted.returncode != 0:
            pytest.skip("running as root, and a read-only bind mount is not allowed here")
        yield
    finally:
        subprocess.run(["umount", str(root)], check=False)


def test_a_read_only_folder_is_one_line_and_left_as_it_was(tmp_path: Path) -> None:
    root = folder(tmp_path, {"forecast.py": PYFUNC, "helpers.py": HELPERS})
    with read_only(root):
        before = snapshot(root)

        line = one_error_line(init(root))

        assert "cannot write there" in line and "--dry-run" in line
        assert snapshot(root) == before


def test_an_existing_model_yaml_is_refused_without_force(tmp_path: Path) -> None:
    root = folder(tmp_path, {"forecast.py": PYFUNC, "helpers.py": HELPERS, "model.yaml": "{}\n"})
    before = snapshot(root)

    line = one_error_line(init(root))

    assert "model.yaml exists" in line and "--force" in line
    assert snapshot(root) == before


# --- what init infers ------------------------------------------------------------------------


def declaration(root: Path) -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load((root / "model.yaml").read_text(encoding="utf-8"))
    return loaded


def test_a_python_model_with_a_driver_script(tmp_path: Path) -> None:
    root = folder(tmp_path, {"forecast.py": PYFUNC, "helpers.py": HELPERS, "log.py": DRIVER})

    result = init(root)

    assert result.returncode == 0, result.stdout + result.stderr
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

    assert result.returncode == 1, result.stdout + result.stderr  # no request: a placeholder
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

    assert result.returncode == 0, result.stdout + result.stderr
    example = json.loads((root / "input_example.json").read_text(encoding="utf-8"))
    assert key in example
    assert "# MLflow's" not in example


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

    assert result.returncode == 0, result.stdout + result.stderr
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
    init(root, "--force")
    example = json.loads((root / "input_example.json").read_text(encoding="utf-8"))
    assert example == {"inputs": [{"question": "Hello!", "customer": "Hello!"}]}


# --- what init writes ------------------------------------------------------------------------


def test_dry_run_writes_nothing_and_force_shows_the_differences(tmp_path: Path) -> None:
    root = folder(tmp_path, {"forecast.py": PYFUNC, "helpers.py": HELPERS, "log.py": DRIVER})
    (root / "requirements.txt").write_text("mlflow\n", encoding="utf-8")
    before = snapshot(root)

    dry = init(root, "--dry-run")

    assert dry.returncode == 0, dry.stderr
    assert snapshot(root) == before
    assert "would write model.yaml" in dry.stdout
    assert "script: forecast.py" in dry.stdout
    assert "kept requirements.txt as it was (--force to replace it)" in dry.stdout

    kept = init(root)
    assert kept.returncode == 0, kept.stderr
    assert (root / "requirements.txt").read_text(encoding="utf-8") == "mlflow\n"
    assert "requirements: requirements.txt  # kept as it was" in (root / "model.yaml").read_text()

    forced = init(root, "--force")
    assert forced.returncode == 0, forced.stderr
    assert "--- a/requirements.txt\n+++ b/requirements.txt\n" in forced.stdout
    assert "-mlflow\n" in forced.stdout
    assert "+mlflow==" in forced.stdout
    assert not [p.name for p in root.iterdir() if p.name.endswith(".tmp")]


def test_with_nox_and_pre_commit_write_the_template_s_files(tmp_path: Path) -> None:
    root = folder(tmp_path, {"forecast.py": PYFUNC, "helpers.py": HELPERS, "log.py": DRIVER})

    result = init(root, "--with-nox", "--with-pre-commit")

    assert result.returncode == 0, result.stderr
    noxfile = (root / "noxfile.py").read_text(encoding="utf-8")
    assert "{{" not in noxfile and "{%" not in noxfile
    compile(noxfile, "noxfile.py", "exec")
    assert "@nox.session" in noxfile
    hooks = yaml.safe_load((root / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    (repo,) = hooks["repos"]
    validate = next(hook for hook in repo["hooks"] if hook["id"] == "mfc-validate")
    pins = [
        line.split()[0]
        for line in (root / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    assert validate["additional_dependencies"][1:] == pins
    # the pre-commit hook installs what the requirements pin (DEP012)
    report = check_command.run(root, str(root))
    assert [(f.code, f.message) for f in report.checks if f.status == "failed"] == []

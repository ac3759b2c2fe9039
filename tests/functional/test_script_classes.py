"""Issue 18's classes of false alarm and wrong blame, each on a minimal reproduction of what a
real public script does, validated as a whole process: MLflow's own telemetry, ids made once per
process, a model that answers only once, a ChatModel whose predict fails inside MLflow's
generated code while MLflow logs it."""

from __future__ import annotations

import json

import pytest

from tests.conftest import GOOD_MODEL, ProjectFactory, run_cli
from tests.pins import MLFLOW

pytestmark = pytest.mark.slow


def _validate(project: object) -> tuple[int, dict[str, dict[str, str]], str]:
    result = run_cli("validate", str(project), "--format", "json")
    assert "Traceback" not in result.stderr, result.stderr
    report = json.loads(result.stdout)
    return result.returncode, {check["code"]: check for check in report["checks"]}, result.stdout


def test_autolog_and_an_id_made_once_per_process_pass(make_project: ProjectFactory) -> None:
    # mlflow.autolog() starts MLflow's telemetry (a thread that looks up its config host), and
    # the id is the same for every call in one process, fresh in each process
    source = (
        GOOD_MODEL.replace("import pandas as pd\n", "import pandas as pd\nimport uuid\n")
        .replace(
            "class Scorer",
            "mlflow.autolog()\nPROCESS_ID = uuid.uuid4().hex\n\n\nclass Scorer",
        )
        .replace(
            'return pd.DataFrame({"score": x @ self.weights})',
            'return pd.DataFrame({"score": x @ self.weights, "process": PROCESS_ID})',
        )
    )
    project = make_project({"model.py": source})

    status, checks, printed = _validate(project)

    assert status == 0, printed
    assert checks["NET001"]["status"] == "passed"
    assert "mlflow-telemetry" not in printed
    sbx005 = checks["SBX005"]
    assert sbx005["status"] == "passed"
    assert (
        "between two fresh processes: $.predictions[0].process, $.predictions[1].process"
        in (sbx005["message"])
    )


def test_a_prediction_that_depends_on_the_folder_names_the_path(
    make_project: ProjectFactory,
) -> None:
    source = GOOD_MODEL.replace(
        "import numpy as np\n", "import os\n\nimport numpy as np\n"
    ).replace(
        'return pd.DataFrame({"score": x @ self.weights})',
        'mode = "notes" if os.path.exists("notes.txt") else "none"\n'
        '        return pd.DataFrame({"score": x @ self.weights, "mode": mode})',
    )
    project = make_project({"model.py": source, "notes.txt": "local only\n"})

    status, checks, printed = _validate(project)

    assert status == 1, printed
    sbx005 = checks["SBX005"]
    assert sbx005["status"] == "failed"
    assert "differ from the in-process ones at 2 paths" in sbx005["message"]
    assert '$.predictions[0].mode: in-process "notes", in the sandbox "none"' in (sbx005["message"])
    assert "$.predictions[1].mode" in sbx005["message"]


def test_a_model_that_answers_only_once_is_named(make_project: ProjectFactory) -> None:
    source = GOOD_MODEL.replace(
        "        self.weights = np.array([0.5, 1.5])",
        "        self.weights = np.array([0.5, 1.5])\n        self.calls = 0",
    ).replace(
        '        x = model_input[["a", "b"]].to_numpy(dtype=float)',
        "        self.calls += 1\n"
        "        if self.calls > 1:\n"
        '            raise RuntimeError("the session is closed")\n'
        '        x = model_input[["a", "b"]].to_numpy(dtype=float)',
    )
    project = make_project({"model.py": source})

    status, checks, printed = _validate(project)

    assert status == 1, printed
    scr008 = checks["SCR008"]
    assert scr008["status"] == "failed"
    assert scr008["message"] == (
        "predict answered input_example.json once, then raised on the same request: "
        "RuntimeError: the session is closed"
    )
    assert scr008["location"] == "model.py:16"
    assert "keeps one loaded model for every request" in scr008["hint"]


CHAT_MODEL = """\
from mlflow.models import set_model
from mlflow.pyfunc import ChatModel
from mlflow.types.llm import ChatCompletionResponse


class Echo(ChatModel):
    def predict(self, context, messages, params=None):
        reply = ["assistant", messages[-1].content]
        return ChatCompletionResponse(choices=[{"index": 0, "message": reply}], model="echo")


set_model(Echo())
"""


def test_a_chat_model_failing_while_mlflow_logs_it_points_at_predict(
    make_project: ProjectFactory,
) -> None:
    project = make_project(
        {
            "model.py": CHAT_MODEL,
            "requirements.txt": f"{MLFLOW}\n",
            "input_example.json": json.dumps({"messages": [{"role": "user", "content": "hi"}]}),
        }
    )

    status, checks, printed = _validate(project)

    assert status == 1, printed
    scr007 = checks["SCR007"]
    assert scr007["location"] == "model.py:9"
    assert scr007["message"].startswith("predict raised while MLflow logged the model: ")
    assert "running `python model.py` alone does not" in scr007["hint"]

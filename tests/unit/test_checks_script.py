from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from validator.checks import script
from validator.project import config
from validator.project.sources import Project


def findings(tmp_path: Path, source: str | None) -> list[tuple[str, str, str | None]]:
    (tmp_path / "model.yaml").write_text("")
    if source is not None:
        (tmp_path / "model.py").write_text(textwrap.dedent(source))
    found = script.run(Project(config.load(tmp_path)))
    return [(f.code, f.status, f.location) for f in found if f.status != "passed"]


@pytest.mark.parametrize(
    "source",
    [
        "import mlflow\nmlflow.models.set_model(1)\n",
        "import mlflow\nmlflow.models.set_model(model=1)\n",
        "import mlflow.models as mm\nmm.set_model(1)\n",
        "from mlflow import models\nmodels.set_model(1)\n",
        "from mlflow.models import set_model as register\nregister(1)\n",
        "import mlflow\nclass M:\n    pass\nmlflow.models.set_model(M())\n",
    ],
)
def test_set_model_at_module_level_passes(tmp_path: Path, source: str) -> None:
    assert findings(tmp_path, source) == []


def test_missing_script_skips_everything(tmp_path: Path) -> None:
    assert findings(tmp_path, None) == [(code, "skipped", None) for code in script.CODES]


def test_syntax_error_names_the_line(tmp_path: Path) -> None:
    found = findings(tmp_path, "import mlflow\n\ndef broken(:\n    pass\n")
    assert found[0] == ("SCR001", "failed", "model.py:3")
    assert found[1:] == [(code, "skipped", None) for code in script.CODES[1:]]


def test_no_set_model(tmp_path: Path) -> None:
    assert findings(tmp_path, "import mlflow\nmodel = 1\n") == [("SCR002", "failed", "model.py")]


def test_set_model_twice_reports_the_extra_calls(tmp_path: Path) -> None:
    source = "from mlflow.models import set_model\nset_model(1)\nset_model(2)\nset_model(3)\n"
    assert findings(tmp_path, source) == [
        ("SCR003", "failed", "model.py:3"),
        ("SCR003", "failed", "model.py:4"),
    ]


@pytest.mark.parametrize(
    "source",
    [
        "import mlflow\ndef main():\n    mlflow.models.set_model(1)\n",
        "import mlflow\nif __name__ == '__main__':\n    mlflow.models.set_model(1)\n",
        "import mlflow\ntry:\n    mlflow.models.set_model(1)\nexcept Exception:\n    pass\n",
        "import mlflow\nfor _ in range(1):\n    mlflow.models.set_model(1)\n",
        "import mlflow\nclass M:\n    mlflow.models.set_model(1)\n",
        "import mlflow\nmodels = [mlflow.models.set_model(m) for m in (1,)]\n",
        "import mlflow\nlater = lambda: mlflow.models.set_model(1)\n",
    ],
)
def test_set_model_hidden_in_a_block(tmp_path: Path, source: str) -> None:
    found = findings(tmp_path, source)
    assert [code for code, _, _ in found] == ["SCR004"]
    assert found[0][2] in ("model.py:2", "model.py:3")


def test_relative_imports(tmp_path: Path) -> None:
    source = (
        "import mlflow\nfrom . import helpers\nfrom ..pkg import x\nmlflow.models.set_model(1)\n"
    )
    assert findings(tmp_path, source) == [
        ("SCR005", "failed", "model.py:2"),
        ("SCR005", "failed", "model.py:3"),
    ]


@pytest.mark.parametrize(
    "decorator", ["@mlflow.models.set_model", "@mlflow.models.set_model()", "@set_model"]
)
def test_set_model_as_a_decorator(tmp_path: Path, decorator: str) -> None:
    source = f"""\
        import mlflow
        from mlflow.models import set_model
        {decorator}
        class Model(mlflow.pyfunc.PythonModel):
            pass
        """
    assert findings(tmp_path, source) == [("SCR006", "failed", "model.py:3")]


def test_unrelated_set_model_is_not_mlflows(tmp_path: Path) -> None:
    source = (
        "import mlflow\ndef set_model(x):\n    pass\nset_model(1)\nmlflow.models.set_model(1)\n"
    )
    assert findings(tmp_path, source) == []


def test_set_model_in_a_conditional_expression(tmp_path: Path) -> None:
    source = "import mlflow\nready = False\nmlflow.models.set_model(1) if ready else None\n"
    assert [code for code, _, _ in findings(tmp_path, source)] == ["SCR004"]


def test_set_model_in_a_with_block(tmp_path: Path) -> None:
    source = (
        "import mlflow, contextlib\nwith contextlib.suppress():\n    mlflow.models.set_model(1)\n"
    )
    assert findings(tmp_path, source) == []


@pytest.mark.parametrize(
    ("source", "line", "says"),
    [
        ("import os\nfrom __future__ import annotations\n", 2, "__future__"),
        ("import mlflow\nreturn 1\n", 2, "'return' outside function"),
        ("import mlflow\n\nnonlocal x\n", 3, "nonlocal"),
        ("import mlflow\nbreak\n", 2, "'break' outside loop"),
        ("import mlflow\nyield 1\n", 2, "'yield' outside function"),
        ("def f():\n    x = 1\n    global x\n", 3, "global"),
    ],
)
def test_what_parses_but_does_not_compile_fails_scr001(
    tmp_path: Path, source: str, line: int, says: str
) -> None:
    # ast.parse accepts each of these; Python refuses to compile them, and so would MLflow
    found = script.run(Project(config.load(_write(tmp_path, source))))
    [failure] = [f for f in found if f.status == "failed"]
    assert (failure.code, failure.location) == ("SCR001", f"model.py:{line}")
    assert says in failure.message and "does not compile" in failure.message
    assert failure.hint and "py_compile" in failure.hint
    assert {f.status for f in found if f.code != "SCR001"} == {"skipped"}


def _write(tmp_path: Path, source: str) -> Path:
    (tmp_path / "model.yaml").write_text("")
    (tmp_path / "model.py").write_text(source)
    return tmp_path


def test_a_clean_script_reports_every_script_code_passed(tmp_path: Path) -> None:
    found = script.run(
        Project(config.load(_write(tmp_path, "import mlflow\nmlflow.models.set_model(1)\n")))
    )
    assert [(f.code, f.status) for f in found] == [(code, "passed") for code in script.CODES]

from __future__ import annotations

import json
import os
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest
from cookiecutter.environment import StrictEnvironment
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter

if TYPE_CHECKING:
    from collections.abc import Iterator

REPO_ROOT = Path(__file__).resolve().parents[2]

BAD_ANSWERS = [
    ("project_slug", "Demand-Forecast"),
    ("project_slug", "1st_forecast"),
    ("project_slug", "demand forecast"),
    ("project_slug", "_private"),
    ("model_name", "team/forecast"),
    ("model_name", "team:forecast"),
    ("model_name", "team\\forecast"),
    ("model_name", "100%"),
    ("model_name", ""),
    ("model_name", "   "),
    ("model_name", "."),
    ("model_name", ".."),
    ("model_name", "..forecast"),
    ("model_name", "x" * 257),
    ("env_vars", "A-KEY"),
    ("env_vars", "1ABC"),
    ("env_vars", "A KEY"),
    ("env_vars", "A_KEY, OTHER, A_KEY"),
    ("python_version", "3.9"),
    ("python_version", "3"),
    ("python_version", "3.x"),
    ("python_version", "2.7"),
    ("python_version", "3.11.4"),
    ("python_version", "python3.11"),
    ("python_version", "4.0"),
    ("project_name", "Demand\nForecast"),
    ("description", "two\nlines"),
]
# Valid answers to the questions pre_gen_project.py checks, without the choices.
ANSWERS = {
    "project_name": "Demand Forecast",
    "project_slug": "demand_forecast",
    "description": "Forecasts demand.",
    "model_name": "demand-forecast",
    "python_version": "3.11",
    "env_vars": "",
}
# Names MLflow's registry accepts, some unusual.
GOOD_MODEL_NAMES = ["demand-forecast", "Demand Forecast v2", "team.forecast", "a..b", "x" * 256]


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("cookiecutter-home")
    path = home / "config.yaml"
    path.write_text(
        f"cookiecutters_dir: {json.dumps(str(home / 'cookiecutters'))}\n"
        f"replay_dir: {json.dumps(str(home / 'replay'))}\n",
        encoding="utf-8",
    )
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("COOKIECUTTER_CONFIG", str(path))
        yield path


def bake(output_dir: Path, config_file: Path, **answers: str) -> Path:
    return Path(
        cookiecutter(
            template=str(REPO_ROOT),
            no_input=True,
            output_dir=str(output_dir),
            config_file=str(config_file),
            extra_context=answers,
        )
    )


@pytest.mark.parametrize(
    ("question", "value"),
    BAD_ANSWERS,
    ids=[f"{question}={value[:20]!r}" for question, value in BAD_ANSWERS],
)
def test_bad_answer_is_refused_in_one_line(
    tmp_path: Path,
    config_file: Path,
    capfd: pytest.CaptureFixture[str],
    question: str,
    value: str,
) -> None:
    # project_name stays a valid source for the slug unless it is the answer under test.
    answers = {"project_slug": "demand_forecast", question: value}

    with pytest.raises(FailedHookException):
        bake(tmp_path, config_file, **answers)

    errors = [line for line in capfd.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert errors[0].startswith(f"error: invalid answer to {question}: {value!r}; expected ")
    assert list(tmp_path.iterdir()) == []


def test_slug_derived_from_an_unusual_project_name_is_refused(
    tmp_path: Path, config_file: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(FailedHookException):
        bake(tmp_path, config_file, project_name="2024 Forecast")

    assert "error: invalid answer to project_slug: '2024_forecast'" in capfd.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", GOOD_MODEL_NAMES)
def test_good_model_name_is_accepted(tmp_path: Path, config_file: Path, name: str) -> None:
    project = bake(tmp_path, config_file, model_name=name)

    assert project.is_dir()


@pytest.mark.parametrize(
    "answers",
    [
        {"project_name": "Prévision des ventes"},
        {"env_vars": " A_KEY , lower_case,_UNDER ,"},
        {"python_version": "3.10"},
        {"python_version": "3.13"},
    ],
)
def test_good_answers_are_accepted(
    tmp_path: Path, config_file: Path, capfd: pytest.CaptureFixture[str], answers: dict[str, str]
) -> None:
    project = bake(tmp_path, config_file, **answers)

    assert project.is_dir()
    assert capfd.readouterr().err == ""


def test_model_name_rules_mirror_mlflow() -> None:
    validation = pytest.importorskip("mlflow.utils.validation")
    file_store = pytest.importorskip("mlflow.store.model_registry.file_store")
    exceptions = pytest.importorskip("mlflow.exceptions")

    def refused(name: str) -> bool:
        try:
            validation._validate_model_name(name)
            file_store._validate_model_name(name)
        except exceptions.MlflowException:
            return True
        return False

    # The SQL stores' column is 256 wide, which MLflow does not check first; '\\' is a path
    # separator, so refused by the file store, only on Windows: the hook refuses both everywhere.
    bad = [value for question, value in BAD_ANSWERS if question == "model_name"]
    expected = ["x" * 257] if os.sep == "\\" else ["team\\forecast", "x" * 257]
    assert [name for name in bad if not refused(name)] == expected
    assert [name for name in GOOD_MODEL_NAMES if refused(name)] == []


def render_hook(name: str, context: dict[str, Any]) -> ModuleType:
    cookiecutter_context = {"cookiecutter": context}
    environment = StrictEnvironment(context=cookiecutter_context, keep_trailing_newline=True)
    source = (REPO_ROOT / "hooks" / name).read_text(encoding="utf-8")
    module = ModuleType(name.removesuffix(".py"))
    exec(
        compile(environment.from_string(source).render(**cookiecutter_context), name, "exec"),
        module.__dict__,
    )
    return module


POST_GEN_CONTEXT = {
    "_template": ".",
    "_repo_dir": ".",
    "_checkout": None,
    "model_kind": "dataframe",
    "ci": "no",
}


@pytest.fixture
def post_gen(config_file: Path) -> ModuleType:
    return render_hook("post_gen_project.py", POST_GEN_CONTEXT)


@pytest.mark.parametrize(
    ("template", "checkout", "spec"),
    [
        ("gh:org/tpl", "v1", "git+https://github.com/org/tpl.git@v1"),
        ("https://github.com/org/tpl", None, "git+https://github.com/org/tpl"),
        ("git+https://example.com/org/tpl.git", "main", "git+https://example.com/org/tpl.git@main"),
        ("git@github.com:org/tpl.git", None, "git+ssh://git@github.com/org/tpl.git"),
        (
            "ssh://git@github.com/org/tpl.git",
            "0a1b2c",
            "git+ssh://git@github.com/org/tpl.git@0a1b2c",
        ),
        ("hg+https://example.com/tpl", None, "hg+https://example.com/tpl"),
        (
            "https://example.com/tpl/archive/main.zip",
            None,
            "https://example.com/tpl/archive/main.zip",
        ),
    ],
)
def test_remote_template_gives_a_pip_requirement(
    post_gen: ModuleType, template: str, checkout: str | None, spec: str
) -> None:
    assert post_gen.validator_spec(template, "/home/u/.cookiecutters/tpl", checkout) == spec


def test_local_templates_give_absolute_paths(
    post_gen: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "cookiecutter.json").write_text("{}", encoding="utf-8")
    (tmp_path / "tpl.zip").write_bytes(b"")
    monkeypatch.setenv("PWD", str(tmp_path))
    monkeypatch.setattr(os, "getppid", lambda: 2**22 + 1)

    assert post_gen.validator_spec("tpl", "tpl", None) == str((tmp_path / "tpl").resolve())
    assert post_gen.validator_spec(str(tmp_path / "tpl"), str(tmp_path / "tpl"), "v1") == str(
        (tmp_path / "tpl").resolve()
    )
    assert post_gen.validator_spec("tpl.zip", "/tmp/unzipped", None) == str(
        (tmp_path / "tpl.zip").resolve()
    )


def test_unresolvable_template_warns_without_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module = render_hook(
        "post_gen_project.py", {**POST_GEN_CONTEXT, "_template": "gone", "_repo_dir": "gone"}
    )
    _rendered_kinds(tmp_path)
    monkeypatch.setenv("PWD", str(tmp_path))
    monkeypatch.setattr(os, "getppid", lambda: 2**22 + 1)
    monkeypatch.chdir(tmp_path)

    assert module.main() == 0

    err = capsys.readouterr().err
    assert err.startswith("warning: could not resolve where the validator comes from")
    assert "MFC_VALIDATOR_SPEC" in err
    assert "Traceback" not in err


def test_the_choices_the_pre_gen_hook_knows_are_cookiecutter_json_s() -> None:
    choices = json.loads((REPO_ROOT / "cookiecutter.json").read_text(encoding="utf-8"))
    pre_gen = render_hook("pre_gen_project.py", {**ANSWERS, "model_kind": "x", "ci": "x"})

    assert list(pre_gen.MODEL_KINDS) == choices["model_kind"]
    assert list(pre_gen.CI_CHOICES) == choices["ci"]
    assert set(choices["_requirements"]) == set(choices["model_kind"])


@pytest.mark.parametrize(("question", "value"), [("model_kind", "lstm"), ("ci", "maybe")])
def test_a_choice_cookiecutter_did_not_ask_for_is_refused(
    capsys: pytest.CaptureFixture[str], question: str, value: str
) -> None:
    # a replay file brings its answers unchecked
    answers = {**ANSWERS, "model_kind": "typed", "ci": "no", question: value}

    assert render_hook("pre_gen_project.py", answers).main() == 1

    err = capsys.readouterr().err
    assert err.startswith(f"error: invalid answer to {question}: {value!r}; expected one of ")


def _rendered_kinds(project: Path) -> None:
    kinds = {"dataframe": ["model.py"], "typed": ["model.py", "tests/test_model.py"]}
    for kind, files in kinds.items():
        for name in files:
            path = project / "_kinds" / kind / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{kind} {name}", encoding="utf-8")
    (project / "tests").mkdir()
    (project / "tests" / "conftest.py").write_text("shared", encoding="utf-8")
    (project / ".github" / "workflows").mkdir(parents=True)
    (project / ".github" / "workflows" / "validate.yml").write_text("on: push", encoding="utf-8")


@pytest.mark.parametrize("ci", ["no", "yes"])
def test_the_chosen_kind_s_files_are_moved_into_place(
    post_gen: ModuleType, tmp_path: Path, ci: str
) -> None:
    _rendered_kinds(tmp_path)

    post_gen.assemble(tmp_path, "typed", ci)

    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    workflow = [".github/workflows/validate.yml"] if ci == "yes" else []
    assert files == sorted([*workflow, "model.py", "tests/conftest.py", "tests/test_model.py"])
    assert (tmp_path / "model.py").read_text(encoding="utf-8") == "typed model.py"


def test_an_unknown_kind_fails_the_hook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _rendered_kinds(tmp_path)
    module = render_hook("post_gen_project.py", {**POST_GEN_CONTEXT, "model_kind": "lstm"})
    monkeypatch.chdir(tmp_path)

    assert module.main() == 1

    assert capsys.readouterr().err == (
        "error: could not assemble the project: the template has no model kind 'lstm'\n"
    )

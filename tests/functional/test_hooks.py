"""The template's answers as cookiecutter bakes them: the pre-generation hook refuses a bad answer
in one line and leaves nothing behind, and accepts the unusual good ones."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter

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
# Names MLflow's registry accepts, some unusual.
GOOD_MODEL_NAMES = ["demand-forecast", "Demand Forecast v2", "team.forecast", "a..b", "x" * 256]


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


@pytest.mark.parametrize("name", ["AGENT_ENDPOINT", "AGENT_API_KEY"])
def test_the_agent_s_own_variables_are_refused_as_answers(
    tmp_path: Path, config_file: Path, capfd: pytest.CaptureFixture[str], name: str
) -> None:
    # the agent's model.yaml declares them, optional: an answer would declare them twice
    with pytest.raises(FailedHookException):
        bake(tmp_path, config_file, model_kind="agent", env_vars=name)

    errors = [line for line in capfd.readouterr().err.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: invalid answer to env_vars: {name!r}; expected variables other than "
        "AGENT_ENDPOINT, AGENT_API_KEY, which the agent model declares itself"
    ]
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


# in-process, but what it checks are the answers baked above, so it stays beside them
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

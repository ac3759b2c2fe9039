"""DEP012: the mfc-validate hook's additional_dependencies against the requirements file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pins import MLFLOW, NUMPY, PANDAS, PINS
from validator.checks import precommit
from validator.project import config
from validator.project.sources import Project

HOOKS = """\
repos:
  - repo: local
    hooks:
      - id: mfc-check
        name: check
        entry: mfc-validator check
        language: python
        additional_dependencies: [numpy==1.0.0]  # not-a-pin
      - id: mfc-validate
        name: validate
        entry: mfc-validator validate
        language: python
        additional_dependencies:
          - "/path/to/the/template"
{dependencies}
"""
REQUIREMENTS = f"{MLFLOW}\n{NUMPY}  # arrays\n{PANDAS}\n"


def project(tmp_path: Path, dependencies: list[str] | None) -> Project:
    (tmp_path / "model.yaml").write_text("name: m\n")
    (tmp_path / "requirements.txt").write_text(REQUIREMENTS)
    if dependencies is not None:
        listed = "\n".join(f"          - {item}" for item in dependencies)
        (tmp_path / ".pre-commit-config.yaml").write_text(HOOKS.format(dependencies=listed))
    return Project(config.load(tmp_path))


def test_the_same_pins_pass(tmp_path: Path) -> None:
    deps = [MLFLOW, NUMPY, PANDAS]
    [finding] = precommit.drift(project(tmp_path, deps))
    assert (finding.code, finding.status) == ("DEP012", "passed")


@pytest.mark.parametrize(
    ("dependencies", "problem"),
    [
        ([MLFLOW, NUMPY], f"{PANDAS} is missing"),
        (
            [MLFLOW, "numpy==2.4.5", PANDAS],  # not-a-pin: the drift
            "numpy is ==2.4.5 there but ==" + PINS["numpy"],
        ),
        ([MLFLOW, "numpy", PANDAS], "numpy is unpinned there but ==" + PINS["numpy"]),
        (
            [MLFLOW, NUMPY, PANDAS, "scikit-learn==1.9.1"],
            "scikit-learn==1.9.1 is not in requirements.txt",
        ),
    ],
)
def test_drift_warns_naming_the_distribution_and_the_line(
    tmp_path: Path, dependencies: list[str], problem: str
) -> None:
    [finding] = precommit.drift(project(tmp_path, dependencies))
    assert (finding.code, finding.status) == ("DEP012", "warning")
    assert problem in finding.message
    assert finding.location == ".pre-commit-config.yaml:9"
    assert finding.hint and "additional_dependencies" in finding.hint


def test_names_compare_as_pep_503_names(tmp_path: Path) -> None:
    deps = [MLFLOW.upper(), NUMPY.replace("numpy", "NumPy"), PANDAS]
    assert precommit.drift(project(tmp_path, deps))[0].status == "passed"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (None, "has no .pre-commit-config.yaml"),
        ("repos: []\n", "has no mfc-validate hook"),
        ("repos: [\n", "cannot be read"),
    ],
)
def test_skipped_without_a_hook(tmp_path: Path, text: str | None, reason: str) -> None:
    found = project(tmp_path, None)
    if text is not None:
        (tmp_path / ".pre-commit-config.yaml").write_text(text)
    [finding] = precommit.drift(found)
    assert (finding.code, finding.status) == ("DEP012", "skipped")
    assert reason in finding.message


def test_the_hook_is_found_past_a_commented_example_of_it(tmp_path: Path) -> None:
    found = project(tmp_path, [MLFLOW])
    config_file = tmp_path / ".pre-commit-config.yaml"
    config_file.write_text("#   - id: mfc-validate\n" + config_file.read_text())
    [finding] = precommit.drift(Project(config.load(tmp_path)))
    assert found is not None and finding.location == ".pre-commit-config.yaml:10"


def test_a_credential_in_a_pin_is_never_shown() -> None:
    found = precommit.pins(["private @ https://bot:s3cr3t-t0ken@files.example.com/private-1.0.whl"])
    assert found == {"private": "@https://***@files.example.com/private-1.0.whl"}

"""Sessions of this model project: `nox -s tests`, `nox -s validate`, `nox -s register`
{%- if cookiecutter.model_kind == "artifacts" %},
and `nox -s train`{% endif %}."""

from __future__ import annotations

import os

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests"]

PYTHON = "{{ cookiecutter.python_version }}"
REQUIREMENTS = "requirements.txt"

# The validator comes from the template this project was generated from (a local path, or a
# git+URL@rev); MFC_VALIDATOR_SPEC, any pip requirement, overrides it.
DEFAULT_VALIDATOR_SPEC = {{ cookiecutter._repo_dir | tojson }}


def validator_spec() -> str:
    return os.environ.get("MFC_VALIDATOR_SPEC") or DEFAULT_VALIDATOR_SPEC


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the model's own tests."""
    session.install("-r", REQUIREMENTS, "pytest")
    session.run("pytest", "tests", *session.posargs)


@nox.session(python=PYTHON)
def validate(session: nox.Session) -> None:
    """Check the project, log the model and predict with it in a rebuilt environment."""
    session.install("-r", REQUIREMENTS, validator_spec())
    session.run("mfc-validator", "validate", ".", *session.posargs)


@nox.session(python=PYTHON)
def register(session: nox.Session) -> None:
    """Register the model once these exact files passed validation (validates if need be)."""
    session.install("-r", REQUIREMENTS, validator_spec())
    session.run("mfc-validator", "register", ".", *session.posargs)
{%- if cookiecutter.model_kind == "artifacts" %}


@nox.session(python=PYTHON)
def train(session: nox.Session) -> None:
    """Retrain the estimator: rewrite model.skops and evaluation.csv (deterministic)."""
    session.install("-r", REQUIREMENTS)
    session.run("python", "train.py", *session.posargs)
{%- endif %}

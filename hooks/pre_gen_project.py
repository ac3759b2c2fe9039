"""Refuse answers the generated project could not work with, in one line naming the question."""

from __future__ import annotations

import json
import posixpath
import re
import sys

# Cookiecutter renders this script with Jinja; tojson makes every answer a safe JSON literal.
ANSWERS: dict[str, object] = json.loads(
    r""" {
        "project_name": {{ cookiecutter.project_name | tojson }},
        "project_slug": {{ cookiecutter.project_slug | tojson }},
        "description": {{ cookiecutter.description | tojson }},
        "model_name": {{ cookiecutter.model_name | tojson }},
        "python_version": {{ cookiecutter.python_version | tojson }},
        "env_vars": {{ cookiecutter.env_vars | tojson }},
        "model_kind": {{ cookiecutter.model_kind | tojson }},
        "dependencies": {{ cookiecutter.dependencies | tojson }},
        "ci": {{ cookiecutter.ci | tojson }}
    } """
)

SLUG = re.compile(r"[a-z][a-z0-9_]*")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
PYTHON_VERSION = re.compile(r"3\.([1-9][0-9]+)")
# mlflow.utils.validation refuses '/' and ':'; the file registry store also '\' and '%'.
MODEL_NAME_FORBIDDEN = ("/", ":", "\\", "%")
# The SQL registry stores keep a registered model name in a VARCHAR(256).
MODEL_NAME_MAX_LENGTH = 256
# The choices in cookiecutter.json; the model kinds are the template's folders, which the
# post-generation hook checks, as it checks the variables a kind declares itself.
DEPENDENCIES_CHOICES = ("requirements", "uv")
CI_CHOICES = ("no", "yes")


class AnswerError(Exception):
    def __init__(self, question: str, value: object, expected: str) -> None:
        super().__init__(f"invalid answer to {question}: {value!r}; expected {expected}")


def check_single_line(question: str, value: str) -> None:
    if any(char in value for char in "\r\n") or not value.isprintable():
        raise AnswerError(question, value, "a single line of printable text")


def check_slug(value: str) -> None:
    if not SLUG.fullmatch(value):
        raise AnswerError(
            "project_slug",
            value,
            "a folder name of lower-case letters, digits and '_', starting with a letter",
        )


def check_model_name(value: str) -> None:
    # Mirrors mlflow.utils.validation._validate_model_name and the file store's additions.
    if not value.strip():
        raise AnswerError("model_name", value, "a non-empty registered model name")
    forbidden = [char for char in MODEL_NAME_FORBIDDEN if char in value]
    if forbidden:
        raise AnswerError(
            "model_name",
            value,
            "a registered model name without " + ", ".join(repr(c) for c in MODEL_NAME_FORBIDDEN),
        )
    if posixpath.normpath(value) != value or value == "." or value.startswith(".."):
        raise AnswerError(
            "model_name", value, "a registered model name that is not '.' and does not start '..'"
        )
    if len(value) > MODEL_NAME_MAX_LENGTH:
        raise AnswerError(
            "model_name",
            value,
            f"a registered model name of at most {MODEL_NAME_MAX_LENGTH} characters",
        )


def check_python_version(value: str) -> None:
    if not PYTHON_VERSION.fullmatch(value):
        raise AnswerError("python_version", value, "'3.N' with N >= 10, such as '3.11'")


def check_env_vars(value: str) -> None:
    seen: set[str] = set()
    for name in (part.strip() for part in value.split(",")):
        if not name:
            continue
        if not ENV_NAME.fullmatch(name):
            raise AnswerError(
                "env_vars",
                value,
                f"comma-separated variable names of letters, digits and '_', not {name!r}",
            )
        if name in seen:
            raise AnswerError("env_vars", value, f"each variable once, but {name!r} is repeated")
        seen.add(name)


def check_choice(question: str, value: str, choices: tuple[str, ...]) -> None:
    # cookiecutter checks choices it asks for, but not those a replay file brings
    if value not in choices:
        raise AnswerError(question, value, "one of " + ", ".join(repr(c) for c in choices))


def main() -> int:
    answers = {key: str(value) for key, value in ANSWERS.items()}
    try:
        check_single_line("project_name", answers["project_name"])
        check_single_line("description", answers["description"])
        check_slug(answers["project_slug"])
        check_model_name(answers["model_name"])
        check_python_version(answers["python_version"])
        check_env_vars(answers["env_vars"])
        check_choice("dependencies", answers["dependencies"], DEPENDENCIES_CHOICES)
        check_choice("ci", answers["ci"], CI_CHOICES)
    except AnswerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

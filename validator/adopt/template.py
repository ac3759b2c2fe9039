"""`init --with-nox` / `--with-pre-commit`: the template's own noxfile.py and
.pre-commit-config.yaml, rendered (with Jinja, as cookiecutter renders them) for the adopted
project, so that it lives like a generated one. The template is this checkout's: the validator
installed from a clone or a git URL of the repository has it beside the package."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from validator.errors import ValidatorError
from validator.project.requirements import requirement_lines

TEMPLATE_ROOT = Path(__file__).resolve().parents[2]
PROJECT_FOLDER = "{{cookiecutter.project_slug}}"
# the kind whose requirements the pre-commit configuration includes: the adopted project's own
_ADOPTED = "_adopted"


def _answers() -> dict[str, Any]:
    path = TEMPLATE_ROOT / "cookiecutter.json"
    try:
        answers: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ValidatorError(
            "--with-nox and --with-pre-commit render the template's files, and the template is "
            f"not beside this validator ({TEMPLATE_ROOT}): install it from a clone of "
            "mlflow-models-from-code (pip install path/to/clone)"
        ) from None
    return answers


def render_files(
    root: Path, with_nox: bool, with_pre_commit: bool, requirements: str
) -> dict[str, str]:
    """{file name: text} of the template's files asked for, rendered for the project at ROOT
    whose requirements are REQUIREMENTS."""
    answers = _answers()
    try:
        import jinja2
    except ImportError:
        raise ValidatorError(
            "--with-nox and --with-pre-commit need Jinja2 (pip install jinja2), which renders "
            "the template's files"
        ) from None
    pins = [line for line in requirement_lines(requirements) if not line.startswith("-")]
    loader = jinja2.ChoiceLoader(
        [
            jinja2.DictLoader({f"_kinds/{_ADOPTED}/requirements.txt": "\n".join(pins) + "\n"}),
            jinja2.FileSystemLoader(str(TEMPLATE_ROOT / PROJECT_FOLDER)),
        ]
    )
    environment = jinja2.Environment(
        loader=loader, keep_trailing_newline=True, undefined=jinja2.StrictUndefined
    )
    context = {
        "cookiecutter": {
            **{key: value for key, value in answers.items() if not key.startswith("__")},
            "project_slug": root.resolve().name,
            "model_kind": _ADOPTED,
            "dependencies": "requirements",  # init writes requirements.txt
            "python_version": f"{sys.version_info.major}.{sys.version_info.minor}",
            "_repo_dir": str(TEMPLATE_ROOT),
            "_template": str(TEMPLATE_ROOT),
        }
    }
    asked = (("noxfile.py", with_nox), (".pre-commit-config.yaml", with_pre_commit))
    names = [name for name, wanted in asked if wanted]
    try:
        return {name: environment.get_template(name).render(context) for name in names}
    except jinja2.TemplateError as exc:  # the template and this validator disagree: a bug
        raise RuntimeError(f"rendering the template's {names}: {exc}") from exc

"""The template's hooks rendered and run in-process: the pip requirement the post-generation hook
derives from where the template came from, how it assembles the chosen kind, and the choices the
pre-generation hook knows."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cookiecutter.environment import StrictEnvironment

REPO_ROOT = Path(__file__).resolve().parents[2]

# Valid answers to the questions pre_gen_project.py checks, without the choices.
ANSWERS = {
    "project_name": "Demand Forecast",
    "project_slug": "demand_forecast",
    "description": "Forecasts demand.",
    "model_name": "demand-forecast",
    "python_version": "3.11",
    "env_vars": "",
}


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
    "env_vars": "",
    "dependencies": "requirements",
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


# cruft renders with generate_files alone: _template (absolute or a URL) and _commit, no _repo_dir
# and no _checkout
CRUFT_CONTEXT = {
    "model_kind": "dataframe",
    "env_vars": "",
    "dependencies": "requirements",
    "ci": "no",
    "_commit": "0a1b2c3d",
}


def _post_gen_under_cruft(project: Path, template: str) -> str:
    """Run the post-generation hook as cruft renders it; the validator spec it writes."""
    module = render_hook("post_gen_project.py", {**CRUFT_CONTEXT, "_template": template})
    _rendered_kinds(project)
    (project / "noxfile.py").write_text('DEFAULT_VALIDATOR_SPEC = "x"\n', encoding="utf-8")
    (project / ".pre-commit-config.yaml").write_text("", encoding="utf-8")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.chdir(project)
        assert module.main() == 0
    return (project / "noxfile.py").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("template", "spec"),
    [
        ("https://example.com/org/tpl.git", "git+https://example.com/org/tpl.git@0a1b2c3d"),
        ("git@github.com:org/tpl.git", "git+ssh://git@github.com/org/tpl.git@0a1b2c3d"),
        # cruft clones with git even where cookiecutter could not tell the kind from the URL
        ("https://example.com/org/tpl", "git+https://example.com/org/tpl@0a1b2c3d"),
        ("file:///srv/templates/tpl", "git+file:///srv/templates/tpl@0a1b2c3d"),
    ],
)
def test_under_cruft_a_git_template_is_pinned_at_its_commit(
    tmp_path: Path, template: str, spec: str
) -> None:
    noxfile = _post_gen_under_cruft(tmp_path, template)

    assert noxfile == f"DEFAULT_VALIDATOR_SPEC = {json.dumps(spec)}\n"


def test_under_cruft_a_local_template_is_its_absolute_path(tmp_path: Path) -> None:
    template = tmp_path / "tpl"
    template.mkdir()
    (template / "cookiecutter.json").write_text("{}", encoding="utf-8")
    (tmp_path / "project").mkdir()

    noxfile = _post_gen_under_cruft(tmp_path / "project", str(template))

    assert noxfile == f"DEFAULT_VALIDATOR_SPEC = {json.dumps(str(template))}\n"


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
    pre_gen = render_hook(
        "pre_gen_project.py", {**ANSWERS, "model_kind": "x", "dependencies": "x", "ci": "x"}
    )

    assert list(pre_gen.CI_CHOICES) == choices["ci"]
    assert list(pre_gen.DEPENDENCIES_CHOICES) == choices["dependencies"]


@pytest.mark.parametrize(
    ("question", "chosen"), [("ci", {"ci": "maybe"}), ("dependencies", {"dependencies": "pip"})]
)
def test_a_choice_cookiecutter_did_not_ask_for_is_refused(
    capsys: pytest.CaptureFixture[str], question: str, chosen: dict[str, str]
) -> None:
    # a replay file brings its answers unchecked
    answers = {**ANSWERS, "model_kind": "typed", "dependencies": "uv", "ci": "no", **chosen}

    assert render_hook("pre_gen_project.py", answers).main() == 1

    err = capsys.readouterr().err
    assert err.startswith(f"error: invalid answer to {question}: {chosen[question]!r}; expected ")


def _rendered_kinds(project: Path) -> None:
    kinds = {
        "_shared": ["env.j2"],
        "dataframe": ["model.py"],
        "typed": ["model.py", "tests/test_model.py", "model.yaml"],
    }
    for kind, files in kinds.items():
        for name in files:
            path = project / "_kinds" / kind / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"# {kind} {name}\n", encoding="utf-8")
    (project / "tests").mkdir()
    (project / "tests" / "conftest.py").write_text("shared", encoding="utf-8")
    (project / "model.yaml").write_text("# shared\n", encoding="utf-8")
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
    expected = ["model.py", "model.yaml", "tests/conftest.py", "tests/test_model.py"]
    assert files == sorted([*workflow, *expected])
    assert (tmp_path / "model.py").read_text(encoding="utf-8") == "# typed model.py\n"
    # the kind's part replaces the shared file it extends
    assert (tmp_path / "model.yaml").read_text(encoding="utf-8") == "# typed model.yaml\n"


def test_an_unknown_kind_fails_the_hook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _rendered_kinds(tmp_path)
    module = render_hook("post_gen_project.py", {**POST_GEN_CONTEXT, "model_kind": "lstm"})
    monkeypatch.chdir(tmp_path)

    assert module.main() == 1

    # the kinds are the folders, _shared/ aside
    assert capsys.readouterr().err == (
        "error: invalid answer to model_kind: 'lstm'; expected one of 'dataframe', 'typed'\n"
    )
    assert (tmp_path / "_kinds").is_dir()  # nothing assembled


AGENT_ENV = """env:
  - name: AGENT_ENDPOINT
    required: false
  - name: AGENT_API_KEY
    required: false
"""


@pytest.mark.parametrize("name", ["AGENT_ENDPOINT", "AGENT_API_KEY"])
def test_a_variable_the_kind_declares_itself_is_refused(
    post_gen: ModuleType, tmp_path: Path, name: str
) -> None:
    # the kind's model.yaml declares it, optional; the answer declared it again, required
    (tmp_path / "model.yaml").write_text(
        f"{AGENT_ENV}  - name: A_KEY\n  - name: {name}\n", encoding="utf-8"
    )

    with pytest.raises(post_gen.AnswerError) as raised:
        post_gen.check_own_env(tmp_path, "agent", f"A_KEY, {name}")

    assert str(raised.value) == (
        f"invalid answer to env_vars: 'A_KEY, {name}'; expected variables other than "
        "AGENT_ENDPOINT, AGENT_API_KEY, which the agent model declares itself"
    )


@pytest.mark.parametrize("declared", [AGENT_ENV, "env: []\n", "name: x\n"])
def test_variables_declared_once_pass(post_gen: ModuleType, tmp_path: Path, declared: str) -> None:
    (tmp_path / "model.yaml").write_text(declared, encoding="utf-8")

    post_gen.check_own_env(tmp_path, "agent", "A_KEY")


@pytest.mark.parametrize(
    ("dependencies", "kept"), [("requirements", "requirements.txt"), ("uv", "pyproject.toml")]
)
def test_only_the_chosen_dependency_file_is_kept(
    post_gen: ModuleType, tmp_path: Path, dependencies: str, kept: str
) -> None:
    for name in ("requirements.txt", "pyproject.toml"):
        (tmp_path / name).write_text("mlflow\n", encoding="utf-8")

    post_gen.keep_dependency_files(tmp_path, dependencies)

    assert sorted(path.name for path in tmp_path.iterdir()) == [kept]


def test_uv_is_found_as_nox_finds_it(
    post_gen: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uv = tmp_path / "bin" / "uv"
    uv.parent.mkdir()
    uv.write_text("#!/bin/sh\n", encoding="utf-8")
    uv.chmod(0o755)
    monkeypatch.setenv("PATH", str(uv.parent))
    monkeypatch.setattr(post_gen.sys, "executable", str(tmp_path / "python"))
    monkeypatch.delenv("UV", raising=False)

    assert post_gen.find_uv() == str(uv)
    monkeypatch.setenv("UV", str(tmp_path / "elsewhere" / "uv"))  # $UV, where nox also looks
    assert post_gen.find_uv() is None
    monkeypatch.delenv("UV")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert post_gen.find_uv() is None
    monkeypatch.setattr(post_gen.sys, "executable", str(uv.parent / "python"))
    assert post_gen.find_uv() == str(uv)  # beside cookiecutter's Python: pip install nox[uv]


def test_uv_s_error_is_one_line_of_its_error_and_causes(post_gen: ModuleType) -> None:
    stderr = (
        "Using CPython 3.11.7\n"
        "error: No solution found when resolving dependencies\n"
        "  cause: Because mlflow was not found in the cache, we can conclude ...\n"
        "\n"
        "hint: Packages were unavailable because the network was disabled.\n"
    )

    assert post_gen.uv_error(stderr) == (
        "error: No solution found when resolving dependencies "
        "cause: Because mlflow was not found in the cache, we can conclude ..."
    )
    assert post_gen.uv_error("") == "no message"


def test_a_uv_project_without_uv_is_generated_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module = render_hook("post_gen_project.py", {**POST_GEN_CONTEXT, "dependencies": "uv"})
    project = tmp_path / "demand_forecast"
    _rendered_kinds(project)
    for name in ("requirements.txt", "pyproject.toml"):
        (project / name).write_text("mlflow\n", encoding="utf-8")
    monkeypatch.chdir(project)
    monkeypatch.setattr(module, "find_uv", lambda: None)

    assert module.main() == 0

    warnings = [line for line in capsys.readouterr().err.splitlines() if "uv.lock" in line]
    assert warnings == [
        "warning: uv.lock was not written: uv is not installed (pip install uv, or see "
        "https://docs.astral.sh/uv/). The project is generated; run `uv lock` in "
        "demand_forecast/ (nox -s lock does it too) before validating it"
    ]
    assert (project / "pyproject.toml").is_file() and not (project / "requirements.txt").exists()
    assert not (project / "uv.lock").exists()


def test_a_failing_uv_lock_is_said_in_one_line(post_gen: ModuleType, tmp_path: Path) -> None:
    uv = tmp_path / "uv"
    uv.write_text(
        "#!/bin/sh\necho 'error: lock failed' >&2\necho '  cause: no index' >&2\nexit 2\n"
    )
    uv.chmod(0o755)

    assert post_gen.lock_uv_project(tmp_path, str(uv)) == (
        "`uv lock` failed: error: lock failed cause: no index"
    )
    assert post_gen.lock_uv_project(tmp_path, str(tmp_path / "gone")).startswith(
        "`uv lock` could not run: "
    )

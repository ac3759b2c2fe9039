from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from cookiecutter.main import cookiecutter

from tests.conftest import run_cli
from tests.functional.nox_session import run_nox
from tests.pins import MLFLOW, NUMPY, PANDAS, rendered
from validator.checks import secrets
from validator.commands import check as check_command
from validator.project import config as project_config
from validator.project import uv_project
from validator.project.sources import Project

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the package supports Python 3.10
    import tomli as tomllib

REPO_ROOT = Path(__file__).resolve().parents[2]


def _git_head(folder: Path) -> str | None:
    found = subprocess.run(
        ["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    )
    return found.stdout.strip() if found.returncode == 0 else None


# A template in git (a clone, as CI has it) gives projects a .cruft.json; a tarball of it not.
TEMPLATE_COMMIT = _git_head(REPO_ROOT) if shutil.which("git") else None
PROJECT_FILES = [
    *([".cruft.json"] if TEMPLATE_COMMIT else []),
    ".gitignore",
    ".pre-commit-config.yaml",
    "README.md",
    "input_example.json",
    "model.py",
    "model.yaml",
    "noxfile.py",
    "requirements.txt",
    "tests/conftest.py",
    "tests/test_environment.py",
    "tests/test_model.py",
]
TEMPLATE_FILES = ("cookiecutter.json", "hooks", "{{cookiecutter.project_slug}}")
KINDS_DIR = REPO_ROOT / "{{cookiecutter.project_slug}}" / "_kinds"
KINDS: list[str] = json.loads((REPO_ROOT / "cookiecutter.json").read_text(encoding="utf-8"))[
    "model_kind"
]


def copy_template(folder: Path) -> None:
    """The template's own files (no validator, no tests) into FOLDER, as a user's copy has them."""
    folder.mkdir(parents=True)
    for name in TEMPLATE_FILES:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, folder / name)


def kind_files(kind: str) -> list[str]:
    """The files a kind has beside PROJECT_FILES."""
    return sorted(set(files_of(KINDS_DIR / kind)) - set(PROJECT_FILES))


def kind_pins(kind: str) -> list[str]:
    return rendered((KINDS_DIR / kind / "requirements.txt").read_text(encoding="utf-8")).split()


WORKFLOW = ".github/workflows/validate.yml"
# dependencies: uv gives pyproject.toml instead of requirements.txt, and uv.lock once `uv lock` ran
UV_PROJECT_FILES = sorted(
    [*(name for name in PROJECT_FILES if name != "requirements.txt"), "pyproject.toml"]
)
PINNED = [MLFLOW, NUMPY, PANDAS]
# a new project is not locked until `nox -s lock`: check warns once that its dependencies can drift
UNLOCKED = ("DEP015", "warning")
# the GitHub expressions the workflow must keep as they are
GITHUB_EXPRESSIONS = [
    "${{ github.ref }}",
    "${{ vars.MFC_VALIDATOR_SPEC }}",
    "${{ runner.os }}",
    "${{ hashFiles('requirements.txt') }}",
]
MODEL_YAML_KEYS = {
    "name",
    "script",
    "requirements",
    "input_example",
    "code_paths",
    "artifacts",
    "model_config",
    "env",
    "registry",
}
CUSTOM = {
    "project_name": "Churn Score",
    "description": "Scores churn risk.",
    "model_name": "churn.score v2",
    "python_version": "3.12",
    "env_vars": " A_KEY, OTHER ,",
}


def bake(output_dir: Path, config_file: Path, template: str | None = None, **answers: str) -> Path:
    project = cookiecutter(
        template=template or str(REPO_ROOT),
        no_input=True,
        output_dir=str(output_dir),
        config_file=str(config_file),
        extra_context=answers,
    )
    return Path(project)


@pytest.fixture(scope="module")
def default_project(tmp_path_factory: pytest.TempPathFactory, config_file: Path) -> Path:
    return bake(tmp_path_factory.mktemp("default"), config_file)


@pytest.fixture(scope="module")
def custom_project(tmp_path_factory: pytest.TempPathFactory, config_file: Path) -> Path:
    return bake(tmp_path_factory.mktemp("custom"), config_file, **CUSTOM)


Baker = Callable[..., Path]


@pytest.fixture(scope="module")
def baked(tmp_path_factory: pytest.TempPathFactory, config_file: Path) -> Baker:
    """bake(...) for kind, ci, dependencies and CUSTOM's answers or the defaults; each project
    baked once. A uv project is baked without uv (UV names none), so without its uv.lock: the
    index is for the slow tier."""
    projects: dict[tuple[str, str, bool, str], Path] = {}

    def get(kind: str, ci: str = "no", custom: bool = False, dependencies: str = "") -> Path:
        key = (kind, ci, custom, dependencies)
        if key not in projects:
            answers = {**(CUSTOM if custom else {}), "model_kind": kind, "ci": ci}
            if dependencies:
                answers["dependencies"] = dependencies
            folder = tmp_path_factory.mktemp(f"{kind}-{ci}")
            with pytest.MonkeyPatch.context() as monkeypatch:
                monkeypatch.setenv("UV", str(folder / "no-uv"))
                projects[key] = bake(folder, config_file, **answers)
        return projects[key]

    return get


def files_of(project: Path) -> list[str]:
    return sorted(
        path.relative_to(project).as_posix() for path in project.rglob("*") if path.is_file()
    )


def model_yaml(project: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((project / "model.yaml").read_text(encoding="utf-8"))
    return loaded


def noxfile_constant(project: Path, name: str) -> object:
    tree = ast.parse((project / "noxfile.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name for target in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError(f"noxfile.py assigns no {name}")


def nox_sessions(source: str) -> dict[str, str]:
    """A noxfile's sessions: function name -> its nox.session decorator, as source."""
    return {
        node.name: ast.unparse(decorator)
        for node in ast.parse(source).body
        if isinstance(node, ast.FunctionDef)
        for decorator in node.decorator_list
        if "nox.session" in ast.unparse(decorator)
    }


def pre_commit_hooks(project: Path) -> dict[str, dict[str, Any]]:
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    (repo,) = config["repos"]
    assert repo["repo"] == "local"
    return {hook["id"]: hook for hook in repo["hooks"]}


def test_default_project_has_exactly_the_expected_files(default_project: Path) -> None:
    assert default_project.name == "demand_forecast"
    assert files_of(default_project) == PROJECT_FILES


@pytest.mark.skipif(TEMPLATE_COMMIT is None, reason="the template is not a git checkout")
def test_a_project_records_its_template_and_commit_for_cruft(custom_project: Path) -> None:
    state = json.loads((custom_project / ".cruft.json").read_text(encoding="utf-8"))
    top = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "--show-toplevel"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()

    assert state["template"] == str(Path(top).resolve())
    assert state["commit"] == TEMPLATE_COMMIT
    assert state["directory"] is None and state["checkout"] is None
    answers = state["context"]["cookiecutter"]
    assert {key: answers[key] for key in CUSTOM} == CUSTOM
    assert (answers["_template"], answers["_commit"]) == (state["template"], TEMPLATE_COMMIT)
    # nothing about this machine's folders beyond the template's own place
    assert not {"_output_dir", "_repo_dir", "_checkout"} & set(answers)


def test_custom_project_has_exactly_the_expected_files(custom_project: Path) -> None:
    assert custom_project.name == "churn_score"
    assert files_of(custom_project) == PROJECT_FILES


@pytest.mark.parametrize("custom", [False, True], ids=["default", "custom"])
@pytest.mark.parametrize("ci", ["no", "yes"])
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_bakes_exactly_its_files_fully_rendered(
    baked: Baker, kind: str, ci: str, custom: bool
) -> None:
    project = baked(kind, ci, custom)

    expected = PROJECT_FILES + kind_files(kind) + ([WORKFLOW] if ci == "yes" else [])
    assert files_of(project) == sorted(expected)
    assert_fully_rendered(project, GITHUB_EXPRESSIONS)


def assert_fully_rendered(project: Path, github_expressions: list[str]) -> None:
    for name in files_of(project):
        if name.endswith(".skops"):
            continue  # binary, copied as it is
        text = (project / name).read_text(encoding="utf-8")
        if name == WORKFLOW:
            for expression in github_expressions:
                assert expression in text
            text = re.sub(r"\$\{\{ [^{}]+ \}\}", "", text)
        for marker in ("{{", "}}", "{%", "%}", "{#", "#}"):
            assert marker not in text, f"{marker!r} left in {name}"


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_bakes_a_uv_project_from_the_same_pins(baked: Baker, kind: str) -> None:
    project = baked(kind, "yes", custom=True, dependencies="uv")
    pins = kind_pins(kind)

    # no requirements.txt (DEP019 would warn that it is not used), no constraints.txt
    assert files_of(project) == sorted([*UV_PROJECT_FILES, *kind_files(kind), WORKFLOW])
    uv_cache = GITHUB_EXPRESSIONS[-1].replace("requirements.txt", "uv.lock")
    assert_fully_rendered(project, [*GITHUB_EXPRESSIONS[:-1], uv_cache])
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"] == {
        "name": "churn_score",
        "version": "0.1.0",
        "description": CUSTOM["description"],
        "requires-python": "==3.12.*",
        "dependencies": pins,
    }
    assert uv_project.direct_dependencies(project) == pins  # as the validator reads them
    # no build backend: MLflow logs the script, uv needs no package to lock or sync
    assert pyproject["tool"] == {"uv": {"package": False}} and "build-system" not in pyproject
    assert "requirements" not in model_yaml(project)
    validate = pre_commit_hooks(project)["mfc-validate"]
    assert validate["additional_dependencies"] == [str(REPO_ROOT.resolve()), *pins]
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert f"additional_dependencies: [{', '.join(pins)}]" in readme
    assert "| `uv.lock` |" in readme and "| `requirements.txt` |" not in readme
    # `nox -s lock` is `uv lock`, which needs no environment first
    sessions = nox_sessions((project / "noxfile.py").read_text(encoding="utf-8"))
    assert sessions["lock"] == "nox.session(python=False)"
    assert sessions["env"] == "nox.session(python=PYTHON, reuse_venv=True)"
    # the shared environment is installed from, and fingerprinted by, pyproject.toml and uv.lock
    assert (noxfile_constant(project, "PYPROJECT"), noxfile_constant(project, "LOCK")) == (
        "pyproject.toml",
        "uv.lock",
    )
    assert "DEPENDENCY_FILES = (PYPROJECT, LOCK)" in (project / "noxfile.py").read_text("utf-8")


def test_a_uv_project_s_description_is_quoted_in_toml(
    tmp_path: Path, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    description = 'The "best" model \\ of all'
    monkeypatch.setenv("UV", str(tmp_path / "no-uv"))

    project = bake(tmp_path, config_file, description=description, dependencies="uv")

    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["description"] == description


@pytest.mark.parametrize("without", ["uv", "the index"])
def test_a_uv_project_without_uv_or_its_index_is_generated_and_says_to_lock(
    tmp_path: Path,
    config_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    without: str,
) -> None:
    if without == "uv":
        monkeypatch.setenv("UV", str(tmp_path / "no-uv"))
    else:  # the real uv (beside this Python), offline with nothing cached: as without an index
        monkeypatch.delenv("UV", raising=False)
        monkeypatch.setenv("UV_OFFLINE", "1")
        monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "empty-uv-cache"))
        monkeypatch.setenv("UV_PYTHON_DOWNLOADS", "never")

    project = bake(tmp_path / "out", config_file, dependencies="uv")

    said = [line for line in capfd.readouterr().err.splitlines() if "uv.lock" in line]
    assert len(said) == 1 and said[0].startswith("warning: uv.lock was not written: "), said
    why = "uv is not installed" if without == "uv" else "`uv lock` failed: error: "
    assert why in said[0] and "Traceback" not in said[0]
    assert said[0].endswith(
        "The project is generated; run `uv lock` in demand_forecast/ (nox -s lock does it too) "
        "before validating it"
    )
    assert files_of(project) == UV_PROJECT_FILES  # whole, but for uv.lock


def test_the_artifact_is_copied_byte_for_byte(baked: Baker) -> None:
    template = REPO_ROOT / "{{cookiecutter.project_slug}}" / "_kinds" / "artifacts"

    shipped = (baked("artifacts") / "model.skops").read_bytes()

    assert shipped == (template / "model.skops").read_bytes()
    assert shipped.startswith(b"PK")  # skops: a zip archive, not a pickle


def test_default_model_yaml(default_project: Path) -> None:
    declaration = model_yaml(default_project)

    assert set(declaration) == MODEL_YAML_KEYS
    assert declaration == {
        "name": "demand-forecast",
        "script": "model.py",
        "requirements": "requirements.txt",
        "input_example": "input_example.json",
        "code_paths": [],
        "artifacts": {},
        "model_config": {
            "horizon_days": 7,
            "price_elasticity": -1.2,
            "promotion_uplift": 0.25,
            "max_units": 5000.0,
        },
        "env": [],
        "registry": {"tags": {"owner": "unknown", "project": "demand_forecast"}},
    }


def test_custom_model_yaml(custom_project: Path) -> None:
    declaration = model_yaml(custom_project)

    assert set(declaration) == MODEL_YAML_KEYS
    assert declaration["name"] == "churn.score v2"
    assert declaration["env"] == [
        {
            "name": name,
            "description": declaration["env"][i]["description"],
            "secret": False,
            "required": True,
        }
        for i, name in enumerate(["A_KEY", "OTHER"])
    ]
    assert all(entry["description"] for entry in declaration["env"])
    assert declaration["registry"]["tags"]["project"] == "churn_score"


def test_model_name_is_quoted_in_yaml(tmp_path: Path, config_file: Path) -> None:
    name = '#1 "best" model\'s <name> & more'

    project = bake(tmp_path, config_file, model_name=name)

    assert model_yaml(project)["name"] == name


@pytest.mark.parametrize("fixture", ["default_project", "custom_project"])
def test_requirements_are_pinned(fixture: str, request: pytest.FixtureRequest) -> None:
    project: Path = request.getfixturevalue(fixture)

    assert (project / "requirements.txt").read_text(encoding="utf-8").splitlines() == PINNED


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_pins_its_requirements_everywhere(baked: Baker, kind: str) -> None:
    project = baked(kind)
    pins = kind_pins(kind)

    assert (project / "requirements.txt").read_text(encoding="utf-8").splitlines() == pins
    validate = pre_commit_hooks(project)["mfc-validate"]
    assert validate["additional_dependencies"] == [str(REPO_ROOT.resolve()), *pins]
    assert f"additional_dependencies: [{', '.join(pins)}]" in (project / "README.md").read_text(
        encoding="utf-8"
    )


def test_input_example_is_a_serving_payload(default_project: Path) -> None:
    payload = json.loads((default_project / "input_example.json").read_text(encoding="utf-8"))

    assert list(payload) == ["dataframe_split"]
    split = payload["dataframe_split"]
    assert split["columns"] == ["units_last_7d", "price", "reference_price", "promotion"]
    assert 2 <= len(split["data"]) <= 3
    for row in split["data"]:
        assert len(row) == len(split["columns"])
        assert all(isinstance(value, float) for value in row)


def test_noxfile_uses_the_template_folder_and_answers(custom_project: Path) -> None:
    assert noxfile_constant(custom_project, "DEFAULT_VALIDATOR_SPEC") == str(REPO_ROOT.resolve())
    assert noxfile_constant(custom_project, "PYTHON") == "3.12"
    source = (custom_project / "noxfile.py").read_text(encoding="utf-8")
    for expected in (
        'default_venv_backend = "uv|virtualenv"',
        '"MFC_VALIDATOR_SPEC"',
        'run_in_env(session, "mfc-validator", "validate", ".", *session.posargs)',
        'run_in_env(session, "mfc-validator", "register", ".", *session.posargs)',
        'run_in_env(session, "pytest", "tests", *session.posargs)',
    ):
        assert expected in source
    sessions = nox_sessions(source)
    assert set(sessions) == {"env", "tests", "validate", "register", "lock", "update"}
    # one environment for tests, validate and register: theirs is env's, which they require
    assert sessions["env"] == "nox.session(python=PYTHON, reuse_venv=True)"
    for name in ("tests", "validate", "register", "lock"):
        assert sessions[name] == "nox.session(python=False, requires=['env'])"


def test_pre_commit_config_installs_the_validator(default_project: Path) -> None:
    hooks = pre_commit_hooks(default_project)
    template = str(REPO_ROOT.resolve())

    assert set(hooks) == {"mfc-check", "mfc-validate"}
    check, validate = hooks["mfc-check"], hooks["mfc-validate"]
    assert check["entry"] == "mfc-validator check"
    assert validate["entry"] == "mfc-validator validate"
    for hook in (check, validate):
        assert hook["language"] == "python"
        # the project's Python, for which its lock is made (DEP018)
        assert hook["language_version"] == "python3.11"
        assert hook["pass_filenames"] is False
    assert check["additional_dependencies"] == [template]
    assert validate["additional_dependencies"] == [template, *PINNED]
    assert validate["stages"] == ["pre-push", "manual"]
    assert validate["require_serial"] is True


def test_pre_commit_check_runs_for_project_files(default_project: Path) -> None:
    files = re.compile(pre_commit_hooks(default_project)["mfc-check"]["files"])

    for name in [*PROJECT_FILES, "src/helpers.py", "config/extra.yml", "data.json"]:
        if name.endswith((".py", ".yaml", ".yml", ".json")) or name == "requirements.txt":
            assert files.search(name), name
    assert files.search("constraints.txt")  # the lock: check says when it is stale
    for name in ("pyproject.toml", "uv.lock"):  # a uv project's requirements and lock
        assert files.search(name), name
    assert not files.search("README.md")


def test_the_repository_s_hooks_run_for_the_same_files(default_project: Path) -> None:
    generated = re.compile(pre_commit_hooks(default_project)["mfc-check"]["files"])
    hooks = yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    names = [*PROJECT_FILES, "constraints.txt", "pyproject.toml", "uv.lock", "README.md", "x.toml"]

    for hook in hooks:  # in a model project at the repository's root or in a folder of it
        published = re.compile(hook["files"])
        for name in names:
            assert bool(published.search(name)) == bool(generated.search(name)), (hook["id"], name)
            assert bool(published.search(f"models/demand/{name}")) == bool(generated.search(name))


def test_relative_template_path_is_made_absolute(
    tmp_path: Path, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO_ROOT.parent)
    monkeypatch.setenv("PWD", str(REPO_ROOT.parent))

    project = bake(tmp_path, config_file, template=REPO_ROOT.name)

    assert noxfile_constant(project, "DEFAULT_VALIDATOR_SPEC") == str(REPO_ROOT.resolve())
    assert pre_commit_hooks(project)["mfc-check"]["additional_dependencies"] == [
        str(REPO_ROOT.resolve())
    ]


@pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs Linux /proc")
def test_relative_template_path_is_made_absolute_with_a_stale_pwd(
    tmp_path: Path, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A Python caller that changed directory: PWD no longer says where the path is relative to.
    monkeypatch.chdir(REPO_ROOT)
    monkeypatch.setenv("PWD", str(tmp_path))

    project = bake(tmp_path / "out", config_file, template=".")

    assert noxfile_constant(project, "DEFAULT_VALIDATOR_SPEC") == str(REPO_ROOT.resolve())


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_git_template_gives_a_git_requirement(tmp_path: Path, config_file: Path) -> None:
    origin = tmp_path / "origin"
    origin.mkdir()
    for name in ("cookiecutter.json", "hooks", "{{cookiecutter.project_slug}}"):
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, origin / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, origin / name)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", str(origin)]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "template"], ["tag", "v1"]):
        subprocess.run([*git, *args], check=True, capture_output=True)
    url = f"git+{origin.as_uri()}"

    project = Path(
        cookiecutter(
            template=url,
            checkout="v1",
            no_input=True,
            output_dir=str(tmp_path / "out"),
            config_file=str(config_file),
        )
    )

    # pinned at the commit v1 names, which .cruft.json records: `nox -s update` moves both
    commit = _git_head(origin)
    assert noxfile_constant(project, "DEFAULT_VALIDATOR_SPEC") == f"{url}@{commit}"
    assert pre_commit_hooks(project)["mfc-check"]["additional_dependencies"] == [f"{url}@{commit}"]
    state = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert (state["template"], state["commit"], state["checkout"]) == (
        origin.as_uri(),
        commit,
        "v1",
    )


@pytest.mark.parametrize("answers", [{}, CUSTOM], ids=["default", "custom"])
def test_model_py_is_models_from_code(
    tmp_path: Path, config_file: Path, answers: dict[str, str]
) -> None:
    project = bake(tmp_path, config_file, **answers)
    tree = ast.parse((project / "model.py").read_text(encoding="utf-8"))

    last = tree.body[-1]
    assert isinstance(last, ast.Expr) and isinstance(last.value, ast.Call)
    assert ast.unparse(last.value) == "mlflow.models.set_model(DemandForecast())"
    (model_class,) = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    assert [ast.unparse(base) for base in model_class.bases] == ["mlflow.pyfunc.PythonModel"]
    methods = {node.name: node for node in model_class.body if isinstance(node, ast.FunctionDef)}
    assert {"load_context", "predict"} <= set(methods)
    predict_args = methods["predict"].args.args
    assert [arg.arg for arg in predict_args] == ["self", "context", "model_input", "params"]
    assert ast.unparse(predict_args[2].annotation) == "pd.DataFrame"  # type: ignore[arg-type]
    assert ast.unparse(methods["predict"].returns) == "pd.DataFrame"  # type: ignore[arg-type]
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (
            node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")]
        )
    }
    assert imported <= {"__future__", "os", "typing", "mlflow", "numpy", "pandas"}


@pytest.mark.parametrize("kind", KINDS)
def test_model_py_reads_the_declared_environment_variables(baked: Baker, kind: str) -> None:
    default_source = (baked(kind) / "model.py").read_text(encoding="utf-8")
    custom_source = (baked(kind, custom=True) / "model.py").read_text(encoding="utf-8")
    # the variables the kind's model.yaml declares whatever the answers
    own = [entry["name"] for entry in model_yaml(baked(kind)).get("env") or []]

    if not own:
        assert "os.environ" not in default_source
        assert "import os" not in default_source
    for name in [*own, "A_KEY", "OTHER"]:
        assert f'os.environ.get("{name}")' in custom_source
    assert default_source.count("os.environ.get(") == len(own)
    assert custom_source.count("os.environ.get(") == len(own) + 2
    declared = [entry["name"] for entry in model_yaml(baked(kind, custom=True))["env"]]
    assert declared == [*own, "A_KEY", "OTHER"]


@pytest.mark.parametrize("custom", [False, True], ids=["default", "custom"])
@pytest.mark.parametrize("kind", KINDS)
def test_generated_python_compiles(baked: Baker, kind: str, custom: bool) -> None:
    project = baked(kind, "yes", custom)

    for path in project.rglob("*.py"):
        compile(path.read_text(encoding="utf-8"), str(path), "exec")


# The model.yaml keys a kind needs that the validator is learning in parallel (with chat payloads).
@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_passes_the_static_checks_cleanly(baked: Baker, kind: str) -> None:
    # model.yaml is strict: an evaluation or a model_config file the validator refuses fails here
    project = baked(kind, custom=True)

    report = check_command.run(project, str(project))

    # a new project is not locked yet (`nox -s lock`): that one warning, nothing else
    assert [(f.code, f.status) for f in report.checks if f.status != "passed"] == [UNLOCKED]


def _script_defaults(project: Path) -> dict[str, Any]:
    """The model.py's DEFAULTS mapping: its model_config when model.yaml gives none."""
    tree = ast.parse((project / "model.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and ast.unparse(node.target) == "DEFAULTS":
            assert node.value is not None
            defaults: dict[str, Any] = ast.literal_eval(node.value)
            return defaults
    return {}


@pytest.mark.parametrize("custom", [False, True], ids=["default", "custom"])
@pytest.mark.parametrize("kind", KINDS)
def test_init_reproduces_each_kind_s_model_yaml(
    baked: Baker, kind: str, custom: bool, tmp_path: Path
) -> None:
    # `init` on a baked project whose model.yaml is removed writes an equivalent declaration:
    # what logs, ships and deploys the model the same. Registry tags, descriptions and the
    # evaluation gate are the user's words.
    from validator.commands import init

    baked_project = baked(kind, custom=custom)
    project = tmp_path / baked_project.name
    shutil.copytree(baked_project, project)
    (project / "model.yaml").unlink()

    status = init.run(project, str(project), init.InitOptions(), io.StringIO())

    assert status == 0
    made = project_config.load(project)
    original = project_config.load(baked_project)
    same = ("script", "requirements", "input_example", "code_paths", "artifacts", "flavor")
    assert [getattr(made, key) for key in same] == [getattr(original, key) for key in same]
    assert made.flavor_options == original.flavor_options
    assert made.network == original.network
    assert [v.name for v in made.env] == [v.name for v in original.env]
    if not custom:  # the answers' variables are all declared public and required, whatever
        # their names and however the script reads them: init says what the names and reads say
        assert [(v.secret, v.required) for v in made.env] == [
            (v.secret, v.required) for v in original.env
        ]
    if made.model_config != original.model_config:
        # the mapping was model.yaml's alone: with none, the script's own defaults are the same
        assert made.model_config == {}
        assert original.model_config == _script_defaults(project)
    report = check_command.run(project, str(project))
    assert [(f.code, f.message) for f in report.checks if f.status == "failed"] == []


@pytest.mark.slow
# one kind per way of logging (a pandas pyfunc, an agent, a LangChain chain): the trace costs a
# validation each, and test_init_reproduces_each_kind_s_model_yaml covers every kind statically
@pytest.mark.parametrize("kind", ["dataframe", "agent", "langchain"])
def test_init_s_trace_adds_nothing_to_what_each_kind_declares(
    baked: Baker, kind: str, tmp_path: Path
) -> None:
    # `init` as users run it (the model traced in the sandbox) on a baked project whose
    # model.yaml is removed: what the template declares is all the model reads, contacts and
    # imports, so the trace adds nothing that would be noise (MLflow's own dependencies' reads)
    baked_project = baked(kind)
    project = tmp_path / baked_project.name
    shutil.copytree(baked_project, project)
    (project / "model.yaml").unlink()

    result = run_cli("init", str(project), timeout=900)

    if kind == "langchain" and importlib.util.find_spec("langchain") is None:
        # the flavor's library is not where the validator runs: one line, nothing written
        assert result.returncode == 2, result.stdout + result.stderr
        assert "the trace could not run the model" in result.stderr
        assert "--no-trace" in result.stderr and "Traceback" not in result.stderr
        assert not (project / "model.yaml").exists()
        return
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "traced: the model loaded and answered in the sandbox; added 0 variables, 0 hosts, "
        "0 requirements" in result.stdout
    )
    assert project_config.load(project).flavor == project_config.load(baked_project).flavor


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("custom", [False, True])
def test_each_kind_ships_nothing_the_secret_scan_flags(
    baked: Baker, kind: str, custom: bool
) -> None:
    project = baked(kind, custom=custom)

    findings = secrets.run(Project(project_config.load(project)))

    assert [(f.code, f.status, f.message) for f in findings] == [
        ("ENV010", "passed", "no shipped text file holds a secret")
    ]


def _classes(project: Path) -> dict[str, dict[str, ast.FunctionDef]]:
    tree = ast.parse((project / "model.py").read_text(encoding="utf-8"))
    return {
        node.name: {f.name: f for f in node.body if isinstance(f, ast.FunctionDef)}
        for node in tree.body
        if isinstance(node, ast.ClassDef)
    }


def test_artifacts_model_loads_a_skops_artifact(baked: Baker) -> None:
    project = baked("artifacts")
    declaration = model_yaml(project)
    source = (project / "model.py").read_text(encoding="utf-8")

    assert declaration["artifacts"] == {"estimator": "model.skops"}
    assert declaration["code_paths"] == ["features.py"]
    assert 'ARTIFACT = "estimator"' in source
    assert "skops.io.get_untrusted_types(file=path)" in source
    assert "skops.io.load(path, trusted=list(TRUSTED_TYPES))" in source
    assert "pickle" not in source.replace("never a pickle", "")
    assert declaration["evaluation"] == {
        "data": "evaluation.csv",
        "targets": "units_next_7d",
        "model_type": "regressor",
        "thresholds": {
            "r2_score": 0.95,
            "root_mean_squared_error": 20.0,
            "mean_absolute_percentage_error": {"max": 0.1},
        },
        "baseline": {
            "metrics": {"r2_score": 0.9796, "root_mean_squared_error": 13.55},
            "max_regression": 0.05,
        },
    }
    header = (project / "evaluation.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == "units_last_7d,price,reference_price,promotion,units_next_7d"


def test_streaming_model_defines_predict_stream(baked: Baker) -> None:
    project = baked("streaming")
    methods = _classes(project)["DemandForecast"]
    payload = json.loads((project / "input_example.json").read_text(encoding="utf-8"))

    assert {"load_context", "predict", "predict_stream"} <= set(methods)
    stream = methods["predict_stream"]
    assert [arg.arg for arg in stream.args.args] == ["self", "context", "model_input", "params"]
    assert any(isinstance(node, ast.Yield) for node in ast.walk(stream))
    # a stream takes a single input: the example is one row
    assert len(payload["dataframe_split"]["data"]) == 1


def test_typed_model_takes_a_list_of_a_pydantic_model(baked: Baker) -> None:
    project = baked("typed")
    classes = _classes(project)
    predict = classes["DemandForecast"]["predict"]
    source = (project / "model.py").read_text(encoding="utf-8")
    payload = json.loads((project / "input_example.json").read_text(encoding="utf-8"))

    assert "DemandInput" in classes
    assert ast.unparse(predict.args.args[2].annotation) == "list[DemandInput]"  # type: ignore[arg-type]
    assert ast.unparse(predict.returns) == "list[float]"  # type: ignore[arg-type]
    assert "CONFIG = ModelConfig(" in source
    assert model_yaml(project)["model_config"] == "model_config.yaml"
    assert set(yaml.safe_load((project / "model_config.yaml").read_text(encoding="utf-8"))) == {
        "horizon_days",
        "price_elasticity",
        "promotion_uplift",
        "max_units",
    }
    assert list(payload) == ["inputs"]
    assert all(isinstance(row, dict) for row in payload["inputs"])


def test_agent_model_is_a_responses_agent_with_one_tool(baked: Baker) -> None:
    project = baked("agent")
    classes = _classes(project)
    source = (project / "model.py").read_text(encoding="utf-8")
    declaration = model_yaml(project)
    payload = json.loads((project / "input_example.json").read_text(encoding="utf-8"))

    agent = classes["ForecastAgent"]
    assert {"load_context", "predict", "predict_stream"} <= set(agent)
    assert "class ForecastAgent(ResponsesAgent):" in source
    assert any(isinstance(node, ast.Yield) for node in ast.walk(agent["predict_stream"]))
    for helper in ("function_call_item", "function_call_output_item", "text_output_item"):
        assert f"self.create_{helper}(" in source
    assert {"FakeLLM", "ChatCompletionsClient"} <= set(classes)
    assert ast.unparse(ast.parse(source).body[-1]) == "mlflow.models.set_model(ForecastAgent())"
    # both optional, the key a secret; no host until AGENT_ENDPOINT is set
    assert [(e["name"], e["secret"], e["required"]) for e in declaration["env"]] == [
        ("AGENT_ENDPOINT", False, False),
        ("AGENT_API_KEY", True, False),
    ]
    assert all(entry["description"] for entry in declaration["env"])
    assert declaration["network"] == []
    assert "flavor" not in declaration  # pyfunc, the default
    assert list(payload) == ["input"]
    assert [message["role"] for message in payload["input"]] == ["user"]


def test_langchain_model_is_a_chain_logged_with_the_langchain_flavor(baked: Baker) -> None:
    project = baked("langchain")
    tree = ast.parse((project / "model.py").read_text(encoding="utf-8"))
    declaration = model_yaml(project)
    payload = json.loads((project / "input_example.json").read_text(encoding="utf-8"))

    assert ast.unparse(tree.body[-1]) == "mlflow.models.set_model(chain)"
    assert [node for node in tree.body if isinstance(node, ast.ClassDef)] == []
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert {"langchain_core.language_models", "langchain_core.prompts"} <= imported
    assert "FakeListChatModel(responses=ANSWERS)" in ast.unparse(tree)
    assert declaration["flavor"] == "langchain"
    assert "artifacts" not in declaration  # the langchain flavor logs none
    # serving refuses a bare {"question": ...}: the chain's variables go under `inputs`
    assert payload == {"inputs": [{"question": payload["inputs"][0]["question"]}]}


@pytest.mark.parametrize("kind", KINDS)
def test_noxfile_sessions_of_each_kind(baked: Baker, kind: str) -> None:
    sessions = nox_sessions((baked(kind) / "noxfile.py").read_text(encoding="utf-8"))

    extra = {"train"} if kind == "artifacts" else set()
    assert set(sessions) == {"env", "tests", "validate", "register", "lock", "update"} | extra
    if extra:  # train runs in the shared environment too
        assert sessions["train"] == "nox.session(python=False, requires=['env'])"


def test_the_workflow_runs_the_project_s_nox_sessions(baked: Baker) -> None:
    project = baked("artifacts", "yes", custom=True)
    workflow = yaml.safe_load((project / WORKFLOW).read_text(encoding="utf-8"))

    (job,) = workflow["jobs"].values()
    runs = [step["run"] for step in job["steps"] if "run" in step]
    assert runs[-2] == "nox -s tests validate"
    # the last step warns when the project is behind its template, and never fails the job
    assert "cruft check" in runs[-1] and "::warning" in runs[-1]
    assert "continue-on-error" not in job["steps"][-1]
    python = [step for step in job["steps"] if step.get("uses", "").startswith("actions/setup")]
    assert python[0]["with"]["python-version"] == "3.12"
    assert job["env"] == {
        "MFC_VALIDATOR_SPEC": "${{ vars.MFC_VALIDATOR_SPEC }}",
        "A_KEY": "${{ secrets.A_KEY }}",
        "OTHER": "${{ secrets.OTHER }}",
    }
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert "## Continuous integration" in readme and WORKFLOW in readme
    assert "## Continuous integration" not in (baked("artifacts") / "README.md").read_text(
        encoding="utf-8"
    )


@pytest.mark.parametrize(
    ("kind", "mentions"),
    [
        ("artifacts", ["model.skops", "skops.io.get_untrusted_types", "## Evaluation", "train"]),
        ("streaming", ["predict_stream", "SBX007", "streamable"]),
        ("typed", ["list[DemandInput]", "SIG008", "mlflow.models.ModelConfig", '{"inputs"']),
        (
            "agent",
            ["ResponsesAgent", "predict_stream", "AGENT_ENDPOINT", "AGENT_API_KEY", "network"],
        ),
        ("langchain", ["flavor: langchain", "mlflow.langchain.log_model", '{"inputs"']),
    ],
)
def test_readme_explains_the_kind(baked: Baker, kind: str, mentions: list[str]) -> None:
    readme = (baked(kind) / "README.md").read_text(encoding="utf-8")

    for mention in mentions:
        assert mention in readme


def test_readme_and_gitignore(custom_project: Path) -> None:
    readme = (custom_project / "README.md").read_text(encoding="utf-8")
    ignored = (custom_project / ".gitignore").read_text(encoding="utf-8").splitlines()

    assert readme.startswith("# Churn Score\n\nScores churn risk.\n")
    for expected in (
        "nox -s tests",
        "nox -s validate -- --format json --output report.json",
        "nox -s register",
        "MFC_VALIDATOR_SPEC",
        ".mlflow/mlflow.db",
        "mlflow ui --backend-store-uri sqlite:///.mlflow/mlflow.db",
        "MLFLOW_TRACKING_URI",
        "--tracking-uri",
        "pre-commit install --hook-type pre-push",
        "`A_KEY`",
        "`OTHER`",
    ):
        assert expected in readme
    for pattern in (
        ".mlflow/",
        ".nox/",
        ".venv/",
        "__pycache__/",
        "*.pyc",
        "mlruns/",
        ".pytest_cache/",
    ):
        assert pattern in ignored


def _installed(pin: str) -> bool:
    name, _, version = pin.partition("==")
    try:
        return importlib.metadata.version(name) == version
    except importlib.metadata.PackageNotFoundError:
        return False


def _without_answers_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key not in ("A_KEY", "OTHER")}


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_baked_project_tests_pass(baked: Baker, kind: str) -> None:
    # in this (dev) environment: a kind whose requirements it lacks is left to the nox test below
    missing = [pin for pin in kind_pins(kind) if not _installed(pin)]
    if missing:
        pytest.skip(f"this environment lacks {', '.join(missing)}: the nox test runs these tests")
    # with CUSTOM's variables, which the tests set themselves
    project = baked(kind, custom=True)

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=_without_answers_env(),
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout


# the default project's .nox after `nox -s tests validate register` (README: measured 0.73 GB;
# register runs in the same environment, `test_noxfile_uses_the_template_folder_and_answers`)
NOX_GOAL = 1_200_000_000


def disk_use(folder: Path) -> int:
    """Bytes FOLDER's files take on disk, a file linked twice counted twice: what they take where
    uv cannot hard-link from its cache (on another file system), as `du -sl` counts."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            status = os.lstat(f"{root}/{name}")
            if stat.S_ISREG(status.st_mode):
                total += status.st_blocks * 512
    return total


@pytest.fixture(scope="module")
def sandbox_cache(shared_cache: Path) -> Path:
    """The slow tests' shared environment cache: the kinds with the same requirements share one
    environment, and so do the other modules' projects."""
    return shared_cache


def _logged_report(project: Path) -> dict[str, str]:
    """code -> status, from the report the validation logged to its MLflow run."""
    (path,) = (project / ".mlflow").rglob("validation/report.json")
    report = json.loads(path.read_text(encoding="utf-8"))
    assert report["status"] == "passed"
    return {check["code"]: check["status"] for check in report["checks"]}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kind", "exercised"),
    [
        ("dataframe", {"SBX005": "passed", "SBX007": "skipped", "SIG008": "skipped"}),
        ("artifacts", {"EVL001": "passed", "EVL002": "passed", "EVL003": "passed"}),
        ("streaming", {"SBX007": "passed"}),
        ("typed", {"SIG008": "passed", "SBX005": "passed"}),
        ("agent", {"SBX003": "passed", "SBX007": "passed"}),
        ("langchain", {"SBX003": "passed", "SBX007": "passed"}),
    ],
)
def test_each_kind_passes_its_own_nox_tests_and_validate(
    tmp_path: Path,
    config_file: Path,
    sandbox_cache: Path,
    kind: str,
    exercised: dict[str, str],
) -> None:
    python = f"3.{sys.version_info.minor}"
    project = bake(tmp_path, config_file, model_kind=kind, python_version=python)
    env = {
        **_without_answers_env(),
        "MFC_VALIDATOR_SPEC": str(REPO_ROOT),  # this working tree's validator
        "MFC_VALIDATOR_CACHE": str(sandbox_cache),
    }

    code, output = run_nox(project, "tests", env, timeout=1800)
    assert code == 0, output[-10000:]
    code, output = run_nox(project, "validate", env, timeout=1800)
    assert code == 0, output[-10000:]
    assert "validate passed" in output
    # in the environment tests built: nothing installed twice
    assert "requirements and validator unchanged: reusing this environment" in output
    assert "uv pip install" not in output
    checks = _logged_report(project)
    assert {code: checks[code] for code in exercised} == exercised

    # the logged model, validated from its own files, gets the project's sandbox verdicts
    (logged,) = (project / ".mlflow").rglob("validation/report.json")
    model_uri = json.loads(logged.read_text(encoding="utf-8"))["model_uri"]
    store = f"sqlite:///{project / '.mlflow' / 'mlflow.db'}"
    out = tmp_path / "logged-model.json"
    again = run_cli(
        *("validate", model_uri, "--tracking-uri", store, "--format", "json", "--output", str(out)),
        env={"MFC_VALIDATOR_CACHE": str(sandbox_cache), "MLFLOW_TRACKING_URI": ""},
    )
    assert again.returncode == 0, again.stderr[-3000:]
    from_files = {c["code"]: c["status"] for c in json.loads(out.read_text())["checks"]}
    sandboxed = ("SBX001", "SBX002", "SBX003", "SBX004", "SBX006", "SBX007", "SBX008", "SIG006")
    assert {c: from_files[c] for c in sandboxed} == {c: checks[c] for c in sandboxed}
    if kind == "dataframe":  # the default project: .nox holds one environment, within the goal
        made = sorted(path.name for path in (project / ".nox").iterdir() if path.name[0] != ".")
        assert made == ["CACHEDIR.TAG", "env"]
        size = disk_use(project / ".nox")
        assert size < NOX_GOAL, f".nox holds {size / 1e6:.0f} MB (goal: under {NOX_GOAL / 1e9} GB)"


def _validate(project: Path, cache: Path) -> tuple[int, dict[str, dict[str, str]]]:
    """mfc-validator validate in this (dev) environment: code -> the first finding of it."""
    result = subprocess.run(
        [sys.executable, "-m", "validator", "validate", str(project), "--format", "json"],
        env={**_without_answers_env(), "MFC_VALIDATOR_CACHE": str(cache)},
        capture_output=True,
        text=True,
        check=False,
        timeout=1200,
    )
    assert "Traceback" not in result.stderr, result.stderr
    checks: dict[str, dict[str, str]] = {}
    for check in json.loads(result.stdout)["checks"]:
        checks.setdefault(check["code"], check)
    return result.returncode, checks


@pytest.mark.slow
def test_a_missed_threshold_and_a_regression_fail_the_evaluation(
    tmp_path: Path, config_file: Path, sandbox_cache: Path
) -> None:
    project = bake(tmp_path, config_file, model_kind="artifacts")
    model_yaml_path = project / "model.yaml"
    text = model_yaml_path.read_text(encoding="utf-8")
    text = text.replace("    r2_score: 0.95\n", "    r2_score: 0.99\n")
    text = text.replace("      r2_score: 0.9796\n", "      r2_score: 0.999\n")
    text = text.replace("    max_regression: 0.05\n", "    max_regression: 0.01\n")
    model_yaml_path.write_text(text, encoding="utf-8")

    code, checks = _validate(project, sandbox_cache)

    assert code == 1
    failed = {c: check for c, check in checks.items() if check["status"] == "failed"}
    assert set(failed) == {"EVL002", "EVL003"}
    assert failed["EVL002"]["family"] == "evaluation"
    assert failed["EVL002"]["message"].startswith("r2_score = 0.9796 on evaluation.csv is below")
    assert failed["EVL003"]["message"].startswith("r2_score = 0.9796 on evaluation.csv is 1.9%")
    assert failed["EVL002"]["location"] == failed["EVL003"]["location"]
    assert failed["EVL002"]["location"].startswith("model.yaml:")
    assert (
        checks["EVL001"]["status"] == "passed" and "r2_score 0.9796" in checks["EVL001"]["message"]
    )


@pytest.mark.slow
def test_an_example_the_type_hints_do_not_declare_fails_sig008(
    tmp_path: Path, config_file: Path, sandbox_cache: Path
) -> None:
    project = bake(tmp_path, config_file, model_kind="typed")
    path = project / "input_example.json"
    payload = json.loads(path.read_text(encoding="utf-8"))
    payload["inputs"][0]["store"] = "north"
    path.write_text(json.dumps(payload), encoding="utf-8")

    code, checks = _validate(project, sandbox_cache)

    assert code == 1
    assert {c for c, check in checks.items() if check["status"] == "failed"} == {"SIG008"}
    assert checks["SIG008"]["message"] == (
        "input_example.json sends 'store', which predict's type hint list[DemandInput] does not "
        "declare: serving drops them without a word"
    )


def test_a_new_kind_is_its_folder_and_its_choice(tmp_path: Path, config_file: Path) -> None:
    # what CONTRIBUTING.md tells: a folder under _kinds/ and the choice in cookiecutter.json
    template = tmp_path / "template"
    copy_template(template)
    folder = template / "{{cookiecutter.project_slug}}" / "_kinds" / "throwaway"
    shutil.copytree(KINDS_DIR / "dataframe", folder)
    (folder / "model.yaml").write_text(
        '{% extends "model.yaml" %}\n\n'
        "{% block model_config -%}\nmodel_config:\n  horizon_days: 3\n{%- endblock %}\n",
        encoding="utf-8",
    )
    choices = json.loads((template / "cookiecutter.json").read_text(encoding="utf-8"))
    choices["model_kind"].append("throwaway")
    choices["__prompts__"]["model_kind"]["throwaway"] = "throwaway: a test's own kind"
    (template / "cookiecutter.json").write_text(json.dumps(choices), encoding="utf-8")

    project = bake(tmp_path / "out", config_file, str(template), model_kind="throwaway")

    assert files_of(project) == [name for name in PROJECT_FILES if name != ".cruft.json"]
    assert model_yaml(project)["model_config"] == {"horizon_days": 3}
    assert (project / "requirements.txt").read_text(encoding="utf-8").splitlines() == PINNED
    assert pre_commit_hooks(project)["mfc-validate"]["additional_dependencies"][1:] == PINNED
    report = check_command.run(project, str(project))
    assert [(f.code, f.status) for f in report.checks if f.status != "passed"] == [UNLOCKED]

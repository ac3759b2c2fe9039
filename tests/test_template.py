from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from cookiecutter.main import cookiecutter

if TYPE_CHECKING:
    from collections.abc import Iterator

REPO_ROOT = Path(__file__).resolve().parents[1]

PROJECT_FILES = [
    ".gitignore",
    ".pre-commit-config.yaml",
    "README.md",
    "input_example.json",
    "model.py",
    "model.yaml",
    "noxfile.py",
    "requirements.txt",
    "tests/conftest.py",
    "tests/test_model.py",
]
PINNED = ["mlflow==3.17.2", "numpy==2.4.6", "pandas==3.1.1"]
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


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    # Keeps replays and clones out of the home folder; the hooks read the same file.
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


def pre_commit_hooks(project: Path) -> dict[str, dict[str, Any]]:
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    (repo,) = config["repos"]
    assert repo["repo"] == "local"
    return {hook["id"]: hook for hook in repo["hooks"]}


def test_default_project_has_exactly_the_expected_files(default_project: Path) -> None:
    assert default_project.name == "demand_forecast"
    assert files_of(default_project) == PROJECT_FILES


def test_custom_project_has_exactly_the_expected_files(custom_project: Path) -> None:
    assert custom_project.name == "churn_score"
    assert files_of(custom_project) == PROJECT_FILES


@pytest.mark.parametrize("answers", [{}, CUSTOM], ids=["default", "custom"])
def test_no_template_syntax_is_left(
    tmp_path: Path, config_file: Path, answers: dict[str, str]
) -> None:
    project = bake(tmp_path, config_file, **answers)

    for name in files_of(project):
        text = (project / name).read_text(encoding="utf-8")
        for marker in ("{{", "{%", "{#"):
            assert marker not in text, f"{marker!r} left in {name}"


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
        'session.run("mfc-validator", "validate", ".", *session.posargs)',
        'session.run("mfc-validator", "register", ".", *session.posargs)',
        'session.run("pytest", "tests", *session.posargs)',
    ):
        assert expected in source
    sessions = {
        node.name
        for node in ast.parse(source).body
        if isinstance(node, ast.FunctionDef)
        and any("nox.session" in ast.unparse(decorator) for decorator in node.decorator_list)
    }
    assert sessions == {"tests", "validate", "register"}


def test_pre_commit_config_installs_the_validator(default_project: Path) -> None:
    hooks = pre_commit_hooks(default_project)
    template = str(REPO_ROOT.resolve())

    assert set(hooks) == {"mfc-check", "mfc-validate"}
    check, validate = hooks["mfc-check"], hooks["mfc-validate"]
    assert check["entry"] == "mfc-validator check"
    assert validate["entry"] == "mfc-validator validate"
    for hook in (check, validate):
        assert hook["language"] == "python"
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
    assert not files.search("README.md")


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

    assert noxfile_constant(project, "DEFAULT_VALIDATOR_SPEC") == f"{url}@v1"
    assert pre_commit_hooks(project)["mfc-check"]["additional_dependencies"] == [f"{url}@v1"]


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


def test_model_py_reads_the_declared_environment_variables(
    default_project: Path, custom_project: Path
) -> None:
    default_source = (default_project / "model.py").read_text(encoding="utf-8")
    custom_source = (custom_project / "model.py").read_text(encoding="utf-8")

    assert "os.environ" not in default_source
    assert "import os" not in default_source
    for name in ("A_KEY", "OTHER"):
        assert f'os.environ.get("{name}")' in custom_source
    assert custom_source.count("os.environ.get(") == 2


@pytest.mark.parametrize("answers", [{}, CUSTOM], ids=["default", "custom"])
def test_generated_python_compiles(
    tmp_path: Path, config_file: Path, answers: dict[str, str]
) -> None:
    project = bake(tmp_path, config_file, **answers)

    for path in project.rglob("*.py"):
        compile(path.read_text(encoding="utf-8"), str(path), "exec")


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
    for pattern in (".mlflow/", ".nox/", "__pycache__/", "*.pyc", "mlruns/", ".pytest_cache/"):
        assert pattern in ignored


@pytest.mark.slow
@pytest.mark.parametrize("answers", [{}, CUSTOM], ids=["default", "custom"])
def test_baked_project_tests_pass(
    tmp_path: Path, config_file: Path, answers: dict[str, str]
) -> None:
    project = bake(tmp_path, config_file, **answers)
    env = {key: value for key, value in os.environ.items() if key not in ("A_KEY", "OTHER")}

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout


@pytest.mark.slow
def test_baked_project_nox_tests_session_passes(tmp_path: Path, config_file: Path) -> None:
    project = bake(tmp_path, config_file, python_version=f"3.{sys.version_info.minor}")

    result = subprocess.run(
        [sys.executable, "-m", "nox", "-s", "tests"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr

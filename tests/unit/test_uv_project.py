"""A uv project (pyproject.toml and uv.lock in the project's folder, as MLflow detects it): its
files, the export, and what every consumer of the requirements does with it. The projects are
built in tmp_path; uv itself runs (`uv lock` of one small distribution, `uv export`)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.pins import MLFLOW, PANDAS
from validator import cli
from validator.checks import config_files, dependencies, lock
from validator.codes import owned_by
from validator.commands import listing
from validator.project import config as project_config
from validator.project import content_hash, uv_project
from validator.project.sources import Project
from validator.report import Finding
from validator.sandbox import probe_results, resolution
from validator.sandbox.envcache import SandboxError, early_key, this_python
from validator.sandbox.interpreters import find_uv
from validator.sandbox.stage import _install_failure

SIX = "six==1.16.0"


def uv() -> str:
    found = find_uv()
    assert found is not None, "uv is a dependency of the validator"
    return found


def pyproject(dependencies: list[str]) -> str:
    listed = ", ".join(f'"{item}"' for item in dependencies)
    return (
        '[project]\nname = "uv-model"\nversion = "0.1.0"\nrequires-python = ">=3.10"\n'
        f"dependencies = [{listed}]\n"
    )


def project(
    tmp_path: Path,
    dependencies: list[str] | None = None,
    *,
    script: str = "import mlflow\nimport pandas\n",
    lock_text: str | None = "version = 1\n",
    requirements: str | None = None,
) -> Path:
    """A project folder: model.yaml, model.py, input_example.json, pyproject.toml (unless
    DEPENDENCIES is None), uv.lock (LOCK_TEXT, unless None) and requirements.txt (if given)."""
    root = tmp_path / "uv-model"
    root.mkdir(parents=True)
    (root / "model.yaml").write_text("name: uv-model\n")
    (root / "model.py").write_text(script)
    (root / "input_example.json").write_text(
        '{"dataframe_split": {"columns": ["x"], "data": [[1]]}}'
    )
    if dependencies is not None:
        (root / "pyproject.toml").write_text(pyproject(dependencies))
    if lock_text is not None:
        (root / "uv.lock").write_text(lock_text)
    if requirements is not None:
        (root / "requirements.txt").write_text(requirements)
    return root


def locked(tmp_path: Path, dependencies: list[str]) -> Path:
    """A uv project whose uv.lock `uv lock` wrote."""
    root = project(tmp_path, dependencies, lock_text=None)
    done = subprocess.run([uv(), "lock", "--quiet"], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return root


def checked(root: Path) -> list[Finding]:
    return dependencies.run(Project(project_config.load(root)))


def only(findings: list[Finding], code: str) -> Finding:
    matching = [f for f in findings if f.code == code]
    assert len(matching) == 1, findings
    return matching[0]


# -- the files ----------------------------------------------------------------------------------


def test_a_uv_project_is_pyproject_and_uv_lock_together(tmp_path: Path) -> None:
    both = project(tmp_path / "both", [MLFLOW])
    alone = project(tmp_path / "alone", None)
    plain = project(tmp_path / "plain", [MLFLOW], lock_text=None)

    assert [uv_project.is_uv_project(root) for root in (both, alone, plain)] == [True, False, False]
    assert [uv_project.orphan_lock(root) for root in (both, alone, plain)] == [False, True, False]


def test_the_direct_dependencies_are_pyprojects(tmp_path: Path) -> None:
    root = project(tmp_path, [MLFLOW, "pandas>=2"])
    assert uv_project.direct_dependencies(root) == [MLFLOW, "pandas>=2"]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('[project\nname = "x"\n', "pyproject.toml is not valid TOML: "),
        ('[project]\nname = "x"\n', "pyproject.toml has no [project] dependencies"),
        ('[project]\ndependencies = "mlflow"\n', "pyproject.toml has no [project] dependencies"),
        ("[project]\ndependencies = [1]\n", "[project] dependencies must be strings"),
    ],
)
def test_a_pyproject_that_cannot_be_used_is_one_line(tmp_path: Path, text: str, said: str) -> None:
    root = project(tmp_path, [MLFLOW])
    (root / "pyproject.toml").write_text(text)
    with pytest.raises(uv_project.UvProjectError) as caught:
        uv_project.direct_dependencies(root)
    assert said in str(caught.value) and "\n" not in str(caught.value)


def test_the_export_is_mlflows_and_holds_exactly_the_lock(tmp_path: Path) -> None:
    root = locked(tmp_path, [SIX])
    text = uv_project.export(root, uv())
    assert uv_project.export_lines(text) == [SIX]
    assert "--frozen" in uv_project.EXPORT_FLAGS and "--no-emit-project" in uv_project.EXPORT_FLAGS


def test_the_export_is_written_as_mlflow_writes_requirements() -> None:
    # MLflow logs each requirement in packaging's form: the sandbox built before logging must
    # be the one the logged requirements.txt asks for
    text = "cffi==2.1.1 ; platform_python_implementation != 'PyPy'\n# a comment\n\nsix==1.16.0\n"
    assert uv_project.export_lines(text) == [
        'cffi==2.1.1; platform_python_implementation != "PyPy"',
        SIX,
    ]


def test_a_corrupt_lock_does_not_export_and_uv_says_why_in_one_line(tmp_path: Path) -> None:
    root = project(tmp_path, [SIX], lock_text="garbage\n")
    with pytest.raises(uv_project.UvProjectError) as caught:
        uv_project.export(root, uv())
    message = str(caught.value)
    assert message.startswith("`uv export` failed: ") and "uv.lock" in message
    assert "\n" not in message


def test_a_stale_lock_fails_the_check(tmp_path: Path) -> None:
    root = locked(tmp_path, [SIX])
    uv_project.check_lock(root, uv())  # current: no error
    (root / "pyproject.toml").write_text(pyproject(["six==1.17.0"]))
    with pytest.raises(uv_project.UvProjectError, match="needs to be updated"):
        uv_project.check_lock(root, uv())


# -- the static checks --------------------------------------------------------------------------


def test_the_dependency_checks_read_pyproject(tmp_path: Path) -> None:
    root = project(tmp_path, [MLFLOW, PANDAS], script="import mlflow\nimport pandas\nimport yaml\n")

    findings = checked(root)

    dep001 = only(findings, "DEP001")
    assert dep001.status == "failed" and "'yaml'" in dep001.message
    assert dep001.hint is not None and "pyproject.toml" in dep001.hint
    assert only(findings, "DEP019").status == "passed"
    assert {f.code: f.status for f in findings if f.code in lock.CODES} == dict.fromkeys(
        lock.CODES, "skipped"
    )
    assert "uv.lock is its lock" in (only(findings, "DEP015").message or "")
    # every code of the stage is reported, none twice
    assert sorted(f.code for f in findings) == sorted(owned_by("dependencies"))


def test_unpinned_dependencies_are_fine_in_a_uv_project_but_mlflow_is_needed(
    tmp_path: Path,
) -> None:
    root = project(tmp_path, ["pandas>=2"], script="import pandas\n")

    findings = checked(root)

    assert only(findings, "DEP006").status == "passed"  # uv.lock pins it
    dep007 = only(findings, "DEP007")
    assert dep007.status == "failed" and dep007.message.startswith("pyproject.toml does not list")


def test_a_requirements_file_beside_a_uv_project_is_said_to_be_unused(tmp_path: Path) -> None:
    root = project(tmp_path, [MLFLOW, PANDAS], requirements=f"{MLFLOW}\n")

    dep019 = only(checked(root), "DEP019")

    assert dep019.status == "warning" and dep019.location == "requirements.txt"
    assert "is not used" in dep019.message and "--env-manager uv" in dep019.message


def test_a_uv_project_needs_no_requirements_file(tmp_path: Path) -> None:
    root = project(tmp_path, [MLFLOW, PANDAS])
    found = config_files.run(Project(project_config.load(root)))
    assert [(f.code, f.status) for f in found] == [("CFG001", "passed")]
    plain = project(tmp_path / "plain", [MLFLOW], lock_text=None)
    found = config_files.run(Project(project_config.load(plain)))
    assert [(f.code, f.status) for f in found] == [("CFG001", "failed")]


def test_a_uv_lock_without_pyproject_fails(tmp_path: Path) -> None:
    root = project(tmp_path, None, requirements=f"{MLFLOW}\n{PANDAS}\n")

    dep019 = only(checked(root), "DEP019")

    assert dep019.status == "failed" and dep019.location == "uv.lock"
    assert "MLflow ignores it" in dep019.message
    assert dep019.hint is not None and "delete uv.lock" in dep019.hint


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("[project\n", "is not valid TOML"),
        ('[project]\nname = "x"\n', "has no [project] dependencies"),
    ],
)
def test_a_pyproject_that_cannot_be_read_fails_and_skips_the_requirement_checks(
    tmp_path: Path, text: str, said: str
) -> None:
    root = project(tmp_path, [MLFLOW])
    (root / "pyproject.toml").write_text(text)

    findings = checked(root)

    dep019 = only(findings, "DEP019")
    assert dep019.status == "failed" and said in dep019.message
    assert dep019.location == "pyproject.toml"
    assert only(findings, "DEP001").status == "skipped"
    assert not [f for f in findings if f.status == "failed" and f.code != "DEP019"]


def test_the_content_hash_covers_the_lock(tmp_path: Path) -> None:
    root = project(tmp_path, [MLFLOW])
    files = content_hash.content_files(project_config.load(root))
    assert {"pyproject.toml", "uv.lock"} <= set(files)


# -- the resolution, DEP014 ---------------------------------------------------------------------


def resolved(root: Path) -> Finding:
    [finding] = resolution.resolve(project_config.load(root), use_cache=True, progress=print)
    return finding


def test_a_current_lock_resolves(tmp_path: Path) -> None:
    finding = resolved(locked(tmp_path, [SIX]))
    assert finding.status == "passed"
    assert finding.message == (
        "uv.lock is current with pyproject.toml and pins 1 distributions "
        "(uv lock --check, uv export)"
    )


def test_a_stale_lock_fails_the_resolution_and_names_uv_lock(tmp_path: Path) -> None:
    root = locked(tmp_path, [SIX])
    (root / "pyproject.toml").write_text(pyproject(["six==1.17.0"]))

    finding = resolved(root)

    assert finding.status == "failed" and finding.location == "uv.lock"
    assert finding.message.startswith("uv.lock is stale: it no longer matches pyproject.toml")
    assert finding.hint is not None and "`uv lock`" in finding.hint


def test_a_corrupt_lock_fails_the_resolution(tmp_path: Path) -> None:
    finding = resolved(project(tmp_path, [SIX], lock_text="garbage\n"))
    assert finding.status == "failed"
    assert finding.message.startswith("uv.lock cannot be used: ") and "\n" not in finding.message


# -- the runtime checks and the lock command ----------------------------------------------------


@pytest.mark.parametrize("shipped", [True, False], ids=["shipped", "export-only"])
def test_dep010_reads_the_shipped_pyproject_not_the_export(tmp_path: Path, shipped: bool) -> None:
    # the logged model's folder: requirements.txt is the export (a transitive mfc-base in it),
    # pyproject.toml and uv.lock as MLflow copied them; or the export alone, as the langchain
    # flavor logs a uv project's model, whose declared requirements are then the project's
    root = project(tmp_path, ["mfc-app==1.0", "mfc-unused==1.0"])
    model_dir = root if shipped else tmp_path / "logged-model"
    model_dir.mkdir(exist_ok=True)
    (model_dir / "requirements.txt").write_text("mfc-app==1.0\nmfc-base==1.9\nmfc-unused==1.0\n")
    result = {
        "modules": {"mfc_app": {"distributions": ["mfc-app"]}},
        "distributions": {"mfc-app": ["mfc_app"], "mfc-base": ["mfc_base"], "mfc-unused": ["u"]},
        "user_imports": ["mfc_app"],
    }

    found = probe_results._dependencies(project_config.load(root), model_dir, result)

    assert [(f.code, f.message, f.location) for f in found] == [
        (
            "DEP010",
            "mfc-unused is a requirement but the model never imports it at run time",
            "pyproject.toml",
        )
    ]


def test_lock_refuses_a_uv_project_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path, [MLFLOW])

    assert cli.main(["lock", str(root)]) == 2

    err = capsys.readouterr().err.strip()
    assert "uv project" in err and "run `uv lock` there instead" in err
    assert len(err.splitlines()) == 1
    assert not (root / "constraints.txt").exists()


def test_list_keys_a_uv_project_by_its_export_as_validate_builds_it(tmp_path: Path) -> None:
    root = locked(tmp_path, [SIX])

    entry = listing.entry(str(root))

    assert entry["requirements"] == str(root / "uv.lock")
    assert entry["environment"] == early_key(this_python(), f"{SIX}\n", {})
    assert uv_project.logged_requirements(root, uv()) == f"{SIX}\n"


def test_a_lock_that_does_not_install_is_the_uv_projects_to_fix(tmp_path: Path) -> None:
    root = project(tmp_path, [MLFLOW])
    said = "error: No solution found when resolving dependencies: no version of six==9.9.9\n"
    error = SandboxError("installing requirements.txt with uv failed (exit 1)", said)

    finding = _install_failure(project_config.load(root), error, uv_lock=True)

    assert finding.status == "failed" and finding.location == "uv.lock"
    assert finding.hint is not None
    assert "pyproject.toml" in finding.hint and "`uv lock`" in finding.hint

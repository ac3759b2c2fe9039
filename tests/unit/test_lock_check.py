"""DEP015-DEP018, `check`'s reading of the lock (validator/checks/lock.py): each project is built in
tmp_path, its lock written in the format `mfc-validator lock` writes (tests/functional/test_lock.py
makes real ones with uv)."""

from __future__ import annotations

from pathlib import Path

import pytest

from validator.checks import dependencies
from validator.checks import lock as lock_check
from validator.project import config as project_config
from validator.project import lock
from validator.project.sources import Project
from validator.report import Finding
from validator.sandbox import probe_results

NAME = "locked-model"
LOCKED = {"mfc-app": "1.4.0", "mfc-base": "2.3.3", "mfc-extra": "2.3.2", "sqlalchemy": "2.0.43"}


def lock_text(
    requirements: str,
    folder: Path,
    *,
    project: str = NAME,
    python: str | None = None,
    pins: dict[str, str] | None = None,
) -> str:
    body = "".join(
        f"{name}=={version}\n    # via mlflow\n" for name, version in (pins or LOCKED).items()
    )
    digest = lock.source_hash(requirements, folder)
    python = python or lock.python_version()
    return lock.header(project, python, digest, "none, as --exclude-newer said") + body


def make(
    tmp_path: Path,
    requirements: str,
    constraints: str | None = None,
    *,
    locked_from: str | None = None,
    **options: str | dict[str, str],
) -> Path:
    """A project whose requirements are REQUIREMENTS; CONSTRAINTS as constraints.txt, else (when
    the requirements include it) a lock made from LOCKED_FROM (default: the requirements)."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "model.yaml").write_text(f"name: {NAME}\n", encoding="utf-8")
    (root / "model.py").write_text("import mlflow\n", encoding="utf-8")
    (root / "input_example.json").write_text("{}", encoding="utf-8")
    (root / "requirements.txt").write_text(requirements, encoding="utf-8")
    if constraints is None and lock.uses_lock(requirements):
        constraints = lock_text(locked_from or requirements, root, **options)  # type: ignore[arg-type]
    if constraints is not None:
        (root / "constraints.txt").write_text(constraints, encoding="utf-8")
    return root


def findings(root: Path) -> dict[str, Finding]:
    found = lock_check.run(project_config.load(root))
    assert sorted(f.code for f in found) == list(lock_check.CODES)  # each code once
    return {f.code: f for f in found}


def not_passed(root: Path) -> list[tuple[str, str]]:
    return [(f.code, f.status) for f in findings(root).values() if f.status != "passed"]


REQUIREMENTS = "mfc-app==1.4.0\nmfc-base\nmfc-extra\n-c constraints.txt\n"


def test_a_current_lock_passes_every_code(tmp_path: Path) -> None:
    assert not_passed(make(tmp_path, REQUIREMENTS)) == []


def test_comments_and_order_do_not_make_a_lock_stale(tmp_path: Path) -> None:
    root = make(
        tmp_path,
        "# the model\nmfc-extra\n-c constraints.txt\nmfc-app==1.4.0  # the pin\nmfc-base\n",
        locked_from=REQUIREMENTS,
    )
    assert not_passed(root) == []


def test_an_unlocked_project_warns_once_saying_what_can_drift(tmp_path: Path) -> None:
    root = make(tmp_path, "mfc-app==1.4.0\nmfc-base\nmfc-extra>=2\n")

    found = findings(root)

    assert not_passed(root) == [("DEP015", "warning")]
    finding = found["DEP015"]
    assert finding.location == "requirements.txt"
    assert finding.message.startswith(
        "requirements.txt is not locked: mfc-base, mfc-extra (not pinned"
    )
    assert "the dependencies of its pins are resolved afresh at every install" in finding.message
    assert finding.hint is not None and "`mfc-validator lock`" in finding.hint
    assert "`nox -s lock`" in finding.hint


def test_a_constraints_file_of_the_users_own_is_no_lock_but_no_error(tmp_path: Path) -> None:
    root = make(tmp_path, "mfc-app==1.4.0\n-c constraints.txt\n", "sqlalchemy<2.1\n")

    found = findings(root)

    assert not_passed(root) == [("DEP015", "warning")]
    assert "constraints.txt was not written by `mfc-validator lock`" in found["DEP015"].message


def test_a_requirement_the_lock_does_not_satisfy_is_stale(tmp_path: Path) -> None:
    root = make(
        tmp_path,
        "mfc-app==1.5.0\nmfc-base\nmfc-extra\n-c constraints.txt\n",
        locked_from=REQUIREMENTS,
    )

    found = findings(root)

    assert not_passed(root) == [("DEP016", "failed")]
    finding = found["DEP016"]
    assert finding.location == "constraints.txt"
    assert finding.message == (
        "constraints.txt is stale: it no longer matches requirements.txt "
        "(it has mfc-app==1.4.0, the requirements ==1.5.0)"
    )
    assert finding.hint is not None and "mfc-validator lock" in finding.hint


def test_a_requirement_added_after_locking_is_stale(tmp_path: Path) -> None:
    root = make(tmp_path, REQUIREMENTS + "scikit-learn==1.9.1\n", locked_from=REQUIREMENTS)

    assert not_passed(root) == [("DEP016", "failed")]
    assert "(scikit-learn is not in it)" in findings(root)["DEP016"].message


def test_requirements_changed_within_what_the_lock_satisfies_are_still_stale(
    tmp_path: Path,
) -> None:
    # mfc-extra>=2 is satisfied by the locked 2.3.2, but the lock was not made from it
    root = make(
        tmp_path,
        "mfc-app==1.4.0\nmfc-base\nmfc-extra>=2\n-c constraints.txt\n",
        locked_from=REQUIREMENTS,
    )

    assert not_passed(root) == [("DEP016", "failed")]
    assert "(they changed since it was made)" in findings(root)["DEP016"].message


def test_a_lock_for_another_python(tmp_path: Path) -> None:
    root = make(tmp_path, REQUIREMENTS, python="3.9")

    found = findings(root)

    assert not_passed(root) == [("DEP018", "failed")]
    assert found["DEP018"].message.startswith(
        "constraints.txt was locked for Python 3.9, but the model is logged and served with "
        f"Python {lock.python_version()}"
    )
    assert found["DEP018"].location == "constraints.txt"


def test_another_projects_lock(tmp_path: Path) -> None:
    root = make(tmp_path, REQUIREMENTS, project="demand-forecast")

    found = findings(root)

    assert not_passed(root) == [("DEP017", "failed")]
    assert found["DEP017"].message == (
        "constraints.txt cannot serve as the lock of this project: it is the lock of the project "
        f"'demand-forecast', not of '{NAME}'"
    )


@pytest.mark.parametrize(
    ("damage", "said", "location"),
    [
        (
            lambda text: text.replace("mfc-base==2.3.3", "mfc-base>=2"),
            "line 8 is not name==version: 'mfc-base>=2'",
            8,
        ),
        (
            lambda text: "".join(
                line for line in text.splitlines(True) if not line.startswith("# python:")
            ),
            "its header has no '# python:' line",
            1,
        ),
        (lambda text: text.split("mfc-app==")[0], "it locks no distribution", 0),
        (
            lambda text: text.replace("mfc-base==2.3.3", "mfc-base==2.*"),
            "line 8 locks mfc-base at '2.*', not a version",
            8,
        ),
        (
            lambda text: text + "mfc-base==2.3.4\n",
            "mfc-base is locked twice (lines 8 and 14)",
            14,
        ),
    ],
    ids=["not-a-pin", "no-python", "empty", "not-a-version", "twice"],
)
def test_a_corrupt_lock(tmp_path: Path, damage: object, said: str, location: int) -> None:
    root = make(tmp_path, "placeholder\n")
    text = lock_text(REQUIREMENTS, root)
    (root / "requirements.txt").write_text(REQUIREMENTS, encoding="utf-8")
    (root / "constraints.txt").write_text(damage(text), encoding="utf-8")  # type: ignore[operator]

    found = findings(root)

    assert not_passed(root) == [("DEP017", "failed")]
    assert (
        found["DEP017"].message
        == f"constraints.txt cannot serve as the lock of this project: it is corrupt: {said}"
    )
    assert found["DEP017"].location == (
        f"constraints.txt:{location}" if location else "constraints.txt"
    )


def test_an_included_lock_that_does_not_exist(tmp_path: Path) -> None:
    root = make(tmp_path, REQUIREMENTS)
    (root / "constraints.txt").unlink()

    found = findings(root)

    assert not_passed(root) == [("DEP017", "failed")]
    assert found["DEP017"].message == (
        "constraints.txt cannot serve as the lock of this project: requirements.txt includes "
        "it, but it does not exist"
    )


def test_without_a_requirements_file_the_lock_is_not_judged(tmp_path: Path) -> None:
    root = make(tmp_path, REQUIREMENTS)
    (root / "requirements.txt").unlink()

    found = dependencies.run(Project(project_config.load(root)))

    assert {f.code: f.status for f in found if f.code in lock_check.CODES} == dict.fromkeys(
        lock_check.CODES, "skipped"
    )


@pytest.mark.parametrize("locked", [True, False])
def test_dep010_spares_a_requirement_that_only_pins_a_locked_dependency(
    tmp_path: Path, locked: bool
) -> None:
    # the sqlalchemy<2.1 under an old mlflow: mfc-base is required only to hold back a
    # dependency of mfc-app, which the model imports; the lock shows that mfc-app needs it
    requirements = "mfc-app==1.0\nmfc-base<2\n" + (f"{lock.LOCK_LINE}\n" if locked else "")
    root = make(tmp_path, requirements, "placeholder\n")
    body = "mfc-app==1.0\n    # via -r requirements.txt\nmfc-base==1.9\n    # via\n"
    body += "    #   -r requirements.txt\n    #   mfc-app\n"
    header = lock.header(NAME, lock.python_version(), lock.source_hash(requirements, root), "")
    (root / "constraints.txt").write_text(header + body, encoding="utf-8")
    result = {
        "modules": {"mfc_app": {"distributions": ["mfc-app"]}},
        "distributions": {"mfc-app": ["mfc_app"], "mfc-base": ["mfc_base"]},
        "user_imports": ["mfc_app"],
    }

    found = probe_results._dependencies(project_config.load(root), root, result)

    assert lock.parse(header + body).transitive() == {"mfc-base"}
    assert [(f.code, f.message) for f in found] == (
        []
        if locked
        else [("DEP010", "mfc-base is a requirement but the model never imports it at run time")]
    )


@pytest.mark.parametrize("locked", [True, False])
def test_a_current_lock_pins_what_the_requirements_leave_open(tmp_path: Path, locked: bool) -> None:
    requirements = REQUIREMENTS if locked else REQUIREMENTS.replace(lock.LOCK_LINE + "\n", "")
    root = make(tmp_path, requirements)

    found = dependencies.run(Project(project_config.load(root)))

    dep006 = [(f.status, f.location) for f in found if f.code == "DEP006"]
    unpinned = [("warning", "requirements.txt:2"), ("warning", "requirements.txt:3")]
    assert dep006 == ([("passed", None)] if locked else unpinned)

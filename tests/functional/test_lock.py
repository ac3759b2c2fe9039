"""`mfc-validator lock`: the real uv resolves the requirements, offline, from a folder of tiny
wheels (the package index's own answer is the slow tier's: tests/functional/test_lock_serving.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.conftest import BASE_SCENARIO, ScenarioFactory, run_cli
from tests.unit.test_resolution import wheel
from validator.commands import lock as lock_command
from validator.errors import ValidatorError
from validator.project import lock
from validator.sandbox.interpreters import find_uv

pytestmark = pytest.mark.skipif(find_uv() is None, reason="uv is not installed")
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


@pytest.fixture
def offline(tmp_path: Path) -> dict[str, str]:
    """uv's own settings: no index, only a folder of wheels (mfc-app needs mfc-base<2)."""
    links = tmp_path / "wheels"
    wheel(links, "mfc_base", "1.0")
    wheel(links, "mfc_base", "2.0")
    wheel(links, "mfc_app", "1.0", meta="Requires-Dist: mfc_base<2\n")
    return {"UV_NO_INDEX": "1", "UV_FIND_LINKS": str(links), "UV_OFFLINE": "1"}


def project(tmp_path: Path, requirements: str) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "model.yaml").write_text("name: locked-model\n", encoding="utf-8")
    (root / "model.py").write_text("import mfc_app\n", encoding="utf-8")
    (root / "input_example.json").write_text("{}", encoding="utf-8")
    (root / "requirements.txt").write_text(requirements, encoding="utf-8")
    return root


def test_lock_writes_the_full_environment_and_includes_it(
    tmp_path: Path, offline: dict[str, str]
) -> None:
    root = project(tmp_path, "# the app\nmfc-app==1.0\n")

    result = run_cli("lock", str(root), "--exclude-newer", "none", env=offline, timeout=120)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("mfc-validator: wrote constraints.txt: 2 distributions")
    assert "added '-c constraints.txt' to requirements.txt" in result.stdout
    requirements = (root / "requirements.txt").read_text(encoding="utf-8")
    assert requirements == "# the app\nmfc-app==1.0\n-c constraints.txt\n"
    text = (root / "constraints.txt").read_text(encoding="utf-8")
    written = lock.parse(text)
    assert written.project == "locked-model" and written.python == PYTHON
    assert written.requirements_hash == lock.source_hash(requirements, root)
    assert {name: pin[0] for name, pin in written.pins.items()} == {
        "mfc-app": "1.0",
        "mfc-base": "1.0",  # the dependency's newest version that the app allows
    }
    assert written.transitive() == {"mfc-base"}
    assert written.via["mfc-app"] == ["-r requirements.txt"]  # not the scratch folder's path

    again = run_cli("lock", str(root), "--exclude-newer", "none", env=offline, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "added" not in again.stdout
    assert (root / "requirements.txt").read_text(encoding="utf-8") == requirements


def test_a_requirement_that_cannot_be_had_writes_nothing(
    tmp_path: Path, offline: dict[str, str]
) -> None:
    root = project(tmp_path, "mfc-app==1.0\nmfc-base==2.0\n")

    result = run_cli("lock", str(root), "--exclude-newer", "none", env=offline, timeout=120)

    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("mfc-validator: error: the requirements do not resolve for Python")
    assert "mfc-base" in line and "nothing was written" in line
    assert not (root / "constraints.txt").exists()
    assert (root / "requirements.txt").read_text(
        encoding="utf-8"
    ) == "mfc-app==1.0\nmfc-base==2.0\n"


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--exclude-newer", "last tuesday"), "--exclude-newer 'last tuesday': expected a date"),
        ((), "requirements.txt does not exist: nothing to lock"),
        (
            ("--exclude-newer", "none"),
            "constraints.txt exists and was not written by mfc-validator lock, which would "
            "overwrite it: rename your constraints",
        ),
    ],
)
def test_an_unusable_invocation_is_one_line(
    tmp_path: Path, offline: dict[str, str], args: tuple[str, ...], said: str
) -> None:
    root = project(tmp_path, "mfc-app==1.0\n")
    if not args:
        (root / "requirements.txt").unlink()
    mine = "mfc-base<2  # the user's own constraints\n"
    if "constraints.txt" in said:
        (root / "constraints.txt").write_text(mine, encoding="utf-8")

    result = run_cli("lock", str(root), *args, env=offline, timeout=120)

    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"mfc-validator: error: {said}")
    if "constraints.txt" in said:
        assert (root / "constraints.txt").read_text(encoding="utf-8") == mine  # untouched
    else:
        assert not (root / "constraints.txt").exists()
    assert (root / "requirements.txt").exists() == bool(args)


def test_a_uv_too_old_for_the_cutoff_is_one_line_naming_the_upgrade(
    tmp_path: Path, offline: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a uv from before --exclude-newer-package, as it answers an option it does not know
    old_uv = tmp_path / "uv"
    old_uv.write_text(
        "#!/bin/sh\necho \"error: unexpected argument '--exclude-newer-package' found\" >&2\n"
        "exit 2\n",
        encoding="utf-8",
    )
    old_uv.chmod(0o755)
    root = project(tmp_path, "mfc-app==1.0\n")
    monkeypatch.setattr("validator.sandbox.interpreters.find_uv", lambda: str(old_uv))
    for name, value in offline.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(ValidatorError) as raised:
        lock_command.run(str(root), "2020-01-01T00:00:00Z")

    assert "is too old for the lock's cutoff" in str(raised.value)
    assert "pip install -U uv" in str(raised.value) and "--exclude-newer none" in str(raised.value)
    assert not (root / "constraints.txt").exists()


def test_the_cutoff_leaves_out_newer_dependencies_but_not_the_requirements(
    tmp_path: Path, offline: dict[str, str]
) -> None:
    # the wheels' folder gives uv no upload times: a cutoff then excludes nothing it cannot date,
    # so this shows only that the cutoff and the requirements' exemption reach uv unrefused
    root = project(tmp_path, "mfc-app==1.0\n")

    result = run_cli(
        "lock", str(root), "--exclude-newer", "2020-01-01T00:00:00Z", env=offline, timeout=120
    )

    assert result.returncode == 0, result.stderr
    text = (root / "constraints.txt").read_text(encoding="utf-8")
    assert "# exclude-newer: 2020-01-01T00:00:00Z, as --exclude-newer said\n" in text


def test_check_finds_the_lock_stale_once_the_requirements_outgrow_it(
    tmp_path: Path, offline: dict[str, str]
) -> None:
    root = project(tmp_path, "mfc-app==1.0\n")
    assert run_cli("lock", str(root), "--exclude-newer", "none", env=offline).returncode == 0
    assert statuses(root)["DEP016"] == "passed"
    requirements = root / "requirements.txt"
    requirements.write_text(
        requirements.read_text(encoding="utf-8") + "mfc-base==2.0\n", encoding="utf-8"
    )

    result = run_cli("check", str(root), "--format", "json")

    [stale] = [c for c in json.loads(result.stdout)["checks"] if c["code"] == "DEP016"]
    assert result.returncode == 1
    assert stale["status"] == "failed" and stale["location"] == "constraints.txt"
    assert stale["message"] == (
        "constraints.txt is stale: it no longer matches requirements.txt "
        "(it has mfc-base==1.0, the requirements ==2.0)"
    )
    assert "`mfc-validator lock`" in stale["hint"]


def statuses(root: Path) -> dict[str, str]:
    result = run_cli("check", str(root), "--format", "json")
    return {c["code"]: c["status"] for c in json.loads(result.stdout)["checks"]}


def test_validate_logs_nothing_under_a_stale_lock(scenario_project: ScenarioFactory) -> None:
    root = scenario_project(BASE_SCENARIO)
    requirements = root / "requirements.txt"
    locked = requirements.read_text(encoding="utf-8") + lock.LOCK_LINE + "\n"
    pins = "".join(line + "\n" for line in locked.splitlines() if "==" in line)
    header = lock.header("fixture-scaler", PYTHON, lock.source_hash(locked, root), "none")
    (root / lock.LOCK_FILE).write_text(header + pins, encoding="utf-8")
    requirements.write_text(locked, encoding="utf-8")
    assert {code: s for code, s in statuses(root).items() if s != "passed"} == {
        "DEP012": "skipped"  # good/ has no pre-commit configuration
    }
    requirements.write_text(locked + "mfc-extra==1.0\n", encoding="utf-8")

    result = run_cli("validate", str(root), "--format", "json", timeout=300)

    report = json.loads(result.stdout)
    assert result.returncode == 1, result.stderr
    assert [(c["code"], c["message"]) for c in report["checks"] if c["status"] == "failed"] == [
        (
            "DEP016",
            "constraints.txt is stale: it no longer matches requirements.txt "
            "(mfc-extra is not in it)",
        )
    ]
    assert report["run_id"] is None and not (root / ".mlflow").exists()  # nothing logged


def test_a_resolution_a_lock_cannot_pin_is_one_line(
    tmp_path: Path, offline: dict[str, str]
) -> None:
    # a direct reference resolves, but a constraints file cannot pin it by name==version
    base = tmp_path / "wheels" / "mfc_base-1.0-py3-none-any.whl"
    root = project(tmp_path, f"mfc-base @ {base.as_uri()}\n")

    result = run_cli("lock", str(root), "--exclude-newer", "none", env=offline, timeout=120)

    assert result.returncode == 2, result.stdout
    [line] = result.stderr.splitlines()
    assert line.startswith(
        "mfc-validator: error: the resolution of requirements.txt cannot be written as a lock, "
        "which pins name==version only: line "
    )
    assert line.endswith("; nothing was written")
    assert not (root / "constraints.txt").exists()
    assert "-c" not in (root / "requirements.txt").read_text(encoding="utf-8")


def test_constraints_of_the_users_own_are_honoured_and_watched(
    tmp_path: Path, offline: dict[str, str]
) -> None:
    root = project(tmp_path, "mfc-base\n-c mine.txt\n")
    (root / "mine.txt").write_text("mfc-base<2\n", encoding="utf-8")

    result = run_cli("lock", str(root), "--exclude-newer", "none", env=offline, timeout=120)

    assert result.returncode == 0, result.stderr
    written = lock.parse((root / "constraints.txt").read_text(encoding="utf-8"))
    assert {name: pin[0] for name, pin in written.pins.items()} == {"mfc-base": "1.0"}
    assert statuses(root)["DEP016"] == "passed"
    (root / "mine.txt").write_text("mfc-base<3\n", encoding="utf-8")
    assert statuses(root)["DEP016"] == "failed"  # what the lock was made from changed

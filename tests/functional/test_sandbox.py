"""The isolated sandbox, with real virtualenvs and real installs (slow tier)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import GOOD_MODEL, ProjectFactory, run_cli
from tests.pins import MLFLOW, NUMPY, PANDAS
from validator.tracking.store import STORE_DIR

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One environment cache for the scenarios that share the default requirements."""
    return tmp_path_factory.mktemp("env-cache")


def validate(
    project: Path, cache: Path, env: dict[str, str] | None = None, *extra: str
) -> tuple[int, dict[str, dict[str, str]], subprocess.CompletedProcess[str]]:
    out = project.parent / f"{project.name}-report.json"
    result = run_cli(
        "validate",
        str(project),
        "--format",
        "json",
        "--output",
        str(out),
        *extra,
        env={"MFC_VALIDATOR_CACHE": str(cache), **(env or {})},
    )
    assert "Traceback" not in result.stderr, result.stderr
    report = json.loads(out.read_text())
    checks = {c["code"]: c for c in report["checks"]}
    # a code is reported passed once, or by its findings only (one or more, none of them passed)
    statuses: dict[str, list[str]] = {}
    for check in report["checks"]:
        statuses.setdefault(check["code"], []).append(check["status"])
    mixed = {code: s for code, s in statuses.items() if "passed" in s and len(s) > 1}
    assert mixed == {}, f"codes reported passed and again: {mixed}"
    non_passed: dict[str, dict[str, str]] = {}
    for check in report["checks"]:
        if check["status"] != "passed":
            non_passed.setdefault(check["code"], check)
    return result.returncode, {**checks, **non_passed}, result


def failures(checks: dict[str, dict[str, str]]) -> set[str]:
    return {code for code, check in checks.items() if check["status"] == "failed"}


def with_load(extra: str, imports: str = "") -> str:
    """GOOD_MODEL with EXTRA in load_context, and IMPORTS (module names) imported first."""
    source = GOOD_MODEL.replace(
        "self.weights = np.array([0.5, 1.5])",
        f"self.weights = np.array([0.5, 1.5])\n        {extra}",
    )
    lines = "".join(f"import {module}\n" for module in imports.split())
    return source.replace("import mlflow\n", f"{lines}\nimport mlflow\n") if lines else source


def test_good_project_passes_and_second_run_reuses_the_environment(
    make_project: ProjectFactory, shared_cache: Path
) -> None:
    project = make_project()
    code, checks, _ = validate(project, shared_cache)
    assert code == 0, checks
    assert checks["SBX005"]["status"] == "passed"
    code, checks, result = validate(project, shared_cache)
    assert code == 0
    assert "reused from the cache" in checks["SBX001"]["message"]
    assert "reused from the cache" in result.stderr


def test_missing_dependency(make_project: ProjectFactory, shared_cache: Path) -> None:
    project = make_project({"model.py": with_load("import cookiecutter  # noqa: F401")})
    code, checks, _ = validate(project, shared_cache)
    assert code == 1
    assert "SBX002" in failures(checks)
    assert "imports cookiecutter" in checks["SBX002"]["message"]
    assert "requirements.txt" in checks["SBX002"]["hint"]


def test_transitive_only_dependency_warns(make_project: ProjectFactory, shared_cache: Path) -> None:
    project = make_project({"model.py": with_load("import yaml  # noqa: F401")})
    _, checks, _ = validate(project, shared_cache)
    assert checks["DEP009"]["status"] == "warning"
    assert "yaml" in checks["DEP009"]["message"]
    assert checks["SBX002"]["status"] == "passed"


PANDAS_ONLY_MODEL = """\
import mlflow
import pandas as pd


class Echo(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        shown = f"{model_input.values}"  # numpy prints the array: numpy's import, from C
        return pd.DataFrame({"score": [float(len(shown))] * len(model_input)})


mlflow.models.set_model(Echo())
"""


def test_an_import_made_by_a_library_is_not_the_models(
    make_project: ProjectFactory, shared_cache: Path
) -> None:
    project = make_project(
        {"model.py": PANDAS_ONLY_MODEL, "requirements.txt": f"{MLFLOW}\n{PANDAS}\n"}
    )
    code, checks, _ = validate(project, shared_cache)
    assert code == 0, failures(checks)
    assert checks["DEP009"]["status"] == "passed", checks["DEP009"]


def test_local_module_not_in_code_paths(make_project: ProjectFactory, shared_cache: Path) -> None:
    project = make_project(
        {
            "helpers.py": "WEIGHTS = [0.5, 1.5]\n",
            "model.py": with_load("from helpers import WEIGHTS  # noqa: F401"),
        }
    )
    code, checks, _ = validate(project, shared_cache)
    assert code == 1
    assert checks["SCR007"]["status"] == "passed"  # it works at logging time...
    assert "SBX002" in failures(checks)  # ...and fails where serving would
    assert "imports helpers" in checks["SBX002"]["message"]
    assert "code_paths" in checks["SBX002"]["hint"]


def test_local_module_in_code_paths_passes(
    make_project: ProjectFactory, shared_cache: Path
) -> None:
    project = make_project(
        {
            "model.yaml": "code_paths: [helpers.py]\n",
            "helpers.py": "WEIGHTS = [0.5, 1.5]\n",
            "model.py": with_load("from helpers import WEIGHTS  # noqa: F401"),
        }
    )
    code, checks, _ = validate(project, shared_cache)
    assert code == 0, failures(checks)


def test_relative_file_read(make_project: ProjectFactory, shared_cache: Path) -> None:
    source = with_load("self.bias = float(open('data.txt').read())")
    line = next(i for i, x in enumerate(source.splitlines(), 1) if "data.txt" in x)
    project = make_project({"data.txt": "0.25\n", "model.py": source})
    code, checks, _ = validate(project, shared_cache)
    assert code == 1
    assert "SBX002" in failures(checks)
    assert "FileNotFoundError" in checks["SBX002"]["message"]
    assert checks["SBX002"]["location"] == f"model.py:{line}"
    assert "artifacts" in checks["SBX002"]["hint"]


def test_variable_read_under_a_computed_name(
    make_project: ProjectFactory, shared_cache: Path
) -> None:
    source = with_load('self.flag = os.environ.get("MODEL_" + "MODE", "fast")').replace(
        "import mlflow\n", "import os\n\nimport mlflow\n"
    )
    line = next(i for i, x in enumerate(source.splitlines(), 1) if '"MODEL_"' in x)
    code, checks, _ = validate(make_project({"model.py": source}), shared_cache)
    assert code == 1
    assert "ENV004" in failures(checks)
    assert "MODEL_MODE" in checks["ENV004"]["message"]
    assert checks["ENV004"]["location"] == f"model.py:{line}"


def test_declared_variable_is_passed_into_the_sandbox(
    make_project: ProjectFactory, shared_cache: Path
) -> None:
    source = with_load('self.weights = self.weights * float(os.environ["MODEL_SCALE"])').replace(
        "import mlflow\n", "import os\n\nimport mlflow\n"
    )
    project = make_project({"model.py": source, "model.yaml": "env: [MODEL_SCALE]\n"})
    code, checks, _ = validate(project, shared_cache, {"MODEL_SCALE": "2"})
    assert code == 0, {c: checks[c]["message"] for c in failures(checks)}


def test_required_variable_unset(
    make_project: ProjectFactory, shared_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project({"model.yaml": "env:\n  - {name: MFC_TEST_UNSET_VAR}\n"})
    # the validation's environment is this one's: make sure the variable is not in it
    monkeypatch.delenv("MFC_TEST_UNSET_VAR", raising=False)
    code, checks, _ = validate(project, shared_cache)
    assert code == 1
    assert "ENV006" in failures(checks)
    assert "MFC_TEST_UNSET_VAR" in checks["ENV006"]["message"]
    assert checks["SBX001"]["status"] == "skipped"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("numpy==9.9.9", "the package index has no version numpy==9.9.9"),  # not-a-pin
        ("mfc-no-such-dist-xyz==1.0", "no distribution named mfc-no-such-dist-xyz is on"),
    ],
)
def test_an_unresolvable_requirement_fails_before_anything_is_logged(
    make_project: ProjectFactory, shared_cache: Path, line: str, reason: str
) -> None:
    # uv resolves the requirements before a run is created: DEP014 names the requirement, its
    # line and why; the store is never opened, and no environment is left half-built
    project = make_project({"requirements.txt": f"{MLFLOW}\n{PANDAS}\n{line}\n"})
    code, checks, _ = validate(project, shared_cache)
    report = json.loads((project.parent / f"{project.name}-report.json").read_text())
    assert code == 1
    dep014 = checks["DEP014"]
    assert (dep014["status"], dep014["location"]) == ("failed", "requirements.txt:3")
    assert dep014["message"].startswith(f"{line} cannot be installed for Python")
    assert reason in dep014["message"] and "nothing was logged" in dep014["message"]
    assert {checks[code]["status"] for code in ("SCR007", "SBX001", "SBX003")} == {"skipped"}
    assert report["run_id"] is None and report["model_uri"] is None
    store = project / STORE_DIR / "mlflow.db"
    if store.exists():  # opened by some later change: it must hold no run
        with sqlite3.connect(store) as connection:
            assert connection.execute("select count(*) from runs").fetchone() == (0,)
    assert not list((shared_cache / "envs").glob(".tmp-*"))


def test_predict_raises_in_sandbox(make_project: ProjectFactory, shared_cache: Path) -> None:
    source = GOOD_MODEL.replace('x = model_input[["a", "b"]]', 'x = model_input[["a", "zz"]]')
    code, checks, _ = validate(make_project({"model.py": source}), shared_cache)
    assert code == 1
    assert {"SCR008", "SBX003"} <= failures(checks)
    assert "SIG004" not in failures(checks)  # no signature for that reason alone: one bug
    assert "KeyError" in checks["SBX003"]["message"]
    assert checks["SBX003"]["location"].startswith("model.py:")


def test_sandbox_output_differs(make_project: ProjectFactory, shared_cache: Path) -> None:
    source = GOOD_MODEL.replace(
        'return pd.DataFrame({"score": x @ self.weights})',
        'import sys\n        return pd.DataFrame({"score": x @ self.weights + len(sys.prefix)})',
    )
    code, checks, _ = validate(make_project({"model.py": source}), shared_cache)
    assert code == 1
    assert failures(checks) == {"SBX005"}


def test_secret_value_in_model_config(make_project: ProjectFactory, shared_cache: Path) -> None:
    secret = "s3cr3t-value-for-tests-0042"
    project = make_project(
        {
            "model.yaml": "env:\n  - {name: SCORER_API_TOKEN, secret: true, required: false}\n"
            f"model_config:\n  token: {secret}\n",
            # a model that fails for another reason: the leak is found from the files anyway
            "model.py": with_load('self.token = os.environ.get("SCORER_API_TOKEN")', "os").replace(
                "mlflow.models.set_model(Scorer())", "1 / 0\nmlflow.models.set_model(Scorer())"
            ),
        }
    )
    code, checks, result = validate(project, shared_cache, {"SCORER_API_TOKEN": secret})
    assert code == 1
    assert failures(checks) == {"ENV011"}
    assert checks["ENV011"]["location"] == "model.yaml:4"
    assert "SCORER_API_TOKEN in model_config" in checks["ENV011"]["message"]
    # found before logging: nothing is logged, and ENV009 does not report it a second time
    assert checks["SCR007"]["status"] == "skipped"
    assert checks["ENV009"]["status"] == "skipped"
    assert "ENV011" in checks["ENV009"]["message"]
    assert secret not in result.stdout + result.stderr
    assert secret not in json.dumps(checks)


def test_a_declared_variable_a_library_reads_is_used(
    make_project: ProjectFactory, shared_cache: Path
) -> None:
    # getpass reads LOGNAME by name, as an SDK reads its API key; the model never names it
    model_yaml = "env:\n  - {name: LOGNAME, required: false}\n"
    source = with_load("self.user = getpass.getuser()", "getpass")
    project = make_project({"model.py": source, "model.yaml": model_yaml})
    code, checks, _ = validate(project, shared_cache)
    assert code == 0, failures(checks)
    assert checks["ENV002"]["status"] == "passed", checks["ENV002"]
    assert "LOGNAME by getpass" in checks["ENV002"]["message"]
    assert "(traced in the sandbox)" in checks["ENV002"]["message"]


def test_a_variable_the_model_sets_itself_is_not_asked_of_deployers(
    make_project: ProjectFactory, shared_cache: Path
) -> None:
    loads = (
        'self.key = os.environ["MFC_DEMO_API_KEY"]\n'
        '        os.environ.setdefault("MFC_DEMO_MODE", "fast")\n'
        '        self.mode = os.environ["MFC_DEMO_" + "MODE"]'
    )
    source = with_load(loads, "os").replace(
        "mlflow.models.set_model(Scorer())",
        'os.environ["MFC_DEMO_API_KEY"] = "placeholder-key"\nmlflow.models.set_model(Scorer())',
    )
    code, checks, _ = validate(make_project({"model.py": source}), shared_cache)
    assert code == 0, {c: checks[c]["message"] for c in failures(checks)}
    for code_ in ("ENV001", "ENV004", "ENV005"):
        assert checks[code_]["status"] == "passed", checks[code_]


def test_recording_switched_off_is_skipped(
    make_project: ProjectFactory, shared_cache: Path
) -> None:
    project = make_project()
    code, checks, _ = validate(
        project, shared_cache, {"MLFLOW_RECORD_ENV_VARS_IN_MODEL_LOGGING": "false"}
    )
    assert code == 0
    assert checks["ENV008"]["status"] == "skipped"
    assert "MLFLOW_RECORD_ENV_VARS_IN_MODEL_LOGGING=false" in checks["ENV008"]["message"]


def test_two_validations_at_once_share_one_build(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    cache = tmp_path / "fresh-cache"
    projects = [make_project(name=f"p{i}") for i in range(2)]
    env = {**os.environ, "MFC_VALIDATOR_CACHE": str(cache)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "validator", "validate", str(p), "--format", "json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in projects
    ]
    outputs = [p.communicate(timeout=900) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    messages = [
        next(c["message"] for c in json.loads(out)["checks"] if c["code"] == "SBX001")
        for out, _ in outputs
    ]
    assert sum("reused from the cache" in m for m in messages) == 1, messages
    assert len([p for p in (cache / "envs").iterdir() if p.is_dir()]) == 1


def test_killed_during_build_leaves_no_partial_environment(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    cache = tmp_path / "killed-cache"
    scratch = tmp_path / "scratch"  # its own TMPDIR: other tests may run at the same time
    scratch.mkdir()
    project = make_project()
    env = {**os.environ, "MFC_VALIDATOR_CACHE": str(cache), "TMPDIR": str(scratch)}
    process = subprocess.Popen(
        [sys.executable, "-m", "validator", "validate", str(project)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list((cache / "envs").glob(".tmp-*")):
        time.sleep(0.05)
    assert list((cache / "envs").glob(".tmp-*")), "the build never started"
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    leftovers = [p.name for p in (cache / "envs").iterdir() if not p.name.endswith(".lock")]
    assert leftovers == []
    assert [p.name for p in scratch.iterdir()] == []


def test_no_cache_builds_afresh_and_keeps_nothing(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    cache = tmp_path / "untouched-cache"
    code, checks, _ = validate(make_project(), cache, None, "--no-cache")
    assert code == 0
    assert "not cached" in checks["SBX001"]["message"]
    assert not (cache / "envs").exists() or not any((cache / "envs").iterdir())


def test_sandbox_timeout(make_project: ProjectFactory, shared_cache: Path) -> None:
    # slow only in the sandbox, whose probe runs as `python -I` (the validator's workers do not)
    source = with_load("if sys.flags.isolated:\n            time.sleep(120)").replace(
        "import mlflow\n", "import sys\nimport time\n\nimport mlflow\n"
    )
    project = make_project({"model.py": source})
    started = time.monotonic()
    code, checks, _ = validate(project, shared_cache, None, "--timeout", "8")
    assert code == 1
    assert "SBX004" in failures(checks)
    assert "8 s" in checks["SBX004"]["message"]
    assert time.monotonic() - started < 100


def test_output_schema_violated_in_the_sandbox(
    make_project: ProjectFactory, shared_cache: Path
) -> None:
    source = GOOD_MODEL.replace(
        'return pd.DataFrame({"score": x @ self.weights})',
        "if not sys.flags.isolated:  # the validator's workers, not the sandbox (python -I)\n"
        '            return pd.DataFrame({"score": x @ self.weights})\n'
        '        return pd.DataFrame({"label": ["high"] * len(x)})',
    ).replace("import mlflow\n", "import sys\n\nimport mlflow\n")
    code, checks, _ = validate(make_project({"model.py": source}), shared_cache, None)
    assert code == 1
    assert {"SIG006", "SBX005"} <= failures(checks)
    assert "output schema" in checks["SIG006"]["message"]


def test_requirement_never_imported_warns(make_project: ProjectFactory, shared_cache: Path) -> None:
    requirements = f"{MLFLOW}\n{NUMPY}\n{PANDAS}\ncolorama==0.4.6\n"
    code, checks, _ = validate(make_project({"requirements.txt": requirements}), shared_cache)
    assert code == 0, failures(checks)
    assert checks["DEP010"]["status"] == "warning"
    assert "colorama" in checks["DEP010"]["message"]


def test_recorded_variable_not_declared(make_project: ProjectFactory, shared_cache: Path) -> None:
    source = with_load('self.key = os.environ.get("SCORER_API_KEY")').replace(
        "import mlflow\n", "import os\n\nimport mlflow\n"
    )
    code, checks, _ = validate(
        make_project({"model.py": source}), shared_cache, {"SCORER_API_KEY": "k-123456789"}
    )
    assert code == 1
    assert {"ENV001", "ENV004"} <= failures(checks)
    # the model is logged with only what model.yaml declares (as serving would give it), so
    # MLflow never sees the undeclared key set and does not record it
    assert checks["ENV005"]["status"] == "passed"


def test_secret_mlflow_does_not_record_warns(
    make_project: ProjectFactory, shared_cache: Path
) -> None:
    source = with_load('self.passphrase = os.environ["MODEL_PASSPHRASE"]').replace(
        "import mlflow\n", "import os\n\nimport mlflow\n"
    )
    project = make_project(
        {
            "model.py": source,
            "model.yaml": "env:\n  - {name: MODEL_PASSPHRASE, secret: true}\n",
        }
    )
    code, checks, _ = validate(project, shared_cache, {"MODEL_PASSPHRASE": "open-sesame-42"})
    assert code == 0, failures(checks)
    assert checks["ENV007"]["status"] == "warning"
    assert "MODEL_PASSPHRASE" in checks["ENV007"]["message"]


def test_a_failed_script_still_leaves_the_environment_cached(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    cache = tmp_path / "cold-cache"
    source = GOOD_MODEL.replace(
        "mlflow.models.set_model(Scorer())", "1 / 0\nmlflow.models.set_model(Scorer())"
    )
    code, checks, _ = validate(make_project({"model.py": source}), cache)
    assert code == 1 and checks["SCR007"]["status"] == "failed"
    built = [p for p in (cache / "envs").iterdir() if p.is_dir()]
    assert len(built) == 1 and (built[0] / "mfc-environment.json").is_file()
    assert not list((cache / "envs").glob(".tmp-*"))

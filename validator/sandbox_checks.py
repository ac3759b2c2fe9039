"""Checks of the logged model folder and of what the probe saw inside the sandbox."""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

import yaml

from validator.checks.modules import normalize
from validator.config import ProjectConfig
from validator.report import Finding, failed, passed, skipped, warning
from validator.sandbox import ProbeRun, requirement_lines
from validator.traceback_location import deepest_location

ENV_FILE = "environment_variables.txt"
RECORD_SWITCH = "MLFLOW_RECORD_ENV_VARS_IN_MODEL_LOGGING"
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)
_MIN_SECRET = 6  # shorter values match too much to be worth reporting
PROBE_CODES = (
    "SBX002",
    "SBX003",
    "SBX004",
    "SBX005",
    "SIG006",
    "DEP009",
    "DEP010",
    "ENV004",
    "SBX007",
)


def logged_python_version(model_dir: Path) -> str | None:
    path = model_dir / "python_env.yaml"
    if not path.is_file():
        return None
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    version = str(data.get("python", ""))
    match = re.match(r"^(\d+)\.(\d+)", version)
    return f"{match.group(1)}.{match.group(2)}" if match else None


def recorded_variables(model_dir: Path) -> list[str] | None:
    path = model_dir / ENV_FILE
    if not path.is_file():
        return None
    return [
        line.strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]


def recording_enabled() -> bool:
    return os.environ.get(RECORD_SWITCH, "true").strip().lower() not in ("false", "0", "no")


def logged_files_checks(config: ProjectConfig, model_dir: Path) -> list[Finding]:
    """ENV005, ENV007, ENV008, ENV009: what the logged folder says about variables."""
    findings: list[Finding] = []
    declared = {var.name: var for var in config.env}
    recorded = recorded_variables(model_dir)
    if recorded is None and not recording_enabled():
        reason = (
            f"{RECORD_SWITCH}=false, so MLflow wrote no {ENV_FILE}: serving UIs that show "
            "only that file will show no variables"
        )
        findings += [
            skipped("ENV005", reason),
            skipped("ENV007", reason),
            skipped("ENV008", reason),
        ]
    else:
        findings.append(passed("ENV008"))
        for name in recorded or []:
            if name not in declared:
                findings.append(
                    failed(
                        "ENV005",
                        f"the logged {ENV_FILE} lists {name}, which model.yaml does not declare",
                        f"{ENV_FILE}",
                        f"declare {name} in model.yaml env (with secret: true if it is one)",
                    )
                )
        for var in config.env:
            if var.secret and var.name not in (recorded or []):
                findings.append(
                    warning(
                        "ENV007",
                        f"secret {var.name} is not in the logged {ENV_FILE}; MLflow records only "
                        "names like *API_KEY*/*API_TOKEN* that were set at logging time, and some "
                        "serving UIs show only that file",
                        config.where("env"),
                        f"tell whoever deploys the model to set {var.name} (it is in model.yaml)",
                    )
                )
    findings += _leaks(config, model_dir)
    return findings


def _secret_values(config: ProjectConfig) -> dict[str, str]:
    names = {var.name for var in config.env if var.secret}
    names |= {name for name in os.environ if _SECRET_NAME.search(name)}
    return {
        name: os.environ[name]
        for name in sorted(names)
        if len(os.environ.get(name, "")) >= _MIN_SECRET
    }


def _leaks(config: ProjectConfig, model_dir: Path) -> list[Finding]:
    secrets = {name: value.encode() for name, value in _secret_values(config).items()}
    findings: list[Finding] = []
    if not secrets:
        return findings
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        try:
            content = path.read_bytes()
        except OSError:
            continue
        for name, value in secrets.items():
            if value in content:
                relative = path.relative_to(model_dir).as_posix()
                findings.append(
                    failed(
                        "ENV009",
                        f"the value of {name} is written in the logged model's {relative} "
                        "(value not shown)",
                        relative,
                        f"read {name} with os.environ at load time instead of putting its value in "
                        "model_config, artifacts or code; then rotate the secret",
                    )
                )
    return findings


def required_unset(config: ProjectConfig) -> list[Finding]:
    return [
        failed(
            "ENV006",
            f"{var.name} is declared required but is not set here, so the sandbox cannot run "
            "the model as serving would",
            config.where("env"),
            f"export {var.name}=... before validating (or mark it required: false)",
        )
        for var in config.env
        if var.required and var.name not in os.environ
    ]


def _user_location(
    frames: list[tuple[str, int]], model_dir: Path, config: ProjectConfig
) -> str | None:
    """The deepest of FRAMES in the model's own files, named as in the project."""
    location = deepest_location(frames, [(model_dir, "code/")])
    script = Path(config.script)
    # MLflow keeps the script's copy at the top of the model folder, by its bare name
    if location and location.startswith(f"{script.name}:") and script.name != config.script:
        location = config.script + location[len(script.name) :]
    return location


def _error_location(error: dict[str, Any], model_dir: Path, config: ProjectConfig) -> str:
    frames = [(frame["file"], frame["line"]) for frame in error.get("frames", [])]
    return _user_location(frames, model_dir, config) or config.script


def _load_failure(error: dict[str, Any], model_dir: Path, config: ProjectConfig) -> Finding:
    location = _error_location(error, model_dir, config)
    kind, message = error["type"], error["message"]
    if kind in ("ModuleNotFoundError", "ImportError") and error.get("module"):
        module = str(error["module"]).split(".")[0]
        return failed(
            "SBX002",
            f"{config.script} imports {module}, which the logged requirements do not provide",
            location,
            f"add the distribution that provides '{module}' to {config.requirements}, or list "
            "its file or folder in model.yaml code_paths if it is yours",
        )
    if kind in ("FileNotFoundError", "PermissionError", "IsADirectoryError"):
        return failed(
            "SBX002",
            f"the model failed to load in the sandbox: {kind}: {message}",
            location,
            "the sandbox runs in an empty folder, as serving does: declare the file in model.yaml "
            "artifacts and open it through context.artifacts[...] in load_context",
        )
    return failed(
        "SBX002",
        f"the model failed to load in the sandbox: {kind}: {message}",
        location,
        "the model loads only with what it declares: check requirements, code_paths, artifacts "
        "and env in model.yaml",
    )


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a == b)
    if isinstance(a, float) or isinstance(b, float):
        if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
            return False
        if math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    equal: bool = a == b
    return equal


def probe_checks(
    config: ProjectConfig,
    model_dir: Path,
    run: ProbeRun,
    local_predictions: str | None,
    timeout: float,
) -> list[Finding]:
    if run.timed_out:
        return [
            failed(
                "SBX004",
                f"the sandbox did not finish loading and predicting within {timeout:g} s",
                config.script,
                "make load_context and predict faster, or raise --timeout",
            )
        ] + [skipped(c, "the sandbox timed out") for c in PROBE_CODES if c != "SBX004"]
    result = run.result
    if result is None:
        tail = "\n".join(run.output.strip().splitlines()[-5:])
        return [
            failed(
                "SBX002",
                f"the sandbox probe ended without a result (exit {run.returncode}): {tail}",
                config.script,
                "run the model with the logged requirements to see the error",
            )
        ] + [
            skipped(c, "the probe ended without a result") for c in PROBE_CODES[1:] if c != "SBX004"
        ]
    findings: list[Finding] = []
    findings += _env_reads(config, model_dir, result)
    if result.get("stage") == "load":
        findings.append(_load_failure(result["error"], model_dir, config))
        return findings + [
            skipped(c, "the model did not load in the sandbox")
            for c in ("SBX003", "SBX005", "SIG006", "DEP009", "DEP010", "SBX007")
        ]
    if result.get("stage") == "predict":
        error = result["error"]
        location = _error_location(error, model_dir, config)
        findings.append(
            failed(
                "SBX003",
                f"predict raised in the sandbox: {error['type']}: {error['message']}",
                location,
                "fix predict so it works with only what the model declares",
            )
        )
        findings += [
            skipped(c, "predict failed in the sandbox") for c in ("SBX005", "SIG006", "SBX007")
        ]
    else:
        findings += _compare(config, result, local_predictions)
        findings.append(stream_check(config, model_dir, result.get("stream") or {}))
    findings += _dependencies(config, model_dir, result)
    return findings


STREAM_CHUNK_TYPES = ("dict", "str")


def stream_check(config: ProjectConfig, model_dir: Path, stream: dict[str, Any]) -> Finding:
    """SBX007 from the probe's report of predict_stream (`stream`), for a streamable model."""
    if not stream.get("streamable"):
        return skipped(
            "SBX007", "the model does not stream: its PythonModel defines no predict_stream"
        )
    hint = "make predict_stream a generator that yields dicts or strings for the input example"
    error = stream.get("error")
    if error:
        return failed(
            "SBX007",
            f"predict_stream raised in the sandbox on {config.input_example}: {error['type']}: "
            f"{error['message']}",
            _error_location(error, model_dir, config),
            hint + " (serving streams a single input: a one-row example)",
        )
    chunks, kinds = stream.get("chunks") or [], stream.get("types") or []
    if not chunks:
        return failed(
            "SBX007",
            f"predict_stream yielded nothing on {config.input_example} in the sandbox",
            config.script,
            hint,
        )
    wrong = sorted({kind for kind in kinds if kind not in STREAM_CHUNK_TYPES})
    if wrong:
        return failed(
            "SBX007",
            f"predict_stream yields {', '.join(wrong)} chunks; serving streams only dicts or "
            "strings",
            config.script,
            hint,
        )
    first = json.dumps(chunks[0])[:120]
    return Finding(
        "SBX007",
        "passed",
        f"predict_stream yields in the sandbox ({len(chunks)} chunks read, the first: {first})",
    )


def _compare(config: ProjectConfig, result: dict[str, Any], local: str | None) -> list[Finding]:
    findings: list[Finding] = []
    problem = result.get("output_schema_problem")
    if problem:
        findings.append(
            failed(
                "SIG006",
                f"the predictions do not conform to the logged output schema: {problem}",
                config.script,
                "return the same columns and types for every request (MLflow never enforces the "
                "output schema)",
            )
        )
    if local is None:
        findings.append(skipped("SBX005", "there are no in-process predictions to compare"))
        return findings
    sandboxed = json.loads(result["predictions"])
    if not _same(json.loads(local), sandboxed):
        shown = result["predictions"][:200]
        findings.append(
            failed(
                "SBX005",
                f"the sandbox predicted {shown} on {config.input_example}, unlike the in-process "
                f"prediction {local[:200]}",
                config.script,
                "the model depends on something outside what it declares (a file, a variable, "
                "a package version, the working directory): make it declared",
            )
        )
    return findings


def _env_reads(config: ProjectConfig, model_dir: Path, result: dict[str, Any]) -> list[Finding]:
    declared = {var.name for var in config.env}
    findings: list[Finding] = []
    for name, read in sorted(result.get("env_reads", {}).items()):
        if read.get("user") and name not in declared:
            read_at = [(read["file"], read["line"])]
            where = _user_location(read_at, model_dir, config) or f"{config.script}:{read['line']}"
            findings.append(
                failed(
                    "ENV004",
                    f"the model read {name} at run time ({read['stage']}), but model.yaml does not "
                    "declare it",
                    where,
                    f"declare {name} in model.yaml env so deployers know to set it",
                )
            )
    return findings


def _dependencies(config: ProjectConfig, model_dir: Path, result: dict[str, Any]) -> list[Finding]:
    from packaging.requirements import InvalidRequirement, Requirement

    declared: set[str] = set()
    requirements_file = model_dir / "requirements.txt"
    if requirements_file.is_file():
        for line in requirement_lines(requirements_file.read_text(encoding="utf-8")):
            try:
                declared.add(normalize(Requirement(line).name))
            except InvalidRequirement:
                continue
    modules: dict[str, Any] = result.get("modules", {})
    provided: dict[str, list[str]] = result.get("distributions", {})
    findings: list[Finding] = []
    for module in result.get("user_imports", []):
        info = modules.get(module)
        if not info or not info.get("distributions"):
            continue
        distributions = {normalize(d) for d in info["distributions"]}
        if not distributions & declared:
            dist = sorted(distributions)[0]
            findings.append(
                warning(
                    "DEP009",
                    f"the model imports {module} at run time, which only a transitive requirement "
                    f"provides ({dist})",
                    config.requirements,
                    f"add {dist} to {config.requirements} pinned, so an upgrade elsewhere cannot "
                    "remove it",
                )
            )
    for requirement in sorted(declared):
        names = provided.get(requirement, [])
        if names and not any(name in modules for name in names):
            findings.append(
                warning(
                    "DEP010",
                    f"{requirement} is a requirement but the model never imports it at run time",
                    config.requirements,
                    f"remove {requirement} from {config.requirements} if the model needs it not",
                )
            )
    return findings

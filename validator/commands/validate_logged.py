"""`mfc-validator validate models:/NAME/VERSION` (also `models:/NAME@alias`, `runs:/RUN/PATH`
and a local model folder): a model already logged, however it was logged, checked from its own
files.

What its files tell is checked as `validate` checks a project's logged model: the Python and the
requirements it was logged with (the sandbox rebuilt from them), the logged serving example
answered in the sandbox through MLflow's scoring path (and streamed where the model streams),
the output schema, the variables read against `environment_variables.txt`, the hosts contacted,
secrets in any of its files, and pickles. What needs the project (model.yaml, the script's
source before logging, the in-process run) is skipped with the reason. Nothing is logged and no
run is made: the model is only read.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from validator.checks import artifacts, secrets
from validator.checks.logged_files import logged_files_checks, recorded_variables
from validator.codes import REGISTRY, VALIDATE_STAGES, owned_by
from validator.commands.validate import ValidateOptions
from validator.errors import ValidatorError
from validator.inprocess.isolation import DEFAULT_TIMEOUT_S
from validator.paths import relative_path
from validator.pipeline import Stage, run_stages
from validator.project.config import EnvVar, ProjectConfig
from validator.redact import redact_findings, secret_values
from validator.render.progress import Progress
from validator.report import Finding, Report, failed, passed, ran, skipped, warning
from validator.sandbox import stage as sandbox
from validator.sandbox.probe_results import ENV_UNDECLARED, NET_UNDECLARED
from validator.secret_names import looks_secret
from validator.tracking import server_check, store

URI_SCHEMES = ("models:/", "runs:/")
SERVING_EXAMPLE = "serving_input_example.json"
# the stages that read only what a project has: model.yaml, the script before it is logged, the
# model run in-process
_PROJECT_ONLY = (
    "needs the project (model.yaml and the files it names): a logged model is checked from "
    "its own files"
)
# the in-process stage's codes; SIG004 alone can be read from the logged MLmodel
_IN_PROCESS_ONLY = ("SCR007", "SCR008", "SIG005", "SIG008", "CFG005", "REG004")


def is_logged_model(target: str) -> bool:
    """Whether TARGET names a logged model rather than a project folder."""
    if target.startswith(URI_SCHEMES):
        return True
    folder = Path(target)
    return (folder / "MLmodel").is_file() and not (folder / "model.yaml").is_file()


@dataclass
class LoggedValidation:
    config: ProjectConfig
    model_dir: Path
    mlmodel: dict[str, Any]
    sandbox: sandbox.SandboxState

    @property
    def payload(self) -> Path:
        return self.model_dir / SERVING_EXAMPLE


def _fetch(target: str, tracking_uri: str | None, into: Path, progress: Progress) -> Path:
    """The model's files in INTO: copied from a local folder, else downloaded from the store."""
    if not target.startswith(URI_SCHEMES):
        destination = into / "model"
        try:
            shutil.copytree(target, destination, symlinks=True)
        except (OSError, shutil.Error) as exc:
            raise ValidatorError(f"{target}: the model folder cannot be read: {exc}") from None
        return destination
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        raise ValidatorError(
            f"{target} is in a tracking store: give it with --tracking-uri or MLFLOW_TRACKING_URI"
        )
    uri, _ = store.resolve_tracking_uri(into, uri)
    server_check.preflight(uri)
    progress.say(f"downloading {target} from {server_check.shown_uri(uri)}")
    import mlflow

    mlflow.set_tracking_uri(uri)
    # models:/ is looked up in the registry: the tracking store's, unless one is named apart
    mlflow.set_registry_uri(os.environ.get("MLFLOW_REGISTRY_URI") or uri)
    try:
        local = mlflow.artifacts.download_artifacts(artifact_uri=target, dst_path=str(into))
    except Exception as exc:  # MLflow's errors for a missing name, version, alias or run
        cause = server_check.store_failure(exc) or str(exc).splitlines()[0]
        raise ValidatorError(
            f"cannot download {target} from {server_check.shown_uri(uri)}: {cause}"
        ) from None
    model_dir = Path(local)
    if not (model_dir / "MLmodel").is_file():
        raise ValidatorError(f"{target} is not a logged model: it has no MLmodel file")
    return model_dir


def _read_mlmodel(model_dir: Path, target: str) -> dict[str, Any]:
    path = model_dir / "MLmodel"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValidatorError(f"{target}: its MLmodel file cannot be read: {exc}") from None
    if not isinstance(data, dict) or "python_function" not in (data.get("flavors") or {}):
        raise ValidatorError(
            f"{target}: its MLmodel has no python_function flavor, so MLflow cannot serve it "
            "with `mlflow models serve`"
        )
    return data


def _name(target: str) -> str:
    if target.startswith("models:/"):
        rest = target.removeprefix("models:/")
        return rest.split("@", 1)[0].split("/", 1)[0] or "model"
    return Path(target.rstrip("/")).name or "model"


def _script(model_dir: Path, mlmodel: dict[str, Any]) -> str:
    """The file findings point at: the logged code of a model from code, else MLmodel."""
    code_path = mlmodel["flavors"]["python_function"].get("model_code_path")
    if isinstance(code_path, str) and (model_dir / Path(code_path).name).is_file():
        return Path(code_path).name
    return "MLmodel"


def _config(target: str, model_dir: Path, mlmodel: dict[str, Any]) -> ProjectConfig:
    """The declarations a logged model carries, as a project's would be: its requirements, its
    serving example, and the variables MLflow recorded (none of them required)."""
    recorded = recorded_variables(model_dir) or []
    env = tuple(EnvVar(name, secret=looks_secret(name), required=False) for name in recorded)
    return ProjectConfig(
        root=model_dir,
        name=_name(target),
        script=_script(model_dir, mlmodel),
        input_example=SERVING_EXAMPLE,
        env=env,
    )


def _skip(stage: str, reason: str = _PROJECT_ONLY) -> Stage[LoggedValidation]:
    def run(state: LoggedValidation) -> list[Finding]:
        return [skipped(code, reason) for code in owned_by(stage, REGISTRY)]

    return Stage(stage, run, always=True)


def _pickles(state: LoggedValidation) -> list[Finding]:
    """DEP011 over every file of the model: a pickled model is what many registries hold."""
    findings = []
    for path in sorted(state.model_dir.rglob("*")):
        if not path.is_file() or not artifacts.is_pickle(path):
            continue
        shown = relative_path(path, state.model_dir)
        modules = artifacts.imported_modules(path)
        library = f" of {', '.join(sorted(modules))} objects" if modules else ""
        findings.append(
            warning(
                "DEP011",
                f"the logged model's {shown} is a pickle{library}: loading it runs whatever code "
                "it names, and it loads only with the library versions that wrote it",
                shown,
                "log the model from code, loading a file saved as "
                + artifacts.safer_format(modules),
            )
        )
    return ran(("DEP011",), findings)


def _secrets(state: LoggedValidation) -> list[Finding]:
    """ENV010 over every text file of the model."""
    files = {
        relative_path(path, state.model_dir): path
        for path in sorted(state.model_dir.rglob("*"))
        if path.is_file()
    }
    return ran(
        ("ENV010",),
        [
            failed(
                "ENV010",
                f"{hit.shown}:{hit.line} holds what looks like a secret ({hit.kind}) in the "
                "logged model (the value is not shown)",
                f"{hit.shown}:{hit.line}",
                "rotate the secret, remove it from the project and log the model again, "
                "reading it from an environment variable at load time",
            )
            for hit in secrets.scan(files)
        ],
    )


def _inprocess(state: LoggedValidation) -> list[Finding]:
    """SIG004 from the logged MLmodel; the rest needs the model run in-process, here."""
    findings = [skipped(code, _PROJECT_ONLY) for code in _IN_PROCESS_ONLY]
    if state.mlmodel.get("signature"):
        return [*findings, passed("SIG004")]
    return [
        *findings,
        failed(
            "SIG004",
            "the logged model has no signature, so the scoring server cannot check requests "
            "against it",
            "MLmodel",
            "log the model again with an input_example (MLflow infers the signature from it) "
            "or a signature",
        ),
    ]


def _logged_files(state: LoggedValidation) -> list[Finding]:
    return logged_files_checks(state.config, state.model_dir)


def _interpreter(state: LoggedValidation) -> list[Finding]:
    return sandbox.interpreter(state.sandbox, state.model_dir)


def _environment_build(state: LoggedValidation) -> list[Finding]:
    return sandbox.environment_build(state.sandbox)


_NO_EXAMPLE = "the model was logged without an input example, so there is no request to send it"


def _probe(state: LoggedValidation) -> list[Finding]:
    if not state.payload.is_file():
        missing = failed(
            "SBX003",
            f"the logged model has no {SERVING_EXAMPLE}: {_NO_EXAMPLE}, and nothing shows that "
            "it answers one",
            "MLmodel",
            "log the model again with input_example= (a request it must answer)",
        )
        rest = [c for c in owned_by("probe", REGISTRY) if c != "SBX003"]
        return [missing, *(skipped(code, _NO_EXAMPLE) for code in rest)]
    found = sandbox.probe(state.sandbox, state.model_dir, state.payload, None, [])
    return [_undeclared_by_nature(finding) for finding in found]


def _undeclared_by_nature(finding: Finding) -> Finding:
    """A logged model declares no hosts and records only some variables: what a project fails
    for not declaring, a logged model is warned of, with what to tell whoever serves it."""
    if finding.code == "NET002":
        return skipped("NET002", "a logged model declares no hosts")
    if finding.status != "failed" or finding.code not in ("NET001", "ENV004"):
        return finding
    if finding.code == "NET001":
        message = finding.message.replace(NET_UNDECLARED, "")
        hint = "make sure the host is reachable where the model is served"
    else:
        message = finding.message.replace(
            ENV_UNDECLARED, ", and the logged environment_variables.txt does not list it"
        )
        hint = "tell whoever serves the model to set it"
    return replace(finding, status="warning", message=message, hint=hint)


def _stages() -> tuple[Stage[LoggedValidation], ...]:
    run_here = {
        "artifacts": _pickles,
        "secrets": _secrets,
        "inprocess": _inprocess,
        "logged_files": _logged_files,
        "interpreter": _interpreter,
        "environment_build": _environment_build,
        "probe": _probe,
    }
    return tuple(
        Stage(name, run_here[name]) if name in run_here else _skip(name) for name in VALIDATE_STAGES
    )


def run(target: str, options: ValidateOptions) -> Report:
    """Validate the logged model TARGET from its own files."""
    started = time.perf_counter()
    report = Report("validate", target)
    with contextlib.ExitStack() as stack:
        scratch = stack.enter_context(store.scratch_folder())
        shown = Progress.for_stream(sys.stderr, options.label)
        model_dir = _fetch(target, options.tracking_uri, scratch, shown)
        mlmodel = _read_mlmodel(model_dir, target)
        config = _config(target, model_dir, mlmodel)
        timeout = options.timeout or DEFAULT_TIMEOUT_S
        box = sandbox.SandboxState(config, options.sandbox(), timeout, shown.say, stack)
        state = LoggedValidation(config, model_dir, mlmodel, box)
        report.checks = run_stages(_stages(), state, watch=shown.stage)
        report.checks = redact_findings(report.checks, secret_values(config, os.environ))
        report.mark_unusable()
        report.mlflow_version = str(mlmodel.get("mlflow_version") or "") or None
        report.run_id = str(mlmodel.get("run_id") or "") or None  # the run that logged it
        if target.startswith("models:/"):
            report.model_uri = target
    report.duration_s = time.perf_counter() - started
    return report

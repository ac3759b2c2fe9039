"""The registry of check codes: everything else about a code derives from this table.

Each code has its family (the report's grouping), the stage that owns it (the one place that
must report it, see `validator.pipeline`), whether its failure blocks the stages after it,
whether its failure means the run could not be made (exit status 2), the title (the JUnit test
name and the message of a plain pass) and what fails (the codes page, docs/codes.md).

A code, once given a meaning, keeps it and is never reused: add new codes at the end of their
family and never renumber.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Family = Literal[
    "config",
    "script",
    "signature",
    "dependencies",
    "environment",
    "network",
    "sandbox",
    "evaluation",
    "registry",
]
FAMILIES: tuple[Family, ...] = (
    "config",
    "script",
    "signature",
    "dependencies",
    "environment",
    "network",
    "sandbox",
    "evaluation",
    "registry",
)

# The stages, in the order they run. The static ones read files only (`check` runs them); the
# others need mlflow and run in `validate` or `register`.
STATIC_STAGES = (
    "config",
    "shipping",
    "script",
    "input_example",
    "dependencies",
    "artifacts",
    "environment",
)
VALIDATE_STAGES = (
    *STATIC_STAGES,
    "secrets",  # reads files too, but costs more than check's budget allows
    "preflight",
    "resolution",  # resolves the requirements (uv pip compile): the package index, not in check
    "inprocess",
    "evaluation",
    "logged_files",
    "interpreter",
    "environment_build",
    "probe",
)
REGISTER_STAGES = ("gate", "registration")
STAGES = (*VALIDATE_STAGES, *REGISTER_STAGES)


@dataclass(frozen=True)
class Code:
    code: str
    family: Family
    stage: str
    title: str  # what holds when the check passes
    fails: str  # what fails (or warns): the codes page's table (docs/codes.md)
    blocking: bool = False  # a failure skips every later stage that needs the logged model
    listing: bool = False  # its passes say what they found: the text report shows them
    # its failure means the run could not be made: the report's exit status is 2, not 1
    unusable: bool = False


_ = Code  # the table below reads better with a short name
REGISTRY: tuple[Code, ...] = (
    _("CFG001", "config", "config", "every file model.yaml names exists",
      "a file or folder `model.yaml` names does not exist (exit status 2)", blocking=True,
      unusable=True),
    _("SCR001", "script", "script", "the script compiles",
      "the script does not compile: a syntax error, or what Python refuses when it compiles "
      "(`return` outside a function, a late `from __future__` import, …), with file and line; "
      "or it nests deeper than 500 levels",
      blocking=True),
    _("SCR002", "script", "script", "the script calls mlflow.models.set_model at module level",
      "the script never calls `mlflow.models.set_model`", blocking=True),
    _("SCR003", "script", "script", "set_model is called exactly once",
      "`set_model` is called more than once"),
    _("SCR004", "script", "script", "set_model is not hidden in a function, class or conditional",
      "`set_model` is called inside a function, class, loop, `if`/`try`, or a conditional "
      "expression, where it may never run (`with` blocks count as module level)"),
    _("SCR005", "script", "script",
      "no relative imports (a models-from-code script has no package)",
      "a relative import: a models-from-code script has no package"),
    _("SCR006", "script", "script", "set_model is not used as a decorator",
      "`set_model` used as a decorator (it returns None)", blocking=True),
    _("SCR007", "script", "inprocess", "the script runs when MLflow logs it and sets a model",
      "the script raised while MLflow ran it at logging or loading (the script's own file, line "
      "and message)", blocking=True),
    _("SCR008", "script", "inprocess", "the logged model predicts on the input example in-process",
      "the logged model's `predict` raised on the input example in-process (warning: its output "
      "cannot be turned into JSON)"),
    _("SIG001", "signature", "input_example", "the input example is a JSON object",
      "the input example is not a JSON object: not JSON, a key repeated in one object, over "
      "20 MB, or nested deeper than 100 levels", blocking=True),
    _("SIG002", "signature", "input_example",
      "the input example has exactly one serving format key",
      "the input example does not have exactly one of `dataframe_split`, `dataframe_records`, "
      "`instances`, `inputs` (plus optional `params`)", blocking=True),
    _("SIG003", "signature", "input_example", "the input example has the shape its format requires",
      "the input example's content does not have the shape its format requires", blocking=True),
    _("SIG004", "signature", "inprocess", "the logged model has a signature",
      "the logged model has no signature"),
    _("SIG005", "signature", "inprocess", "the input example conforms to the logged input schema",
      "MLflow's scoring server code (`invocations`) refuses the input example in-process: its "
      "request parsing, or the logged input schema"),
    _("SIG006", "signature", "probe", "the sandbox predictions conform to the logged output schema",
      "the sandbox predictions do not conform to the logged output schema"),
    _("DEP001", "dependencies", "dependencies",
      "every third-party import is provided by a requirement",
      "a third-party import that no requirement provides (the hint names the distribution and "
      "installed version)"),
    _("DEP002", "dependencies", "dependencies",
      "every local module the code imports is shipped in code_paths",
      "a local module the code imports is not shipped through `code_paths`"),
    _("DEP003", "dependencies", "dependencies", "every import can be mapped to a distribution",
      "an import that cannot be mapped to any distribution: nothing installed where the "
      "validator runs provides it (a distribution that installs only its namespace, as "
      "databricks-sdk does `databricks`, does not provide `databricks.vector_search`) and no "
      "requirement is named after it; when requirements are not installed here either, the "
      "message names them and the hint says to install them (`nox -s validate` does) (warning)"),
    _("DEP004", "dependencies", "dependencies",
      "no import is optional (guarded by try/except ImportError)",
      "an import guarded by `try/except ImportError` that no requirement provides (warning)"),
    _("DEP005", "dependencies", "dependencies", "every requirement line is valid",
      "a requirements line is invalid, editable, a local path or `file:` URL (`name @ "
      "file:///…`), or an unknown option (an index option: warning)"),
    _("DEP006", "dependencies", "dependencies", "every requirement is pinned with ==",
      "a requirement is not pinned with `==` or `===` (warning; not under a current lock, which "
      "pins it: see DEP015)"),
    _("DEP007", "dependencies", "dependencies", "mlflow is a requirement",
      "`mlflow` (or `mlflow-skinny`) is not a requirement"),
    _("DEP008", "dependencies", "dependencies", "no distribution is listed twice",
      "a distribution is listed twice"),
    _("DEP009", "dependencies", "probe",
      "no module used at run time comes only from a transitive requirement",
      "the model's code imports, at run time, a module only a transitive requirement provides "
      "(warning)"),
    _("DEP010", "dependencies", "probe", "every declared requirement is imported at run time",
      "a requirement is never imported at run time (warning)"),
    _("ENV001", "environment", "environment",
      "every variable the code reads is declared in model.yaml env",
      "the code reads a variable (literal name) that `model.yaml` `env` does not declare"),
    _("ENV002", "environment", "environment", "every declared variable is read by the code",
      "a declared variable is never read by name (warning)"),
    _("ENV003", "environment", "environment", "every variable read has a literal name",
      "the environment is read without a literal name (warning; the sandbox traces it)"),
    _("ENV004", "environment", "probe", "every variable read at run time is declared",
      "the model read an undeclared variable at run time in the sandbox (file and line of the "
      "read)"),
    _("ENV005", "environment", "logged_files",
      "every name in environment_variables.txt is declared",
      "the logged `environment_variables.txt` lists a variable `model.yaml` does not declare"),
    _("ENV006", "environment", "preflight", "every required declared variable is set",
      "a required declared variable is not set where the validation runs (checked before the "
      "model is logged; the run stops there)", blocking=True),
    _("ENV007", "environment", "logged_files",
      "every declared secret is recorded in environment_variables.txt",
      "a declared secret is missing from the logged `environment_variables.txt` (warning for the "
      "deployer)"),
    _("ENV008", "environment", "logged_files", "MLflow recorded environment_variables.txt",
      "MLflow's recording of `environment_variables.txt` is switched off (skipped, with the "
      "reason)"),
    _("ENV009", "environment", "logged_files",
      "no secret value appears in the logged model's files",
      "the value of a secret variable appears in a file of the logged model (the value is never "
      "shown)"),
    _("SBX001", "sandbox", "environment_build",
      "the logged requirements install in a fresh virtualenv",
      "the logged requirements do not install in a new virtualenv (the installer's own error), "
      "or the installer cannot reach the package index (certificate, proxy, credentials, "
      "network: the fix says which, located at the pip.conf or variable that names the index); "
      "passed, it says which installer and configuration installed them",
      blocking=True),
    _("SBX002", "sandbox", "probe", "the logged model loads in the sandbox",
      "the logged model does not load in the sandbox (a missing module, a relative file read, …)"),
    _("SBX003", "sandbox", "probe", "the logged model predicts in the sandbox",
      "`predict` raised in the sandbox"),
    _("SBX004", "sandbox", "probe", "the sandbox finishes within its timeout",
      "the sandbox did not finish within `--timeout`"),
    _("SBX005", "sandbox", "probe", "the sandbox predictions equal the in-process predictions",
      "the sandbox predictions differ from the in-process predictions"),
    _("SBX006", "sandbox", "interpreter", "a Python of the logged major.minor version is available",
      "no Python of the logged major.minor version is available", blocking=True),
    _("SIG007", "signature", "registration",
      "the signature is compatible with the latest registered version",
      "a breaking change against the latest registered version's signature (warning with "
      "`--allow-breaking`)"),
    _("REG001", "registry", "gate", "a passed validation of this exact content exists",
      "no passed validation of this exact content exists (with `--require-validated`), or the "
      "validation `register` ran failed", blocking=True),
    _("REG002", "registry", "registration", "the model version was registered",
      "the model version could not be registered"),
    _("REG003", "registry", "registration", "the Datagrok tags were derived from the signature",
      "the Datagrok tags could not be derived from the signature (`registry: {datagrok: true}`): "
      "it names no columns (warning), or `registry.datagrok` gives a semtype to a column it does "
      "not have, or names a different number of outputs"),
    _("SIG008", "signature", "inprocess", "the input example agrees with predict's type hints",
      "the input example disagrees with `predict`'s type hints (a model whose signature MLflow "
      "took from them): not an `inputs` request, a value the hints refuse, or a field they do "
      "not declare; MLflow only warns"),
    _("SBX007", "sandbox", "probe", "predict_stream yields in the sandbox",
      "a streamable model's `predict_stream` raised, yielded nothing, or yielded chunks other "
      "than dicts or strings in the sandbox (skipped for models that do not stream)"),
    _("DEP011", "dependencies", "artifacts", "no artifact is a pickle",
      "an artifact is a pickle (`.pkl`, `.pickle`, `.joblib`, `.cloudpickle`, `.dill`, or pickle "
      "bytes), which runs code when loaded; the hint names a safer format: skops, safetensors, "
      "ONNX (warning)"),
    _("EVL001", "evaluation", "evaluation", "the logged model is evaluated on the evaluation data",
      "the logged model could not be evaluated (unreadable data, no target column, "
      "`mlflow.models.evaluate` raised); skipped without `evaluation`"),
    _("EVL002", "evaluation", "evaluation", "every evaluation metric meets its threshold",
      "an evaluation metric misses its threshold, or the evaluation did not produce it"),
    _("EVL003", "evaluation", "evaluation",
      "no evaluation metric falls behind its baseline by more than allowed",
      "an evaluation metric falls behind the baseline by more than `max_regression`"),
    _("DEP012", "dependencies", "dependencies",
      "the mfc-validate pre-commit hook installs what requirements.txt pins",
      "the `mfc-validate` hook in `.pre-commit-config.yaml` lists `additional_dependencies` that "
      "differ from the requirements file: a missing, extra or differently pinned distribution "
      "(warning)"),
    _("DEP013", "dependencies", "dependencies", "no requirement line carries a credential",
      "a requirements line has a URL with a credential in it (`https://user:token@host`, in an "
      "index URL, `--find-links`, a VCS URL or `name @ URL`): checked before anything is "
      "logged; the credential is never shown, and the hint says where the installer takes it "
      "from instead", blocking=True),
    _("NET001", "network", "probe",
      "every host the model contacts is declared in model.yaml network",
      "the model contacted a host (name lookup or connection) that `model.yaml` `network` does "
      "not declare, while loading or predicting in the sandbox (host, port, and the file and line "
      "of the model's code that opened it)"),
    _("NET002", "network", "probe", "every declared host is contacted",
      "a host `model.yaml` `network` declares was never contacted in the sandbox (warning)"),
    _("SBX008", "sandbox", "probe", "the scoring server answers the input example in the sandbox",
      "MLflow's scoring server code refused the input example in the sandbox (the status "
      "`mlflow models serve` would answer), or could not turn the predictions into JSON"),
    _("CFG002", "config", "shipping", "every path model.yaml names stays inside the project",
      "a path `model.yaml` names (script, requirements, input example, code_paths, artifacts, a "
      "model_config file, the evaluation data), or a file inside a code_paths or artifact folder, "
      "is absolute, leads outside the project once symlinks are followed, or is a symlink loop; "
      "checked before anything is logged", blocking=True),
    _("CFG003", "config", "shipping", "no well-known secret file ships with the model",
      "a code_paths or artifact folder ships a well-known secret file (a dotenv file, a private "
      "key, `.netrc`, `.pypirc`, cloud credentials: see What leaves the project); checked before "
      "anything is logged. Its passes say how many files and bytes each entry ships",
      blocking=True, listing=True),
    _("CFG004", "config", "shipping", "no cache or version control folder ships with the model",
      "a code_paths or artifact folder ships a cache, version control or environment folder "
      "(`.git`, `.ipynb_checkpoints`, `.mlflow`, an artifact's `__pycache__`, …) (warning)"),
    _("CFG005", "config", "inprocess", "MLflow copies every code_paths and artifacts file",
      "MLflow could not copy the script, a code_paths or an artifacts entry into the model (a "
      "symlink loop, a "
      "file it cannot read, a file that vanished, a special file): the entry, the file and the "
      "error in a few lines, not SCR007", blocking=True),
    _("ENV010", "environment", "secrets", "no shipped text file holds a secret",
      "a text file the model ships holds what detect-secrets recognises as a secret (a cloud or "
      "service key, a token, a private key): file and line, never the value; accepted through "
      "`.secrets.baseline`; checked before anything is logged", blocking=True),
    _("ENV011", "environment", "environment",
      "no file the model ships holds a secret variable's value",
      "a file the model would ship (the script, code_paths, artifacts, the requirements, the "
      "input example, `model_config` in `model.yaml` or its file) holds the value of a declared "
      "secret or of a credential-like variable set where the validator runs: file and line, "
      "never the value; checked from the files before anything is logged, so `ENV009` never "
      "reports it again",
      blocking=True),
    _("REG004", "registry", "inprocess",
      "the tracking server answered every step of the validation",
      "the tracking server failed after the run was created (uploading the model, downloading "
      "it for the sandbox, recording the report): exit status 2; the message names the step and "
      "the run left open, which the next `validate` marks `KILLED`", blocking=True,
      unusable=True),
    _("SBX009", "sandbox", "probe", "the sandbox was not killed by a signal",
      "the sandbox process was killed by a signal (`SIGKILL`: the kernel's OOM killer, or "
      "someone killed it; `SIGSEGV`/`SIGABRT`: a crash in native code), named with its likely "
      "cause"),
    _("DEP014", "dependencies", "resolution",
      "the requirements resolve for the model's Python and platform",
      "a requirement cannot be had for the Python the model is logged with on this platform "
      "(`uv pip compile`): a version or a name the package index does not have, no wheel for "
      "this platform or Python, or pins that exclude each other; the message names the "
      "requirement and its line; checked before anything is logged (skipped when the index "
      "cannot be reached: SBX001 says why)", blocking=True),
    _("DEP015", "dependencies", "dependencies", "the requirements are locked",
      "the requirements file does not include a lock written by `mfc-validator lock` "
      "(`-c constraints.txt`), so what it leaves open (the dependencies of its pins, any "
      "requirement not pinned with `==`) is resolved afresh at every install: the message names "
      "what can drift (warning, once)"),
    _("DEP016", "dependencies", "dependencies", "the lock matches the requirements",
      "the lock (`constraints.txt`) is stale: a requirement it does not satisfy (not in it, or "
      "locked at a version the requirement excludes), or the requirements changed since it was "
      "made (its header's hash); checked before anything is logged", blocking=True),
    _("DEP017", "dependencies", "dependencies", "the lock is this project's and readable",
      "the file the requirements include as the lock does not exist, is corrupt (its header or "
      "a line that is not `name==version`), or is the lock of another project (its header's "
      "`project`); checked before anything is logged", blocking=True),
    _("DEP018", "dependencies", "dependencies", "the lock is for the Python the model uses",
      "the lock was made for another Python than the one `validate` logs the model with (the "
      "validator's own): its pins may not install, or not be what that Python resolves; "
      "checked before anything is logged", blocking=True),
    _("DEP019", "dependencies", "dependencies",
      "a uv.lock, if any, comes with a usable pyproject.toml",
      "a `uv.lock` without `pyproject.toml` beside it (MLflow ignores the lock), or a uv "
      "project (`pyproject.toml` and `uv.lock`) whose `pyproject.toml` is not valid TOML or "
      "declares no `[project]` dependencies; a warning when a requirements.txt lies beside a uv "
      "project, where it is not used (MLflow serves `uv.lock` with `--env-manager uv`); checked "
      "before anything is logged", blocking=True),
)  # fmt: skip
del _

CODES: dict[str, Code] = {code.code: code for code in REGISTRY}


def in_stage_order(code: Code) -> tuple[int, str]:
    """Where a code's findings stand among its stage's: by family, then code."""
    return (FAMILIES.index(code.family), code.code)


def owned_by(stage: str, registry: tuple[Code, ...] = REGISTRY) -> tuple[str, ...]:
    """The codes STAGE must report, in the order the report lists them."""
    return tuple(code.code for code in sorted(registry, key=in_stage_order) if code.stage == stage)

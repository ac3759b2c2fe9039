"""Every check code, its family and what it checks.

A code, once given a meaning, keeps it and is never reused: add new codes at the end of their
family and never renumber.
"""

from __future__ import annotations

from dataclasses import dataclass

FAMILIES = (
    "config",
    "script",
    "signature",
    "dependencies",
    "environment",
    "sandbox",
    "evaluation",
    "registry",
)


@dataclass(frozen=True)
class Code:
    code: str
    family: str
    title: str


_TABLE: tuple[tuple[str, str, str], ...] = (
    ("CFG001", "config", "every file model.yaml names exists"),
    ("SCR001", "script", "the script parses"),
    ("SCR002", "script", "the script calls mlflow.models.set_model at module level"),
    ("SCR003", "script", "set_model is called exactly once"),
    ("SCR004", "script", "set_model is not hidden in a function, class or conditional"),
    ("SCR005", "script", "no relative imports (a models-from-code script has no package)"),
    ("SCR006", "script", "set_model is not used as a decorator"),
    ("SCR007", "script", "the script runs when MLflow logs it and sets a model"),
    ("SCR008", "script", "the logged model predicts on the input example in-process"),
    ("SIG001", "signature", "the input example is a JSON object"),
    ("SIG002", "signature", "the input example has exactly one serving format key"),
    ("SIG003", "signature", "the input example has the shape its format requires"),
    ("SIG004", "signature", "the logged model has a signature"),
    ("SIG005", "signature", "the input example conforms to the logged input schema"),
    ("SIG006", "signature", "the sandbox predictions conform to the logged output schema"),
    ("DEP001", "dependencies", "every third-party import is provided by a requirement"),
    ("DEP002", "dependencies", "every local module the code imports is shipped in code_paths"),
    ("DEP003", "dependencies", "every import can be mapped to a distribution"),
    ("DEP004", "dependencies", "no import is optional (guarded by try/except ImportError)"),
    ("DEP005", "dependencies", "every requirement line is valid"),
    ("DEP006", "dependencies", "every requirement is pinned with =="),
    ("DEP007", "dependencies", "mlflow is a requirement"),
    ("DEP008", "dependencies", "no distribution is listed twice"),
    (
        "DEP009",
        "dependencies",
        "no module used at run time comes only from a transitive requirement",
    ),
    ("DEP010", "dependencies", "every declared requirement is imported at run time"),
    ("ENV001", "environment", "every variable the code reads is declared in model.yaml env"),
    ("ENV002", "environment", "every declared variable is read by the code"),
    ("ENV003", "environment", "every variable read has a literal name"),
    ("ENV004", "environment", "every variable read at run time is declared"),
    ("ENV005", "environment", "every name in environment_variables.txt is declared"),
    ("ENV006", "environment", "every required declared variable is set"),
    ("ENV007", "environment", "every declared secret is recorded in environment_variables.txt"),
    ("ENV008", "environment", "MLflow recorded environment_variables.txt"),
    ("ENV009", "environment", "no secret value appears in the logged model's files"),
    ("SBX001", "sandbox", "the logged requirements install in a fresh virtualenv"),
    ("SBX002", "sandbox", "the logged model loads in the sandbox"),
    ("SBX003", "sandbox", "the logged model predicts in the sandbox"),
    ("SBX004", "sandbox", "the sandbox finishes within its timeout"),
    ("SBX005", "sandbox", "the sandbox predictions equal the in-process predictions"),
    ("SBX006", "sandbox", "a Python of the logged major.minor version is available"),
    ("SIG007", "signature", "the signature is compatible with the latest registered version"),
    ("REG001", "registry", "a passed validation of this exact content exists"),
    ("REG002", "registry", "the model version was registered"),
    ("REG003", "registry", "the Datagrok tags were derived from the signature"),
    ("SIG008", "signature", "the input example agrees with predict's type hints"),
    ("SBX007", "sandbox", "predict_stream yields in the sandbox"),
    ("DEP011", "dependencies", "no artifact is a pickle"),
    ("EVL001", "evaluation", "the logged model is evaluated on the evaluation data"),
    ("EVL002", "evaluation", "every evaluation metric meets its threshold"),
    ("EVL003", "evaluation", "no evaluation metric falls behind its baseline by more than allowed"),
)

CODES: dict[str, Code] = {code: Code(code, family, title) for code, family, title in _TABLE}


def family_of(code: str) -> str:
    return CODES[code].family

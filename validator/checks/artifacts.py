"""No artifact is a pickle (DEP011): unpickling runs arbitrary code, and a pickle loads only with
the exact library versions that wrote it.

A pickle is told by its name (.pkl, .pickle, .joblib, ...) or by its first bytes: the PROTO
opcode, 0x80, then the protocol number (2 to 5), as every pickle since protocol 2 begins. The
modules it would import are read from its opcodes without unpickling, to name the safer format.
"""

from __future__ import annotations

import io
import pickletools
import sys
from pathlib import Path

from validator.paths import files_under, relative_path
from validator.project.sources import Project
from validator.report import Finding, ran, warning

PICKLE_SUFFIXES = (".pkl", ".pickle", ".pckl", ".joblib", ".cloudpickle", ".dill")
PROTO = 0x80
PROTOCOLS = range(2, 6)
_SCANNED_BYTES = 1 << 20  # enough for the imports at a pickle's start, cheap for a large one
_MAX_FILES = 1000  # in an artifact folder
# (the modules a pickle imports start with, the safer format to use instead)
SAFER_FORMATS = (
    (("sklearn", "skops"), "skops (skops.io.dump / skops.io.load with trusted=...)"),
    (("torch", "safetensors"), "safetensors (safetensors.torch.save_file / load_file)"),
    (("tensorflow", "keras"), "the Keras format (model.save('model.keras'))"),
    (("xgboost",), "XGBoost's own JSON or UBJSON (booster.save_model('model.ubj'))"),
    (("lightgbm",), "LightGBM's text format (booster.save_model('model.txt'))"),
    (("catboost",), "CatBoost's own format (model.save_model('model.cbm'))"),
    (("numpy", "pandas"), "safetensors or numpy's .npy/.npz with allow_pickle=False, or Parquet"),
)
GENERIC_FORMATS = "skops for scikit-learn, safetensors for tensors, ONNX, or the library's format"


def has_pickle_magic(head: bytes) -> bool:
    return len(head) >= 2 and head[0] == PROTO and head[1] in PROTOCOLS


def is_pickle(path: Path) -> bool:
    if path.suffix.lower() in PICKLE_SUFFIXES:
        return True
    try:
        with path.open("rb") as handle:
            return has_pickle_magic(handle.read(2))
    except OSError:
        return False


def imported_modules(path: Path) -> set[str]:
    """Third-party modules the pickle's GLOBAL/STACK_GLOBAL opcodes name, without unpickling."""
    try:
        with path.open("rb") as handle:
            data = handle.read(_SCANNED_BYTES)
    except OSError:
        return set()
    modules: set[str] = set()
    # STACK_GLOBAL takes its module and name from the two values pushed before it: strings, or
    # strings fetched back from the memo
    pushed: list[str | None] = []
    memo: dict[int, str | None] = {}
    try:
        for opcode, argument, _ in pickletools.genops(io.BytesIO(data)):
            name = opcode.name
            if name == "GLOBAL" and isinstance(argument, str):
                modules.add(argument.split()[0])
            elif name == "STACK_GLOBAL" and len(pushed) >= 2 and pushed[-2]:
                modules.add(str(pushed[-2]))
            if name == "MEMOIZE":
                memo[len(memo)] = pushed[-1] if pushed else None
            elif name in ("PUT", "BINPUT", "LONG_BINPUT") and isinstance(argument, int):
                memo[argument] = pushed[-1] if pushed else None
            elif name in ("GET", "BINGET", "LONG_BINGET") and isinstance(argument, int):
                pushed.append(memo.get(argument))
            else:
                pushed.append(argument if isinstance(argument, str) else None)
    except Exception:  # a truncated read, a compressed joblib: what was read is enough
        pass
    modules = {module.split(".")[0] for module in modules}
    return {m for m in modules if m not in sys.stdlib_module_names and m != "__main__"}


def safer_format(modules: set[str]) -> str:
    for prefixes, fmt in SAFER_FORMATS:
        if any(module in prefixes for module in modules):
            return fmt
    return GENERIC_FORMATS


def run(project: Project) -> list[Finding]:
    config = project.config
    findings: list[Finding] = []
    for name, relative in config.artifacts.items():
        for file in files_under(config.path(relative))[:_MAX_FILES]:
            if not is_pickle(file):
                continue
            shown = relative_path(file, config.root)
            modules = imported_modules(file)
            library = f" of {', '.join(sorted(modules))} objects" if modules else ""
            findings.append(
                warning(
                    "DEP011",
                    f"artifact '{name}' ({shown}) is a pickle{library}: loading it runs whatever "
                    "code it names, and it loads only with the library versions that wrote it",
                    shown,
                    f"save it as {safer_format(modules)}, and load that in load_context from "
                    f"context.artifacts['{name}']",
                )
            )
    return ran(("DEP011",), findings)

"""`init`'s trace: the model run as `validate` runs it (logged from code, then loaded and answering
its request in the validator's isolated sandbox), on a scratch copy of the folder with what the
files alone gave, so that what the sandbox saw is added to what init writes: the variables read
(by the model, under a name the files do not show, or by a library), the hosts contacted (but
MLflow's own telemetry) and the distributions imported that no `import` statement shows. The
folder itself is not touched until everything is known."""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from validator.adopt.static import Adoption, EnvEntry, Requirement, Sourced, installed
from validator.checks import modules
from validator.errors import ValidatorError
from validator.paths import SKIPPED_DIRS
from validator.project.requirements import normalize
from validator.render.progress import Progress
from validator.report import Finding
from validator.sandbox.probe_results import missing_module
from validator.secret_names import looks_secret

TRACED = "(traced)"
_STAGES = {"load": "loading", "predict": "answering", "stream": "streaming", "log": "logging"}
# what every process reads, whatever the model: not the deployer's to set
_AMBIENT = frozenset(
    {"HOME", "PATH", "TMPDIR", "TEMP", "TMP", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "USER", "PWD"}
)
_AMBIENT_PREFIXES = ("MLFLOW_", "PYTHON", "LC_", "XDG_")
# what a library reads that a deployer sets: a credential (looks_secret) or where to connect
_ADDRESS = re.compile(r"(^|_)(URL|URI|BASE|ENDPOINT|HOST|API|REGION|PROJECT|ORG|ORGANIZATION)(_|$)")
_NOT_COPIED = frozenset({".mlflow", ".nox", ".venv", ".git", "__pycache__"}) | SKIPPED_DIRS


@dataclass
class Trace:
    """What the sandbox saw (the probe's result), or the failed check that stopped the model."""

    seen: dict[str, Any] = field(default_factory=dict)
    failure: Finding | None = None


def candidates(adoption: Adoption, environ: dict[str, str]) -> list[str]:
    """The variables set where init runs that look like a credential or an address
    (OPENAI_API_KEY, OPENAI_BASE_URL) and that the files do not declare: the trace passes them
    to the sandbox, declared as optional, so that a library that needs one (ChatOpenAI refuses to
    start without its key) gets it; `merge` then keeps those a library of the model read."""
    declared = {entry.name for entry in adoption.env}
    return sorted(
        name
        for name, value in environ.items()
        if value
        and name not in declared
        and name not in _AMBIENT
        and not name.startswith(_AMBIENT_PREFIXES)
        and (looks_secret(name) or _ADDRESS.search(name))
    )


def probe(adoption: Adoption, texts: dict[str, str], timeout: float | None) -> Trace:
    """The sandbox probe's result for ADOPTION's folder with TEXTS (file -> text) written over a
    scratch copy of it. A model that does not load and answer its request there is the model's
    own defect (the failed check; init writes what the files say, and validate names it), unless
    it did not finish within the timeout: a script that hangs is a ValidatorError, nothing
    written, as is a trace that cannot start."""
    from validator.commands import validate
    from validator.tracking.store import default_tracking_uri

    root = adoption.root
    with tempfile.TemporaryDirectory(prefix="mfc-init-") as scratch:
        staged = Path(scratch) / root.name
        shutil.copytree(
            root, staged, symlinks=True, ignore=shutil.ignore_patterns(*sorted(_NOT_COPIED))
        )
        for name, text in texts.items():
            (staged / name).write_text(text, encoding="utf-8")
        options = validate.ValidateOptions(
            tracking_uri=default_tracking_uri(staged), timeout=timeout
        )
        seen: dict[str, Any] = {}
        progress = Progress.for_stream(sys.stderr, "")
        try:
            report = validate.run(
                staged, str(root), options, progress=progress, traced=lambda r: seen.update(r or {})
            )
        except ValidatorError as exc:
            raise ValidatorError(
                f"the trace could not run the model: {exc}; nothing was written: `mfc-validator "
                "init --no-trace` writes what the files say"
            ) from None
    if seen and seen.get("stage") not in ("load", "request", "predict", "respond"):
        return Trace(seen)
    blocking = [f for f in report.checks if f.status == "failed"]
    first = blocking[0] if blocking else None
    if first is not None and not _timed_out(first):
        return Trace(seen, failure=first)
    why = f"{first.code}: {_one_line(first.message)}" if first else "the sandbox did not run"
    raise ValidatorError(
        f"the model did not load and answer its request in the sandbox ({why}); nothing "
        "was written: `mfc-validator init --no-trace` writes what the files say, then "
        "`mfc-validator validate` shows the failure"
    )


def lacking(adoption: Adoption, trace: Trace) -> Requirement | None:
    """The distribution that TRACE's model could not do without: the sandbox, holding exactly
    what ADOPTION requires, lacked a module that the model or a library of it imported while
    loading or answering (llama_index.core imports llama_index.embeddings.openai only when an
    index is built), and a distribution installed here provides it, which ADOPTION does not
    require yet. None when the trace failed otherwise: an import that a library makes but can
    do without never fails, so only what the model needs is ever added."""
    seen = trace.seen
    module = missing_module(seen.get("error") or {})
    if trace.failure is None or seen.get("stage") not in ("load", "predict") or module is None:
        return None
    found = modules.provider(module)
    required = {normalize(r.name) for r in adoption.requirements}
    if found is None or found.key in required:
        return None
    doing = _STAGES.get(str(seen.get("stage")), "running")
    return Requirement(
        found.name,
        found.version,
        f"provides {module}, which the model imported while {doing} and the sandbox lacked "
        f"{TRACED}",
    )


def _timed_out(finding: Finding) -> bool:
    """Whether FINDING is the model's code running out of time (a hang), not a defect."""
    return finding.code == "SBX004" or "did not finish within" in finding.message


def _one_line(message: str, most: int = 300) -> str:
    """MESSAGE's first line, cut to MOST characters: the error stays one line."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    return first if len(first) <= most else first[: most - 1] + "…"


def merge(adoption: Adoption, result: dict[str, Any], environ: Mapping[str, str]) -> str:
    """Add what the probe's RESULT saw to ADOPTION (variables, hosts, distributions); what was
    added, in words. ENVIRON: the variables set where init runs (what the sandbox could get)."""
    counts = [len(adoption.env), len(adoption.network), len(adoption.requirements)]
    _variables(adoption, result, environ)
    _hosts(adoption, result)
    _distributions(adoption, result)
    added = [len(adoption.env), len(adoption.network), len(adoption.requirements)]
    words = ("variable", "host", "requirement")
    return "added " + ", ".join(
        f"{after - before} {word}{'' if after - before == 1 else 's'}"
        for word, before, after in zip(words, counts, added, strict=True)
    )


def _required_libraries(adoption: Adoption, result: dict[str, Any]) -> set[str]:
    """The top-level modules of the distributions the model requires, but mlflow: a variable
    one of them reads is the model's (openai's OPENAI_API_KEY); what MLflow and its own
    dependencies read while they log, load and trace (GitPython, OpenTelemetry), or the standard
    library, is not the deployer's to set."""
    required = {normalize(r.name) for r in adoption.requirements} - {"mlflow"}
    modules = result.get("modules") or {}
    return {
        str(module)
        for module, info in modules.items()
        if module not in sys.stdlib_module_names
        and required & {normalize(str(d)) for d in (info or {}).get("distributions") or []}
    }


def _variables(adoption: Adoption, result: dict[str, Any], environ: Mapping[str, str]) -> None:
    # what MLflow's logging read too (validate logs the model with what init declares), where
    # the sandbox did not see the same read while the model loaded and answered
    reads = {**(result.get("logging_env_reads") or {}), **(result.get("env_reads") or {})}
    theirs = _required_libraries(adoption, result)
    for name, read in sorted(reads.items()):
        if read.get("written") or name in _AMBIENT or name.startswith(_AMBIENT_PREFIXES):
            continue
        doing = _STAGES.get(str(read.get("stage")), "running")
        if read.get("user"):
            who = "the model's own code"
        else:
            libraries = [str(lib) for lib in read.get("libraries") or [] if lib in theirs]
            if not libraries or not (looks_secret(name) or _ADDRESS.search(name)):
                continue  # a library's own tuning (PYDANTIC_DISABLE_PLUGINS): not a deployer's
            if not environ.get(str(name)):
                continue  # looked up and unset, and the model worked: the SDK's other options
            who = ", ".join(libraries)
        adoption.add_env(
            EnvEntry(
                str(name),
                looks_secret(str(name)),
                False,
                f"read by {who} while {doing} {TRACED}",
            )
        )


def _hosts(adoption: Adoption, result: dict[str, Any]) -> None:
    connections = result.get("connections") or {}
    known = {entry.value for entry in adoption.network}
    for contact in sorted(connections.values(), key=lambda c: (str(c["host"]), c.get("port") or 0)):
        if contact.get("mlflow"):
            continue  # MLflow's usage telemetry, not the model
        host = str(contact["host"])
        if host in known:
            continue
        known.add(host)
        doing = _STAGES.get(str(contact.get("stage")), "running")
        port = f" (port {contact['port']})" if contact.get("port") else ""
        adoption.network.append(Sourced(host, f"contacted{port} while {doing} {TRACED}"))


def _distributions(adoption: Adoption, result: dict[str, Any]) -> None:
    modules = result.get("modules") or {}
    for module in sorted(result.get("user_imports") or []):
        info = modules.get(module) or {}
        names = sorted(normalize(str(d)) for d in info.get("distributions") or [])
        if not names or any(
            normalize(r.name) in names for r in adoption.requirements
        ):  # declared already, or a module of the standard library or the project
            continue
        here = installed(module)
        name = here.name if here else names[0]
        adoption.add_requirement(
            Requirement(
                name,
                here.version if here else None,
                f"the model imported {module} while running, which no import statement shows "
                f"{TRACED}",
            )
        )

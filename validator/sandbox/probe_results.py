"""Checks of what the probe saw in the sandbox: load and predict, the predictions against the
in-process ones and the output schema, variables read, modules imported, and streaming."""

from __future__ import annotations

import contextlib
import json
import signal
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from validator.checks import modules
from validator.checks.example_columns import missing_columns
from validator.codes import CODES, owned_by
from validator.json_compare import differences, same, unstable_paths
from validator.project import lock, uv_project
from validator.project.config import ProjectConfig
from validator.project.requirements import normalize, requirement_names
from validator.report import Finding, failed, passed, ran, skipped, warning
from validator.sandbox.limits import shown
from validator.sandbox.probe import STAGE_MARK
from validator.sandbox.runner import PROBE, ProbeRun
from validator.tracebacks import deepest_location

PROBE_CODES = owned_by("probe")


# what a project's NET001 and ENV004 failures say it lacks; a logged model, which declares
# neither, says otherwise (validator.commands.validate_logged)
NET_UNDECLARED = ", and model.yaml network does not declare it"
ENV_UNDECLARED = ", but model.yaml does not declare it"


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
    module = missing_module(error)
    if module is not None:
        return _missing_module(module, error, model_dir, config, location)
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


def missing_module(error: dict[str, Any]) -> str | None:
    """The module a ModuleNotFoundError (the probe's ERROR) failed to import, whole: the import
    asked for (llama_index.embeddings.openai) where the probe saw it, else the package the
    error names (llama_index.embeddings); None for any other error."""
    if error.get("type") != "ModuleNotFoundError" or not error.get("module"):
        return None
    return str(error.get("wanted") or error["module"])


def _importer(error: dict[str, Any], model_dir: Path) -> str | None:
    """Where a library (not the model's own files) made the import that failed: its file,
    relative to the environment's site-packages, and line (llama_index/core/embeddings/
    utils.py:12); None when the model's own code made it."""
    frames = [
        frame
        for frame in error.get("frames") or []
        if not str(frame["file"]).startswith("<frozen")
        and "/importlib/" not in str(frame["file"])
        and Path(str(frame["file"])).name != PROBE.name
    ]  # the import system's own frames and the probe's, which traces it: not the importer
    if not frames:
        return None
    file, line = str(frames[-1]["file"]), frames[-1]["line"]
    if Path(file).resolve().is_relative_to(model_dir.resolve()):
        return None
    for marker in ("/site-packages/", "/dist-packages/"):
        if marker in file:
            return f"{file.split(marker, 1)[1]}:{line}"
    return None


def _missing_module(
    module: str, error: dict[str, Any], model_dir: Path, config: ProjectConfig, location: str
) -> Finding:
    """SBX002 for a module the sandbox does not have, named in full (llama_index.embeddings.openai,
    which a library imports lazily, is not llama_index, which the requirements may well
    provide), with the distribution that provides it where one is installed here."""
    importer = _importer(error, model_dir)
    who = f"{importer} (a library the model uses)" if importer else config.script
    provider = modules.provider(module)
    logged = model_dir / "requirements.txt"
    declared = requirement_names(logged.read_text(encoding="utf-8")) if logged.is_file() else set()
    if provider is not None and normalize(provider.key) not in declared:
        return failed(
            "SBX002",
            f"{who} imports {module}, which the logged requirements do not provide; "
            f"{provider.name} provides it ({provider.version} installed here)",
            location,
            f"add {provider.name}=={provider.version} to {config.requirements}",
        )
    return failed(
        "SBX002",
        f"{who} imports {module}, which the logged requirements do not provide",
        location,
        f"add the distribution that provides '{module}' to {config.requirements}, or list "
        "its file or folder in model.yaml code_paths if it is yours",
    )


def probe_checks(
    config: ProjectConfig,
    model_dir: Path,
    run: ProbeRun,
    local_predictions: str | None,
    timeout: float,
    unstable: list[str] | None = None,
    per_process: list[str] | None = None,
) -> list[Finding]:
    """The probe's RUN as findings. LOCAL_PREDICTIONS are the in-process ones, as the scoring
    server's JSON; UNSTABLE the paths where two in-process predictions differed; PER_PROCESS
    those where two sandbox processes' predictions differed (see `differs`)."""
    if not run.timed_out and run.result is None and (run.returncode or 0) < 0:
        return killed_checks(config, run)
    changing = Changing(unstable or [], per_process or [])
    findings = _outcome(config, model_dir, run, local_predictions, timeout, changing)
    if run.returncode is not None:  # the child's exit status is known: no signal ended it
        findings += ran(("SBX009",), [])
    elif not run.timed_out:
        findings.append(skipped("SBX009", "the probe server ended without the child's status"))
    return _out_of_memory(findings, run.result)


# what usually sends each signal to a model's process
_LIKELY = {
    "SIGKILL": "most likely the kernel's OOM killer, the model needing more memory than the "
    "machine had free (`dmesg` says so), or something else killed it",
    "SIGSEGV": "a crash in native code (an extension module, often one built against another "
    "version of a library it links)",
    "SIGBUS": "a crash in native code (a memory-mapped file that went away, or a bad build)",
    "SIGABRT": "native code aborted (often a failed allocation, or an assertion in a C library)",
    "SIGTERM": "something stopped it (a CI runner's timeout, a user)",
    "SIGINT": "something stopped it (a user's Ctrl-C)",
}


_NATIVE_FIX = (
    "run the model with the logged requirements to find the native library that crashes, and "
    "pin a version of it built for this platform"
)
_FIX = {
    "SIGKILL": "make the model use less memory or give the machine more; --max-memory SIZE "
    "turns running out of memory into a MemoryError with the model's traceback",
    "SIGSEGV": _NATIVE_FIX,
    "SIGBUS": _NATIVE_FIX,
    "SIGABRT": _NATIVE_FIX,
    "SIGTERM": "raise --timeout, or the CI job's own time limit, if the model needs the time",
    "SIGINT": "run the validation again",
}


def killed_checks(config: ProjectConfig, run: ProbeRun) -> list[Finding]:
    """SBX009 for a probe killed by a signal, with the stage it reached; the rest skipped."""
    number = -(run.returncode or 0)
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = f"signal {number}"
    stage = "starting"
    for line in run.output.splitlines():
        if line.startswith(STAGE_MARK):
            stage = _doing(line[len(STAGE_MARK) :].strip())
    cause = _LIKELY.get(name, "an unusual signal: see the system's log")
    reason = f"the sandbox was killed by {name}"
    return [
        failed(
            "SBX009",
            f"the sandbox was killed by {name} while {stage} the model: {cause}",
            config.script,
            _FIX.get(name, "run the model with the logged requirements to see what ends it"),
        ),
        *ran(("SBX004",), []),
        *[skipped(c, reason) for c in PROBE_CODES if c not in ("SBX004", "SBX009")],
    ]


def _out_of_memory(findings: list[Finding], result: dict[str, Any] | None) -> list[Finding]:
    """Name --max-memory in a MemoryError's SBX002/SBX003, the limit being the likely cause."""
    limit = (result or {}).get("max_memory")
    error = (result or {}).get("error") or {}
    if not limit or error.get("type") != "MemoryError":
        return findings
    note = (
        f" (out of memory under --max-memory {shown(int(limit))}, which bounds the sandbox's "
        "address space, mlflow's own included)"
    )
    return [
        replace(f, message=f.message + note)
        if f.code in ("SBX002", "SBX003") and f.status == "failed"
        else f
        for f in findings
    ]


def _outcome(
    config: ProjectConfig,
    model_dir: Path,
    run: ProbeRun,
    local_predictions: str | None,
    timeout: float,
    changing: Changing,
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
        printed = [line for line in run.output.strip().splitlines() if STAGE_MARK not in line]
        tail = "\n".join(printed[-5:])
        return (
            [
                failed(
                    "SBX002",
                    f"the sandbox probe ended without a result (exit {run.returncode}): {tail}",
                    config.script,
                    "run the model with the logged requirements to see the error",
                )
            ]
            + [
                skipped(c, "the probe ended without a result")
                for c in PROBE_CODES
                if c not in ("SBX002", "SBX004", "SBX009")
            ]
            + ran(("SBX004",), [])
        )
    findings = ran(("SBX004",), [])  # it finished in time
    findings += ran(("ENV004",), _env_reads(config, model_dir, result))
    answered = result.get("stage") not in ("load", "request", "predict", "respond")
    findings += network_checks(config, model_dir, result.get("connections") or {}, answered)
    stage = result.get("stage")
    if stage == "load":
        findings.append(_load_failure(result["error"], model_dir, config))
        return findings + [
            skipped(c, "the model did not load in the sandbox")
            for c in ("SBX003", "SBX008", "SBX005", "SIG006", "DEP009", "DEP010", "SBX007")
        ]
    findings += ran(("SBX002",), [])
    if stage in ("request", "predict", "respond"):
        findings += _served_failure(config, model_dir, result)
        findings += [
            skipped(c, "the sandbox did not answer the example")
            for c in ("SBX005", "SIG006", "SBX007")
        ]
    else:
        findings += ran(("SBX003", "SBX008"), [])
        findings += ran(("SIG006",), _output_schema(config, result))
        findings.append(_compare(config, result, local_predictions, changing))
        findings.append(stream_check(config, model_dir, result.get("stream") or {}))
    return findings + ran(("DEP009", "DEP010"), _dependencies(config, model_dir, result))


def _served_failure(
    config: ProjectConfig, model_dir: Path, result: dict[str, Any]
) -> list[Finding]:
    """SBX003 and SBX008 when the scoring server's code did not answer the example with 200."""
    error, stage = result["error"], result["stage"]
    status = result.get("status") or 500
    if stage == "predict":
        raised = f"{error['type']}: {_short(error['message'])}"
        wrong = missing_columns(config, raised)
        return [
            failed(
                "SBX003",
                f"predict raised in the sandbox: {raised}",
                _error_location(error, model_dir, config) if wrong is None else wrong.location,
                "fix predict so it works with only what the model declares"
                if wrong is None
                else wrong.hint(),
            ),
            skipped("SBX008", "predict raised"),
        ]
    what = (
        f"refused {config.input_example} before predict ran"
        if stage == "request"
        else "could not turn the predictions into JSON"
    )
    return [
        ran(("SBX003",), [])[0] if stage == "respond" else skipped("SBX003", "predict never ran"),
        failed(
            "SBX008",
            f"in the sandbox, MLflow's scoring server {what} (HTTP {status}, as `mlflow models "
            f"serve` answers): {error['type']}: {_short(error['message'])}",
            config.input_example if stage == "request" else config.script,
            "make the example a request this model accepts where it is served (its signature "
            "and the request format of its kind), and return plain JSON-able values",
        ),
    ]


def _short(message: str, limit: int = 400) -> str:
    """MLflow's error messages run over many lines; a report line keeps their start."""
    text = " ".join(line.strip() for line in message.splitlines() if line.strip())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _allowed(config: ProjectConfig, host: str, port: int | None) -> str | None:
    """The declared entry that allows HOST:PORT, if any."""
    for entry in config.network:
        if entry.startswith("["):
            name, _, rest = entry[1:].partition("]")
            declared_port = rest[1:] if rest.startswith(":") else ""
        else:
            name, _, declared_port = entry.partition(":")
        if name == host.lower().strip("[]") and (
            not declared_port or port is None or int(declared_port) == port
        ):
            return entry
    return None


def network_checks(
    config: ProjectConfig,
    model_dir: Path,
    connections: dict[str, dict[str, Any]],
    answered: bool = True,
) -> list[Finding]:
    """NET001 for every undeclared host the model contacted, NET002 for a declared one it never
    did. Name lookups and connections both count (the probe records a connection to an address
    it looked up under the name)."""
    findings: list[Finding] = []
    used: set[str] = set()
    mlflows = sorted(
        f"{contact['host']}:{contact['port']}" if contact.get("port") else contact["host"]
        for contact in connections.values()
        if contact.get("mlflow")
    )
    for _, contact in sorted(connections.items()):
        if contact.get("mlflow"):
            continue  # MLflow's usage telemetry: not the model's
        host, port = contact["host"], contact.get("port")
        entry = _allowed(config, host, port)
        if entry is not None:
            used.add(entry)
            continue
        where = None
        if contact.get("file"):
            where = _user_location([(contact["file"], contact["line"])], model_dir, config)
        shown = f"{host}:{port}" if port else host
        findings.append(
            failed(
                "NET001",
                f"the model contacted {shown} while {_doing(contact['stage'])} in the sandbox"
                f"{NET_UNDECLARED}"
                + (" (--offline refused the connection at once)" if contact.get("blocked") else ""),
                where or config.script,
                f"add '{host}' (or '{host}:{port}') under network in model.yaml if the model "
                "must reach it where it is served; otherwise remove the call",
            )
        )
    if mlflows and not findings:
        findings.append(
            Finding(
                "NET001",
                "passed",
                f"{CODES['NET001'].title}; MLflow's usage telemetry, not the model, contacted "
                f"{', '.join(mlflows[:4])}{' and more' if len(mlflows) > 4 else ''} (usage "
                "telemetry is off in the sandbox, as in the validator's own processes)",
            )
        )
    if not answered:  # a host it would have reached later is not one it never needs
        reason = "the model did not load and answer the example in the sandbox"
        return [*ran(("NET001",), findings), skipped("NET002", reason)]
    for entry in config.network:
        if entry not in used:
            findings.append(
                warning(
                    "NET002",
                    f"model.yaml network declares {entry}, which the model never contacted "
                    "while loading and predicting on the example in the sandbox",
                    config.where("network"),
                    f"remove {entry} from network in model.yaml, unless the model reaches it "
                    "only on requests other than the example",
                )
            )
    return ran(("NET001",), [f for f in findings if f.code == "NET001"]) + ran(
        ("NET002",), [f for f in findings if f.code == "NET002"]
    )


def _doing(stage: str) -> str:
    return {"load": "loading", "predict": "predicting", "stream": "streaming"}.get(stage, stage)


STREAM_CHUNK_TYPES = ("dict", "str")


def stream_check(config: ProjectConfig, model_dir: Path, stream: dict[str, Any]) -> Finding:
    """SBX007 from the probe's report of predict_stream (`stream`), for a streamable model."""
    if not stream.get("streamable"):
        return skipped("SBX007", "the model does not stream: it defines no predict_stream")
    note = f" ({stream['note']})" if stream.get("note") else ""
    hint = "make predict_stream a generator that yields dicts or strings for the input example"
    error = stream.get("error")
    if error and error["type"] == "NotImplementedError" and stream.get("kind"):
        # an agent that does not override predict_stream: MLflow's base class raises this
        return skipped("SBX007", f"the {stream['kind']} does not implement predict_stream")
    if error:
        return failed(
            "SBX007",
            f"predict_stream raised in the sandbox on {config.input_example}{note}: "
            f"{error['type']}: {_short(error['message'])}",
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
    problems = stream.get("problems") or []
    if problems:
        kind = stream.get("kind")
        return failed(
            "SBX007",
            f"predict_stream yields chunks that are not {kind} stream chunks: {problems[0]}",
            config.script,
            f"yield the {kind}'s documented stream chunk type (e.g. ResponsesAgentStreamEvent "
            "for a ResponsesAgent, ChatAgentChunk for a ChatAgent)",
        )
    first = json.dumps(chunks[0])[:120]
    return Finding(
        "SBX007",
        "passed",
        f"predict_stream yields in the sandbox ({len(chunks)} chunks read, the first: "
        f"{first}){note}",
    )


def _output_schema(config: ProjectConfig, result: dict[str, Any]) -> list[Finding]:
    problem = result.get("output_schema_problem")
    if not problem:
        return []
    return [
        failed(
            "SIG006",
            f"the predictions do not conform to the logged output schema: {problem}",
            config.script,
            "return the same columns and types for every request (MLflow never enforces the "
            "output schema)",
        )
    ]


@dataclass(frozen=True)
class Changing:
    """Where a model's predictions change by themselves: from call to call in one process
    (CALLS), or only from process to process (PROCESSES: ids made once per process)."""

    calls: list[str]
    processes: list[str]

    def loose(self) -> frozenset[str]:
        return frozenset(self.calls) | frozenset(self.processes)


def _predictions(run: ProbeRun) -> Any:
    result = run.result or {}
    if not result.get("ok") or "predictions" not in result:
        return None
    return json.loads(result["predictions"])


def differs(run: ProbeRun, local: str | None, unstable: list[str]) -> bool:
    """Whether the sandbox answered, unlike the in-process predictions LOCAL beyond the
    UNSTABLE paths: then a second sandbox process tells per-process values from a defect."""
    sandboxed = _predictions(run)
    if local is None or sandboxed is None:
        return False
    return not same(json.loads(local), sandboxed, frozenset(unstable))


def per_process_paths(first: ProbeRun, second: ProbeRun) -> list[str]:
    """The paths where two fresh processes' predictions differ (none, if one did not answer)."""
    a, b = _predictions(first), _predictions(second)
    if a is None or b is None:
        return []
    return unstable_paths(a, b)


def _listed(paths: list[str], most: int = 8) -> str:
    more = f" and {len(paths) - most} more" if len(paths) > most else ""
    return ", ".join(paths[:most]) + more


def _pair(mine: Any, theirs: Any, width: int = 80) -> tuple[str, str]:
    """Both values as JSON, from a little before their first differing character: two long
    texts that differ late must not look the same."""
    a, b = json.dumps(mine), json.dumps(theirs)
    start = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), 0)
    start = max(0, start - 20)

    def cut(text: str) -> str:
        shown = ("…" if start else "") + text[start:]
        return shown if len(shown) <= width else shown[: width - 1] + "…"

    return cut(a), cut(b)


def _compare(
    config: ProjectConfig, result: dict[str, Any], local: str | None, changing: Changing
) -> Finding:
    """SBX005: the sandbox's predictions against the in-process ones; where two in-process
    predictions already differed (timestamps), or two sandbox processes' did (ids made once per
    process), by type and shape only. Every other differing path is named."""
    if local is None:
        return skipped("SBX005", "there are no in-process predictions to compare")
    sandboxed = json.loads(result["predictions"])
    found = differences(json.loads(local), sandboxed, changing.loose())
    if found:
        shown = "; ".join(
            "{}: in-process {}, in the sandbox {}".format(path, *_pair(mine, theirs))
            for path, mine, theirs in found[:5]
        )
        more = f"; and {len(found) - 5} more paths" if len(found) > 5 else ""
        return failed(
            "SBX005",
            f"the sandbox's predictions on {config.input_example} differ from the in-process "
            f"ones at {len(found)} path{'s' if len(found) != 1 else ''} (the same in two fresh "
            f"sandbox processes, so not a value made per process): {shown}{more}",
            config.script,
            "the model depends on something outside what it declares (a file, a variable, "
            "a package version, the working directory): make it declared",
        )
    notes = []
    if changing.calls:
        notes.append(f"from call to call in-process: {_listed(changing.calls)}")
    if changing.processes:
        notes.append(f"between two fresh processes: {_listed(changing.processes)}")
    if notes:
        return Finding(
            "SBX005",
            "passed",
            "the sandbox predictions equal the in-process predictions; these values change "
            f"by themselves, so they were compared by type and shape only: {'; '.join(notes)}",
        )
    return passed("SBX005")


def _env_reads(config: ProjectConfig, model_dir: Path, result: dict[str, Any]) -> list[Finding]:
    declared = {var.name for var in config.env}
    findings: list[Finding] = []
    for name, read in sorted(result.get("env_reads", {}).items()):
        # a variable the model's own code set before reading it is not the deployer's to set
        if read.get("user") and not read.get("written") and name not in declared:
            read_at = [(read["file"], read["line"])]
            where = _user_location(read_at, model_dir, config) or f"{config.script}:{read['line']}"
            findings.append(
                failed(
                    "ENV004",
                    f"the model read {name} at run time ({read['stage']}){ENV_UNDECLARED}",
                    where,
                    f"declare {name} in model.yaml env so deployers know to set it",
                )
            )
    return findings


def _lock_pins_dependency(config: ProjectConfig) -> set[str]:
    """The requirements the project's lock shows another locked distribution needs: such a
    requirement may be there only to pin a dependency (sqlalchemy<2.1 under an old mlflow), so
    DEP010 does not ask to remove it. Empty without a current lock."""
    requirements = config.path(config.requirements)
    path = requirements.parent / lock.LOCK_FILE
    try:
        if not lock.uses_lock(requirements.read_text(encoding="utf-8")):
            return set()
        return lock.parse(path.read_text(encoding="utf-8")).transitive()
    except (OSError, UnicodeDecodeError, lock.LockError):
        return set()


def _dependencies(config: ProjectConfig, model_dir: Path, result: dict[str, Any]) -> list[Finding]:
    declared: set[str] = set()
    requirements_file = model_dir / "requirements.txt"
    declared_in = config.requirements
    # a uv project's direct requirements, not the lock's export: as MLflow shipped them, or the
    # project's own where the flavor ships the export alone (mlflow.langchain copies no uv files)
    uv_root = next((d for d in (model_dir, config.root) if uv_project.is_uv_project(d)), None)
    if uv_root is not None:
        declared_in = uv_project.PYPROJECT
        with contextlib.suppress(uv_project.UvProjectError):
            declared = requirement_names("\n".join(uv_project.direct_dependencies(uv_root)))
    elif requirements_file.is_file():
        declared = requirement_names(requirements_file.read_text(encoding="utf-8"))
    modules: dict[str, Any] = result.get("modules", {})
    # the probe sends distribution names as installed; they are compared as PEP 503 names
    provided: dict[str, list[str]] = {}
    for distribution, names in result.get("distributions", {}).items():
        provided.setdefault(normalize(distribution), []).extend(names)
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
                    declared_in,
                    f"add {dist} to {declared_in} pinned, so an upgrade elsewhere cannot remove it",
                )
            )
    pinning = _lock_pins_dependency(config)
    for requirement in sorted(declared - pinning):
        names = provided.get(requirement, [])
        if names and not any(name in modules for name in names):
            findings.append(
                warning(
                    "DEP010",
                    f"{requirement} is a requirement but the model never imports it at run time",
                    declared_in,
                    f"remove {requirement} from {declared_in} if the model does not need it",
                )
            )
    return findings

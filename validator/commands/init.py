"""`mfc-validator init [DIR]`: turn a folder holding a models-from-code script into a project,
writing model.yaml, requirements.txt and input_example.json from what its files say and from what
the model did when run as `validate` runs it, in the sandbox (the trace; --no-trace: the files
only, the script never run). Nothing is overwritten without
--force, which shows the differences; --dry-run writes nothing; a run that cannot be
made leaves the folder as it was (every file is written only once everything is known)."""

from __future__ import annotations

import copy
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from validator.adopt import static
from validator.adopt.static import Adoption, EnvEntry, Sourced
from validator.errors import ValidatorError
from validator.render import adopt as rendered
from validator.report import Finding, failed
from validator.secret_names import looks_secret

MODEL_YAML = "model.yaml"
REQUIREMENTS = "requirements.txt"
INPUT_EXAMPLE = "input_example.json"
NOXFILE = "noxfile.py"
# how many distributions the trace adds, one run of the model each, for modules that the sandbox
# lacked (a library's lazy import): more is a model that needs what is not installed here
_MOST_LACKING = 3
PRE_COMMIT = ".pre-commit-config.yaml"


@dataclass(frozen=True)
class InitOptions:
    force: bool = False
    dry_run: bool = False
    with_nox: bool = False
    with_pre_commit: bool = False
    script: str | None = None  # --script: the script to adopt, where the folder has several
    trace: bool = False  # run the model in the sandbox and add what it did (the command's default)
    timeout: float | None = None  # --timeout, for the trace: as validate's


@dataclass
class Plan:
    """What init writes: file -> its new text, and the files it keeps as they are."""

    root: Path
    texts: dict[str, str] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    traced: str = ""  # with --trace: what the sandbox added, in words


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidatorError(f"{path}: cannot be read ({exc.__class__.__name__})") from None


def _files(adoption: Adoption, force: bool) -> dict[str, Sourced]:
    """requirements and input_example: the file model.yaml names, and whether init writes it (and
    from what) or keeps the one there."""
    example = adoption.example
    request = (
        f"one request from {example.origin}"
        if example is not None
        else "a placeholder to fill in: nothing shows a request (static)"
    )
    files: dict[str, Sourced] = {}
    for key, name, what in (
        ("requirements", REQUIREMENTS, "pinned to the versions installed here (static)"),
        ("input_example", INPUT_EXAMPLE, request),
    ):
        exists = (adoption.root / name).is_file()
        origin = (
            "kept as it was (--force replaces it)"
            if exists and not force
            else f"written by init: {what}"
        )
        files[key] = Sourced(name, origin)
    return files


def _writes(name: str, root: Path, force: bool) -> bool:
    return force or not (root / name).exists()


def plan(adoption: Adoption, options: InitOptions) -> Plan:
    """The files to write for ADOPTION, and the findings about them."""
    root = adoption.root
    result = Plan(root)
    files = _files(adoption, options.force)
    texts = {
        MODEL_YAML: rendered.model_yaml(adoption, files),
        REQUIREMENTS: rendered.requirements_txt(adoption),
        INPUT_EXAMPLE: rendered.example_json(adoption),
    }
    for name, text in texts.items():
        if _writes(name, root, options.force):
            result.texts[name] = text
        else:
            result.kept.append(name)
    if adoption.example is None and INPUT_EXAMPLE in result.texts:
        result.findings.append(
            failed(
                "SIG002",
                f"{INPUT_EXAMPLE} is a placeholder: nothing in {adoption.script.value}, its "
                "modules or its tests shows a request (no MLflow agent class, no typed predict, "
                "no input_example= or input_example variable)",
                INPUT_EXAMPLE,
                "write one request as a client would POST it to /invocations, e.g. "
                '{"dataframe_records": [{"column": 1.0}]}, then run `mfc-validator validate`',
            )
        )
    if options.with_nox or options.with_pre_commit:
        from validator.adopt.template import render_files

        requirements = texts[REQUIREMENTS] if REQUIREMENTS in result.texts else None
        if requirements is None:
            requirements = _read(root / REQUIREMENTS) or ""
        for name, text in render_files(
            root, options.with_nox, options.with_pre_commit, requirements
        ).items():
            if _writes(name, root, options.force):
                result.texts[name] = text
            else:
                result.kept.append(name)
    return result


def _writable(root: Path) -> None:
    """Raise a ValidatorError unless files can be made in ROOT (a read-only folder or file
    system), asked of the system without touching the folder (even its modification time)."""
    if not os.access(root, os.W_OK | os.X_OK):
        raise ValidatorError(
            f"{root}: cannot write there (not writable); nothing was written: make the "
            "folder writable, or see what init would write with --dry-run"
        )


def _write(root: Path, texts: dict[str, str]) -> None:
    """Every file at once: each is made beside its target first, then all are moved in place,
    so that a failure leaves the folder as it was."""
    staged: list[tuple[str, Path]] = []
    try:
        for name, text in texts.items():
            fd, temporary = tempfile.mkstemp(dir=root, prefix=f".{name}.", suffix=".tmp")
            staged.append((temporary, root / name))
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
    except OSError as exc:
        for temporary, _ in staged:
            Path(temporary).unlink(missing_ok=True)
        raise ValidatorError(
            f"{root}: cannot write there ({exc.strerror}); nothing was written"
        ) from None
    for temporary, target in staged:
        os.replace(temporary, target)


def _trace_texts(adoption: Adoption, options: InitOptions, result: Plan) -> dict[str, str]:
    """The files the trace writes over its scratch copy: init's own, with model.yaml declaring
    (as optional) every credential or address variable set here that the files do not show, so
    that a library that needs one gets it in the sandbox (see traced.candidates)."""
    from validator.adopt import traced

    names = traced.candidates(adoption, dict(os.environ))
    if not names or MODEL_YAML not in result.texts:
        return result.texts
    scratch = copy.deepcopy(adoption)
    for name in names:
        scratch.add_env(EnvEntry(name, looks_secret(name), False, "set where init runs"))
    return {
        **result.texts,
        MODEL_YAML: rendered.model_yaml(scratch, _files(scratch, options.force)),
    }


def run(
    root: Path,
    display: str,
    options: InitOptions,
    out: TextIO,
) -> int:
    """Adopt the folder ROOT; what was written (or would be) on OUT. The exit status: 0 written,
    1 written with a failing finding (a placeholder to fill in, or the model's own defect that
    the trace met), 2 nothing could be made (a script that hangs among them)."""
    if not root.is_dir():
        raise ValidatorError(f"{display}: no such folder")
    adoption = static.infer(root, options.script)
    if (root / MODEL_YAML).exists() and not options.force and not options.dry_run:
        raise ValidatorError(
            f"{display}/{MODEL_YAML} exists: the folder is a project already; `mfc-validator "
            "check` it, or give --force to write it again (the differences are shown)"
        )
    result = plan(adoption, options)
    if result.texts and not options.dry_run:
        _writable(root)
    if options.trace and adoption.example is None:
        result.traced = (
            "not traced: with no request, the model cannot answer in the sandbox; fill in "
            f"{INPUT_EXAMPLE}, then `mfc-validator validate` says what the model reads and "
            "contacts"
        )
    elif options.trace:
        from validator.adopt import traced

        # the model runs with what init would write over the folder's own files (those it keeps)
        trace = traced.probe(adoption, _trace_texts(adoption, options, result), options.timeout)
        lacked: list[str] = []
        while len(lacked) < _MOST_LACKING and (needed := traced.lacking(adoption, trace)):
            # a module the sandbox lacked that a distribution installed here provides: the
            # model cannot work without it, so it is required, and the model is run again
            adoption.add_requirement(needed)
            lacked.append(needed.name)
            result = plan(adoption, options)
            trace = traced.probe(adoption, _trace_texts(adoption, options, result), options.timeout)
        required = (
            f"; required {', '.join(lacked)}, which the sandbox lacked at first" if lacked else ""
        )
        if trace.failure is None:
            added = traced.merge(adoption, trace.seen, os.environ)
            result = plan(adoption, options)
            result.traced = (
                f"traced: the model loaded and answered in the sandbox; {added}{required}"
            )
        else:  # the model's own defect: the project is written all the same, for validate
            result.traced = (
                "not traced: the model failed in the sandbox, so what it reads and contacts "
                f"there is unknown; the files below come from the folder's files alone{required}"
            )
            result.findings.append(trace.failure)
    _report(result, adoption, options, out, display)
    if not options.dry_run:
        _write(root, result.texts)
    return 1 if any(f.status == "failed" for f in result.findings) else 0


def _report(
    result: Plan, adoption: Adoption, options: InitOptions, out: TextIO, display: str
) -> None:
    root = result.root
    lines: list[str] = []
    verb = "would write" if options.dry_run else "wrote"
    for name, text in result.texts.items():
        before = _read(root / name)
        if before is None:
            lines.append(f"{verb} {name}")
            if options.dry_run:
                lines += ["", text.rstrip("\n"), ""]
        else:
            lines.append(f"{verb} {name} (--force: it replaces the file there)")
            lines.append(rendered.difference(name, before, text).rstrip("\n"))
    for name in result.kept:
        lines.append(f"kept {name} as it was (--force to replace it)")
    if result.traced:
        lines.append(result.traced)
    for note in adoption.notes:
        lines.append(f"to do: {note}")
    for finding in result.findings:
        where = f"{finding.location}: " if finding.location else ""
        lines.append(f"{finding.code} {finding.status}: {where}{finding.message}")
        if finding.hint:
            lines.append(f"  fix: {finding.hint}")
    if not options.dry_run:
        lines.append(
            f"next: mfc-validator check {display} (static), then mfc-validator validate {display}"
        )
    out.write("\n".join(lines) + "\n")

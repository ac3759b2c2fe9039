"""Parse arguments, run a command, render its report, return the exit status."""

from __future__ import annotations

import argparse
import difflib
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from validator import __version__
from validator.commands import explain
from validator.commands import lock as lock_command
from validator.errors import ValidatorError
from validator.render import (
    for_stream,
    render,
    render_many,
    summary_line,
    summary_table,
    to_text,
    ui_address,
    write_atomic,
)
from validator.report import Batch, Report
from validator.sandbox.limits import memory_size

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        raise SystemExit(f"mfc-validator: error: {message}")


def _parser() -> _Parser:
    parser = _Parser(
        prog="mfc-validator",
        description="Validate an MLflow models-from-code project before it is registered.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    selection = _Parser(add_help=False)
    selection.add_argument(
        "project",
        nargs="*",
        help="the project folder(s) [.]; several run as one batch. validate also takes one "
        "logged model: models:/NAME/VERSION, models:/NAME@ALIAS, runs:/RUN_ID/PATH or a "
        "model folder (one with an MLmodel file)",
    )
    selection.add_argument(
        "--all",
        nargs="?",
        const=".",
        metavar="ROOT",
        dest="all_root",
        help="every project (folder with a model.yaml) under ROOT [.], leaving out git-ignored "
        "folders, .nox, .venv and .mlflow",
    )
    selection.add_argument(
        "--shard",
        metavar="K/N",
        help="only the K-th of N stable, balanced shares of the projects (CI runners): "
        "projects that share a sandbox environment stay together",
    )
    shared = _Parser(add_help=False, parents=[selection])
    shared.add_argument(
        "--format",
        choices=("text", "json", "junit", "github"),
        default="text",
        help="report format [text]; github: GitHub Actions annotations (::error file=…)",
    )
    shared.add_argument(
        "--output",
        metavar="FILE",
        help="write the report to FILE; a short summary still goes to the terminal",
    )
    shared.add_argument(
        "-v", "--verbose", action="store_true", help="list passed checks too (text format)"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    # check opens no store: it takes --tracking-uri (a shared option of the contract) and ignores
    # it, without offering it in its --help
    untracked = _Parser(add_help=False)
    untracked.add_argument("--tracking-uri", help=argparse.SUPPRESS)
    commands.add_parser(
        "check",
        parents=[shared, untracked],
        help="static checks only: fast, imports neither mlflow nor the model",
    )
    sandboxed = _Parser(add_help=False)  # validate and register: they log, and use a store
    sandboxed.add_argument(
        "--tracking-uri",
        metavar="URI",
        help="MLflow tracking store [MLFLOW_TRACKING_URI, else a SQLite store in "
        "the project's .mlflow/ folder]",
    )
    sandboxed.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="how many projects run at once [the number of cores]",
    )
    sandboxed.add_argument(
        "--no-cache",
        action="store_true",
        help="build the sandbox environment afresh and do not keep it",
    )
    sandboxed.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="how long each stage that runs the model's code may take: logging, loading, "
        "predicting, evaluating, the sandbox [model.yaml's timeout, else 300]",
    )
    sandboxed.add_argument(
        "--offline",
        action="store_true",
        help="make every connection the model opens in the sandbox fail at once (CI without "
        "network): a model that needs the network then fails clearly instead of waiting",
    )
    sandboxed.add_argument(
        "--max-memory",
        type=memory_size,
        metavar="SIZE",
        help="the address space the sandbox may use (e.g. 2G): a model that needs more fails "
        "with a MemoryError and its traceback instead of being killed [no limit]",
    )
    commands.add_parser(
        "validate",
        parents=[shared, sandboxed],
        help="static checks, then log the model and check it in an isolated sandbox",
        description="Run the static checks, log the model from code to the tracking store, and "
        "load it and predict with it in an isolated sandbox. The run gets the report "
        "(validation/report.json and validation/report.md) and the verdict as tags "
        "(mfc.validation.status, mfc.content_hash, ...); it ends FINISHED when the validation "
        "passed and FAILED when it did not.",
    )
    register = commands.add_parser(
        "register",
        parents=[shared, sandboxed],
        help="register the model version, only for content whose validation passed",
        description="Register the model under model.yaml's name, only for content whose "
        "validation passed. The content hash (model.yaml, the script, code_paths, artifacts, "
        "requirements, the input example and a model_config file) is looked up among the "
        "validation runs of the experiment named after the model. When no passed validation "
        "of exactly this content exists, register validates it first, as `validate` does, and "
        "registers only if that passes (--require-validated refuses instead). The signature is "
        "compared with the latest registered version: a breaking change fails (SIG007) unless "
        "--allow-breaking. Content that is already the latest version is not registered "
        "twice. Prints the model URI, models:/<name>/<version>.",
    )
    register.add_argument(
        "--allow-breaking",
        action="store_true",
        help="register even if the signature breaks compatibility with the latest version "
        "(SIG007 becomes a warning)",
    )
    register.add_argument(
        "--require-validated",
        action="store_true",
        help="refuse (REG001 failed) instead of validating when no passed validation of this "
        "exact content exists",
    )
    listed = commands.add_parser(
        "list",
        parents=[selection],
        help="the projects a run covers, with their sandbox environment keys (CI matrices)",
        description="Print the projects that the same selection would run (PROJECT folders, "
        "--all [ROOT], --shard K/N), each with its model name and the key of the sandbox "
        "environment its requirements make. JSON: {schema_version, command, "
        "environment_cache, projects: [{project, name, requirements, environment}]}.",
    )
    listed.add_argument("--format", choices=("text", "json"), default="text", help="[text]")
    commands.add_parser(
        "cache-key",
        parents=[selection],
        help="one key for the sandbox environments the projects need (CI cache actions)",
        description="Print one line: a key that changes exactly when the set of sandbox "
        "environments the selected projects need changes. Cache the environment cache folder "
        "(MFC_VALIDATOR_CACHE) under it.",
    )
    explain.add_parser(commands)
    adopt = commands.add_parser(
        "init",
        help="adopt a folder holding a models-from-code script: write its model.yaml, "
        "requirements.txt and input_example.json",
        description="Find the folder's models-from-code script (the one file calling "
        "mlflow.models.set_model at module level) and write model.yaml, requirements.txt and "
        "input_example.json for it, inferred from its files and from the model run as validate "
        "runs it (logged, then loaded and answering its request in the sandbox): every inferred "
        "line of model.yaml says where it came from. Never overwrites a file unless --force, "
        "which shows the differences.",
    )
    adopt.add_argument("folder", nargs="?", default=".", metavar="DIR", help="[.]")
    adopt.add_argument(
        "--force", action="store_true", help="replace files that exist, showing the differences"
    )
    adopt.add_argument(
        "--dry-run", action="store_true", help="print what would be written; write nothing"
    )
    adopt.add_argument(
        "--script", metavar="FILE", help="the script to adopt, where several call set_model"
    )
    adopt.add_argument(
        "--no-trace",
        action="store_true",
        help="read the files only: do not run the model in the sandbox (fast; no mlflow needed)",
    )
    adopt.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="how long each stage of the trace that runs the model's code may take [300]",
    )
    adopt.add_argument(
        "--with-nox", action="store_true", help="also write the template's noxfile.py"
    )
    adopt.add_argument(
        "--with-pre-commit",
        action="store_true",
        help="also write the template's .pre-commit-config.yaml",
    )
    lock_command.add_parser(commands)
    hook = commands.add_parser(
        "webhook",
        help="gate the registry itself: validate every new model version an MLflow server "
        "announces by webhook, and write the verdict on it",
        description="Receive the model registry's webhooks of an MLflow server (SQL store, "
        "webhooks enabled): verify each delivery's signature and timestamp, queue every new "
        "model version durably, validate it from its own files (as `validate models:/NAME/N` "
        "does) in a bounded pool of workers, and write the verdict on the version: the "
        "mfc.validation.* tags, a summary in its description, and --alias for versions that "
        "passed. Runs until SIGINT or SIGTERM. With --install URL, create the webhook on the "
        "server instead, pointing at URL.",
    )
    hook.add_argument(
        "--tracking-uri", metavar="URI", help="the MLflow server [MLFLOW_TRACKING_URI]"
    )
    hook.add_argument(
        "--secret-env",
        required=True,
        metavar="NAME",
        help="the variable that holds the webhook's shared secret (never a value on the "
        "command line)",
    )
    hook.add_argument(
        "--listen", default="127.0.0.1:8765", metavar="HOST:PORT", help="[%(default)s]"
    )
    hook.add_argument(
        "--queue",
        metavar="FILE|URL",
        help="the durable queue that receivers share: a SQLite file (receivers on one host) or "
        "a postgresql:// URL (receivers on several hosts); else $MFC_WEBHOOK_QUEUE, else "
        "mfc-webhook-queue.db",
    )
    hook.add_argument("--alias", metavar="NAME", help="move this alias to each version that passed")
    hook.add_argument(
        "--workers", type=int, default=1, metavar="N", help="validations at once [%(default)s]"
    )
    hook.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="how long each stage of a validation may take [300]",
    )
    hook.add_argument(
        "--install",
        metavar="URL",
        help="create the webhook on the server, delivering model_version.created to URL, and exit",
    )
    return parser


def _emit(report: Report | Batch, fmt: str, output: str | None, verbose: bool) -> None:
    # text on the terminal in colour and wrapped to it; files and the CI formats stay plain
    style = for_stream(sys.stdout)
    if isinstance(report, Batch):
        if output:
            write_atomic(Path(output), render_many(report, fmt, verbose=verbose))
            rendered = summary_table(report)
            if fmt != "text":
                rendered = rendered.rstrip("\n") + f" (report: {output})\n"
        else:
            rendered = render_many(report, fmt, verbose=verbose, style=style)
        sys.stdout.write(rendered)
        return
    if output:
        write_atomic(Path(output), render(report, fmt))
        sys.stdout.write(to_text(report, verbose=verbose, style=style) if fmt == "text" else "")
        if fmt != "text":
            sys.stdout.write(summary_line(report, style) + f" (report: {output})\n")
            address = ui_address(report)
            if address is not None:
                sys.stdout.write(f"  MLflow UI: {address}\n")
        return
    if fmt == "text":
        sys.stdout.write(to_text(report, verbose=verbose, style=style))
    else:
        sys.stdout.write(render(report, fmt))


def _projects(args: argparse.Namespace) -> list[str]:
    from validator.project import discovery

    projects = discovery.select_projects(args.project, args.all_root)
    if args.shard:
        from validator.commands.listing import environment_of

        projects = discovery.shard_of(projects, environment_of, discovery.parse_shard(args.shard))
    return projects


def _batch(args: argparse.Namespace) -> bool:
    """Whether the run reports as a batch of projects, whatever their number."""
    return bool(args.all_root is not None or args.shard or len(args.project) > 1)


def _run(args: argparse.Namespace, projects: list[str]) -> Report | Batch:
    # each command imports what it needs: `check` must not import mlflow or pandas
    if args.command == "check":
        if _batch(args):
            from validator.commands import many

            return many.run_check(projects, _progress)
        from validator.commands import check

        return check.run(Path(projects[0]), projects[0])
    from validator.commands import validate, validate_logged

    logged = [target for target in projects if validate_logged.is_logged_model(target)]
    if logged and (args.command != "validate" or _batch(args)):
        raise ValidatorError(
            f"{logged[0]} is a logged model: `mfc-validator validate` takes one at a time, "
            "alone (register, and batches, take project folders)"
        )
    options = validate.ValidateOptions(
        args.tracking_uri, not args.no_cache, args.timeout, args.offline, args.max_memory
    )
    choices = None
    if args.command == "register":
        from validator.commands import register

        choices = register.RegisterOptions(args.allow_breaking, args.require_validated)
    if _batch(args):
        from validator.commands import many

        return many.run_many(args.command, projects, args.jobs, options, choices, _progress)
    if args.command == "validate":
        if logged:
            return validate_logged.run(projects[0], options)
        return validate.run(Path(projects[0]), projects[0], options)
    from validator.commands import register

    assert choices is not None
    return register.run(Path(projects[0]), projects[0], options, choices)


def _progress(message: str) -> None:
    sys.stderr.write(f"mfc-validator: {message}\n")
    sys.stderr.flush()


def _listing(args: argparse.Namespace, projects: list[str]) -> int:
    from validator.commands import listing
    from validator.render import listing as rendered

    if args.command == "cache-key":
        sys.stdout.write(listing.cache_key(projects) + "\n")
        return 0
    listed = listing.listing(projects)
    render = rendered.to_json if args.format == "json" else rendered.to_text
    sys.stdout.write(render(listed))
    return EXIT_USAGE if any("error" in item for item in listed["projects"]) else 0


def _init(args: argparse.Namespace) -> int:
    from validator.commands import init

    options = init.InitOptions(
        force=args.force,
        dry_run=args.dry_run,
        with_nox=args.with_nox,
        with_pre_commit=args.with_pre_commit,
        script=args.script,
        trace=not args.no_trace,
        timeout=args.timeout,
    )
    try:
        return init.run(Path(args.folder), args.folder, options, sys.stdout)
    except ValidatorError as exc:
        sys.stderr.write(f"mfc-validator: error: {exc}\n")
        return EXIT_USAGE


def _terminated(signum: int, frame: object) -> None:
    # so that `finally` blocks remove temporary folders when a CI job or a user kills us
    raise KeyboardInterrupt


def _unknown_command(parser: argparse.ArgumentParser, argv: Sequence[str]) -> str | None:
    """'did you mean' for a mistyped command (`mfc-validator chek`), which argparse only lists."""
    words = [word for word in argv if not word.startswith("-")]
    if not words:
        return None
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    names = list(actions[0].choices) if actions else []
    if words[0] in names or argv[0].startswith("-"):
        return None
    close = difflib.get_close_matches(words[0], names, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"the commands: {', '.join(names)}"
    return f"mfc-validator: error: unknown command '{words[0]}'; {hint}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    mistyped = _unknown_command(parser, list(sys.argv[1:] if argv is None else argv))
    if mistyped is not None:
        parser.print_usage(sys.stderr)
        sys.stderr.write(mistyped + "\n")
        return EXIT_USAGE
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help/--version exit 0, errors exit 2
        if isinstance(exc.code, str):
            sys.stderr.write(exc.code + "\n")
            return EXIT_USAGE
        return int(exc.code or 0)
    if args.command == "explain":
        return explain.run(args.code)
    previous = signal.signal(signal.SIGTERM, _terminated)
    interrupted = False
    try:
        if args.command == "init":
            return _init(args)
        if args.command == "lock":
            return lock_command.run(args.project, args.exclude_newer)
        if args.command == "webhook":
            from validator.commands import webhook

            return webhook.run(args)
        projects = _projects(args)
        if args.command in ("list", "cache-key"):
            return _listing(args, projects)
        if not projects:  # a shard with nothing to do
            report: Report | Batch = Batch(args.command, [])
        else:
            report = _run(args, projects)
    except ValidatorError as exc:
        sys.stderr.write(f"mfc-validator: error: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        interrupted = True
    finally:
        signal.signal(signal.SIGTERM, previous)
    if interrupted:  # the run was ended KILLED by its store worker (inprocess.isolation)
        sys.stderr.write("mfc-validator: interrupted; nothing half-made was left behind\n")
        return 130
    try:
        _emit(report, args.format, args.output, args.verbose)
    except OSError as exc:
        sys.stderr.write(f"mfc-validator: error: cannot write {args.output}: {exc.strerror}\n")
        return EXIT_USAGE
    return report.exit_code

"""Parse arguments, run a command, render its report, return the exit status."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from validator import __version__
from validator.errors import ValidatorError
from validator.render import render, summary_line, to_text, write_atomic
from validator.report import Report
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
    shared = _Parser(add_help=False)
    shared.add_argument("project", nargs="?", default=".", help="the project folder [.]")
    shared.add_argument(
        "--format", choices=("text", "json", "junit"), default="text", help="report format [text]"
    )
    shared.add_argument(
        "--output",
        metavar="FILE",
        help="write the report to FILE; a short summary still goes to the terminal",
    )
    shared.add_argument(
        "--tracking-uri",
        metavar="URI",
        help="MLflow tracking store [MLFLOW_TRACKING_URI, else a SQLite store in "
        "the project's .mlflow/ folder]",
    )
    shared.add_argument(
        "-v", "--verbose", action="store_true", help="list passed checks too (text format)"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    commands.add_parser(
        "check",
        parents=[shared],
        help="static checks only: fast, imports neither mlflow nor the model",
    )
    sandboxed = _Parser(add_help=False)
    sandboxed.add_argument(
        "--no-cache",
        action="store_true",
        help="build the sandbox environment afresh and do not keep it",
    )
    sandboxed.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="how long the sandbox may take to load and predict [300]",
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
    return parser


def _emit(report: Report, fmt: str, output: str | None, verbose: bool) -> None:
    if output:
        write_atomic(Path(output), render(report, fmt))
        sys.stdout.write(to_text(report, verbose=verbose) if fmt == "text" else "")
        if fmt != "text":
            sys.stdout.write(summary_line(report) + f" (report: {output})\n")
        return
    if fmt == "text":
        sys.stdout.write(to_text(report, verbose=verbose))
    else:
        sys.stdout.write(render(report, fmt))


def _run(args: argparse.Namespace, root: Path) -> Report:
    # each command imports what it needs: `check` must not import mlflow or pandas
    if args.command == "check":
        from validator.commands import check

        return check.run(root, args.project)
    from validator.commands import validate

    options = validate.ValidateOptions(
        args.tracking_uri, not args.no_cache, args.timeout, args.offline, args.max_memory
    )
    if args.command == "validate":
        return validate.run(root, args.project, options)
    from validator.commands import register

    choices = register.RegisterOptions(args.allow_breaking, args.require_validated)
    return register.run(root, args.project, options, choices)


def _terminated(signum: int, frame: object) -> None:
    # so that `finally` blocks remove temporary folders when a CI job or a user kills us
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help/--version exit 0, errors exit 2
        if isinstance(exc.code, str):
            sys.stderr.write(exc.code + "\n")
            return EXIT_USAGE
        return int(exc.code or 0)
    root = Path(args.project)
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        report = _run(args, root)
    except ValidatorError as exc:
        sys.stderr.write(f"mfc-validator: error: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("mfc-validator: interrupted; nothing half-made was left behind\n")
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    try:
        _emit(report, args.format, args.output, args.verbose)
    except OSError as exc:
        sys.stderr.write(f"mfc-validator: error: cannot write {args.output}: {exc.strerror}\n")
        return EXIT_USAGE
    return report.exit_code

"""`mfc-validator explain CODE`: a check code's section of the codes page, in the terminal.

Like `ruff rule`: what passes, what fails, an example and the fix, as Markdown. Imports only the
registry and its docs (no mlflow, no pandas), so it answers at once.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from typing import Any

from validator.code_docs import DOCS
from validator.codes import CODES, FAMILIES, REGISTRY
from validator.render.codes_page import code_section

EXIT_USAGE = 2


def add_parser(commands: argparse._SubParsersAction[Any]) -> None:
    """The `explain` command's arguments, among the CLI's COMMANDS."""
    explain = commands.add_parser(
        "explain",
        help="what a check code means, an example that fails it and the fix",
        description="Print a check code's section of the codes page (docs/codes.md): what "
        "passes, what fails, an example and the fix. The code is case-insensitive: scr007 is "
        "SCR007.",
    )
    explain.add_argument("code", metavar="CODE", help="a check code, e.g. SCR007")


def unknown(name: str) -> str:
    """The error for NAME, which is no code, with what the user may have meant."""
    wanted = name.strip().upper()
    close = difflib.get_close_matches(wanted, list(CODES), n=1, cutoff=0.7)
    if close:
        hint = f"did you mean '{close[0]}'?"
    else:
        family = [code.code for code in REGISTRY if code.code.startswith(wanted[:3])]
        if len(wanted) >= 3 and family:
            hint = "its family's codes: " + ", ".join(sorted(family))
        else:
            prefixes = sorted({code.code[:3] for code in REGISTRY}, key=_family_order)
            hint = "a code is three letters and three digits, e.g. SCR007: " + ", ".join(prefixes)
    return f"mfc-validator: error: unknown code '{name}'; {hint}"


def _family_order(prefix: str) -> int:
    (family,) = {code.family for code in REGISTRY if code.code.startswith(prefix)}
    return FAMILIES.index(family)


def run(name: str) -> int:
    """Print NAME's section and return 0, or say it is no code and return 2."""
    code = CODES.get(name.strip().upper())
    if code is None or code.code not in DOCS:
        sys.stderr.write(unknown(name) + "\n")
        return EXIT_USAGE
    sys.stdout.write(code_section(code, level=1))
    return 0

"""Run a generated project's own nox session as a whole process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path


def run_nox(
    project: Path,
    session: str | Sequence[str],
    env: Mapping[str, str],
    *posargs: str,
    timeout: float = 600,
) -> tuple[int, str]:
    """`nox -s SESSION… [-- POSARGS]` in PROJECT (one session, or several in order): its exit
    status and its output."""
    sessions = [session] if isinstance(session, str) else list(session)
    command = [sys.executable, "-m", "nox", "-s", *sessions, *(["--", *posargs] if posargs else [])]
    result = subprocess.run(
        command,
        cwd=project,
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    return result.returncode, result.stdout + result.stderr

"""Interpreters for sandboxes: a Python of the logged major.minor version, and uv."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys


def find_python(version: str) -> str | None:
    """An interpreter of major.minor VERSION: this one, one on PATH, or one uv manages."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    found = shutil.which(f"python{version}")
    if found and _reports_version(found, version):
        return found
    uv = find_uv()
    if uv:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [uv, "python", "find", "--no-python-downloads", version],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            if out.returncode == 0 and out.stdout.strip():
                return out.stdout.strip()
    return None


def _reports_version(python: str, version: str) -> bool:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and out.stdout.strip() == version


def find_uv() -> str | None:
    with contextlib.suppress(ImportError, FileNotFoundError):
        from uv import find_uv_bin

        return str(find_uv_bin())
    return shutil.which("uv")

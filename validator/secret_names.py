"""Which environment variable names hold secrets (one list for the static and runtime checks)."""

from __future__ import annotations

import re

SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL")
_SECRET_NAME = re.compile("|".join(SECRET_WORDS), re.IGNORECASE)


def looks_secret(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))

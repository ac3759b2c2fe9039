"""Which environment variable names hold secrets (one list for the static and runtime checks)."""

from __future__ import annotations

import re

SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL")
# a word that names several credentials (GOOGLE_APPLICATION_CREDENTIALS); not TOKENS, which
# counts them (OPENAI_MAX_TOKENS)
_PLURALS = ("KEYS", "SECRETS", "PASSWORDS", "CREDENTIALS")
# the last word of a name whose value says where something is, not what it is: a folder, a
# file or an address (TIKTOKEN_CACHE_DIR, SSL_KEY_FILE, POSTGRES_PASSWORD_FILE, TOKEN_URL)
_LOCATIONS = frozenset(
    {"DIR", "DIRS", "DIRECTORY", "PATH", "PATHS", "HOME", "CACHE", "FOLDER", "FILE", "URL", "URI"}
    | {"ENDPOINT"}
)
_SEPARATORS = re.compile(r"[^A-Za-z0-9]+")


def looks_secret(name: str) -> bool:
    """Whether NAME looks like a credential's: one of its words is, or ends with, a secret word
    (OPENAI_API_KEY, HF_TOKEN, DB_PASSWORD, APIKEY), and its last word is not a location. A
    secret word inside another word is not one (TOKENIZERS_PARALLELISM, KEYBOARD_LAYOUT)."""
    words = [word.upper() for word in _SEPARATORS.split(name) if word]
    if len(words) > 1 and words[-1] in _LOCATIONS:
        return False
    return any(word.endswith(SECRET_WORDS) or word in _PLURALS for word in words)

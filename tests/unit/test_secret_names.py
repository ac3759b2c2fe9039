"""Which variable names look like a credential's: a false alarm (a folder's variable declared
secret, its value hidden) is a bug as much as a miss."""

from __future__ import annotations

import pytest

from validator.secret_names import looks_secret


@pytest.mark.parametrize(
    "name",
    [
        "OPENAI_API_KEY",
        "HF_TOKEN",
        "AWS_SESSION_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "DB_PASSWORD",
        "SMTP_PASSWD",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "SERVICE_API_KEYS",
        "APIKEY",
        "openai_api_key",
        "apiKey",
        "SECRET_KEY_BASE",
        "KEY",
    ],
)
def test_a_credential_s_name_looks_secret(name: str) -> None:
    assert looks_secret(name)


@pytest.mark.parametrize(
    "name",
    [
        "TIKTOKEN_CACHE_DIR",  # where tiktoken caches its encodings: a folder
        "HF_TOKEN_PATH",
        "SSL_KEY_FILE",
        "POSTGRES_PASSWORD_FILE",
        "AZURE_TOKEN_URL",
        "KEYRING_HOME",
        "TOKENIZERS_PARALLELISM",  # TOKEN inside another word
        "KEYBOARD_LAYOUT",
        "OPENAI_MAX_TOKENS",  # a count of tokens
        "OPENAI_API_BASE",
        "PATH",
    ],
)
def test_a_location_or_a_word_that_merely_contains_a_secret_word_does_not(name: str) -> None:
    assert not looks_secret(name)

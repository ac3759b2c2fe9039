"""Reading one value of model.yaml: errors that name the file, line and key."""

from __future__ import annotations

import difflib
import re

from validator.errors import ValidatorError

# bytes of one file or folder name (ext4, APFS, NTFS), and of a whole path (Linux), the project
# folder's included: longer is ENAMETOOLONG
NAME_MAX = 255
PATH_MAX = 4096
# what would break a one-line message apart, or act on a terminal: shown escaped, as \r or \x1b
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    """TEXT with each control character (newlines too) written as its escape."""
    return _CONTROL.sub(lambda match: ascii(match.group(0))[1:-1], text)


def fail(where: str, message: str) -> ValidatorError:
    return ValidatorError(f"{where}: {message}")


def type_name(value: object) -> str:
    return {
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "true/false",
        list: "a list",
        dict: "a mapping",
        type(None): "nothing (null)",
    }.get(type(value), type(value).__name__)


def unknown(key: str, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"unknown key '{key}' (expected one of: {', '.join(allowed)}){hint}"


def relative_path(value: object, where: str, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise fail(where, f"'{key}' must be a relative path (a string), got {type_name(value)}")
    if "\0" in value:
        raise fail(where, f"'{key}' holds a NUL character, which no path can hold")
    if any(len(part.encode("utf-8", "surrogatepass")) > NAME_MAX for part in value.split("/")):
        raise fail(
            where, f"'{key}' holds a name longer than {NAME_MAX} bytes, which no file system holds"
        )
    if len(value.encode("utf-8", "surrogatepass")) > PATH_MAX // 2:
        raise fail(where, f"'{key}' is longer than {PATH_MAX // 2:,} bytes, which no path needs")
    # an absolute path, or one that leaves the project, fails CFG002 (validator.checks.shipping)
    return value


def string_map(value: object, where: str, key: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise fail(where, f"'{key}' must be a mapping of names to strings, got {type_name(value)}")
    result: dict[str, str] = {}
    for name, item in value.items():
        if not isinstance(name, str) or isinstance(item, (dict, list)) or item is None:
            raise fail(where, f"'{key}.{name}' must be a string, got {type_name(item)}")
        result[name] = str(item)
    return result

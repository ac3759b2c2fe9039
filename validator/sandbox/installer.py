"""Where the sandbox's installer takes packages from, and what a failed install was about.

uv does not read pip's configuration. On a machine where pip is configured (pip.conf, `PIP_*`
variables: an index, extra indexes, find-links, a certificate, trusted hosts), the sandbox would
then install from somewhere else than the user's pip, or fail. So pip's settings are carried over
to uv (as uv's own variables, never on a command line where `ps` would show a credential), unless
uv is configured itself. pip, when it is the installer, reads its configuration as always.

pip's configuration is read as pip reads it: the files in pip's order (global, user, site, then
`PIP_CONFIG_FILE`), their `[global]` then `[install]` sections, then `PIP_*` variables.
"""

from __future__ import annotations

import configparser
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from validator.project.requirements import redact

# pip's option -> (what a message calls it, uv's variable, how uv separates several values)
_CARRIED = {
    "index-url": ("index", "UV_INDEX_URL", ""),
    "extra-index-url": ("extra index", "UV_EXTRA_INDEX_URL", " "),
    "find-links": ("find-links", "UV_FIND_LINKS", ","),
    "trusted-host": ("trusted host", "UV_INSECURE_HOST", " "),
    "cert": ("certificate", "SSL_CERT_FILE", ""),
    "client-cert": ("client certificate", "SSL_CLIENT_CERT", ""),
}
_LISTS = ("extra-index-url", "find-links", "trusted-host")
_WHERE_FROM = ("index-url", "extra-index-url", "find-links")  # what changes what is installed
SYSTEM_PIP_CONF = Path("/etc/pip.conf")  # read after XDG_CONFIG_DIRS' pip/pip.conf
SYSTEM_UV_TOML = Path("/etc/uv/uv.toml")  # read after XDG_CONFIG_DIRS' uv/uv.toml
_UV_TOML_INDEX = re.compile(
    r"^\s*(\[\[index\]\]|(index-url|extra-index-url|find-links|no-index)\s*=)", re.MULTILINE
)
# uv's own settings of where it installs from: when one is set, uv's configuration is the user's
_UV_OWN = (
    "UV_DEFAULT_INDEX",
    "UV_INDEX",
    "UV_INDEX_URL",
    "UV_EXTRA_INDEX_URL",
    "UV_FIND_LINKS",
    "UV_NO_INDEX",
    "UV_CONFIG_FILE",
)


@dataclass(frozen=True)
class Sources:
    """The installer's settings of where it installs from, and where each was read."""

    installer: str
    origin: str  # "pip's configuration", "uv's own configuration (…)", "" when nothing is set
    settings: dict[str, str] = field(default_factory=dict)  # pip's option -> value
    read_from: dict[str, str] = field(default_factory=dict)  # pip's option -> file or variable
    uv: dict[str, str] = field(default_factory=dict)  # uv's own settings, when uv has them
    strategy: str = "unsafe-best-match"  # pip's: the best version of all indexes

    def environment(self) -> dict[str, str]:
        """What uv's process gets on top of the caller's environment."""
        if self.installer != "uv" or self.origin != "pip's configuration":
            return {}
        carried: dict[str, str] = {}
        for option, value in self._ordered():
            _, variable, separator = _CARRIED[option]
            carried[variable] = separator.join(value.split()) if separator else value
        if "extra-index-url" in self.settings:
            carried["UV_INDEX_STRATEGY"] = self.strategy
        return carried

    def identity(self) -> dict[str, str]:
        """What belongs in the environment's cache key: the settings that change what is
        installed (not certificates or trusted hosts, which change only whether it works)."""
        return self.uv or {k: v for k, v in self._ordered() if k in _WHERE_FROM}

    def _ordered(self) -> list[tuple[str, str]]:
        return [(k, self.settings[k]) for k in _CARRIED if k in self.settings]

    def shown(self) -> str:
        """'uv, using pip's configuration: index https://***@host/simple; find-links /w'."""
        if not self.origin:
            return self.installer
        parts = [f"{_CARRIED[k][0]} {redact(' '.join(v.split()))}" for k, v in self._ordered()]
        return f"{self.installer}, using {self.origin}" + (": " + "; ".join(parts) if parts else "")

    def where(self) -> str | None:
        """The file or variable that says where to install from, for a failure's location."""
        for option in (*_WHERE_FROM, "cert", "trusted-host", "client-cert", "uv"):
            if option in self.read_from:
                return self.read_from[option]
        return None


def pip_config_files(environ: Mapping[str, str]) -> list[Path]:
    """pip's configuration files in the order pip reads them, the later overriding."""
    config_file = environ.get("PIP_CONFIG_FILE")
    if config_file == os.devnull:
        return []  # pip reads no file at all then
    home = Path(environ.get("HOME") or Path.home())
    dirs = environ.get("XDG_CONFIG_DIRS") or "/etc/xdg"
    files = [Path(folder) / "pip" / "pip.conf" for folder in dirs.split(os.pathsep) if folder]
    files.append(SYSTEM_PIP_CONF)
    if sys.platform == "darwin":
        files.insert(0, Path("/Library/Application Support/pip/pip.conf"))
    if not (config_file and Path(config_file).exists()):  # pip then skips the user's files
        user = Path(environ.get("XDG_CONFIG_HOME") or home / ".config")
        files += [home / ".pip" / "pip.conf", user / "pip" / "pip.conf"]
        if sys.platform == "darwin":
            files.append(home / "Library" / "Application Support" / "pip" / "pip.conf")
    files.append(Path(sys.prefix) / "pip.conf")
    if config_file:
        files.append(Path(config_file))
    return files


def _file_settings(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """([global] settings, [install] settings) of one pip.conf, keys as pip normalizes them."""
    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError, OSError):
        return {}, {}
    sections = []
    for section in ("global", "install"):
        items = parser.items(section) if parser.has_section(section) else []
        sections.append({key.replace("_", "-"): value.strip() for key, value in items})
    return sections[0], sections[1]


def pip_settings(environ: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(pip's option -> value, pip's option -> where it was read) for the options uv gets."""
    values: dict[str, str] = {}
    read_from: dict[str, str] = {}
    layers: list[tuple[dict[str, str], str]] = []
    per_file = [(path, _file_settings(path)) for path in pip_config_files(environ)]
    layers += [(sections[0], str(path)) for path, sections in per_file]  # [global] of each
    layers += [(sections[1], str(path)) for path, sections in per_file]  # then [install]
    for option in _CARRIED:
        variable = "PIP_" + option.upper().replace("-", "_")
        layers.append(({option: environ[variable]} if variable in environ else {}, variable))
    for settings, origin in layers:
        for option, value in settings.items():
            if option in _CARRIED and value.strip():
                values[option], read_from[option] = value.strip(), origin
    return values, read_from


def uv_configuration(environ: Mapping[str, str]) -> str | None:
    """The variable or file by which uv is told where to install from, if any."""
    for variable in _UV_OWN:
        if environ.get(variable):
            return variable
    home = Path(environ.get("HOME") or Path.home())
    user = Path(environ.get("XDG_CONFIG_HOME") or home / ".config")
    dirs = (environ.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(os.pathsep)
    files = [user / "uv" / "uv.toml", *(Path(d) / "uv" / "uv.toml" for d in dirs if d)]
    return next((str(file) for file in [*files, SYSTEM_UV_TOML] if _names_an_index(file)), None)


def _names_an_index(uv_toml: Path) -> bool:
    """Whether a uv.toml says where to install from (not only, say, where uv caches)."""
    try:
        text = uv_toml.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return _UV_TOML_INDEX.search(text) is not None


def sources(installer: str, environ: Mapping[str, str]) -> Sources:
    """Where INSTALLER will install from, with ENVIRON as the caller's environment."""
    if installer == "uv" and (own := uv_configuration(environ)) is not None:
        settings = {v: environ[v] for v in _UV_OWN if environ.get(v)} or {"file": own}
        return Sources("uv", f"uv's own configuration ({own})", read_from={"uv": own}, uv=settings)
    values, read_from = pip_settings(environ)
    origin = "pip's configuration" if values else ""
    strategy = environ.get("UV_INDEX_STRATEGY") or Sources.strategy
    return Sources(installer, origin, values, read_from, strategy=strategy)


# what an installer prints when it cannot reach an index, lower-cased, by kind (uv's, then pip's)
_UNREACHABLE = (
    (
        "its TLS certificate is not trusted",
        (
            "invalid peer certificate",
            "unknownissuer",
            "certificate verify failed",
            "certificate_verify_failed",
            "self-signed certificate",
            "self signed certificate",
            "sslerror",
            "ssl error",
            "tls handshake",
        ),
    ),
    ("the proxy failed", ("proxyerror", "proxy error", "407 proxy", "tunnel connection failed")),
    ("it refused the credentials", ("401 unauthorized", "403 forbidden", "missing credentials")),
    (
        "the network failed",
        (
            "dns error",
            "failed to lookup address",
            "name or service not known",
            "temporary failure in name resolution",
            "connection refused",
            "connection reset",
            "tcp connect error",
            "network is unreachable",
            "operation timed out",
            "read timed out",
            "readtimeouterror",
            "connecttimeouterror",
            "newconnectionerror",
            "max retries exceeded",
            "error sending request for url",
        ),
    ),
)


_FIXES = {
    "its TLS certificate is not trusted": (
        "trust the certificate authority that signed the index's certificate: `cert` in "
        "pip.conf or PIP_CERT (the sandbox hands it to uv as SSL_CERT_FILE), or SSL_CERT_FILE "
        "for uv alone; a TLS-inspecting proxy's CA bundle goes there too"
    ),
    "the proxy failed": "check HTTPS_PROXY, NO_PROXY and the proxy's credentials",
    "it refused the credentials": (
        "give the installer the index's credentials: in the index URL of pip.conf or "
        "PIP_INDEX_URL (the sandbox hands it to uv), or in a netrc file (~/.netrc)"
    ),
    "the network failed": (
        "check that this machine reaches the index, through its proxy (HTTPS_PROXY) if it has "
        "one; to use another index, set `index-url` in pip.conf or PIP_INDEX_URL (the sandbox "
        "hands it to uv)"
    ),
}


def unreachable_fix(reason: str) -> str:
    """The fix of an index that could not be reached for REASON (one `unreachable` gives)."""
    return _FIXES[reason]


def unreachable(output: str) -> str | None:
    """Why the installer could not reach an index (a certificate, a proxy, credentials, the
    network), from its OUTPUT; None when it reached it and the requirements failed."""
    text = output.lower()
    for reason, signs in _UNREACHABLE:
        if any(sign in text for sign in signs):
            return reason
    return None

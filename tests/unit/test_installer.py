"""Where the sandbox's installer takes packages from (pip's configuration carried over to uv), and
what a failed install is blamed on (SBX001)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.pins import MLFLOW
from validator.project import config
from validator.sandbox import installer
from validator.sandbox.envcache import SandboxError, environment_key
from validator.sandbox.installer import Sources, sources, unreachable
from validator.sandbox.stage import _install_failure

UV_TLS_FAILURE = """\
  x Failed to fetch: `https://127.0.0.1:8443/simple/tiny/`
  |-> Request failed after 3 retries
  |-> error sending request for url (https://127.0.0.1:8443/simple/tiny/)
  |-> client error (Connect)
  `-> invalid peer certificate: UnknownIssuer
"""
UV_NO_VERSION = """\
  x No solution found when resolving dependencies:
  `-> Because there is no version of tiny==9.9 and you require tiny==9.9, we can conclude that
      your requirements are unsatisfiable.
"""
PIP_TLS_FAILURE = (
    "WARNING: Retrying (Retry(total=4)) after connection broken by 'SSLError("
    "SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
    "self-signed certificate'))'"
)


@pytest.fixture
def environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A caller's environment whose pip and uv configuration files are all under TMP_PATH."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setattr(installer, "SYSTEM_PIP_CONF", tmp_path / "etc" / "pip.conf")
    monkeypatch.setattr(installer, "SYSTEM_UV_TOML", tmp_path / "etc" / "uv" / "uv.toml")
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CONFIG_DIRS": str(tmp_path / "xdg"),
    }


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_pips_files_and_variables_are_read_in_pips_order(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    write(tmp_path / "xdg" / "pip" / "pip.conf", "[global]\nindex-url = https://global/simple\n")
    user = write(
        Path(environ["XDG_CONFIG_HOME"]) / "pip" / "pip.conf",
        "[global]\nindex_url = https://user/simple\nfind-links = /wheels\n"
        "[install]\nextra-index-url =\n    https://a/simple\n    https://b/simple\n",
    )
    environ["PIP_FIND_LINKS"] = "/env-wheels /more-wheels"
    values, read_from = installer.pip_settings(environ)
    assert values == {
        "index-url": "https://user/simple",
        "extra-index-url": "https://a/simple\nhttps://b/simple",
        "find-links": "/env-wheels /more-wheels",
    }
    assert read_from["index-url"] == str(user)
    assert read_from["find-links"] == "PIP_FIND_LINKS"


def test_pip_config_file_devnull_reads_no_file(tmp_path: Path, environ: dict[str, str]) -> None:
    write(Path(environ["XDG_CONFIG_HOME"]) / "pip" / "pip.conf", "[global]\nindex-url = x\n")
    environ["PIP_CONFIG_FILE"] = os.devnull
    assert installer.pip_settings(environ) == ({}, {})


def test_pips_configuration_becomes_uvs_variables(tmp_path: Path, environ: dict[str, str]) -> None:
    write(
        tmp_path / "p.conf",
        "[global]\nindex-url = https://user:s3cret@mirror/simple\n"
        "extra-index-url = https://a/simple https://b/simple\nfind-links = /w1\n  /w2\n"
        "trusted-host = mirror\ncert = /ca.pem\n",
    )
    environ["PIP_CONFIG_FILE"] = str(tmp_path / "p.conf")
    found = sources("uv", environ)
    assert found.environment() == {
        "UV_INDEX_URL": "https://user:s3cret@mirror/simple",
        "UV_EXTRA_INDEX_URL": "https://a/simple https://b/simple",
        "UV_INDEX_STRATEGY": "unsafe-best-match",
        "UV_FIND_LINKS": "/w1,/w2",
        "UV_INSECURE_HOST": "mirror",
        "SSL_CERT_FILE": "/ca.pem",
    }
    shown = found.shown()
    assert shown.startswith("uv, using pip's configuration: index https://***@mirror/simple; ")
    assert "s3cret" not in shown and "certificate /ca.pem" in shown
    assert found.where() == str(tmp_path / "p.conf")
    assert sources("pip", environ).environment() == {}  # pip reads its own configuration


def test_uvs_own_configuration_wins(environ: dict[str, str]) -> None:
    environ["PIP_INDEX_URL"] = "https://pip-mirror/simple"
    environ["UV_DEFAULT_INDEX"] = "https://uv-mirror/simple"
    found = sources("uv", environ)
    assert found.environment() == {}
    assert found.shown() == "uv, using uv's own configuration (UV_DEFAULT_INDEX)"
    assert found.identity() == {"UV_DEFAULT_INDEX": "https://uv-mirror/simple"}


def test_a_uv_toml_that_names_an_index_is_uvs_own_configuration(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    environ["PIP_INDEX_URL"] = "https://pip-mirror/simple"
    uv_toml = write(Path(environ["XDG_CONFIG_HOME"]) / "uv" / "uv.toml", "cache-dir = '/c'\n")
    assert sources("uv", environ).environment()["UV_INDEX_URL"] == "https://pip-mirror/simple"
    write(uv_toml, "[[index]]\nurl = 'https://uv-mirror/simple'\ndefault = true\n")
    found = sources("uv", environ)
    assert found.environment() == {}
    assert found.shown() == f"uv, using uv's own configuration ({uv_toml})"


def test_nothing_configured_is_plain_uv(environ: dict[str, str]) -> None:
    found = sources("uv", environ)
    assert (found.shown(), found.environment(), found.identity()) == ("uv", {}, {})


def test_where_packages_come_from_is_part_of_the_environment_key(environ: dict[str, str]) -> None:
    environ["PIP_INDEX_URL"] = "https://mirror/simple"
    mirror = sources("uv", environ).identity()
    environ["PIP_CERT"] = "/ca.pem"
    with_cert = sources("uv", environ).identity()
    plain = environment_key("3.11", "uv", f"{MLFLOW}\n")
    assert environment_key("3.11", "uv", f"{MLFLOW}\n", None, {}) == plain
    assert environment_key("3.11", "uv", f"{MLFLOW}\n", None, mirror) != plain
    assert with_cert == mirror  # a certificate changes whether it installs, not what


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        (UV_TLS_FAILURE, "its TLS certificate is not trusted"),
        (PIP_TLS_FAILURE, "its TLS certificate is not trusted"),
        ("error: dns error: failed to lookup address information", "the network failed"),
        ("ProxyError('Cannot connect to proxy.')", "the proxy failed"),
        ("HTTP status client error (401 Unauthorized) for url", "it refused the credentials"),
        (UV_NO_VERSION, None),
        ("ERROR: No matching distribution found for tiny==9.9", None),
    ],
)
def test_an_index_that_cannot_be_reached_is_told_from_a_bad_requirement(
    output: str, reason: str | None
) -> None:
    assert unreachable(output) == reason


def test_a_tls_failure_is_blamed_on_the_certificate_not_the_requirements(tmp_path: Path) -> None:
    (tmp_path / "model.yaml").write_text("")
    project = config.load(tmp_path)
    found = Sources(
        "uv",
        "pip's configuration",
        {"index-url": "https://user:s3cret@127.0.0.1:8443/simple"},
        {"index-url": "/home/me/.config/pip/pip.conf"},
    )
    failure = "installing requirements.txt with uv failed (exit 1)"
    error = SandboxError(failure, UV_TLS_FAILURE, found)
    finding = _install_failure(project, error)
    assert finding.status == "failed"
    assert finding.message.startswith(
        "the installer (uv, using pip's configuration: index https://***@127.0.0.1:8443/simple) "
        "could not reach the package index, so the logged requirements were not installed: its "
        "TLS certificate is not trusted: "
    )
    assert "invalid peer certificate: UnknownIssuer" in finding.message
    assert finding.location == "/home/me/.config/pip/pip.conf"
    assert finding.hint is not None
    assert "PIP_CERT" in finding.hint and "SSL_CERT_FILE" in finding.hint
    assert "no fault of requirements.txt" in finding.hint


def test_a_bad_requirement_is_still_the_requirements(tmp_path: Path) -> None:
    (tmp_path / "model.yaml").write_text("")
    error = SandboxError("installing requirements.txt with uv failed (exit 1)", UV_NO_VERSION)
    finding = _install_failure(config.load(tmp_path), error)
    assert finding.location == "requirements.txt"
    assert finding.hint is not None and finding.hint.startswith("fix the requirement")

"""The sandbox installs from where the user's pip would (pip's configuration carried over to uv),
and an index it cannot reach is blamed on the certificate, not on the requirements (slow tier).

A package index of one wheel is served over HTTPS on 127.0.0.1 with a certificate of a
certificate authority made for the test, named in pip.conf as an extra index (with a credential
in its URL, which no report may show)."""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import os
import ssl
import subprocess
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from tests.conftest import GOOD_FILES, ProjectFactory, run_cli

pytestmark = pytest.mark.slow

TOKEN = "s3cr3t-index-token"
SYSTEM_CAS = Path(os.environ.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _certificates(folder: Path) -> None:
    """ca.pem (a certificate authority) and server.pem/server.key, signed by it, for 127.0.0.1."""
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=mfc test CA",
        "-keyout", "ca.key", "-out", "ca.pem", cwd=folder,
    )  # fmt: skip
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", "server.key", "-out", "server.csr", cwd=folder,
    )  # fmt: skip
    (folder / "san.ext").write_text(
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n", encoding="utf-8"
    )
    _openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.pem", cwd=folder,
    )  # fmt: skip


def _wheel(folder: Path) -> Path:
    """mfc_tiny_dep-1.0-py3-none-any.whl, a package that exists on no other index."""
    files = {
        "mfc_tiny_dep/__init__.py": "VALUE = 1\n",
        "mfc_tiny_dep-1.0.dist-info/METADATA": (
            "Metadata-Version: 2.1\nName: mfc-tiny-dep\nVersion: 1.0\n"
        ),
        "mfc_tiny_dep-1.0.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{name},sha256={digest.decode()},{len(text.encode())}")
    files["mfc_tiny_dep-1.0.dist-info/RECORD"] = (
        "\n".join([*record, "mfc_tiny_dep-1.0.dist-info/RECORD,,"]) + "\n"
    )
    path = folder / "mfc_tiny_dep-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def https_index(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(the extra index URL with a credential in it, the CA's certificate)."""
    certs = tmp_path / "certs"
    certs.mkdir()
    _certificates(certs)
    root = tmp_path / "index"
    (root / "simple" / "mfc-tiny-dep").mkdir(parents=True)
    wheel = _wheel(root)
    (root / "simple" / "mfc-tiny-dep" / "index.html").write_text(
        f'<html><body><a href="../../{wheel.name}">{wheel.name}</a></body></html>\n',
        encoding="utf-8",
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs / "server.pem", certs / "server.key")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        yield f"https://mfc:{TOKEN}@127.0.0.1:{port}/simple", certs / "ca.pem"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _validate(project: Path, env: dict[str, str]) -> tuple[int, dict[str, dict[str, str]], str]:
    out = project.parent / "report.json"
    result = run_cli("validate", str(project), "--format", "json", "--output", str(out), env=env)
    assert "Traceback" not in result.stderr, result.stderr
    text = out.read_text(encoding="utf-8")
    assert TOKEN not in text and TOKEN not in result.stderr and TOKEN not in result.stdout
    return result.returncode, {c["code"]: c for c in json.loads(text)["checks"]}, result.stderr


def _project(make_project: ProjectFactory, tmp_path: Path, index: str) -> tuple[Path, Path]:
    project = make_project(
        {"requirements.txt": GOOD_FILES["requirements.txt"] + "mfc-tiny-dep==1.0\n"}
    )
    pip_conf = tmp_path / "pip.conf"
    pip_conf.write_text(f"[global]\nextra-index-url = {index}\n", encoding="utf-8")
    return project, pip_conf


def test_an_index_whose_certificate_is_not_trusted_is_no_fault_of_the_requirements(
    make_project: ProjectFactory, tmp_path: Path, https_index: tuple[str, Path]
) -> None:
    index, _ = https_index
    project, pip_conf = _project(make_project, tmp_path, index)
    env = {"MFC_VALIDATOR_CACHE": str(tmp_path / "cache"), "PIP_CONFIG_FILE": str(pip_conf)}
    code, checks, _ = _validate(project, env)
    assert code == 1
    sbx001 = checks["SBX001"]
    assert sbx001["status"] == "failed"
    assert "could not reach the package index" in sbx001["message"]
    assert "TLS certificate is not trusted" in sbx001["message"]
    assert "using pip's configuration: extra index https://***@127.0.0.1:" in sbx001["message"]
    assert sbx001["location"] == str(pip_conf)
    assert "PIP_CERT" in sbx001["hint"] and "no fault of requirements.txt" in sbx001["hint"]
    assert "fix the requirement" not in sbx001["hint"]
    # the resolution before logging met the same index: not the requirements' fault either
    dep014 = checks["DEP014"]
    assert dep014["status"] == "skipped" and "TLS certificate is not trusted" in dep014["message"]


def test_pips_index_and_certificate_are_carried_over_to_uv(
    make_project: ProjectFactory, tmp_path: Path, https_index: tuple[str, Path]
) -> None:
    index, ca = https_index
    project, pip_conf = _project(make_project, tmp_path, index)
    bundle = tmp_path / "bundle.pem"  # the machine's authorities, for the package index, and ours
    bundle.write_bytes(SYSTEM_CAS.read_bytes() + b"\n" + ca.read_bytes())
    pip_conf.write_text(pip_conf.read_text() + f"cert = {bundle}\n", encoding="utf-8")
    env = {
        "MFC_VALIDATOR_CACHE": str(tmp_path / "cache"),
        "PIP_CONFIG_FILE": str(pip_conf),
        "PIP_CERT": str(bundle),  # this machine sets PIP_CERT, which overrides pip.conf's cert
    }
    code, checks, _ = _validate(project, env)
    assert code == 0, {c: v for c, v in checks.items() if v["status"] == "failed"}
    message = checks["SBX001"]["message"]
    assert "installed with uv, using pip's configuration: " in message
    assert "extra index https://***@127.0.0.1:" in message and f"certificate {bundle}" in message
    assert "mfc-tiny-dep" in checks["DEP010"]["message"]  # installed there, never imported
    assert checks["DEP014"]["status"] == "passed"  # resolved through the same index first

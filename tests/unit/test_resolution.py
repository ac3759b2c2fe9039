"""DEP014: uv's real explanation of a failed resolution, read into the requirement that cannot be
had and why. uv runs here for real, offline: on a folder of tiny wheels made for each case
(`--no-index --find-links`), so that a change in how uv words its errors fails here."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from validator.project import config
from validator.sandbox import resolution
from validator.sandbox.interpreters import find_uv

UV = find_uv()
pytestmark = pytest.mark.skipif(UV is None, reason="uv is not installed")
PLATFORM_TAG = "cp311-cp311-win_amd64" if sys.platform != "win32" else "py3-none-macosx_11_0_arm64"


def wheel(
    folder: Path, name: str, version: str, *, tag: str = "py3-none-any", meta: str = ""
) -> None:
    """A wheel of NAME VERSION in FOLDER, with extra METADATA lines (Requires-Python, …)."""
    info = f"{name}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{meta}"
    files = {
        f"{name}/__init__.py": b"",
        f"{info}/METADATA": metadata.encode(),
        f"{info}/WHEEL": f"Wheel-Version: 1.0\nGenerator: test\nTag: {tag}\n".encode(),
    }
    record = ""
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(folder / f"{name}-{version}-{tag}.whl", "w") as archive:
        for path, content in files.items():
            archive.writestr(path, content)
            digest = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=")
            record += f"{path},sha256={digest.decode()},{len(content)}\n"
        archive.writestr(f"{info}/RECORD", record + f"{info}/RECORD,,\n")


@pytest.fixture
def links(tmp_path: Path) -> Path:
    folder = tmp_path / "wheels"
    wheel(folder, "mfc_base", "1.0")
    wheel(folder, "mfc_base", "2.0")
    wheel(folder, "mfc_user", "1.0", meta="Requires-Dist: mfc_base<2\n")
    wheel(folder, "mfc_winonly", "1.0", tag=PLATFORM_TAG)
    wheel(folder, "mfc_future", "1.0", meta="Requires-Python: >=3.99\n")
    return folder


def uv_output(links: Path, tmp_path: Path, requirements: str) -> str:
    """uv's own output for a failed resolution of REQUIREMENTS, offline from LINKS."""
    assert UV is not None
    file = tmp_path / "requirements.txt"
    file.write_text(requirements, encoding="utf-8")
    command = [UV, "pip", "compile", str(file), "--python", sys.executable, "--no-header"]
    command += ["--quiet", "--no-progress", "--no-index", "--find-links", str(links)]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode != 0, result.stdout
    return result.stderr


@pytest.mark.parametrize(
    ("requirements", "named", "reason", "fix"),
    [
        ("mfc-base==9.9.9\n", "mfc-base==9.9.9", "has no version mfc-base==9.9.9", "pin a version"),
        ("mfc-nowhere==1.0\n", "mfc-nowhere==1.0", "no distribution named mfc-nowhere", "spelling"),
        ("mfc-winonly==1.0\n", "mfc-winonly==1.0", "has no wheel for this platform", "wheel"),
        ("mfc-future==1.0\n", "mfc-future==1.0", "needs Python>=3.99", "supports Python"),
        (
            "mfc-user==1.0\nmfc-base==2.0\n",
            "mfc-base==2.0",
            "conflicts with the other requirements (mfc-user needs mfc-base<2)",
            "make the pins agree",
        ),
    ],
)
def test_uv_s_explanation_names_the_requirement_and_why(
    links: Path, tmp_path: Path, requirements: str, named: str, reason: str, fix: str
) -> None:
    output = uv_output(links, tmp_path, requirements)
    found = resolution.parse_uv_error(output)
    assert found.requirement == named, output
    assert reason in found.reason, output
    assert fix in found.fix
    assert found.cause and "\n" not in found.cause and named in found.cause


def test_another_error_keeps_uv_s_own_words() -> None:
    found = resolution.parse_uv_error("error: Failed to read `requirements.txt`\n  Caused by: x\n")
    assert found.requirement is None
    assert found.cause == "Failed to read `requirements.txt` Caused by: x"


def project(tmp_path: Path, links: Path, lines: str) -> config.ProjectConfig:
    root = tmp_path / "project"
    root.mkdir()
    (root / "model.yaml").write_text("name: m\n", encoding="utf-8")
    (root / "model.py").write_text("import mlflow\n", encoding="utf-8")
    (root / "input_example.json").write_text('{"inputs": [1]}', encoding="utf-8")
    (root / "requirements.txt").write_text(
        f"--no-index\n--find-links {links}\n{lines}", encoding="utf-8"
    )
    return config.load(root)


def test_the_finding_names_the_line_and_nothing_is_cached(
    links: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MFC_VALIDATOR_CACHE", str(tmp_path / "cache"))
    said: list[str] = []
    found = project(tmp_path, links, "mfc-user==1.0\nmfc-base==9.9.9\n")

    [finding] = resolution.resolve(found, use_cache=True, progress=said.append)

    assert (finding.code, finding.status) == ("DEP014", "failed")
    assert finding.location == "requirements.txt:4"
    assert finding.message.startswith("mfc-base==9.9.9 cannot be installed for Python")
    assert "the package index has no version mfc-base==9.9.9; nothing was logged" in finding.message
    assert finding.hint and "pip index versions mfc-base" in finding.hint
    assert said and said[0].startswith("resolving requirements.txt for Python")
    assert not list((tmp_path / "cache").rglob("*.txt"))


def test_a_resolution_is_cached_under_the_environment_key(
    links: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MFC_VALIDATOR_CACHE", str(tmp_path / "cache"))
    found = project(tmp_path, links, "mfc-user==1.0\n")

    first = resolution.resolve(found, use_cache=True, progress=lambda _: None)
    said: list[str] = []
    second = resolution.resolve(found, use_cache=True, progress=said.append)
    uncached = resolution.resolve(found, use_cache=False, progress=lambda _: None)

    assert [f.status for f in (*first, *second, *uncached)] == ["passed"] * 3
    assert "2 distributions, resolved in" in first[0].message
    assert second[0].message.endswith("(resolved before)") and said == []
    assert "resolved in" in uncached[0].message
    [kept] = (tmp_path / "cache" / resolution.RESOLUTIONS).glob("*.txt")
    assert kept.read_text().split() == ["mfc-base==1.0", "mfc-user==1.0"]
    # another requirement is another key: resolved again
    (found.root / "requirements.txt").write_text(
        (found.root / "requirements.txt").read_text() + "mfc-base==1.0\n"
    )
    [again] = resolution.resolve(config.load(found.root), use_cache=True, progress=lambda _: None)
    assert "resolved in" in again.message


@pytest.mark.parametrize("include", ["-r /dev/zero", "-c ../outside.txt", "-c missing.txt"])
def test_an_include_that_is_not_a_file_beside_is_not_given_to_uv(
    links: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, include: str
) -> None:
    # uv would read /dev/zero for ever: nothing is run, the sandbox build judges the file
    monkeypatch.setenv("MFC_VALIDATOR_CACHE", str(tmp_path / "cache"))
    said: list[str] = []
    found = project(tmp_path, links, f"mfc-base==1.0\n{include}\n")

    [finding] = resolution.resolve(found, use_cache=True, progress=said.append)

    assert (finding.code, finding.status) == ("DEP014", "skipped")
    assert f"includes {include.split()[1]}, which is not a file beside it" in finding.message
    assert said == []


def test_a_resolution_that_takes_too_long_is_stopped_and_not_judged(
    links: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MFC_VALIDATOR_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(resolution, "RESOLVE_TIMEOUT_S", 0.0001)
    found = project(tmp_path, links, "mfc-base==1.0\n")

    [finding] = resolution.resolve(found, use_cache=True, progress=lambda _: None)

    assert (finding.code, finding.status) == ("DEP014", "skipped")
    assert "took longer than 0 s" in finding.message

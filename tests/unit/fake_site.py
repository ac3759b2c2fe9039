"""A site-packages of small distributions, as pip leaves them (files and a dist-info folder
whose RECORD lists them), for what the validator reads of what is installed here."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest


def distribution(site: Path, name: str, version: str, files: dict[str, str]) -> None:
    """Install NAME at VERSION in SITE with FILES (relative path -> text)."""
    for relative, text in files.items():
        (site / relative).parent.mkdir(parents=True, exist_ok=True)
        (site / relative).write_text(text, encoding="utf-8")
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n")
    (info / "RECORD").write_text("".join(f"{relative},,\n" for relative in files))


def namespace_with_a_plugin(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """FOLDER, put on sys.path, where acme-core installs the namespace package acme with
    acme.core (as llama-index-core installs llama_index), and acme-plugins-openai adds
    acme.plugins.openai (as llama-index-embeddings-openai adds llama_index.embeddings.openai)."""
    distribution(folder, "acme-core", "1.2.0", {"acme/core/__init__.py": ""})
    distribution(
        folder, "acme-plugins-openai", "0.4.1", {"acme/plugins/openai/__init__.py": "X = 1\n"}
    )
    monkeypatch.setattr(sys, "path", [*sys.path, str(folder)])
    return folder

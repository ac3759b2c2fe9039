"""The content hash of a project: what a validation validated, so `register` can recognise it.

sha256 over a manifest of every file the logged model is made from (model.yaml, the script,
requirements, the input example, code_paths, artifacts, a model_config file), one line per file
with its path relative to the project and the sha256 of its bytes, sorted by path. Renaming a
file changes the hash; the order model.yaml lists things in does not.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from validator.paths import files_under, relative_path
from validator.project import uv_project
from validator.project.config import CONFIG_FILE, ProjectConfig

SCHEME = "mfc-content-v1"  # changes if what is hashed changes, so old hashes never match
_CHUNK = 1 << 20


def content_files(config: ProjectConfig) -> dict[str, Path]:
    """{relative posix path: file} of every file the hash covers; a missing file is listed too."""
    root = config.root
    named = [CONFIG_FILE] + [relative for _, relative in config.named_files()]
    if uv_project.is_uv_project(root):  # what the model is logged and served with
        named += [uv_project.PYPROJECT, uv_project.LOCK]
    files: dict[str, Path] = {}
    for relative in named:
        path = root / relative
        for file in files_under(path) if path.is_dir() else [path]:
            if file.suffix != ".pyc":
                files[relative_path(file, root)] = file
    return dict(sorted(files.items()))


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    except FileNotFoundError:
        return "missing"
    return digest.hexdigest()


def content_hash(config: ProjectConfig) -> str:
    manifest = [SCHEME]
    manifest += [
        f"{relative}\0{_file_digest(path)}" for relative, path in content_files(config).items()
    ]
    return hashlib.sha256("\n".join(manifest).encode("utf-8")).hexdigest()

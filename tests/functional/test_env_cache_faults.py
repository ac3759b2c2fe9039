"""The environment cache on a disk that cannot take it (slow tier: real builds): read-only, the
build falls back to a temporary folder with a warning; full, exit 2 and nothing half-built kept.
The read-only and full cases need a small tmpfs mounted here (root); elsewhere they are
skipped, and a cache path under a file stands in for the read-only one."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.functional.faults import tmpfs
from tests.pins import NUMPY
from validator.errors import ValidatorError
from validator.sandbox import envcache

pytestmark = pytest.mark.slow


def prepare(requirements: str, tmp_path: Path, messages: list[str]) -> envcache.Environment:
    file = tmp_path / "requirements.txt"
    file.write_text(requirements, encoding="utf-8")
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    return envcache.prepare(
        sys.executable, version, file, use_cache=True, progress=messages.append, scratch=scratch
    )


def test_a_read_only_cache_falls_back_to_a_temporary_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with tmpfs(tmp_path / "cache", "ro,size=1m") as cache:
        monkeypatch.setenv(envcache.CACHE_ENV, str(cache))
        messages: list[str] = []
        env = prepare("", tmp_path, messages)
        assert env.python.exists() and not env.reused
        assert env.path.parent == tmp_path / "scratch"  # built there, not in the cache
        assert any(
            "warning: the environment cache" in m
            and "cannot be written (Read-only file system)" in m
            and envcache.CACHE_ENV in m
            for m in messages
        ), messages
        assert list(cache.iterdir()) == []


def test_a_cache_path_that_cannot_be_a_folder_falls_back_without_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv(envcache.CACHE_ENV, str(blocker / "cache"))
    messages: list[str] = []
    env = prepare("", tmp_path, messages)
    assert env.path.parent == tmp_path / "scratch" and not env.reused
    assert any("cannot be written (Not a directory)" in m for m in messages), messages


def test_a_full_disk_is_exit_2_and_leaves_no_half_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with tmpfs(tmp_path / "cache", "size=2m") as cache:
        monkeypatch.setenv(envcache.CACHE_ENV, str(cache))
        with pytest.raises(
            ValidatorError, match=r"no space left on the disk of .*nothing half-built"
        ):
            prepare(f"{NUMPY}\n", tmp_path, [])
        left = sorted(path.name for path in (cache / "envs").iterdir())
        assert all(name.endswith(".lock") for name in left), left

"""The probe server's Unix socket, whose path has a length limit that a deep TMPDIR exceeds."""

from __future__ import annotations

import os
import socket
import sys
import tempfile
from pathlib import Path

import pytest

from validator.sandbox.runner import Sandbox


def test_a_deep_tmpdir_gets_a_short_socket_path_that_is_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(deep))
    box = Sandbox(sys.executable, "3.11", "", [], use_cache=True, progress=lambda _: None)
    try:
        assert str(box.scratch).startswith(str(deep))
        path = box._socket_path()
        assert len(os.fsencode(path)) < 100
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
            listener.bind(str(path) + ".tmp")  # what the server binds first
    finally:
        box.close()
    assert not path.parent.exists() and not box.scratch.exists()


def test_a_shallow_scratch_keeps_the_socket_inside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", "/tmp")
    box = Sandbox(sys.executable, "3.11", "", [], use_cache=True, progress=lambda _: None)
    try:
        assert box._socket_path().parent == box.scratch
    finally:
        box.close()

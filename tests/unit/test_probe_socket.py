"""The probe server's Unix socket, whose path has a length limit that a deep TMPDIR exceeds."""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

import pytest

from validator.sandbox.runner import ProbeServer, Scratch


def test_a_deep_tmpdir_gets_a_short_socket_path_that_is_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(deep))
    scratch = Scratch(())
    server = ProbeServer(scratch)
    try:
        assert str(scratch.path).startswith(str(deep))
        path = server.socket_path()
        assert len(os.fsencode(path)) < 100
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
            listener.bind(str(path) + ".tmp")  # what the server binds first
    finally:
        server.stop()
        scratch.remove()
    assert not path.parent.exists() and not scratch.path.exists()


def test_a_shallow_scratch_keeps_the_socket_inside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", "/tmp")
    scratch = Scratch(())
    try:
        assert ProbeServer(scratch).socket_path().parent == scratch.path
    finally:
        scratch.remove()

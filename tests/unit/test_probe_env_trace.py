"""The probe's trace of environment reads and writes (validator/sandbox/probe.py), run with its
hooks in a fresh interpreter: a read is attributed to the library that made it, a copy of the
whole environment reads nothing by name, and a variable the model set itself is marked so."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from validator import serving
from validator.sandbox import probe

LIBRARY = """\
import os

def client():
    return os.environ.get("SDK_BASE_URL"), os.getenv("SDK_API_KEY")

def snapshot():
    return dict(os.environ), list(os.environ.items()), os.environ.copy(), {**os.environ}
"""
MODEL = """\
import os

import fakesdk

os.environ["MODEL_OWN_KEY"] = "placeholder"
os.environ.setdefault("MODEL_DEFAULTED", "1")

def load():
    fakesdk.client()
    fakesdk.snapshot()
    return os.environ["MODEL_OWN_KEY"], os.environ["MODEL_DEFAULTED"], os.getenv("MODEL_" + "MODE")
"""
DRIVER = """\
import json, os, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import probe
probe._MODEL_DIR = os.path.realpath(sys.argv[2])
os._Environ.__getitem__ = probe._traced_getitem
os._Environ.__setitem__ = probe._traced_setitem
os.environ["DECLARED_ELSEWHERE"] = "x"  # before any stage: not the model's write
probe._stage = "load"
import model
model.load()
probe._stage = "done"
print(json.dumps(probe._reads))
"""


def traced(tmp_path: Path) -> dict[str, Any]:
    site, model_dir = tmp_path / "site", tmp_path / "model"
    site.mkdir()
    model_dir.mkdir()
    (site / "fakesdk.py").write_text(LIBRARY)
    (site / "probe.py").write_text(Path(probe.__file__).read_text())
    # the probe loads the request path from its parent folder, as from validator/
    (tmp_path / "serving.py").write_text(Path(serving.__file__).read_text())
    (site / "driver.py").write_text(DRIVER)
    (model_dir / "model.py").write_text(textwrap.dedent(MODEL))
    env = {"PATH": "/usr/bin:/bin", "SDK_BASE_URL": "http://127.0.0.1:9"}
    done = subprocess.run(
        [sys.executable, "-I", str(site / "driver.py"), str(site), str(model_dir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    reads: dict[str, Any] = json.loads(done.stdout)
    return reads


def test_reads_by_a_library_name_the_library(tmp_path: Path) -> None:
    reads = traced(tmp_path)
    assert reads["SDK_BASE_URL"]["libraries"] == ["fakesdk"]
    assert reads["SDK_API_KEY"]["libraries"] == ["fakesdk"]  # unset: still read by name
    assert not reads["SDK_BASE_URL"]["user"]


def test_a_copy_of_the_whole_environment_reads_no_variable(tmp_path: Path) -> None:
    reads = traced(tmp_path)
    assert "PATH" not in reads
    assert "DECLARED_ELSEWHERE" not in reads


def test_a_variable_the_model_set_itself_is_marked_written(tmp_path: Path) -> None:
    reads = traced(tmp_path)
    own, defaulted, computed = (
        reads["MODEL_OWN_KEY"],
        reads["MODEL_DEFAULTED"],
        reads["MODEL_MODE"],
    )
    assert own["user"] and own["written"]
    assert defaulted["user"] and defaulted["written"]
    assert computed["user"] and not computed["written"]
    assert computed["file"].endswith("model.py") and computed["line"] == 11

"""The variables read while MLflow logs the model (for init): traced in the logging worker by
the sandbox probe's own code, the model's reads told from a library's, and what init keeps of
them: a library's address or credential set where init runs, as for the sandbox's reads."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

from validator.adopt import static, traced
from validator.inprocess import env_reads

LIBRARY = """\
import os


def settings():
    return {"base": os.getenv("ACME_API_BASE"), "tuning": os.environ.get("ACME_TUNING")}
"""
MODEL = """\
import os

import acmelib

os.environ["MODEL_OWN"] = "1"
own = os.environ["MODEL_OWN"]
token = os.environ.get("MODEL_TOKEN")
everything = dict(os.environ)  # a copy reads no variable by name
settings = acmelib.settings()
"""


def test_reads_while_logging_are_traced_as_the_probe_traces_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    library = tmp_path / "site"
    library.mkdir()
    (library / "acmelib.py").write_text(LIBRARY, encoding="utf-8")
    monkeypatch.syspath_prepend(str(library))
    monkeypatch.delitem(sys.modules, "acmelib", raising=False)
    root = tmp_path / "project"
    root.mkdir()
    script = root / "model.py"
    script.write_text(MODEL, encoding="utf-8")
    monkeypatch.setenv("ACME_API_BASE", "http://127.0.0.1:1/v1")
    getitem = os._Environ.__getitem__

    with env_reads.traced(root) as reads:
        exec(compile(script.read_text(), str(script), "exec"), {"__name__": "model"})

    assert os._Environ.__getitem__ is getitem  # put back
    shown = {
        name: (read["stage"], read["user"], read.get("written", False), read["libraries"])
        for name, read in reads.items()
    }
    assert shown == {
        "MODEL_OWN": ("log", True, True, []),
        "MODEL_TOKEN": ("log", True, False, []),
        "ACME_API_BASE": ("log", False, False, ["acmelib"]),
        "ACME_TUNING": ("log", False, False, ["acmelib"]),
    }


def test_init_declares_a_library_s_address_that_only_logging_read(tmp_path: Path) -> None:
    root = tmp_path / "adopted"
    root.mkdir()
    (root / "engine.py").write_text(
        textwrap.dedent("""\
            import mlflow
            import yaml

            mlflow.models.set_model(yaml.safe_load("{}"))
        """),
        encoding="utf-8",
    )
    adoption = static.infer(root)
    yaml_read = {"user": False, "libraries": ["yaml"]}
    result = {
        "env_reads": {"YAML_API_KEY": {"stage": "load", **yaml_read}},
        "logging_env_reads": {
            "YAML_API_BASE": {"stage": "log", **yaml_read},
            "YAML_API_KEY": {"stage": "log", **yaml_read},  # the sandbox's read is said
            "YAML_TUNING": {"stage": "log", **yaml_read},  # a library's own tuning
            "YAML_API_VERSION": {"stage": "log", **yaml_read},  # set nowhere: not the model's
        },
        "modules": {"yaml": {"distributions": ["PyYAML"]}},
    }
    environ = {"YAML_API_BASE": "http://x", "YAML_API_KEY": "k" * 10, "YAML_TUNING": "1"}

    traced.merge(adoption, result, environ)

    assert {entry.name: entry.origin for entry in adoption.env} == {
        "YAML_API_BASE": "read by yaml while logging (traced)",
        "YAML_API_KEY": "read by yaml while loading (traced)",
    }

"""init's trace and the modules the sandbox lacked: a distribution installed here that provides a
module the model (or a library of it, lazily: llama_index.core imports
llama_index.embeddings.openai only when an index is built) failed to import in the sandbox is
required, and the model is run again; nothing else is added. The sandbox itself is replaced here
by what it answers for each requirements file (the slow tier runs the real one)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from tests.unit.fake_site import distribution, namespace_with_a_plugin
from validator.adopt import static, traced
from validator.commands import init as init_command
from validator.report import failed

SCRIPT = """\
import mlflow
from acme.core import build

mlflow.models.set_model(build())
"""
REQUEST = {"inputs": ["Hello!"]}


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    namespace_with_a_plugin(tmp_path / "site-packages", monkeypatch)
    folder = tmp_path / "adopted"
    folder.mkdir()
    (folder / "engine.py").write_text(SCRIPT, encoding="utf-8")
    (folder / "input_example.json").write_text(json.dumps(REQUEST), encoding="utf-8")
    return folder


def _lacking(module: str, wanted: str | None, stage: str = "load") -> traced.Trace:
    """The trace of a model that failed in the sandbox for want of WANTED (Python's error
    naming MODULE, the first package missing)."""
    error = {"type": "ModuleNotFoundError", "module": module, "wanted": wanted, "frames": []}
    return traced.Trace({"stage": stage, "error": error}, failure=failed("SBX002", "lacks it"))


def test_a_module_the_sandbox_lacked_is_required_from_the_distribution_installed_here(
    root: Path,
) -> None:
    adoption = static.infer(root)
    assert [r.line for r in adoption.requirements][1:] == ["acme-core==1.2.0"]

    needed = traced.lacking(adoption, _lacking("acme.plugins", "acme.plugins.openai"))

    assert needed is not None
    assert (needed.name, needed.version) == ("acme-plugins-openai", "0.4.1")
    assert needed.origin == (
        "provides acme.plugins.openai, which the model imported while loading and the sandbox "
        "lacked (traced)"
    )
    answering = traced.lacking(adoption, _lacking("acme.plugins.openai", None, "predict"))
    assert answering is not None and "while answering" in answering.origin


@pytest.mark.parametrize(
    "trace",
    [
        # installed nowhere here: acme-core only shares the namespace, it does not provide it
        _lacking("acme.plugins", "acme.plugins.other"),
        # a name a module lacks (a version the model was not written for) is no missing module
        traced.Trace(
            {"stage": "load", "error": {"type": "ImportError", "module": "acme.core"}},
            failure=failed("SBX002", "cannot import name"),
        ),
        # the model's own defect, after it loaded
        traced.Trace(
            {"stage": "predict", "error": {"type": "ValueError", "module": None}},
            failure=failed("SBX003", "raised"),
        ),
        # a model that worked: an import a library tried and did without is not a need
        traced.Trace({"stage": "done", "modules": {}}),
    ],
    ids=["installed-nowhere", "import-error", "own-defect", "worked"],
)
def test_nothing_else_is_required(root: Path, trace: traced.Trace) -> None:
    assert traced.lacking(static.infer(root), trace) is None


def test_a_distribution_already_required_is_not_added_again(root: Path) -> None:
    adoption = static.infer(root)
    adoption.add_requirement(static.Requirement("acme-plugins-openai", "0.4.1", "(static)"))
    assert traced.lacking(adoption, _lacking("acme.plugins", "acme.plugins.openai")) is None


def _sandbox(plugins: list[str]) -> Any:
    """A stand-in for traced.probe: the model needs every module of PLUGINS (acme.plugins.X),
    and the sandbox holds exactly what the requirements file given to it says; the runs it
    was asked for are in its `runs`."""
    runs: list[str] = []

    def probe(adoption: Any, texts: dict[str, str], timeout: float | None) -> traced.Trace:
        requirements = texts["requirements.txt"]
        runs.append(requirements)
        for plugin in plugins:
            if f"acme-plugins-{plugin}==" not in requirements:
                return _lacking("acme.plugins", f"acme.plugins.{plugin}")
        return traced.Trace({"stage": "done", "env_reads": {}, "connections": {}, "modules": {}})

    probe.runs = runs  # type: ignore[attr-defined]
    return probe


def _init(root: Path) -> tuple[int, str]:
    out = io.StringIO()
    status = init_command.run(root, "adopted", init_command.InitOptions(trace=True), out)
    return status, out.getvalue()


def test_init_requires_what_the_sandbox_lacked_and_runs_the_model_again(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = _sandbox(["openai"])
    monkeypatch.setattr(traced, "probe", sandbox)

    status, said = _init(root)

    assert status == 0, said
    assert len(sandbox.runs) == 2
    requirements = (root / "requirements.txt").read_text(encoding="utf-8")
    assert (
        "acme-plugins-openai==0.4.1  # provides acme.plugins.openai, which the model imported "
        "while loading and the sandbox lacked (traced)"
    ) in requirements
    assert (
        "traced: the model loaded and answered in the sandbox; added 0 variables, 0 hosts, "
        "0 requirements; required acme-plugins-openai, which the sandbox lacked at first"
    ) in said


def test_init_stops_requiring_after_a_few_and_names_the_failure(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = root.parent / "site-packages"
    for plugin in ("one", "two", "three", "four"):
        files = {f"acme/plugins/{plugin}/__init__.py": ""}
        distribution(site, f"acme-plugins-{plugin}", "1.0", files)
    sandbox = _sandbox(["one", "two", "three", "four"])
    monkeypatch.setattr(traced, "probe", sandbox)

    status, said = _init(root)

    assert status == 1  # the model's failure, named for validate
    assert len(sandbox.runs) == 4  # the first run and one per distribution added, three at most
    requirements = (root / "requirements.txt").read_text(encoding="utf-8")
    assert [
        p for p in ("one", "two", "three", "four") if f"acme-plugins-{p}==" in requirements
    ] == [
        "one",
        "two",
        "three",
    ]
    assert "not traced: the model failed in the sandbox" in said
    assert "required acme-plugins-one, acme-plugins-two, acme-plugins-three" in said
    assert "SBX002 failed" in said

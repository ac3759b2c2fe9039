"""DEP011: pickled artifacts, told by name or by their first bytes, read without unpickling."""

from __future__ import annotations

import pickle
import sys
import types
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ProjectFactory
from validator.checks import artifacts
from validator.project import config
from validator.project.sources import Project


def _library_object(monkeypatch: pytest.MonkeyPatch, module: str) -> object:
    """An instance of a class that pickle believes lives in MODULE (never imported)."""
    parts = module.split(".")
    for end in range(1, len(parts)):  # pickle imports the module, so its parents too
        parent = ".".join(parts[:end])
        if parent not in sys.modules:
            monkeypatch.setitem(sys.modules, parent, types.ModuleType(parent))
    fake = types.ModuleType(module)
    thing = type("Thing", (), {"__module__": module})
    fake.Thing = thing  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module, fake)
    return thing()


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_a_pickle_is_told_by_its_first_bytes(tmp_path: Path, protocol: int) -> None:
    path = tmp_path / "weights.bin"
    path.write_bytes(pickle.dumps({"a": [1, 2]}, protocol=protocol))

    assert artifacts.is_pickle(path)


@pytest.mark.parametrize("suffix", [".pkl", ".pickle", ".joblib", ".PKL", ".cloudpickle"])
def test_a_pickle_is_told_by_its_name(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"model{suffix}"
    path.write_bytes(b"compressed, or protocol 0")

    assert artifacts.is_pickle(path)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x80",
        b"\x80\x09 not a protocol",
        b"PK\x03\x04 a zip, as skops and safetensors archives are",
        b'{"weights": [1, 2]}',
        b"\x93NUMPY",
    ],
)
def test_other_files_are_not_pickles(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "weights.bin"
    path.write_bytes(content)

    assert not artifacts.is_pickle(path)


@pytest.mark.parametrize("protocol", [2, 4, 5])
@pytest.mark.parametrize(
    ("module", "expected", "format_named"),
    [
        ("sklearn.linear_model._ridge", {"sklearn"}, "skops"),
        ("torch._tensor", {"torch"}, "safetensors"),
        ("xgboost.core", {"xgboost"}, "XGBoost"),
        ("mylib.models", {"mylib"}, "ONNX"),
    ],
)
def test_the_pickled_library_names_the_safer_format(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    protocol: int,
    module: str,
    expected: set[str],
    format_named: str,
) -> None:
    path = tmp_path / "model.bin"
    # the module's name twice, so that protocol 4+ fetch it back from the memo
    path.write_bytes(
        pickle.dumps([_library_object(monkeypatch, module)] * 2 + [{"k": 1}], protocol=protocol)
    )

    modules = artifacts.imported_modules(path)

    assert modules == expected
    assert format_named in artifacts.safer_format(modules)


def test_a_truncated_pickle_still_names_what_it_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.pkl"
    data = pickle.dumps([_library_object(monkeypatch, "torch"), list(range(100))], protocol=5)
    path.write_bytes(data[: len(data) // 2])

    assert artifacts.imported_modules(path) == {"torch"}


def _warnings(project: Path) -> list[tuple[str, str | None, str, str | None]]:
    found = artifacts.run(Project(config.load(project)))
    return [(f.status, f.location, f.message, f.hint) for f in found if f.status != "passed"]


def test_a_pickled_artifact_warns(make_project: ProjectFactory) -> None:
    project = make_project({"model.yaml": "name: m\nartifacts:\n  model: model.pkl\n"})
    (project / "model.pkl").write_bytes(pickle.dumps({"weights": [1.0]}))

    [(status, location, message, hint)] = _warnings(project)

    assert (status, location) == ("warning", "model.pkl")
    assert message.startswith("artifact 'model' (model.pkl) is a pickle: loading it runs")
    assert hint is not None and "context.artifacts['model']" in hint and "skops" in hint


def test_pickles_in_an_artifact_folder_warn_one_by_one(make_project: ProjectFactory) -> None:
    project = make_project({"model.yaml": "name: m\nartifacts:\n  bundle: bundle\n"})
    (project / "bundle" / "deep").mkdir(parents=True)
    (project / "bundle" / "deep" / "a.joblib").write_bytes(b"zlib compressed")
    (project / "bundle" / "b.bin").write_bytes(pickle.dumps(1))
    (project / "bundle" / "c.json").write_text("{}")

    assert [location for _, location, _, _ in _warnings(project)] == [
        "bundle/b.bin",
        "bundle/deep/a.joblib",
    ]


def test_safe_artifacts_pass(make_project: ProjectFactory) -> None:
    project = make_project({"model.yaml": "name: m\nartifacts:\n  model: model.skops\n"})
    with zipfile.ZipFile(project / "model.skops", "w") as archive:
        archive.writestr("schema.json", "{}")

    assert _warnings(project) == []

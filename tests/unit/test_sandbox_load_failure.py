"""SBX002 when the model does not load in the sandbox for want of a module: the module named in
full (a library's lazy import of a plugin of a namespace package is not its top level, which the
requirements may well provide), and the distribution installed here that provides it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.unit.fake_site import namespace_with_a_plugin
from validator.project import config
from validator.sandbox.probe_results import probe_checks
from validator.sandbox.runner import ProbeRun


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return namespace_with_a_plugin(tmp_path / "site-packages", monkeypatch)


@pytest.fixture
def project(tmp_path: Path) -> config.ProjectConfig:
    from tests.conftest import GOOD_FILES

    root = tmp_path / "project"
    root.mkdir()
    for name, text in GOOD_FILES.items():
        (root / name).write_text(text)
    return config.load(root)


def _sbx002(project: config.ProjectConfig, model_dir: Path, error: dict[str, Any]) -> Any:
    (model_dir / "requirements.txt").write_text("mlflow==3.17.2\nacme-core==1.2.0\n")
    result = {"ok": False, "stage": "load", "error": error}
    findings = probe_checks(project, model_dir, ProbeRun(result, False, "", 0, 1.0), None, 300)
    return next(f for f in findings if f.code == "SBX002")


def _missing(
    module: str, frames: list[tuple[Path | str, int]], wanted: str | None = None
) -> dict[str, Any]:
    """The probe's error for a ModuleNotFoundError: MODULE, the package it names, and WANTED,
    the whole import asked for (validator/sandbox/probe.py)."""
    return {
        "type": "ModuleNotFoundError",
        "message": f"No module named '{module}'",
        "module": module,
        "wanted": wanted,
        "frames": [{"file": str(file), "line": line} for file, line in frames],
    }


SANDBOX_SITE = "/envs/abc/lib/python3.11/site-packages"


@pytest.mark.parametrize(
    ("library_frames", "importer"),
    [
        (
            # the probe's own frame, which traces imports, is not who imported
            [(f"{SANDBOX_SITE}/acme/core/settings.py", 41), ("/src/validator/sandbox/probe.py", 9)],
            "acme/core/settings.py:41",
        ),
        # MLflow restores a LlamaIndex index's settings with importlib.import_module: the
        # frames end in the import system's own, and MLflow's is the one that asked
        (
            [
                (f"{SANDBOX_SITE}/mlflow/llama_index/serialize_objects.py", 99),
                ("/src/validator/sandbox/probe.py", 200),
                ("/usr/lib/python3.11/importlib/__init__.py", 126),
                ("<frozen importlib._bootstrap>", 1204),
            ],
            "mlflow/llama_index/serialize_objects.py:99",
        ),
    ],
    ids=["import-statement", "import_module"],
)
def test_a_library_s_lazy_import_is_named_in_full_with_its_distribution(
    project: config.ProjectConfig,
    tmp_path: Path,
    site: Path,
    library_frames: list[tuple[str, int]],
    importer: str,
) -> None:
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    # Python's error names acme.plugins, the first package missing, which several plugins
    # share; the probe keeps the import asked for
    frames: list[tuple[Path | str, int]] = [(model_dir / "model.py", 7), *library_frames]
    error = _missing("acme.plugins", frames, wanted="acme.plugins.openai")

    finding = _sbx002(project, model_dir, error)

    assert finding.status == "failed"
    assert finding.message == (
        f"{importer} (a library the model uses) imports acme.plugins.openai, which the logged "
        "requirements do not provide; acme-plugins-openai provides it (0.4.1 installed here)"
    )
    assert finding.location == "model.py:7"
    assert finding.hint == "add acme-plugins-openai==0.4.1 to requirements.txt"


def test_a_plugin_installed_nowhere_is_not_pinned_on_the_namespace_s_owner(
    project: config.ProjectConfig, tmp_path: Path, site: Path
) -> None:
    # acme-core installs the namespace acme, not acme.plugins.other: it is not the provider
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    error = _missing("acme.plugins.other", [(model_dir / "model.py", 3)])

    finding = _sbx002(project, model_dir, error)

    assert finding.message == (
        "model.py imports acme.plugins.other, which the logged requirements do not provide"
    )
    assert "acme-core" not in (finding.hint or "")
    assert "'acme.plugins.other'" in (finding.hint or "")


def test_a_name_a_module_does_not_have_is_not_a_missing_module(
    project: config.ProjectConfig, tmp_path: Path, site: Path
) -> None:
    # ImportError names the module it looked in: acme.core is installed and declared, so
    # saying the requirements do not provide it would be a false alarm
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    error = {
        "type": "ImportError",
        "message": "cannot import name 'Graph' from 'acme.core' (/site-packages/acme/core/x.py)",
        "module": "acme.core",
        "frames": [{"file": str(model_dir / "model.py"), "line": 2}],
    }

    finding = _sbx002(project, model_dir, error)

    assert "do not provide" not in finding.message
    assert finding.message.startswith(
        "the model failed to load in the sandbox: ImportError: cannot import name 'Graph'"
    )

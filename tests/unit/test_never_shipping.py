"""The embedded store is left out of MLflow's copy of a code_paths folder, and nothing else is:
shutil.copytree, patched while the model is logged, still copies subfolders (its own recursion
passes every argument positionally)."""

from __future__ import annotations

import shutil
from pathlib import Path

from validator.inprocess.log_model import _never_shipping


def test_a_folder_with_subfolders_is_copied_without_the_store(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    (project / "lib" / "deep" / "deeper").mkdir(parents=True)
    (project / "lib" / "deep" / "deeper" / "util.py").write_text("X = 1\n")
    (project / ".mlflow" / "artifacts").mkdir(parents=True)
    (project / ".mlflow" / "mlflow.db").write_text("store")
    (project / "model.py").write_text("pass\n")

    with _never_shipping(project / ".mlflow"):
        shutil.copytree(project, tmp_path / "copy", ignore=shutil.ignore_patterns("*.pyc"))
        shutil.copytree(project / "lib", tmp_path / "lib-copy", False, None, shutil.copy2)

    copied = sorted(
        p.relative_to(tmp_path / "copy").as_posix() for p in (tmp_path / "copy").rglob("*")
    )
    assert copied == ["lib", "lib/deep", "lib/deep/deeper", "lib/deep/deeper/util.py", "model.py"]
    assert (tmp_path / "lib-copy" / "deep" / "deeper" / "util.py").read_text() == "X = 1\n"
    assert shutil.copytree.__module__ == "shutil"  # put back

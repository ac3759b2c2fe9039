"""CFG005 against the errors MLflow's own copy helpers raise: not the script raising (SCR007)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from validator.inprocess.copy_failures import copy_failure
from validator.project.config import ProjectConfig


def _raised(call: object) -> BaseException:
    assert callable(call)
    with pytest.raises(Exception) as info:
        call()
    return info.value


def test_an_artifact_mlflow_cannot_download_is_cfg005(tmp_path: Path) -> None:
    from mlflow.tracking.artifact_utils import _download_artifact_from_uri

    root = tmp_path / "proj"
    (root / "data").mkdir(parents=True)
    os.mkfifo(root / "data" / "pipe")
    (tmp_path / "out").mkdir()
    config = ProjectConfig(root, "proj", artifacts={"table": "data"}, lines={"artifacts": 4})
    error = _raised(
        lambda: _download_artifact_from_uri(str(root.resolve() / "data"), str(tmp_path / "out"))
    )

    finding = copy_failure(error, config)

    assert finding is not None and finding.code == "CFG005" and finding.status == "failed"
    assert finding.message.startswith("MLflow could not copy artifact 'table' into the model: ")
    assert "named pipe" in finding.message and "\n" not in finding.message
    assert finding.location == "model.yaml:4"


def test_an_error_of_the_script_is_not_acopy_failure(tmp_path: Path) -> None:
    def script() -> None:
        raise OSError(2, "No such file or directory", "weights.bin")

    assert copy_failure(_raised(script), ProjectConfig(tmp_path, "proj")) is None

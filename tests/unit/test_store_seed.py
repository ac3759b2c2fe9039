"""A new project's embedded store is a copy of an empty store made once per MLflow version
(MLflow's migrations take seconds on every new project), with the Default experiment's folder
set inside the project's .mlflow/; where no template can be made, MLflow creates the store."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from validator.tracking import store


def _experiments(database: Path) -> list[tuple[int, str, str]]:
    with sqlite3.connect(database) as db:
        return list(db.execute("SELECT experiment_id, name, artifact_location FROM experiments"))


def test_a_new_store_is_the_template_copied_and_mlflow_opens_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MFC_VALIDATOR_CACHE", str(tmp_path / "cache"))
    (tmp_path / "one").mkdir()
    assert store.prepare_default_store(tmp_path / "one") == tmp_path / "one" / ".mlflow"
    template = store.store_template()
    assert template is not None and template.parent == tmp_path / "cache" / "stores"
    made = template.stat().st_mtime_ns
    second_root = tmp_path / "two"
    second_root.mkdir()
    store.prepare_default_store(second_root)
    assert template.stat().st_mtime_ns == made  # made once, then only copied
    for root in (tmp_path / "one", second_root):
        database = root / ".mlflow" / "mlflow.db"
        folder = (root / ".mlflow" / "artifacts" / "0").resolve().as_uri()
        assert _experiments(database) == [(0, "Default", folder)]
        assert not (root / ".mlflow" / "mlflow.db.seeding").exists()
    # MLflow takes the copy as its own store: no migration, a run recorded in it
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{second_root / '.mlflow' / 'mlflow.db'}")
    experiment = client.create_experiment("scorer")
    run = client.create_run(experiment)
    client.set_terminated(run.info.run_id)
    assert client.get_run(run.info.run_id).info.status == "FINISHED"


def test_a_store_that_exists_is_left_alone_and_no_template_is_no_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "mlflow.db"
    database.write_bytes(b"not touched")
    store.seed_store(database)
    assert database.read_bytes() == b"not touched"
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("MFC_VALIDATOR_CACHE", str(blocker / "cache"))  # cannot be a folder
    assert store.store_template() is None
    fresh = tmp_path / "fresh.db"
    store.seed_store(fresh)
    assert not fresh.exists()  # MLflow will create it, as it always did

"""A tracking URI without a scheme that names a server (host:port) is a typo MLflow would take
for a folder of a file store: exit 2 with the URI it most likely meant."""

from __future__ import annotations

from pathlib import Path

import pytest

from validator.errors import ValidatorError
from validator.tracking.store import resolve_tracking_uri


@pytest.mark.parametrize("uri", ["127.0.0.1:5000", "localhost:5000", "mlflow.example.com:443/x"])
def test_a_server_without_a_scheme_is_refused_with_the_fix(uri: str) -> None:
    with pytest.raises(ValidatorError, match=f"did you mean http://{uri}\\?"):
        resolve_tracking_uri(Path("/project"), uri)


@pytest.mark.parametrize(
    "uri", ["http://127.0.0.1:5000", "sqlite:///tmp/mlflow.db", "databricks", "/tmp/store"]
)
def test_uris_with_a_scheme_or_a_path_pass(uri: str) -> None:
    assert resolve_tracking_uri(Path("/project"), uri) == (uri, False)


def test_the_variable_is_named_when_it_is_the_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "localhost:5000")
    with pytest.raises(ValidatorError, match=r"^MLFLOW_TRACKING_URI localhost:5000 has no scheme"):
        resolve_tracking_uri(Path("/project"), None)


def test_the_embedded_store_named_by_mlflow_tracking_uri_is_still_the_embedded_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # register opens the store with mlflow.set_tracking_uri, which sets MLFLOW_TRACKING_URI; the
    # validation it then makes must still log its artifacts into .mlflow/, not into ./mlruns
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri, default = resolve_tracking_uri(tmp_path, None)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    assert resolve_tracking_uri(tmp_path, None) == (uri, True)
    assert resolve_tracking_uri(tmp_path, uri) == (uri, True)
    assert default
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'other.db'}")
    assert resolve_tracking_uri(tmp_path, None)[1] is False

"""Register a model version only for content whose validation passed (REG001, SIG007, REG002,
REG003). Everything that talks to MLflow goes through `Registry`, which imports mlflow when made
(never at import time)."""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from validator.errors import ValidatorError
from validator.project.config import ProjectConfig
from validator.registry.signature_compat import Schema, compare
from validator.registry.tags import (
    DATAGROK_TAG,
    HASH_TAG,
    STATUS_TAG,
    VALIDATION_TAGS,
    Signature,
    compatibility_check,
    datagrok_check,
    model_tags,
    project_datagrok_tags,
)
from validator.render.run_summary import version_description
from validator.report import NO_NEW_VERSION, Finding, failed, skipped
from validator.tracking import server_check
from validator.tracking.store import import_mlflow, quiet, scratch_folder


def read_signature(mlmodel: Path) -> Signature | None:
    """The signature recorded in an MLmodel file, in to_dict() form."""
    data = yaml.safe_load(mlmodel.read_text(encoding="utf-8")) or {}
    recorded = data.get("signature")
    if not isinstance(recorded, dict):
        return None
    signature: dict[str, Schema | None] = {}
    for side in ("inputs", "outputs"):
        value = recorded.get(side)
        signature[side] = json.loads(value) if isinstance(value, str) else value
    return signature


@dataclass(frozen=True)
class Candidate:
    """The model a passed validation logged."""

    run_id: str
    model_uri: str  # models:/<model id>
    artifact_location: str
    tags: dict[str, str]
    experiment_id: str = ""


def _refusal(cause: str) -> bool:
    """Whether CAUSE is the registry refusing (a permission, a name): the user's to fix."""
    return any(word in cause for word in ("PERMISSION_DENIED", "INVALID_PARAMETER", "HTTP 4"))


def _quoted(value: str) -> str:
    """A string literal for MLflow's search filters, which have no escapes."""
    return f'"{value}"' if "'" in value else f"'{value}'"


class Registry:
    """The tracking store and Model Registry at TRACKING_URI, for one project."""

    def __init__(self, config: ProjectConfig, tracking_uri: str) -> None:
        self.config = config
        self.tracking_uri = tracking_uri
        server_check.preflight(tracking_uri)
        self.mlflow = import_mlflow()
        self.mlflow.set_tracking_uri(tracking_uri)
        self.client = self.mlflow.MlflowClient()
        self.store_failed = False  # the server failed while registering (exit status 2)
        # the run the registered version came from, when it is not the candidate's: the same
        # content registered earlier, from another validation
        self.registered_run: str | None = None

    @contextmanager
    def _store(self) -> Iterator[None]:
        """MLflow quiet; a store that fails is something to fix before trying again (exit 2)."""
        try:
            with quiet():
                yield
        except ValidatorError:
            raise
        except Exception as exc:
            raise ValidatorError(
                f"cannot use the tracking store {server_check.shown_uri(self.tracking_uri)}: {exc}"
            ) from None

    def find_validated(self, content_hash: str) -> Candidate | None:
        """The latest run that validated exactly this content and passed, with its model."""
        with self._store():
            return self._find_validated(content_hash)

    def _find_validated(self, content_hash: str) -> Candidate | None:
        experiment = self.client.get_experiment_by_name(self.config.name)
        if experiment is None:
            return None
        runs = self.client.search_runs(
            [experiment.experiment_id],
            # FINISHED: a run the server broke halfway is never registered, whatever its tags
            filter_string=f"tags.`{HASH_TAG}` = {_quoted(content_hash)} "
            f"and tags.`{STATUS_TAG}` = 'passed' and attributes.status = 'FINISHED'",
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
        if not runs:
            return None
        run = runs[0]
        models = self.client.search_logged_models(
            experiment_ids=[experiment.experiment_id],
            filter_string=f"source_run_id = {_quoted(run.info.run_id)}",
            max_results=1,
        )
        if not models:
            return None
        model = models[0]
        return Candidate(
            run.info.run_id,
            f"models:/{model.model_id}",
            str(model.artifact_location),
            dict(run.data.tags),
            str(experiment.experiment_id),
        )

    def _latest_version(self) -> Any | None:
        versions = self.client.search_model_versions(
            filter_string=f"name = {_quoted(self.config.name)}",
            max_results=1,
            order_by=["version_number DESC"],
        )
        return versions[0] if versions else None

    def _signature(self, location: str, scratch: Path) -> Signature | None:
        target = Path(tempfile.mkdtemp(dir=scratch))
        local = self.mlflow.artifacts.download_artifacts(
            artifact_uri=f"{location.rstrip('/')}/MLmodel", dst_path=str(target)
        )
        return read_signature(Path(local))

    def _tag_registered_model(self, tags: dict[str, str]) -> None:
        """Datagrok's connector lists registered models by their tags: make them the latest
        version's, without the parameter names of an older signature."""
        current = self.client.get_registered_model(self.config.name).tags
        for key in current:
            if key.startswith(f"{DATAGROK_TAG}-") and key not in tags:
                self.client.delete_registered_model_tag(self.config.name, key)
        for key, value in tags.items():
            self.client.set_registered_model_tag(self.config.name, key, value)

    def register(
        self, candidate: Candidate, content_hash: str, allow_breaking: bool
    ) -> tuple[list[Finding], str | None]:
        """SIG007, REG002 and REG003 for registering CANDIDATE, and the registered URI."""
        with self._store(), scratch_folder("mfc-register-") as scratch:
            return self._register(candidate, content_hash, allow_breaking, scratch)

    def _register(
        self, candidate: Candidate, content_hash: str, allow_breaking: bool, scratch: Path
    ) -> tuple[list[Finding], str | None]:
        config = self.config
        signature = self._signature(candidate.artifact_location, scratch)
        datagrok = datagrok_check(config, signature)
        if datagrok.status == "failed":
            # tags Datagrok would read wrongly: register nothing rather than mislabel a version
            reason = "model.yaml's Datagrok tags do not fit the signature (REG003)"
            return [skipped("SIG007", reason), skipped("REG002", reason), datagrok], None
        latest = self._latest_version()
        if latest is not None and latest.tags.get(HASH_TAG) == content_hash:
            uri = f"models:/{config.name}/{latest.version}"
            same = Finding("SIG007", "passed", f"version {latest.version} has this same content")
            again = f"this content is already registered as {uri}: {NO_NEW_VERSION}"
            self.registered_run = latest.run_id
            return [same, Finding("REG002", "passed", again), datagrok], uri
        compatible = self._compatibility(signature, latest, allow_breaking, scratch)
        if compatible.status == "failed":
            reason = "the signature breaks compatibility with the latest version (SIG007)"
            return [compatible, skipped("REG002", reason), skipped("REG003", reason)], None
        tags = {key: candidate.tags[key] for key in VALIDATION_TAGS if key in candidate.tags}
        tags.update(model_tags(config, signature))
        try:
            version = self.mlflow.register_model(candidate.model_uri, config.name, tags=tags)
        except Exception as exc:
            cause = server_check.store_failure(exc)
            if cause is not None and not _refusal(cause):  # the server failed: exit status 2
                self.store_failed = True
                broke = failed(
                    "REG002",
                    f"the tracking server {server_check.shown_uri(self.tracking_uri)} failed "
                    f"while registering {config.name} from run {candidate.run_id}: {cause}; "
                    "no version was registered",
                    config.where("name"),
                    "check the tracking server, then run register again: the validated run is "
                    "kept, and content already registered is never registered twice",
                )
                return [compatible, broke, skipped("REG003", "nothing was registered")], None
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            refused = failed(
                "REG002",
                f"registering {config.name} failed: {first}",
                config.where("name"),
                "check that the tracking store has a Model Registry you may write to, and that "
                "the name is valid there",
            )
            return [compatible, refused, skipped("REG003", "nothing was registered")], None
        # the version exists from here on: a description the server refuses is not worth
        # reporting it unregistered (the next register would find it registered)
        with contextlib.suppress(Exception):
            self.client.update_model_version(
                config.name,
                version.version,
                description=version_description(candidate.run_id, candidate.tags),
            )
        if config.registry_datagrok:
            self._tag_registered_model(project_datagrok_tags(config, signature))
        uri = f"models:/{config.name}/{version.version}"
        return [compatible, Finding("REG002", "passed", f"registered as {uri}"), datagrok], uri

    def _compatibility(
        self, signature: Signature | None, latest: Any | None, allow_breaking: bool, scratch: Path
    ) -> Finding:
        """SIG007: the candidate's signature against the latest registered version's."""
        name = self.config.name
        if latest is None:
            return skipped("SIG007", f"no version of {name} is registered yet")
        download = self.client.get_model_version_download_uri(name, latest.version)
        registered = self._signature(download, scratch)
        if registered is None:
            return skipped("SIG007", f"version {latest.version} has no signature to compare")
        new = signature or {}
        changes = compare(
            registered.get("inputs"),
            new.get("inputs"),
            registered.get("outputs"),
            new.get("outputs"),
        )
        return compatibility_check(self.config, changes, str(latest.version), allow_breaking)

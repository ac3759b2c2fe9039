"""The tags of a validation and of a registered version: the verdict, model.yaml's tags and
Datagrok's; the findings about them (REG003) and about signature compatibility (SIG007)."""

from __future__ import annotations

from collections.abc import Mapping

from validator import __version__
from validator.project.config import ProjectConfig
from validator.registry.signature_compat import Change, Schema
from validator.report import Finding, Report, failed, skipped, warning

STATUS_TAG = "mfc.validation.status"
VALIDATOR_TAG = "mfc.validator.version"
HASH_TAG = "mfc.content_hash"
FAILED_TAG = "mfc.checks.failed"
WARNING_TAG = "mfc.checks.warning"
VALIDATION_TAGS = (STATUS_TAG, VALIDATOR_TAG, HASH_TAG, FAILED_TAG, WARNING_TAG)
DATAGROK_TAG = "datagrok"

# {"inputs": schema or None, "outputs": schema or None}, schemas in Schema.to_dict() form
Signature = Mapping[str, Schema | None]


def validation_tags(report: Report, content_hash: str) -> dict[str, str]:
    """The verdict of a validation, as tags on its run and on the version registered from it."""
    return {
        STATUS_TAG: report.status,
        VALIDATOR_TAG: __version__,
        HASH_TAG: content_hash,
        FAILED_TAG: str(report.count("failed")),
        WARNING_TAG: str(report.count("warning")),
    }


def datagrok_tags(signature: Signature | None) -> dict[str, str]:
    """Datagrok's MLflow connector fetches models tagged `datagrok` and names their parameters
    from `datagrok-inputs-N-name` / `datagrok-outputs-N-name` (N counts from 0)."""
    tags = {DATAGROK_TAG: "true"}
    for side in ("inputs", "outputs"):
        for index, column in enumerate((signature or {}).get(side) or ()):
            if column.get("name"):
                tags[f"datagrok-{side}-{index}-name"] = str(column["name"])
    return tags


def model_tags(config: ProjectConfig, signature: Signature | None) -> dict[str, str]:
    """model.yaml's registry tags, plus Datagrok's when model.yaml asks for them."""
    tags = dict(config.registry_tags)
    if config.registry_datagrok:
        tags.update(datagrok_tags(signature))
    return tags


def datagrok_check(config: ProjectConfig, signature: Signature | None) -> Finding:
    if not config.registry_datagrok:
        return skipped("REG003", "model.yaml does not set registry.datagrok")
    tags = datagrok_tags(signature)
    names = len(tags) - 1
    if not names:
        return warning(
            "REG003",
            "the signature names no columns, so the model is tagged 'datagrok' without "
            "parameter names",
            config.where("registry"),
            f"make {config.input_example} name its columns (dataframe_split or "
            "dataframe_records) so the signature does",
        )
    return Finding(
        "REG003", "passed", f"tagged for Datagrok: 'datagrok' and {names} parameter names"
    )


def compatibility_check(
    config: ProjectConfig, changes: list[Change], version: str, allow_breaking: bool
) -> Finding:
    breaking = [change.message for change in changes if change.breaking]
    if not breaking:
        if not changes:
            return Finding("SIG007", "passed", f"the signature equals version {version}'s")
        notes = "; ".join(change.message for change in changes)
        return Finding("SIG007", "passed", f"compatible with version {version}: {notes}")
    message = f"breaking change against version {version} of {config.name}: " + "; ".join(breaking)
    location = (
        config.input_example
        if any(change.side == "input" for change in changes if change.breaking)
        else config.script
    )
    if allow_breaking:
        return warning(
            "SIG007",
            message + " (registered anyway: --allow-breaking)",
            location,
            f"tell the model's clients: requests or readers built for version {version} may fail",
        )
    return failed(
        "SIG007",
        message,
        location,
        "keep the old inputs and outputs (add new inputs as optional), or give the model a new "
        "name in model.yaml, or pass --allow-breaking to register it anyway",
    )

"""The tags of a validation and of a registered version: the verdict, model.yaml's tags and
Datagrok's; the findings about them (REG003) and about signature compatibility (SIG007)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence

from validator import __version__
from validator.project.config import CONFIG_FILE, ProjectConfig
from validator.registry.signature_compat import Change, Schema
from validator.report import Finding, Report, Status, failed, skipped, warning

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


def _columns(signature: Signature | None, side: str) -> list[str | None]:
    return [
        str(column["name"]) if column.get("name") else None
        for column in (signature or {}).get(side) or ()
    ]


def validation_metrics(report: Report) -> dict[str, float]:
    """The check counts and the duration, as metrics: the MLflow UI charts them across runs."""
    statuses: tuple[Status, ...] = ("failed", "warning", "passed", "skipped")
    metrics = {f"mfc.checks.{status}": float(report.count(status)) for status in statuses}
    metrics["mfc.duration_s"] = round(report.duration_s, 3)
    return metrics


def datagrok_columns(
    signature: Signature | None, outputs: Sequence[str] = ()
) -> dict[str, list[str | None]]:
    """The parameter names Datagrok gets per side; OUTPUTS (model.yaml's registry.datagrok
    outputs) names output columns the signature leaves unnamed."""
    named_outputs = _columns(signature, "outputs")
    if outputs and len(outputs) == len(named_outputs):
        named_outputs = [name or given for name, given in zip(named_outputs, outputs, strict=True)]
    return {"inputs": _columns(signature, "inputs"), "outputs": named_outputs}


def datagrok_tags(
    signature: Signature | None,
    semtypes: Mapping[str, str] | None = None,
    outputs: Sequence[str] = (),
) -> dict[str, str]:
    """Datagrok's MLflow connector fetches models tagged `datagrok`, names their parameters
    from `datagrok-inputs-N-name` / `datagrok-outputs-N-name` (N counts from 0) and gives them
    the semantic type `datagrok-inputs-N-semtype` / `datagrok-outputs-N-semtype`."""
    tags = {DATAGROK_TAG: "true"}
    for side, names in datagrok_columns(signature, outputs).items():
        for index, name in enumerate(names):
            if name:
                tags[f"datagrok-{side}-{index}-name"] = name
                if semtypes and name in semtypes:
                    tags[f"datagrok-{side}-{index}-semtype"] = semtypes[name]
    return tags


def model_tags(config: ProjectConfig, signature: Signature | None) -> dict[str, str]:
    """model.yaml's registry tags, plus Datagrok's when model.yaml asks for them."""
    tags = dict(config.registry_tags)
    if config.registry_datagrok:
        tags.update(project_datagrok_tags(config, signature))
    return tags


def project_datagrok_tags(config: ProjectConfig, signature: Signature | None) -> dict[str, str]:
    return datagrok_tags(signature, config.datagrok_semtypes, config.datagrok_outputs)


def datagrok_check(config: ProjectConfig, signature: Signature | None) -> Finding:
    if not config.registry_datagrok:
        return skipped("REG003", "model.yaml does not set registry.datagrok")
    where = config.where("registry")
    columns = datagrok_columns(signature, config.datagrok_outputs)
    output_count = len(_columns(signature, "outputs"))
    if config.datagrok_outputs and len(config.datagrok_outputs) != output_count:
        return failed(
            "REG003",
            f"{CONFIG_FILE} registry.datagrok.outputs names {len(config.datagrok_outputs)} "
            f"outputs, but the logged signature has {output_count} output columns",
            where,
            f"list exactly {output_count} names under registry.datagrok.outputs, in the order "
            "of the model's output columns, or remove the key",
        )
    known = [name for names in columns.values() for name in names if name]
    for column in config.datagrok_semtypes:
        if column not in known:
            close = difflib.get_close_matches(column, known, n=1)
            mean = f"; did you mean '{close[0]}'?" if close else ""
            return failed(
                "REG003",
                f"{CONFIG_FILE} registry.datagrok.semtypes gives a semtype to '{column}', which "
                f"is not a column of the logged signature{mean}",
                where,
                "name a column of the signature: "
                + (", ".join(f"'{name}'" for name in known) or "(it names none)"),
            )
    tags = project_datagrok_tags(config, signature)
    names = sum(1 for key in tags if key.endswith("-name"))
    if not names:
        return warning(
            "REG003",
            "the signature names no columns, so the model is tagged 'datagrok' without "
            "parameter names",
            where,
            f"make {config.input_example} name its columns (dataframe_split or "
            "dataframe_records) so the signature does",
        )
    semtypes = len(tags) - 1 - names
    return Finding(
        "REG003",
        "passed",
        f"tagged for Datagrok: 'datagrok', {names} parameter names and {semtypes} semtypes",
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

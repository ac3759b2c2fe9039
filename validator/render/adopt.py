"""The files `mfc-validator init` writes, and what it says about them: model.yaml with a comment
on every inferred line saying where it came from, requirements.txt pinned, the request, and the
differences from files that exist."""

from __future__ import annotations

import difflib
import json
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from validator.adopt.static import Adoption, Sourced

HEADER = (
    "# Written by `mfc-validator init`. Each inferred line says where it came from: (static) read\n"
    "# from the files, without running the script; (traced) seen in the validator's sandbox while\n"
    "# the model loaded and answered (not with --no-trace). Every key is optional: see the\n"
    "# model.yaml reference (docs/model-yaml.md).\n"
)
PLACEHOLDER_TEXT = (
    "replace this object with one request as a client would POST it to /invocations: "
    '{"dataframe_split": ...}, {"dataframe_records": [...]}, {"inputs": ...}, '
    '{"input": [...]} for a ResponsesAgent, {"messages": [...]} for a ChatAgent'
)


def _scalar(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=10**6, allow_unicode=True)
    return text.removesuffix("\n...\n").strip()


def _comment(origin: str) -> str:
    return f"  # {' '.join(origin.split())}"


def _mapping_lines(value: dict[str, Any], indent: str) -> list[str]:
    text = yaml.safe_dump(value, default_flow_style=False, sort_keys=False, allow_unicode=True)
    return [indent + line for line in text.splitlines()]


def model_yaml(adoption: Adoption, files: dict[str, Sourced]) -> str:
    """model.yaml for ADOPTION; FILES: requirements/input_example -> its file and origin."""
    lines = [HEADER.rstrip("\n"), ""]
    name = adoption.root.resolve().name
    lines.append(f"name: {_scalar(name)}  # the folder's name: the registered model's name")
    script = adoption.script
    lines.append(f"script: {_scalar(script.value)}{_comment(script.origin)}")
    flavor = adoption.flavor
    lines.append(f"flavor: {_scalar(flavor.value)}{_comment(flavor.origin)}")
    if adoption.flavor_options:
        lines.append("flavor_options:")
        for key, option in adoption.flavor_options.items():
            lines.append(f"  {key}: {_scalar(option.value)}{_comment(option.origin)}")
    for key in ("requirements", "input_example"):
        entry = files[key]
        lines.append(f"{key}: {_scalar(entry.value)}{_comment(entry.origin)}")
    if adoption.code_paths:
        lines.append("code_paths:")
        lines += [
            f"  - {_scalar(path.value)}{_comment(path.origin)}" for path in adoption.code_paths
        ]
    else:
        lines.append("code_paths: []  # the script imports no local module (static)")
    if adoption.artifacts:
        lines.append("artifacts:")
        lines += [
            f"  {_scalar(key)}: {_scalar(path.value)}{_comment(path.origin)}"
            for key, path in adoption.artifacts.items()
        ]
    config = adoption.model_config
    if config is None:
        lines.append("model_config: {}  # no literal development_config or model_config= (static)")
    elif isinstance(config.value, dict) and config.value:
        lines.append(f"model_config:{_comment(config.origin)}")
        lines += _mapping_lines(config.value, "  ")
    else:
        lines.append(f"model_config: {_scalar(config.value)}{_comment(config.origin)}")
    if adoption.env:
        lines.append("env:")
        for var in adoption.env:
            lines.append(f"  - name: {_scalar(var.name)}{_comment(var.origin)}")
            secret = "  # the name looks like a credential" if var.secret else ""
            lines.append(f"    secret: {str(var.secret).lower()}{secret}")
            required = (
                "  # read as os.environ[...]: loading fails without it"
                if var.required
                else "  # seen in the trace: true if the model cannot work without it"
                if var.origin.endswith("(traced)")
                else "  # read with a fallback (.get, getenv, a default)"
            )
            lines.append(f"    required: {str(var.required).lower()}{required}")
    else:
        lines.append("env: []  # nothing read by name (static)")
    if adoption.network:
        lines.append("network:")
        lines += [f"  - {_scalar(host.value)}{_comment(host.origin)}" for host in adoption.network]
    else:
        lines.append(
            "network: []  # the files name no host (static): validate says which the model contacts"
        )
    for note in adoption.notes:
        lines.append(f"# TO DO: {note}")
    return "\n".join(lines) + "\n"


def requirements_txt(adoption: Adoption) -> str:
    lines = [
        "# Written by `mfc-validator init`: the model's runtime requirements, pinned to the "
        "versions",
        "# installed where it ran. Each line says why it is here.",
    ]
    for requirement in adoption.requirements:
        suffix = "" if requirement.version else ": not installed here, pin it with =="
        lines.append(f"{requirement.line}{_comment(requirement.origin + suffix)}")
    return "\n".join(lines) + "\n"


def example_json(adoption: Adoption) -> str:
    if adoption.example is None:
        return json.dumps({"FILL_IN": PLACEHOLDER_TEXT}, indent=2) + "\n"
    return json.dumps(adoption.example.value, indent=2, ensure_ascii=False) + "\n"


def difference(name: str, before: str, after: str) -> str:
    """A unified diff of a file init replaces (--force), as git shows it."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        f"a/{name}",
        f"b/{name}",
    )
    text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    return text or f"{name}: unchanged\n"

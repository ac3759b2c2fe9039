"""Load model.yaml strictly into a frozen ProjectConfig."""

from __future__ import annotations

import difflib
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from validator.errors import ValidatorError
from validator.project import bounded, yaml_lines
from validator.project.evaluation_config import Evaluation
from validator.project.evaluation_config import parse as parse_evaluation
from validator.project.flavors import FLAVORS
from validator.project.yaml_values import (
    fail,
    one_line,
    relative_path,
    string_map,
    type_name,
    unknown,
)

CONFIG_FILE = "model.yaml"
ENV_KEYS = ("name", "description", "secret", "required")
REGISTRY_KEYS = ("tags", "datagrok")
DATAGROK_KEYS = ("semtypes", "outputs")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# a host name or address, optionally with a port: api.openai.com, 10.0.0.5:8080, [::1]:443
_HOST = re.compile(
    r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?)(?::(\d{1,5}))?$"
)


@dataclass(frozen=True)
class EnvVar:
    name: str
    description: str = ""
    secret: bool = False
    required: bool = True


@dataclass(frozen=True)
class ProjectConfig:
    root: Path
    name: str
    script: str = "model.py"
    requirements: str = "requirements.txt"
    input_example: str = "input_example.json"
    code_paths: tuple[str, ...] = ()
    artifacts: dict[str, str] = field(default_factory=dict)
    model_config: dict[str, Any] | str = field(default_factory=dict)
    env: tuple[EnvVar, ...] = ()
    registry_tags: dict[str, str] = field(default_factory=dict)
    # also tag the registered model for Datagrok's MLflow connector
    registry_datagrok: bool = False
    # registry.datagrok's mapping form: {column: Datagrok semantic type}, and the names of the
    # outputs of a model whose output schema names none
    datagrok_semtypes: dict[str, str] = field(default_factory=dict)
    datagrok_outputs: tuple[str, ...] = ()
    evaluation: Evaluation | None = None
    flavor: str = "pyfunc"
    flavor_options: dict[str, str] = field(default_factory=dict)
    network: tuple[str, ...] = ()
    # seconds each stage that runs the model's code may take (logging, loading, predicting, the
    # sandbox), when --timeout does not say
    timeout: float | None = None
    lines: dict[str, int] = field(default_factory=dict, compare=False)

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_FILE

    def path(self, relative: str) -> Path:
        return self.root / relative

    def where(self, key: str) -> str:
        line = self.lines.get(key)
        return f"{CONFIG_FILE}:{line}" if line else CONFIG_FILE

    def named_files(self) -> list[tuple[str, str]]:
        """(key, relative path) of every file or folder model.yaml names."""
        files = [
            ("script", self.script),
            ("requirements", self.requirements),
            ("input_example", self.input_example),
        ]
        files += [("code_paths", path) for path in self.code_paths]
        files += [(f"artifacts.{name}", path) for name, path in self.artifacts.items()]
        if isinstance(self.model_config, str):
            files.append(("model_config", self.model_config))
        if self.evaluation is not None:
            files.append(("evaluation.data", self.evaluation.data))
        return files


def _key_lines(node: yaml.Node | None) -> dict[str, int]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {
        str(key.value): key.start_mark.line + 1
        for key, _ in node.value
        if isinstance(key, yaml.ScalarNode)
    }


def _env(value: object, where: str) -> tuple[EnvVar, ...]:
    if not isinstance(value, list):
        raise fail(
            where,
            f"'env' must be a list of {{name, description, secret, required}}, "
            f"got {type_name(value)}",
        )
    result: list[EnvVar] = []
    for index, item in enumerate(value):
        label = f"env[{index}]"
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict):
            raise fail(where, f"'{label}' must be a mapping with a 'name', got {type_name(item)}")
        for key in item:
            if key not in ENV_KEYS:
                raise fail(where, f"'{label}': {unknown(str(key), ENV_KEYS)}")
        name = item.get("name")
        if not isinstance(name, str) or not _ENV_NAME.match(name):
            raise fail(
                where, f"'{label}.name' must be a variable name like API_TOKEN, got {name!r}"
            )
        description = item.get("description", "")
        if not isinstance(description, str):
            raise fail(where, f"'{label}.description' must be a string")
        flags: dict[str, bool] = {}
        for flag, default in (("secret", False), ("required", True)):
            flag_value = item.get(flag, default)
            if not isinstance(flag_value, bool):
                raise fail(where, f"'{label}.{flag}' must be true or false, got {flag_value!r}")
            flags[flag] = flag_value
        if any(var.name == name for var in result):
            raise fail(where, f"'{label}': variable {name} is declared twice")
        result.append(EnvVar(name, description, flags["secret"], flags["required"]))
    return tuple(result)


# Each key's parser: (the value, where it is) -> the ProjectConfig fields it sets.
Parser = Callable[[object, str], dict[str, Any]]


def _name(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, str) or not value.strip():
        raise fail(where, f"'name' must be a non-empty string, got {type_name(value)}")
    return {"name": value}


def _file(key: str) -> Parser:
    def parse(value: object, where: str) -> dict[str, Any]:
        return {key: relative_path(value, where, key)}

    return parse


def _code_paths(value: object, where: str) -> dict[str, Any]:
    value = [] if value is None else value
    if not isinstance(value, list):
        raise fail(where, f"'code_paths' must be a list of paths, got {type_name(value)}")
    paths = (relative_path(item, where, f"code_paths[{i}]") for i, item in enumerate(value))
    return {"code_paths": tuple(paths)}


def _artifacts(value: object, where: str) -> dict[str, Any]:
    artifacts = string_map(value or {}, where, "artifacts")
    for artifact, path in artifacts.items():
        relative_path(path, where, f"artifacts.{artifact}")
    return {"artifacts": artifacts}


def _model_config(value: object, where: str) -> dict[str, Any]:
    value = {} if value is None else value
    if isinstance(value, str):
        relative_path(value, where, "model_config")
    elif not isinstance(value, dict):
        raise fail(
            where,
            f"'model_config' must be a mapping or the path of a YAML file, got {type_name(value)}",
        )
    return {"model_config": value}


def _env_key(value: object, where: str) -> dict[str, Any]:
    return {"env": _env(value or [], where)}


def _registry(value: object, where: str) -> dict[str, Any]:
    registry = value or {}
    if not isinstance(registry, dict):
        raise fail(where, f"'registry' must be a mapping, got {type_name(registry)}")
    for key in registry:
        if key not in REGISTRY_KEYS:
            raise fail(where, f"'registry': {unknown(str(key), REGISTRY_KEYS)}")
    tags = string_map(registry.get("tags") or {}, where, "registry.tags")
    return {"registry_tags": tags, **_datagrok(registry.get("datagrok", False), where)}


def _datagrok(value: object, where: str) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"registry_datagrok": value}
    if not isinstance(value, dict):
        raise fail(
            where,
            "'registry.datagrok' must be true, false or a mapping {semtypes: {column: semtype}, "
            f"outputs: [name, ...]}}, got {type_name(value)}",
        )
    for key in value:
        if key not in DATAGROK_KEYS:
            raise fail(where, f"'registry.datagrok': {unknown(str(key), DATAGROK_KEYS)}")
    semtypes = string_map(value.get("semtypes") or {}, where, "registry.datagrok.semtypes")
    for column, semtype in semtypes.items():
        if not semtype.strip():
            raise fail(where, f"'registry.datagrok.semtypes.{column}' must not be empty")
    outputs = value.get("outputs") or []
    if not isinstance(outputs, list):
        raise fail(
            where,
            f"'registry.datagrok.outputs' must be a list of output names, got {type_name(outputs)}",
        )
    for name in outputs:
        if not isinstance(name, str) or not name.strip():
            raise fail(
                where,
                "'registry.datagrok.outputs' must list output names (non-empty strings), got "
                f"{type_name(name)} {name!r}",
            )
    if len(set(outputs)) != len(outputs):
        raise fail(where, "'registry.datagrok.outputs' names an output twice")
    return {
        "registry_datagrok": True,
        "datagrok_semtypes": semtypes,
        "datagrok_outputs": tuple(outputs),
    }


def _evaluation(value: object, where: str) -> dict[str, Any]:
    return {"evaluation": parse_evaluation(value, where)}


def _flavor(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, str) or value not in FLAVORS:
        shown = repr(value) if isinstance(value, str) else type_name(value)
        close = difflib.get_close_matches(str(value), FLAVORS, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise fail(where, f"'flavor' must be one of {', '.join(FLAVORS)}, got {shown}{hint}")
    return {"flavor": value}


def _flavor_options(value: object, where: str) -> dict[str, Any]:
    return {"flavor_options": string_map(value or {}, where, "flavor_options")}


MAX_TIMEOUT_S = 86400.0


def _timeout(value: object, where: str) -> dict[str, Any]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise fail(where, f"'timeout' must be a number of seconds, got {type_name(value)}")
    if not 1 <= value <= MAX_TIMEOUT_S:
        limit = f"between 1 and {MAX_TIMEOUT_S:.0f} seconds"
        raise fail(where, f"'timeout' must be {limit}, got {value}")
    return {"timeout": float(value)}


def _network(value: object, where: str) -> dict[str, Any]:
    value = [] if value is None else value
    if not isinstance(value, list):
        raise fail(
            where, f"'network' must be a list of hosts (host or host:port), got {type_name(value)}"
        )
    hosts: list[str] = []
    for index, item in enumerate(value):
        match = _HOST.match(item) if isinstance(item, str) else None
        if match is None or (match.group(1) and not 0 < int(match.group(1)) < 65536):
            raise fail(
                where,
                f"'network[{index}]' must be a host or host:port like api.openai.com or "
                f"10.0.0.5:8080 (no scheme, no path), got {item!r}",
            )
        hosts.append(item.lower())
    return {"network": tuple(hosts)}


def _check_flavor(config: ProjectConfig, where: Callable[[str], str]) -> None:
    """What depends on two keys: the flavor's options, and artifacts (pyfunc only)."""
    flavor = FLAVORS[config.flavor]
    allowed = flavor.options
    for key, value in config.flavor_options.items():
        if key not in allowed:
            expected = ", ".join(allowed) or "none"
            raise fail(
                where("flavor_options"),
                f"flavor {config.flavor} takes no option '{key}' (its options: {expected})",
            )
        if value not in allowed[key]:
            raise fail(
                where("flavor_options"),
                f"'flavor_options.{key}' must be one of {', '.join(allowed[key])}, got {value!r}",
            )
    if config.artifacts and not flavor.artifacts:
        with_artifacts = ", ".join(name for name, row in FLAVORS.items() if row.artifacts)
        raise fail(
            where("artifacts"),
            f"artifacts are logged only with flavor {with_artifacts}, and this model's flavor is "
            f"{config.flavor}: load the files in the script from code_paths instead",
        )


PARSERS: dict[str, Parser] = {
    "name": _name,
    "script": _file("script"),
    "requirements": _file("requirements"),
    "input_example": _file("input_example"),
    "code_paths": _code_paths,
    "artifacts": _artifacts,
    "model_config": _model_config,
    "env": _env_key,
    "registry": _registry,
    "evaluation": _evaluation,
    "flavor": _flavor,
    "flavor_options": _flavor_options,
    "network": _network,
    "timeout": _timeout,
}
KEYS = tuple(PARSERS)


def _yaml_problem(shown: str, exc: yaml.YAMLError, path: Path) -> str:
    """One line: the line to fix in SHOWN (read at PATH), which is not always PyYAML's, and why."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    line, why = yaml_lines.error_line(text, exc)
    place = f"{shown}:{line}" if line else shown
    problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
    return (
        f"{place}: not valid YAML: {why} ({problem})"
        if why
        else (f"{place}: not valid YAML ({problem})")
    )


def _read(root: Path) -> tuple[dict[str, Any], dict[str, int]]:
    """model.yaml's mapping and the line of each top-level key."""
    if not root.exists():
        raise ValidatorError(f"{root}: no such folder")
    if not root.is_dir():
        raise ValidatorError(f"{root}: not a folder (give the model project's folder)")
    config_path = root / CONFIG_FILE
    if not config_path.is_file():
        raise ValidatorError(
            f"{root}: no {CONFIG_FILE} here, so this is not a model project "
            "(generate one with cookiecutter, or give the project's folder)"
        )
    try:
        data, node = bounded.read_yaml(config_path, CONFIG_FILE)
    except bounded.Refused as exc:
        raise ValidatorError(str(exc)) from None
    except OSError as exc:
        raise ValidatorError(f"{CONFIG_FILE}: cannot be read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ValidatorError(_yaml_problem(CONFIG_FILE, exc, config_path)) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValidatorError(f"{CONFIG_FILE}: must be a mapping of keys, got {type_name(data)}")
    return data, _key_lines(node)


def load(root: Path) -> ProjectConfig:
    """Load ROOT/model.yaml; raise ValidatorError naming the file and key on any problem, in one
    line whatever the file holds."""
    try:
        return _load(root)
    except ValidatorError as exc:
        raise ValidatorError(one_line(str(exc))) from None


def _load(root: Path) -> ProjectConfig:
    data, lines = _read(root)

    def where(key: str) -> str:
        return f"{CONFIG_FILE}:{lines[key]}" if key in lines else CONFIG_FILE

    # absolute: the script runs from the project folder, where a relative root means nothing
    values: dict[str, Any] = {"root": root.absolute(), "lines": lines, "name": root.resolve().name}
    for key, value in data.items():
        parser = PARSERS.get(str(key))
        if parser is None:
            raise fail(where(str(key)), unknown(str(key), KEYS))
        values.update(parser(value, where(str(key))))
    loaded = ProjectConfig(**values)
    _check_flavor(loaded, where)
    _check_name(loaded, where)
    if isinstance(loaded.model_config, str) and _inside(loaded, loaded.model_config):
        _check_model_config_file(loaded)  # read where MLflow would: within limits, or exit 2 now
    return loaded


def model_name_problem(name: str) -> str | None:
    """Why MLflow's registry refuses NAME as a registered model's name (its
    `mlflow.utils.validation._validate_model_name`), or None."""
    if not name.strip():
        return "it is empty"
    if "/" in name or ":" in name:
        return "MLflow's registry refuses names with '/' or ':'"
    normal = posixpath.normpath(name)
    if normal != name or normal == "." or normal.startswith(".."):
        return "MLflow's registry refuses names that read as a relative path ('.', '..…')"
    return None


def _check_name(config: ProjectConfig, where: Callable[[str], str]) -> None:
    problem = model_name_problem(config.name)
    if problem is None:
        return
    if "name" in config.lines:
        raise fail(
            where("name"),
            f"'name' {config.name!r} cannot be a registered model's name: {problem}; use "
            "letters, digits, '-', '_' and '.', e.g. team-demand-forecast",
        )
    raise fail(
        CONFIG_FILE,
        f"the project's folder name {config.name!r}, the default 'name', cannot be a registered "
        f"model's name: {problem}; set 'name' in {CONFIG_FILE}, e.g. name: demand-forecast",
    )


def _inside(config: ProjectConfig, relative: str) -> Path | None:
    """RELATIVE's path when it is a file inside the project (else CFG001 or CFG002 says why)."""
    path = config.path(relative)
    try:
        inside = path.resolve().is_relative_to(config.root.resolve())
    except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL in the path
        return None
    return path if inside and path.is_file() else None


def _check_model_config_file(config: ProjectConfig) -> None:
    """The model_config file model.yaml names is a YAML mapping within the limits of model.yaml
    itself, or exit 2 now (MLflow reads it only when the model loads)."""
    assert isinstance(config.model_config, str)
    shown = config.model_config
    try:
        data, _ = bounded.read_yaml(config.path(shown), shown)
    except bounded.Refused as exc:
        raise ValidatorError(f"{exc} (model_config in {config.where('model_config')})") from None
    except OSError as exc:
        raise ValidatorError(
            f"{config.where('model_config')}: cannot read {shown}: {exc.strerror}"
        ) from None
    except yaml.YAMLError as exc:
        raise ValidatorError(_yaml_problem(shown, exc, config.path(shown))) from None
    if data is not None and not isinstance(data, dict):
        raise ValidatorError(f"{shown}: must be a mapping, got {type_name(data)}")

"""Load model.yaml strictly into a frozen ProjectConfig."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from validator.errors import ValidatorError

if TYPE_CHECKING:
    from validator.evaluation_config import Evaluation

CONFIG_FILE = "model.yaml"
KEYS = (
    "name",
    "script",
    "requirements",
    "input_example",
    "code_paths",
    "artifacts",
    "model_config",
    "env",
    "registry",
    "evaluation",
)
ENV_KEYS = ("name", "description", "secret", "required")
REGISTRY_KEYS = ("tags", "datagrok")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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
    evaluation: Evaluation | None = None
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


class _Problem(ValidatorError):
    pass


def _fail(where: str, message: str) -> _Problem:
    return _Problem(f"{where}: {message}")


def _type_name(value: object) -> str:
    return {
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "true/false",
        list: "a list",
        dict: "a mapping",
        type(None): "nothing (null)",
    }.get(type(value), type(value).__name__)


def _unknown(key: str, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"unknown key '{key}' (expected one of: {', '.join(allowed)}){hint}"


def _key_lines(text: str) -> dict[str, int]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {
        str(key.value): key.start_mark.line + 1
        for key, _ in node.value
        if isinstance(key, yaml.ScalarNode)
    }


def _relative_path(value: object, where: str, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, f"'{key}' must be a relative path (a string), got {_type_name(value)}")
    if Path(value).is_absolute():
        raise _fail(where, f"'{key}' must be relative to the project folder, got '{value}'")
    return value


def _string_map(value: object, where: str, key: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise _fail(
            where, f"'{key}' must be a mapping of names to strings, got {_type_name(value)}"
        )
    result: dict[str, str] = {}
    for name, item in value.items():
        if not isinstance(name, str) or isinstance(item, (dict, list)) or item is None:
            raise _fail(where, f"'{key}.{name}' must be a string, got {_type_name(item)}")
        result[name] = str(item)
    return result


def _env(value: object, where: str) -> tuple[EnvVar, ...]:
    if not isinstance(value, list):
        raise _fail(
            where,
            f"'env' must be a list of {{name, description, secret, required}}, "
            f"got {_type_name(value)}",
        )
    result: list[EnvVar] = []
    for index, item in enumerate(value):
        label = f"env[{index}]"
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict):
            raise _fail(where, f"'{label}' must be a mapping with a 'name', got {_type_name(item)}")
        for key in item:
            if key not in ENV_KEYS:
                raise _fail(where, f"'{label}': {_unknown(str(key), ENV_KEYS)}")
        name = item.get("name")
        if not isinstance(name, str) or not _ENV_NAME.match(name):
            raise _fail(
                where, f"'{label}.name' must be a variable name like API_TOKEN, got {name!r}"
            )
        description = item.get("description", "")
        if not isinstance(description, str):
            raise _fail(where, f"'{label}.description' must be a string")
        flags: dict[str, bool] = {}
        for flag, default in (("secret", False), ("required", True)):
            flag_value = item.get(flag, default)
            if not isinstance(flag_value, bool):
                raise _fail(where, f"'{label}.{flag}' must be true or false, got {flag_value!r}")
            flags[flag] = flag_value
        if any(var.name == name for var in result):
            raise _fail(where, f"'{label}': variable {name} is declared twice")
        result.append(EnvVar(name, description, flags["secret"], flags["required"]))
    return tuple(result)


def load(root: Path) -> ProjectConfig:
    """Load ROOT/model.yaml; raise ValidatorError naming the file and key on any problem."""
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
        text = config_path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except UnicodeDecodeError as exc:
        raise ValidatorError(f"{CONFIG_FILE}: not UTF-8 text ({exc.reason})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        place = f"{CONFIG_FILE}:{mark.line + 1}" if mark else CONFIG_FILE
        problem = getattr(exc, "problem", None) or str(exc)
        raise ValidatorError(f"{place}: not valid YAML ({problem})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValidatorError(f"{CONFIG_FILE}: must be a mapping of keys, got {_type_name(data)}")

    lines = _key_lines(text)

    def where(key: str) -> str:
        return f"{CONFIG_FILE}:{lines[key]}" if key in lines else CONFIG_FILE

    for key in data:
        if key not in KEYS:
            raise _fail(where(str(key)), _unknown(str(key), KEYS))

    values: dict[str, Any] = {"root": root, "lines": lines}
    name = data.get("name", root.resolve().name)
    if not isinstance(name, str) or not name.strip():
        raise _fail(where("name"), f"'name' must be a non-empty string, got {_type_name(name)}")
    values["name"] = name
    for key in ("script", "requirements", "input_example"):
        if key in data:
            values[key] = _relative_path(data[key], where(key), key)
    if "code_paths" in data:
        code_paths = data["code_paths"]
        if code_paths is None:
            code_paths = []
        if not isinstance(code_paths, list):
            raise _fail(
                where("code_paths"),
                f"'code_paths' must be a list of paths, got {_type_name(code_paths)}",
            )
        values["code_paths"] = tuple(
            _relative_path(item, where("code_paths"), f"code_paths[{index}]")
            for index, item in enumerate(code_paths)
        )
    if "artifacts" in data:
        artifacts = _string_map(data["artifacts"] or {}, where("artifacts"), "artifacts")
        for artifact, path in artifacts.items():
            _relative_path(path, where("artifacts"), f"artifacts.{artifact}")
        values["artifacts"] = artifacts
    if "model_config" in data:
        model_config = data["model_config"]
        if model_config is None:
            model_config = {}
        if isinstance(model_config, str):
            _relative_path(model_config, where("model_config"), "model_config")
        elif not isinstance(model_config, dict):
            raise _fail(
                where("model_config"),
                "'model_config' must be a mapping or the path of "
                f"a YAML file, got {_type_name(model_config)}",
            )
        values["model_config"] = model_config
    if "env" in data:
        values["env"] = _env(data["env"] or [], where("env"))
    if "registry" in data:
        registry = data["registry"] or {}
        if not isinstance(registry, dict):
            raise _fail(
                where("registry"), f"'registry' must be a mapping, got {_type_name(registry)}"
            )
        for key in registry:
            if key not in REGISTRY_KEYS:
                raise _fail(where("registry"), f"'registry': {_unknown(str(key), REGISTRY_KEYS)}")
        values["registry_tags"] = _string_map(
            registry.get("tags") or {}, where("registry"), "registry.tags"
        )
        datagrok = registry.get("datagrok", False)
        if not isinstance(datagrok, bool):
            raise _fail(
                where("registry"),
                f"'registry.datagrok' must be true or false, got {_type_name(datagrok)}",
            )
        values["registry_datagrok"] = datagrok
    if "evaluation" in data:
        from validator.evaluation_config import parse  # it builds on this module's helpers

        values["evaluation"] = parse(data["evaluation"], where("evaluation"))
    return ProjectConfig(**values)


def load_model_config(config: ProjectConfig) -> dict[str, Any]:
    """The model_config mapping, reading the YAML file when model.yaml names one."""
    if isinstance(config.model_config, dict):
        return config.model_config
    path = config.path(config.model_config)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValidatorError(
            f"{config.where('model_config')}: cannot read {config.model_config}: {exc.strerror}"
        ) from None
    except yaml.YAMLError as exc:
        raise ValidatorError(f"{config.model_config}: not valid YAML ({exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValidatorError(f"{config.model_config}: must be a mapping, got {_type_name(data)}")
    return data

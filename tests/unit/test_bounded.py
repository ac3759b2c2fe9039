"""YAML and JSON written to hurt, read in-process: bombs, depth, size and repeated keys end in one
line naming the file and the limit, never in a RecursionError or minutes of work."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from validator.project import bounded

BOMB = """\
model_config:
  a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
  f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
  g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
  h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
  i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


def nested_yaml(depth: int) -> str:
    return "root:\n" + "".join(" " * (level + 1) + f"k{level}:\n" for level in range(depth))


def test_an_alias_bomb_is_refused_fast() -> None:
    started = time.perf_counter()
    with pytest.raises(bounded.Refused, match=r"^model\.yaml: more than the limit of 100,000"):
        bounded.load_yaml(BOMB, "model.yaml")
    assert time.perf_counter() - started < 2


def test_aliases_within_the_limit_are_expanded_as_usual() -> None:
    data, _ = bounded.load_yaml("a: &x {k: 1}\nb: *x\nc: [*x, *x]\n", "model.yaml")
    assert data == {"a": {"k": 1}, "b": {"k": 1}, "c": [{"k": 1}, {"k": 1}]}


def test_an_alias_inside_its_own_anchor_is_refused() -> None:
    with pytest.raises(bounded.Refused, match="inside its own anchor"):
        bounded.load_yaml("a: &x {k: *x}\n", "model.yaml")


@pytest.mark.parametrize("depth", [101, 5000])
def test_deep_yaml_is_refused_with_the_line(depth: int) -> None:
    with pytest.raises(bounded.Refused, match=r"^m\.yaml:101: nested deeper than the limit of 100"):
        bounded.load_yaml(nested_yaml(depth), "m.yaml")


def test_yaml_at_the_depth_limit_loads() -> None:
    data, _ = bounded.load_yaml(nested_yaml(99), "m.yaml")
    assert isinstance(data, dict)


def test_deep_flow_yaml_is_not_a_recursion_error() -> None:
    with pytest.raises((bounded.Refused, yaml.YAMLError)):
        bounded.load_yaml("[" * 100_000, "m.yaml")


@pytest.mark.parametrize("value", ["1" * 5000, "2024-13-45"])
def test_values_python_cannot_convert_are_refused(value: str) -> None:
    with pytest.raises(bounded.Refused, match="a value cannot be read"):
        bounded.load_yaml(f"n: {value}\n", "m.yaml")


def test_a_large_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "model.yaml"
    path.write_text("# " + "x" * bounded.YAML_MAX_BYTES + "\n")
    with pytest.raises(bounded.Refused, match=r"^model\.yaml is 1\.0 MB, over the limit of 1\.0"):
        bounded.read_yaml(path, "model.yaml")


def test_deep_json_is_refused() -> None:
    for text in ("[" * 100_000 + "]" * 100_000, "[" * 101 + "]" * 101):
        with pytest.raises(bounded.Refused, match="nested deeper than the limit of 100 levels"):
            bounded.load_json(text, "input_example.json")
    assert bounded.load_json("[" * 100 + "]" * 100, "x.json") is not None


def test_a_repeated_key_is_named_with_its_line() -> None:
    text = '{\n  "inputs": [1],\n  "params": {\n    "k": 1,\n    "k": 2\n  }\n}\n'
    with pytest.raises(bounded.DuplicateKey) as raised:
        bounded.load_json(text, "input_example.json")
    assert raised.value.key == "k"
    assert raised.value.where == "input_example.json:5"
    assert str(raised.value).startswith('input_example.json:5: the key "k" appears twice')


def test_a_huge_number_is_refused_not_raised() -> None:
    with pytest.raises(bounded.Refused, match="a value cannot be read"):
        bounded.load_json('{"inputs": ' + "9" * 5000 + "}", "x.json")


def test_valid_json_loads() -> None:
    payload = {"dataframe_split": {"columns": ["a"], "data": [[1.0]]}}
    assert bounded.load_json(json.dumps(payload), "x.json") == payload


def test_an_error_quoting_control_characters_stays_one_line(tmp_path: Path) -> None:
    from validator.errors import ValidatorError
    from validator.project import config

    (tmp_path / "model.yaml").write_text('"\\r\\n\\u2028\\e[2J": 1\n')
    with pytest.raises(ValidatorError) as raised:
        config.load(tmp_path)
    assert str(raised.value).startswith("model.yaml:1: unknown key '\\r\\n\\u2028\\x1b[2J'")
    assert len(str(raised.value).splitlines()) == 1


@pytest.mark.parametrize("key", ["script", "model_config", "code_paths", "artifacts"])
@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("a\\0b", "holds a NUL character, which no path can hold"),
        ("d/" + "a" * 256, "holds a name longer than 255 bytes"),
        ("a/" * 1100, "is longer than 2,048 bytes"),
    ],
)
def test_a_path_no_file_system_holds_is_refused(
    tmp_path: Path, key: str, path: str, problem: str
) -> None:
    from validator.errors import ValidatorError
    from validator.project import config

    value = {"code_paths": f'["{path}"]', "artifacts": f'{{x: "{path}"}}'}.get(key, f'"{path}"')
    (tmp_path / "model.yaml").write_text(f"name: x\n{key}: {value}\n")
    with pytest.raises(ValidatorError, match=problem):
        config.load(tmp_path)


@pytest.mark.parametrize(
    ("text", "line", "key"),
    [
        ("name: a\nscript: m.py\nname: b\n", 3, "name"),
        ("name: a\nenv:\n  - name: X\n    secret: true\n    secret: false\n", 5, "secret"),
        ("name: a\nmodel_config:\n  k: 1\n  k: 2\n", 4, "k"),
    ],
)
def test_a_yaml_key_given_twice_is_refused_with_both_lines(text: str, line: int, key: str) -> None:
    with pytest.raises(bounded.Refused) as refused:
        bounded.load_yaml(text, "model.yaml")
    assert str(refused.value).startswith(f"model.yaml:{line}: the key '{key}' is given twice")


def test_merge_keys_and_aliases_are_not_keys_given_twice() -> None:
    text = "base: &b {x: 1}\none:\n  <<: *b\n  y: 2\ntwo: *b\nthree: *b\n"
    data, _ = bounded.load_yaml(text, "model.yaml")
    assert data["one"] == {"x": 1, "y": 2} and data["three"] == {"x": 1}

"""model.yaml read in-process: one test per kind of bad file, a message naming the file, the line
and the key; and the defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from validator.errors import ValidatorError
from validator.project import config

BAD = [
    ("scirpt: model.py\n", "model.yaml:1", "unknown key 'scirpt'", "did you mean 'script'"),
    ("name: x\nregistry:\n  tgas: {}\n", "model.yaml:2", "unknown key 'tgas'", "tags"),
    ("name: [1, 2]\n", "model.yaml:1", "'name' must be a non-empty string", "a list"),
    ("script: 3\n", "model.yaml:1", "'script' must be a relative path", "a number"),
    ("code_paths: helpers.py\n", "model.yaml:1", "'code_paths' must be a list", "a string"),
    ("artifacts: [a]\n", "model.yaml:1", "'artifacts' must be a mapping", "a list"),
    (
        "model_config: 3\n",
        "model.yaml:1",
        "'model_config' must be a mapping or the path",
        "of a YAML file, got a number",
    ),
    ("env: API_KEY\n", "model.yaml:1", "'env' must be a list", "a string"),
    ("env:\n  - {name: 1X}\n", "model.yaml:1", "'env[0].name' must be a variable name", "1X"),
    (
        "env:\n  - {name: A, secret: yes please}\n",
        "model.yaml:1",
        "'env[0].secret' must be true",
        "or false, got 'yes please'",
    ),
    ("env:\n  - {name: A, requird: false}\n", "model.yaml:1", "unknown key 'requird'", "required"),
    ("env:\n  - A\n  - A\n", "model.yaml:1", "declared twice", "A"),
    ("- a\n- b\n", "model.yaml", "must be a mapping of keys", "a list"),
    # the line of the bracket left open, not the line after the end of the file
    ("name: [unclosed\n", "model.yaml:1", "not valid YAML", "expected ',' or ']'"),
]

# YAML notices an indentation or a missing ':' on a later line than the one to fix
MODEL_CONFIG = "  horizon_days: 7\n  price_elasticity: -1.2\n  max_units: 5000.0\n"
MISPLACED = [
    # the first entry of a block indented one more, then one less, than the others
    (
        "name: x\nmodel_config:\n " + MODEL_CONFIG,
        "model.yaml:3",
        "line 3 is indented 3 spaces and line 4, in the same block, 2",
    ),
    (
        "name: x\nmodel_config:\n" + MODEL_CONFIG[1:],
        "model.yaml:3",
        "line 3 is indented 1 spaces and line 4, in the same block, 2",
    ),
    # two entries: the one off the file's two-space step
    (
        "registry:\n  tags:\n     owner: a\n    project: b\n",
        "model.yaml:3",
        "line 3 is indented 5 spaces and line 4, in the same block, 4",
    ),
    (
        "registry:\n  tags:\n    owner: a\n   project: b\n",
        "model.yaml:4",
        "line 3 is indented 4 spaces and line 4, in the same block, 3",
    ),
    # the top level's first key indented
    (" name: x\n\nscript: model.py\n", "model.yaml:1", "line 1 is indented 1 spaces"),
    # a key without its ':', followed by comments, or by its block
    ("name: x\nscript model.py\n\n# the requirements\nrequirements: r.txt\n", "model.yaml:2", ""),
    ("name: x\nmodel_config\n" + MODEL_CONFIG, "model.yaml:2", "could not find expected ':'"),
    (
        "env:\n  - name A_KEY\n    description: a key\n",
        "model.yaml:2",
        "line 2 has no ':' after its key",
    ),
    # and where the line YAML names is the one to fix, it stays
    ("name: x\nscript: model.py\n  requirements: r.txt\n", "model.yaml:3", ""),
]


@pytest.mark.parametrize(("text", "where", "why"), MISPLACED)
def test_a_yaml_error_names_the_line_to_fix(
    tmp_path: Path, text: str, where: str, why: str
) -> None:
    (tmp_path / "model.yaml").write_text(text)
    with pytest.raises(ValidatorError) as raised:
        config.load(tmp_path)
    assert str(raised.value).startswith(where + ": not valid YAML")
    assert why in str(raised.value)


def test_a_model_config_file_s_yaml_error_names_the_line_to_fix(tmp_path: Path) -> None:
    (tmp_path / "model.yaml").write_text("model_config: conf.yaml\n")
    (tmp_path / "conf.yaml").write_text("alpha: 1\nnested:\n   beta: 2\n  gamma: 3\n")
    with pytest.raises(ValidatorError, match=r"^conf\.yaml:3: not valid YAML: line 3 is indented"):
        config.load(tmp_path)


@pytest.mark.parametrize(("text", "where", "message", "detail"), BAD)
def test_bad_model_yaml_is_refused(
    tmp_path: Path, text: str, where: str, message: str, detail: str
) -> None:
    (tmp_path / "model.yaml").write_text(text)
    with pytest.raises(ValidatorError) as raised:
        config.load(tmp_path)
    assert str(raised.value).startswith(where + ":")
    assert detail and detail not in message, "a detail must add to the message"
    assert message in str(raised.value)
    assert detail in str(raised.value)


def test_defaults_from_an_empty_file(tmp_path: Path) -> None:
    project = tmp_path / "my_model"
    project.mkdir()
    (project / "model.yaml").write_text("")
    loaded = config.load(project)
    assert loaded.name == "my_model"
    assert (loaded.script, loaded.requirements, loaded.input_example) == (
        "model.py",
        "requirements.txt",
        "input_example.json",
    )
    assert loaded.code_paths == () and loaded.artifacts == {} and loaded.env == ()


def test_env_defaults_and_string_shorthand(tmp_path: Path) -> None:
    (tmp_path / "model.yaml").write_text(
        "env:\n  - API_TOKEN\n  - {name: REGION, required: false, secret: false}\n"
    )
    first, second = config.load(tmp_path).env
    assert (first.name, first.secret, first.required) == ("API_TOKEN", False, True)
    assert (second.name, second.required) == ("REGION", False)


def test_model_config_file_is_read_when_model_yaml_is(tmp_path: Path) -> None:
    (tmp_path / "model.yaml").write_text("model_config: conf.yaml\n")
    (tmp_path / "conf.yaml").write_text("alpha: 2\n")
    assert config.load(tmp_path).model_config == "conf.yaml"
    (tmp_path / "conf.yaml").write_text("- alpha\n")
    with pytest.raises(ValidatorError, match=r"conf\.yaml: must be a mapping, got a list"):
        config.load(tmp_path)

"""The registry's pure parts: model.yaml's registry keys, the content hash, tags, SIG007
findings and the report renderings logged with a run. Fast: no mlflow."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from tests.conftest import ProjectFactory
from validator import __version__
from validator.errors import ValidatorError
from validator.project import config
from validator.project.content_hash import content_files, content_hash
from validator.registry import gate as registry
from validator.registry import tags
from validator.registry.signature_compat import Change
from validator.render.junit import to_junit
from validator.render.markdown import to_markdown
from validator.report import Finding, Report, failed, passed

SIGNATURE = {
    "inputs": [
        {"name": "a", "type": "double", "required": True},
        {"name": "b", "type": "double", "required": True},
    ],
    "outputs": [{"name": "score", "type": "double", "required": True}],
}


# model.yaml: registry.datagrok


@pytest.mark.parametrize(("text", "expected"), [("true", True), ("false", False)])
def test_datagrok_flag(tmp_path: Path, text: str, expected: bool) -> None:
    (tmp_path / "model.yaml").write_text(f"registry:\n  datagrok: {text}\n")
    assert config.load(tmp_path).registry_datagrok is expected


def test_datagrok_is_off_by_default(tmp_path: Path) -> None:
    (tmp_path / "model.yaml").write_text("registry:\n  tags: {owner: me}\n")
    loaded = config.load(tmp_path)
    assert loaded.registry_datagrok is False
    assert loaded.registry_tags == {"owner": "me"}


@pytest.mark.parametrize(
    ("value", "got"), [('"true"', "a string"), ("1", "a number"), ("[]", "a list")]
)
def test_datagrok_must_be_a_boolean(tmp_path: Path, value: str, got: str) -> None:
    (tmp_path / "model.yaml").write_text(f"name: x\nregistry:\n  datagrok: {value}\n")
    with pytest.raises(ValidatorError) as raised:
        config.load(tmp_path)
    assert str(raised.value) == (
        "model.yaml:2: 'registry.datagrok' must be true, false or a mapping {semtypes: "
        f"{{column: semtype}}, outputs: [name, ...]}}, got {got}"
    )


def test_datagrok_mapping_gives_semtypes_and_output_names(tmp_path: Path) -> None:
    (tmp_path / "model.yaml").write_text(
        "registry:\n  datagrok:\n    semtypes: {smiles: Molecule}\n    outputs: [activity]\n"
    )
    loaded = config.load(tmp_path)
    assert loaded.registry_datagrok is True
    assert loaded.datagrok_semtypes == {"smiles": "Molecule"}
    assert loaded.datagrok_outputs == ("activity",)


@pytest.mark.parametrize(
    ("datagrok", "message"),
    [
        (
            "{semtype: {a: Molecule}}",
            "model.yaml:2: 'registry.datagrok': unknown key 'semtype' (expected one of: "
            "semtypes, outputs); did you mean 'semtypes'?",
        ),
        (
            "{semtypes: {a: [x]}}",
            "model.yaml:2: 'registry.datagrok.semtypes.a' must be a string, got a list",
        ),
        (
            "{semtypes: {a: ''}}",
            "model.yaml:2: 'registry.datagrok.semtypes.a' must not be empty",
        ),
        (
            "{outputs: score}",
            "model.yaml:2: 'registry.datagrok.outputs' must be a list of output names, got "
            "a string",
        ),
        (
            "{outputs: [score, 1]}",
            "model.yaml:2: 'registry.datagrok.outputs' must list output names (non-empty "
            "strings), got a number 1",
        ),
        (
            "{outputs: [score, score]}",
            "model.yaml:2: 'registry.datagrok.outputs' names an output twice",
        ),
    ],
)
def test_datagrok_mapping_errors(tmp_path: Path, datagrok: str, message: str) -> None:
    (tmp_path / "model.yaml").write_text(f"name: x\nregistry:\n  datagrok: {datagrok}\n")
    with pytest.raises(ValidatorError) as raised:
        config.load(tmp_path)
    assert str(raised.value) == message


def test_unknown_registry_key_names_both_keys(tmp_path: Path) -> None:
    (tmp_path / "model.yaml").write_text("registry:\n  datagrk: true\n")
    with pytest.raises(ValidatorError, match="did you mean 'datagrok'"):
        config.load(tmp_path)


# the content hash


def _hash(root: Path) -> str:
    return content_hash(config.load(root))


RICH = {
    "model.yaml": "name: rich\ncode_paths: [lib]\nartifacts: {weights: data/w.txt}\n"
    "model_config: conf.yaml\n",
    "lib/__init__.py": "",
    "lib/helpers.py": "SCALE = 2\n",
    "data/w.txt": "0.5 1.5\n",
    "conf.yaml": "alpha: 1\n",
}


def test_hash_covers_every_file_the_model_is_made_of(make_project: ProjectFactory) -> None:
    root = make_project(RICH)
    assert list(content_files(config.load(root))) == [
        "conf.yaml",
        "data/w.txt",
        "input_example.json",
        "lib/__init__.py",
        "lib/helpers.py",
        "model.py",
        "model.yaml",
        "requirements.txt",
    ]


@pytest.mark.parametrize(
    "edit",
    [
        "model.py",
        "requirements.txt",
        "input_example.json",
        "model.yaml",
        "lib/helpers.py",
        "data/w.txt",
        "conf.yaml",
    ],
)
def test_any_edit_changes_the_hash(make_project: ProjectFactory, edit: str) -> None:
    root = make_project(RICH)
    before = _hash(root)
    with (root / edit).open("a") as handle:
        handle.write("\n# edited\n")
    assert _hash(root) != before


def test_renaming_a_shipped_file_changes_the_hash(make_project: ProjectFactory) -> None:
    root = make_project(RICH)
    before = _hash(root)
    (root / "lib" / "helpers.py").rename(root / "lib" / "tools.py")
    assert _hash(root) != before


def test_hash_ignores_what_is_not_shipped_and_where_the_project_is(
    make_project: ProjectFactory,
) -> None:
    first, second = make_project(RICH, name="one"), make_project(RICH, name="two")
    assert _hash(first) == _hash(second)
    before = _hash(first)
    (first / "README.md").write_text("notes\n")
    (first / "lib" / "__pycache__").mkdir()
    (first / "lib" / "__pycache__" / "helpers.cpython-311.pyc").write_bytes(b"\0")
    (first / ".mlflow").mkdir()
    (first / ".mlflow" / "mlflow.db").write_bytes(b"\0")
    assert _hash(first) == before


def test_a_missing_file_still_hashes(make_project: ProjectFactory) -> None:
    root = make_project({"model.yaml": "code_paths: [gone.py]\n"})
    assert len(_hash(root)) == 64


# tags


def test_datagrok_tags_follow_the_signature() -> None:
    assert tags.datagrok_tags(SIGNATURE) == {
        "datagrok": "true",
        "datagrok-inputs-0-name": "a",
        "datagrok-inputs-1-name": "b",
        "datagrok-outputs-0-name": "score",
    }
    assert tags.datagrok_tags(None) == {"datagrok": "true"}


def test_model_tags_add_datagrok_only_when_asked(make_project: ProjectFactory) -> None:
    plain = config.load(make_project({"model.yaml": "registry: {tags: {owner: me}}\n"}))
    assert tags.model_tags(plain, SIGNATURE) == {"owner": "me"}
    asked = config.load(
        make_project(
            {"model.yaml": "registry: {tags: {owner: me}, datagrok: true}\n"}, name="asked"
        )
    )
    found = tags.model_tags(asked, SIGNATURE)
    assert found["owner"] == "me" and found["datagrok-outputs-0-name"] == "score"


def test_validation_tags_carry_the_verdict() -> None:
    report = Report("validate", "p", [passed("SCR001"), failed("SBX002", "x")])
    report.checks.append(Finding("DEP010", "warning", "unused"))
    assert tags.validation_tags(report, "abc") == {
        "mfc.validation.status": "failed",
        "mfc.validator.version": __version__,
        "mfc.content_hash": "abc",
        "mfc.checks.failed": "1",
        "mfc.checks.warning": "1",
    }


def test_datagrok_check(make_project: ProjectFactory) -> None:
    off = config.load(make_project())
    assert tags.datagrok_check(off, SIGNATURE).status == "skipped"
    on = config.load(make_project({"model.yaml": "registry: {datagrok: true}\n"}, name="on"))
    assert tags.datagrok_check(on, SIGNATURE).status == "passed"
    unnamed = {"inputs": [{"type": "tensor", "tensor-spec": {"dtype": "float64"}}]}
    finding = tags.datagrok_check(on, unnamed)
    assert finding.status == "warning" and finding.location == "model.yaml:1"


def test_datagrok_semtypes_and_output_names_become_tags() -> None:
    unnamed_output = {**SIGNATURE, "outputs": [{"type": "double", "required": True}]}
    assert tags.datagrok_tags(
        unnamed_output, {"b": "Molecule", "activity": "pIC50"}, ["activity"]
    ) == {
        "datagrok": "true",
        "datagrok-inputs-0-name": "a",
        "datagrok-inputs-1-name": "b",
        "datagrok-inputs-1-semtype": "Molecule",
        "datagrok-outputs-0-name": "activity",
        "datagrok-outputs-0-semtype": "pIC50",
    }


def test_a_semtype_for_an_unknown_column_fails_reg003(make_project: ProjectFactory) -> None:
    project = config.load(
        make_project(
            {"model.yaml": "name: x\nregistry:\n  datagrok:\n    semtypes: {scor: Score}\n"}
        )
    )

    finding = tags.datagrok_check(project, SIGNATURE)

    assert (finding.code, finding.status, finding.location) == ("REG003", "failed", "model.yaml:2")
    assert finding.message == (
        "model.yaml registry.datagrok.semtypes gives a semtype to 'scor', which is not a column "
        "of the logged signature; did you mean 'score'?"
    )
    assert finding.hint == "name a column of the signature: 'a', 'b', 'score'"


def test_output_names_must_match_the_output_columns(make_project: ProjectFactory) -> None:
    project = config.load(
        make_project({"model.yaml": "registry:\n  datagrok: {outputs: [y1, y2]}\n"})
    )

    finding = tags.datagrok_check(project, SIGNATURE)

    assert (finding.code, finding.status, finding.location) == ("REG003", "failed", "model.yaml:1")
    assert "names 2 outputs, but the logged signature has 1 output columns" in finding.message
    assert "list exactly 1 names under registry.datagrok.outputs" in (finding.hint or "")


def test_compatibility_findings(make_project: ProjectFactory) -> None:
    project = config.load(make_project())
    removed = [Change("input", "b", True, "input 'b' was removed or renamed")]
    added = [Change("input", "c", False, "input 'c' was added as optional")]
    refused = tags.compatibility_check(project, removed, "2", allow_breaking=False)
    assert refused.status == "failed" and refused.code == "SIG007"
    assert "breaking change against version 2" in refused.message
    assert refused.location == "input_example.json" and "--allow-breaking" in (refused.hint or "")
    allowed = tags.compatibility_check(project, removed, "2", allow_breaking=True)
    assert allowed.status == "warning"
    noted = tags.compatibility_check(project, added, "2", allow_breaking=False)
    assert noted.status == "passed" and "input 'c' was added as optional" in noted.message


def test_read_signature_from_an_mlmodel_file(tmp_path: Path) -> None:
    mlmodel = tmp_path / "MLmodel"
    mlmodel.write_text(
        "flavors: {}\nsignature:\n"
        '  inputs: \'[{"type": "double", "name": "a", "required": true}]\'\n'
        "  outputs: null\n  params: null\n"
    )
    assert registry.read_signature(mlmodel) == {
        "inputs": [{"type": "double", "name": "a", "required": True}],
        "outputs": None,
    }
    (tmp_path / "Other").write_text("flavors: {}\n")
    assert registry.read_signature(tmp_path / "Other") is None


# the renderings logged with the run


def _report() -> Report:
    report = Report("register", "proj", [passed("SCR001")])
    report.checks.append(failed("SIG007", "input 'b' | gone", "input_example.json", "keep b"))
    report.run_id, report.model_uri, report.mlflow_version = "r1", "models:/m/3", "3.17.2"
    return report


def test_markdown_report() -> None:
    text = to_markdown(_report())
    assert text.startswith("# mfc-validator register: failed\n")
    assert "| run | r1 |" in text and "| model | models:/m/3 |" in text
    assert "**1 failed, 1 passed**" in text
    lines = text.splitlines()
    fail, ok = (
        next(i for i, x in enumerate(lines) if x.startswith(f"| {mark} "))
        for mark in ("FAIL", "PASS")
    )
    assert fail < ok  # failures first
    assert lines[fail] == ("| FAIL | SIG007 | input 'b' \\| gone | `input_example.json` | keep b |")


def test_junit_names_are_stable_and_the_suite_has_properties() -> None:
    root = ET.fromstring(to_junit(_report()))
    properties = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert properties["model_uri"] == "models:/m/3" and properties["run_id"] == "r1"
    names = [case.get("name") for case in root.iter("testcase")]
    assert names == [
        "SCR001 the script compiles",
        "SIG007 the signature is compatible with the latest registered version",
    ]
    failure: Any = root.find(".//failure")
    assert failure.get("message") == "input 'b' | gone"

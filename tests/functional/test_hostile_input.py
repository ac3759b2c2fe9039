"""Input built to hurt, through the whole command: alias bombs, depth, size. Each ends fast with
exit 2 and one line naming the file and the limit (model.yaml, a model_config file), or a failed
check (the input example, the script), never a traceback; the big and deep files are written at
test time."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from tests.conftest import GOOD_MODEL, ProjectFactory, run_cli
from tests.pins import MLFLOW, NUMPY
from tests.unit.test_bounded import BOMB

# 5,000 levels in 25 kB
DEEP = "name: deep\nmodel_config: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n"


def one_line_error(result: Any) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return str(lines[0])


def failed_check(project: Path, code: str) -> dict[str, Any]:
    started = time.perf_counter()
    result = run_cli("check", str(project), "--format", "json", timeout=120)
    assert time.perf_counter() - started < 30
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    [finding] = [c for c in report["checks"] if c["status"] == "failed"]
    assert finding["code"] == code
    assert "\n" not in finding["message"]
    return dict(finding)


def test_an_alias_bomb_in_model_yaml_exits_2_fast(make_project: ProjectFactory) -> None:
    project = make_project({"model.yaml": "name: bomb\n" + BOMB})
    started = time.perf_counter()
    line = one_line_error(run_cli("check", str(project), timeout=60))
    assert time.perf_counter() - started < 20
    assert line.startswith("mfc-validator: error: model.yaml: more than the limit of 100,000 ")
    assert "aliases (*name) are expanded" in line
    assert "keep settings in it, and data in files the model loads" in line


def test_an_alias_bomb_in_a_model_config_file_exits_2(make_project: ProjectFactory) -> None:
    bomb = BOMB.replace("model_config:\n", "").replace("\n  ", "\n")[2:]
    project = make_project(
        {"model.yaml": "name: bomb\nmodel_config: settings.yaml\n", "settings.yaml": bomb}
    )
    line = one_line_error(run_cli("check", str(project), timeout=60))
    assert line.startswith("mfc-validator: error: settings.yaml: more than the limit of 100,000 ")
    assert line.endswith("(model_config in model.yaml:2)")


def test_a_deep_model_yaml_exits_2(make_project: ProjectFactory) -> None:
    project = make_project({"model.yaml": DEEP})
    line = one_line_error(run_cli("check", str(project), timeout=60))
    assert line.startswith("mfc-validator: error: model.yaml:2: nested deeper than the limit of")
    assert "of 100 levels" in line


def test_a_large_model_yaml_exits_2_unread(make_project: ProjectFactory) -> None:
    lines = "".join(f"  key{number}: a value of some length\n" for number in range(250_000))
    project = make_project({"model.yaml": "name: large\nmodel_config:\n" + lines})
    started = time.perf_counter()
    line = one_line_error(run_cli("check", str(project), timeout=60))
    assert time.perf_counter() - started < 20
    assert line.startswith("mfc-validator: error: model.yaml is 8.")
    assert "over the limit of 1.0 MB for this file" in line


def test_check_all_gives_the_other_projects_their_verdict(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    make_project(name="fine")
    make_project({"model.yaml": DEEP}, name="deep")
    make_project({"model.yaml": "name: bomb\n" + BOMB}, name="bomb")
    result = run_cli("check", "--all", str(tmp_path), "--format", "json", timeout=120)
    assert "Traceback" not in result.stderr
    assert result.returncode == 2, result.stdout + result.stderr
    reports = {Path(r["project"]).name: r for r in json.loads(result.stdout)["reports"]}
    assert reports["fine"]["status"] == "passed"
    assert reports["fine"]["checks"]
    assert "nested deeper than the limit of 100 levels" in reports["deep"]["error"]
    assert "more than the limit of 100,000 values" in reports["bomb"]["error"]


def test_a_deep_input_example_fails_sig001(make_project: ProjectFactory) -> None:
    project = make_project({"input_example.json": "[" * 100_000 + "]" * 100_000})
    finding = failed_check(project, "SIG001")
    assert finding["message"].startswith(
        "input_example.json: nested deeper than the limit of 100 levels"
    )
    assert finding["location"] == "input_example.json"
    assert finding["hint"].startswith("write one request as a client would POST it")


def test_a_large_input_example_fails_sig001(make_project: ProjectFactory) -> None:
    payload = json.dumps({"inputs": ["x" * 21_000_000]})
    project = make_project({"input_example.json": payload})
    finding = failed_check(project, "SIG001")
    assert finding["message"].startswith("input_example.json is 21.0 MB")
    assert "over the limit of 20.0 MB for this file" in finding["message"]


def test_a_repeated_key_in_the_input_example_fails_sig001(make_project: ProjectFactory) -> None:
    text = '{\n  "dataframe_split": {"columns": ["a", "b"], "data": [[1.0, 2.0]]},\n'
    text += '  "params": {"k": 1},\n  "params": {"k": 2}\n}\n'
    finding = failed_check(make_project({"input_example.json": text}), "SIG001")
    assert finding["message"].startswith('input_example.json:4: the key "params" appears twice')
    assert finding["location"] == "input_example.json:4"
    assert finding["hint"] == "keep each key once in every object"


@pytest.mark.parametrize("terms", [100_000, 600])
def test_a_deep_expression_in_the_script_fails_scr001(
    make_project: ProjectFactory, terms: int
) -> None:
    model = GOOD_MODEL + "TOTAL = " + " + ".join(["1"] * terms) + "\n"
    finding = failed_check(make_project({"model.py": model}), "SCR001")
    assert finding["message"] == (
        "model.py does not compile: nested deeper than the limit of 500 levels"
    )
    assert finding["location"].startswith("model.py:")
    assert "split the expression" in finding["hint"]


def test_a_name_mlflow_refuses_exits_2(make_project: ProjectFactory) -> None:
    project = make_project({"model.yaml": "name: team/demand-forecast\n"})
    line = one_line_error(run_cli("check", str(project), timeout=60))
    assert line.startswith("mfc-validator: error: model.yaml:1: 'name' 'team/demand-forecast'")
    assert "refuses names with '/' or ':'" in line
    assert "e.g. team-demand-forecast" in line


def test_control_characters_reach_neither_the_terminal_nor_broken_xml(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    line = "pandas\x1b]0;pwned\x07\x1b[2J\x1b[31m=3.1.1\x00\x0b"
    project = make_project({"requirements.txt": f"{MLFLOW}\n{NUMPY}\n{line}\n"})
    text = run_cli("check", str(project), timeout=60)
    assert text.returncode == 1, text.stdout + text.stderr
    assert "FAIL DEP005 requirements.txt has 'pandas=3.1.1'" in text.stdout
    assert "\x1b" not in text.stdout + text.stderr and "\x07" not in text.stdout
    junit = tmp_path / "report.xml"
    result = run_cli("check", str(project), "--format", "junit", "--output", str(junit))
    assert result.returncode == 1
    root = ET.parse(junit).getroot()
    [failure] = root.findall(
        "./testsuite/testcase[@name='DEP005 every requirement line is valid']/failure"
    )
    assert "pandas\\x1b]0;pwned\\x07" in failure.get("message", "")

"""tests/fixtures/: good/ is the base project and every other folder an overlay that keeps only the
files that differ from good/'s, which materialize_scenario puts back together."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest

from tests.conftest import (
    BASE_SCENARIO,
    FIXTURES,
    ScenarioFactory,
    materialize_scenario,
    scenario_names,
)

GOOD = FIXTURES / BASE_SCENARIO
OVERLAYS = [name for name in scenario_names() if name != BASE_SCENARIO]


def files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_there_are_overlays_beside_good() -> None:
    assert files(GOOD)
    assert OVERLAYS


@pytest.mark.parametrize("scenario", OVERLAYS)
def test_an_overlay_holds_only_files_that_differ_from_good_s(scenario: str) -> None:
    overlay = FIXTURES / scenario
    names = files(overlay)
    assert names, f"{scenario}/ changes nothing in {BASE_SCENARIO}/"
    same = [
        name
        for name in names
        if (GOOD / name).is_file() and filecmp.cmp(overlay / name, GOOD / name, shallow=False)
    ]
    assert same == [], f"byte-identical to {BASE_SCENARIO}/'s, delete them from {scenario}/"


@pytest.mark.parametrize("scenario", OVERLAYS)
def test_a_materialized_scenario_is_good_with_the_overlay_on_top(
    tmp_path: Path, scenario: str
) -> None:
    overlay = FIXTURES / scenario
    project = materialize_scenario(scenario, tmp_path / scenario)

    assert project == tmp_path / scenario
    assert files(project) == sorted({*files(GOOD), *files(overlay)})
    for name in files(project):
        source = overlay / name if (overlay / name).is_file() else GOOD / name
        assert (project / name).read_bytes() == source.read_bytes(), name


def test_good_materializes_as_itself(tmp_path: Path) -> None:
    project = materialize_scenario(BASE_SCENARIO, tmp_path / "good")

    assert files(project) == files(GOOD)
    assert all((project / n).read_bytes() == (GOOD / n).read_bytes() for n in files(GOOD))


def test_an_unknown_scenario_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no scenario 'scr999_nothing'"):
        materialize_scenario("scr999_nothing", tmp_path / "project")

    assert not (tmp_path / "project").exists()


def test_the_fixture_materializes_into_the_test_s_tmp_path(
    scenario_project: ScenarioFactory, tmp_path: Path
) -> None:
    project = scenario_project(OVERLAYS[0])

    assert project == tmp_path / OVERLAYS[0]
    assert (project / "model.yaml").is_file()

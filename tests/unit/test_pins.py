"""One place for the pins: cookiecutter.json's `_pins`. The template renders them, the tests read
them (tests/pins.py), and every other place that writes a pinned version must agree."""

from __future__ import annotations

import re
from pathlib import Path

import validator
from tests.pins import (
    NOT_A_PIN,
    PINS,
    REPO_ROOT,
    SOURCE,
    VALIDATOR,
    disagreements,
    fix,
    rendered,
)

TEMPLATE = REPO_ROOT / "{{cookiecutter.project_slug}}"
KIND_PIN = re.compile(
    r'(?P<name>[A-Za-z0-9._-]+)==\{\{ cookiecutter\._pins\["(?P<key>[^"]+)"\] \}\}'
)


def test_every_pinned_version_in_the_repository_is_the_pin() -> None:
    found = disagreements()
    assert found == [], (
        "\n".join(map(str, found))
        + f"\nchange the pin only in {SOURCE} (`_pins`), then `python -m tests.pins --fix`; a line"
        f" that names another version on purpose says `{NOT_A_PIN}`"
    )


def test_the_validator_s_own_version_is_the_pinned_one() -> None:
    # pyproject.toml reads the version from validator/__init__.py; the template renders the pin
    assert PINS[VALIDATOR] == validator.__version__
    assert (
        'version = { attr = "validator.__version__" }' in (REPO_ROOT / "pyproject.toml").read_text()
    )


def test_each_kind_s_requirements_are_rendered_from_the_pins() -> None:
    for requirements in sorted(TEMPLATE.glob("_kinds/*/requirements.txt")):
        lines = requirements.read_text(encoding="utf-8").splitlines()
        assert lines, requirements
        for line in lines:
            match = KIND_PIN.fullmatch(line)
            assert match and match["name"] == match["key"] and match["key"] in PINS, (
                f"{requirements.relative_to(REPO_ROOT)}: {line!r} should read "
                f'name=={{{{ cookiecutter._pins["name"] }}}} with the name in {SOURCE}\'s _pins'
            )


def test_rendering_gives_the_pins() -> None:
    text = (TEMPLATE / "_kinds/dataframe/requirements.txt").read_text(encoding="utf-8")
    assert rendered(text).split() == [
        f"{name}=={PINS[name]}" for name in ("mlflow", "numpy", "pandas")
    ]


def test_every_pin_is_used() -> None:
    template_text = "".join(
        path.read_text(encoding="utf-8", errors="replace")
        for path in TEMPLATE.rglob("*")
        if path.is_file() and path.suffix != ".skops"
    )
    tests_text = "".join(p.read_text(encoding="utf-8") for p in (REPO_ROOT / "tests").rglob("*.py"))
    unused = [
        name
        for name in PINS
        if f'_pins["{name}"]' not in template_text and f'"{name}"' not in tests_text
    ]
    assert unused == []


def test_a_stale_version_is_found_and_fixed(tmp_path: Path) -> None:
    # not a git work tree: the files are found by walking the folder, hidden folders skipped
    (tmp_path / "docs").mkdir()
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "requirements.txt").write_text("mlflow==0.0.1\n")
    page = tmp_path / "docs" / "index.md"
    page.write_text(
        "pip install MLflow==0.0.1 'numpy===1.2.3' pandas>=1.0 pandas==3.*\n"
        "    rev: v9.9.9\n"
        f"the drift: pandas==0.1.0  <!-- {NOT_A_PIN} -->\n"
        "other==1.0 and git+https://example.com/x.git@v2.0\n"
    )

    found = [(d.path, d.line, d.found, d.expected) for d in disagreements(tmp_path)]

    assert found == [
        ("docs/index.md", 1, "MLflow==0.0.1", f"MLflow=={PINS['mlflow']}"),
        ("docs/index.md", 1, "numpy===1.2.3", f"numpy==={PINS['numpy']}"),
        ("docs/index.md", 2, "rev: v9.9.9", f"rev: v{PINS[VALIDATOR]}"),
    ]
    assert fix(tmp_path) == [page]
    assert disagreements(tmp_path) == []
    assert page.read_text().splitlines()[2:] == [
        f"the drift: pandas==0.1.0  <!-- {NOT_A_PIN} -->",
        "other==1.0 and git+https://example.com/x.git@v2.0",
    ]

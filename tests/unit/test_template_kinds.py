"""A model kind is one folder, `_kinds/<kind>/`, and one choice in cookiecutter.json: the two agree,
and each folder holds what a project needs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.pins import rendered

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = REPO_ROOT / "{{cookiecutter.project_slug}}"
KINDS_DIR = TEMPLATE / "_kinds"
CHOICES = json.loads((REPO_ROOT / "cookiecutter.json").read_text(encoding="utf-8"))
KINDS: list[str] = CHOICES["model_kind"]
# what every kind brings itself: the shared files have no model, example, pins or model tests
KIND_NEEDS = ("model.py", "input_example.json", "requirements.txt", "tests/test_model.py")
EXTENDS = re.compile(r'\A\{% extends "(?P<parent>[^"]+)" %\}')
BLOCK = re.compile(r"\{%-? block (?P<name>\w+)")


def test_the_kinds_are_the_folders_and_the_prompts() -> None:
    folders = sorted(p.name for p in KINDS_DIR.iterdir() if not p.name.startswith("_"))

    assert sorted(KINDS) == folders
    assert list(CHOICES["__prompts__"]["model_kind"]) == ["__prompt__", *KINDS]


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_s_folder_is_complete(kind: str) -> None:
    folder = KINDS_DIR / kind

    assert [name for name in KIND_NEEDS if not (folder / name).is_file()] == []
    # pinned with ==, the versions from cookiecutter.json's _pins (tests/unit/test_pins.py)
    pins = rendered((folder / "requirements.txt").read_text(encoding="utf-8")).splitlines()
    assert pins and all(re.fullmatch(r"[A-Za-z0-9._-]+==\S+", pin) for pin in pins), pins


@pytest.mark.parametrize("kind", KINDS)
def test_a_kind_s_part_fills_only_blocks_its_shared_file_has(kind: str) -> None:
    for path in sorted((KINDS_DIR / kind).rglob("*")):
        if not path.is_file() or path.suffix == ".skops":
            continue
        extends = EXTENDS.match(path.read_text(encoding="utf-8"))
        if extends is None:
            continue
        relative = path.relative_to(KINDS_DIR / kind).as_posix()
        # a part replaces the shared file of the same name, which it extends
        assert extends["parent"] == relative
        parent_blocks = set(BLOCK.findall((TEMPLATE / relative).read_text(encoding="utf-8")))
        own_blocks = set(BLOCK.findall(path.read_text(encoding="utf-8")))
        assert own_blocks <= parent_blocks, f"{kind}/{relative}: {own_blocks - parent_blocks}"


def test_no_shared_file_branches_on_the_kind() -> None:
    branching = [
        path.relative_to(TEMPLATE).as_posix()
        for path in sorted(TEMPLATE.rglob("*"))
        if path.is_file()
        and "_kinds" not in path.relative_to(TEMPLATE).parts
        and path.suffix != ".skops"
        and re.search(r"model_kind\s*(==|!=|in\b)", path.read_text(encoding="utf-8"))
    ]

    assert branching == []


def test_prompts_show_as_written_through_cookiecutters_markup() -> None:
    # cookiecutter prints prompts with rich, where [text] is markup and vanishes unless escaped
    from rich.markup import render

    prompts = json.loads((REPO_ROOT / "cookiecutter.json").read_text())["__prompts__"]
    texts = [text for value in prompts.values() for text in _texts(value)]
    for text in texts:
        shown = render(text).plain
        assert shown.count("[") == text.replace("\\[", "[").count("["), (text, shown)
    typed = prompts["model_kind"]["typed"]
    assert "list[pydantic model]" in render(typed).plain


def _texts(value: object) -> list[str]:
    if isinstance(value, dict):
        return [text for item in value.values() for text in _texts(item)]
    return [value] if isinstance(value, str) else []

"""Which projects a run of several covers: --all, PROJECT folders, and --shard K/N."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

import pytest

from validator.errors import ValidatorError
from validator.project.discovery import (
    Shard,
    find_projects,
    parse_shard,
    select_projects,
    shard_of,
)


def _project(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    (path / "model.yaml").write_text("name: x\n")


@pytest.mark.parametrize("text", ["1/1", "2/4", "4/4"])
def test_shard_parses(text: str) -> None:
    assert str(parse_shard(text)) == text


@pytest.mark.parametrize("text", ["0/2", "3/2", "1/0", "a/b", "2", "1/2/3", "-1/2"])
def test_bad_shard_names_the_form(text: str) -> None:
    with pytest.raises(ValidatorError, match=r"expected K/N with 1 <= K <= N"):
        parse_shard(text)


def _keys(groups: dict[str, int]) -> tuple[list[str], dict[str, str]]:
    projects, key = [], {}
    for name, size in groups.items():
        for index in range(size):
            project = f"{name}-{index}"
            projects.append(project)
            key[project] = name
    return projects, key


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7])
def test_shards_cover_every_project_once(count: int) -> None:
    projects, key = _keys({"a": 5, "b": 3, "c": 1, "d": 1, "e": 2})
    shares = [shard_of(projects, key.__getitem__, Shard(k, count)) for k in range(1, count + 1)]
    listed = [project for share in shares for project in share]
    assert sorted(listed) == sorted(projects)
    assert len(listed) == len(set(listed))
    fair = -(-len(projects) // count)
    assert max(len(share) for share in shares) <= fair


def test_projects_of_one_environment_stay_together_when_they_fit() -> None:
    projects, key = _keys({"a": 3, "b": 3, "c": 2, "d": 2})
    shares = [shard_of(projects, key.__getitem__, Shard(k, 2)) for k in (1, 2)]
    for name in "abcd":
        holding = [i for i, share in enumerate(shares) if any(key[p] == name for p in share)]
        assert len(holding) == 1, name
    assert sorted(len(share) for share in shares) == [5, 5]


def test_one_large_environment_is_split_into_fair_shares() -> None:
    projects, key = _keys({"same": 10})
    shares = [shard_of(projects, key.__getitem__, Shard(k, 3)) for k in (1, 2, 3)]
    assert sorted(len(share) for share in shares) == [2, 4, 4]


def test_shares_do_not_depend_on_the_order_given() -> None:
    projects, key = _keys({"a": 4, "b": 2, "c": 3})
    first = shard_of(projects, key.__getitem__, Shard(2, 3))
    for order in itertools.islice(itertools.permutations(projects), 0, 50, 7):
        assert sorted(shard_of(list(order), key.__getitem__, Shard(2, 3))) == sorted(first)


def test_all_skips_environments_stores_and_git_ignored_folders(tmp_path: Path) -> None:
    for name in ("a", "nested/b", ".venv/lib/c", ".nox/s/d", "a/.mlflow/e", "ignored/f"):
        _project(tmp_path / name)
    (tmp_path / ".gitignore").write_text("ignored/\n")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    assert find_projects(tmp_path) == [tmp_path / "a", tmp_path / "nested/b"]


def test_all_outside_git_walks_the_tree(tmp_path: Path) -> None:
    for name in ("b", "a/inner", ".venv/c", "node_modules/x"):
        _project(tmp_path / name)
    assert find_projects(tmp_path) == [tmp_path / "a/inner", tmp_path / "b"]


def test_select_names_projects_as_given(tmp_path: Path) -> None:
    _project(tmp_path / "models/one")
    _project(tmp_path / "models/two")
    root = str(tmp_path / "models")
    assert select_projects([], root) == [f"{root}/one", f"{root}/two"]
    assert select_projects(["x", "y", "x"], None) == ["x", "y"]
    assert select_projects([], None) == ["."]


def test_select_refuses_both_forms_and_an_empty_root(tmp_path: Path) -> None:
    with pytest.raises(ValidatorError, match="either PROJECT folders or --all"):
        select_projects(["a"], str(tmp_path))
    with pytest.raises(ValidatorError, match=r"no model\.yaml under it"):
        select_projects([], str(tmp_path))
    with pytest.raises(ValidatorError, match="no such folder"):
        select_projects([], str(tmp_path / "missing"))

"""The documentation site (mkdocs.yml, docs/) and the README's links into it, checked in the fast
tier without mkdocs: `nox -s docs` builds the site with `mkdocs build --strict`, which also fails
on a broken link inside docs/."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _nav_pages(entries: object) -> list[str]:
    if isinstance(entries, str):
        return [entries]
    if isinstance(entries, list):
        return [page for entry in entries for page in _nav_pages(entry)]
    if isinstance(entries, dict):
        return [page for value in entries.values() for page in _nav_pages(value)]
    raise AssertionError(f"unexpected nav entry {entries!r}")


def _config() -> dict[str, object]:
    loaded = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def slug(heading: str) -> str:
    """A heading's anchor, as Python-Markdown's toc extension (MkDocs) makes it."""
    text = unicodedata.normalize("NFKD", heading).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def anchors(page: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.M | re.S)
    return {slug(title) for title in re.findall(r"^#{1,6} (.+)$", text, re.M)}


def test_every_page_is_in_the_nav_and_every_nav_entry_is_a_page() -> None:
    nav = _nav_pages(_config()["nav"])
    assert len(nav) == len(set(nav)), "a page is in the nav twice"
    pages = {path.relative_to(DOCS).as_posix() for path in DOCS.rglob("*.md")}
    assert set(nav) == pages
    assert nav[0] == "index.md"


def test_the_site_is_built_strictly_with_the_material_theme() -> None:
    config = _config()
    assert config["strict"] is True
    assert config["theme"]["name"] == "material"  # type: ignore[index]
    validation = config["validation"]
    assert validation["links"]["anchors"] == "warn"  # type: ignore[index]
    assert validation["nav"]["omitted_files"] == "warn"  # type: ignore[index]


def test_the_readmes_links_into_docs_lead_to_pages_and_headings_that_exist() -> None:
    links = [link for link in LINK.findall(README.read_text(encoding="utf-8"))]
    into_docs = [link for link in links if link.startswith("docs/")]
    assert len(into_docs) >= 10
    for link in into_docs:
        path, _, anchor = link.partition("#")
        assert (ROOT / path).is_file(), f"README links to {path}, which does not exist"
        if anchor:
            assert anchor in anchors(ROOT / path), f"README links to {link}: no such heading"
    for link in links:
        if not re.match(r"[a-z]+:", link) and not link.startswith("#"):
            assert (ROOT / link.partition("#")[0]).exists(), link


def test_the_readme_shows_the_sites_screenshots_and_stays_short() -> None:
    text = README.read_text(encoding="utf-8")
    for name in ("screenshot-home.png", "screenshot-codes.png"):
        assert f"(docs/{name})" in text
        assert (DOCS / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert len(text.splitlines()) <= 150


def test_anchors_are_the_ones_mkdocs_makes() -> None:
    assert slug("What your model's code can and cannot do to the validator") == (
        "what-your-models-code-can-and-cannot-do-to-the-validator"
    )
    heading = "`nox -s validate` in a generated project"
    assert slug(heading) == "nox-s-validate-in-a-generated-project"
    assert "adopting-a-script-you-already-have" in anchors(DOCS / "getting-started.md")


def test_the_docs_tools_are_pinned_in_their_own_group_and_only_there() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (group,) = re.findall(r"^\[dependency-groups\]\n(?:#.*\n)*docs = \[(.*)\]$", text, re.M)
    docs = [item.strip().strip('"') for item in group.split(",")]
    assert sorted(item.split("==")[0] for item in docs) == ["mkdocs", "mkdocs-material"]
    assert all(re.fullmatch(r"[a-z-]+==[\d.]+", item) for item in docs)
    elsewhere = text.replace(group, "")
    assert not re.search(r"\"mkdocs", elsewhere), "mkdocs is installed by the docs group only"

"""A template change re-renders exactly the pages that load the changed files.

Each test edits templates, builds with the cache, and compares the output with a
clean build of the same input: a page kept that should have been rendered again
fails the comparison.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_incremental import Site, tree


@pytest.fixture
def site(tmp_path: Path) -> Site:
    s = Site(tmp_path)
    s.build()
    return s


def _same_as_clean(site: Site, tmp_path: Path, name: str) -> dict[str, bytes]:
    clean = tmp_path / f"clean-{name}"
    site.build(use_cache=False, output=clean)
    built, expected = tree(site.output), tree(clean)
    assert built == expected, sorted(
        p for p in expected.keys() | built if built.get(p) != expected.get(p)
    )
    return built


def _showing(files: dict[str, bytes], marker: str) -> set[str]:
    return {path for path, data in files.items() if marker.encode() in data}


def test_a_template_imported_by_an_imported_one_is_followed(site: Site, tmp_path: Path) -> None:
    # partials/picture.html is imported by partials/cards.html, which the lists import:
    # Jinja runs cards.html once per process, so only the first list loads picture.html.
    site.edit(
        "partials/picture.html",
        lambda t: t.replace('alt="{{ img.alt }}"', 'alt="{{ img.alt }}" data-neu=""'),
    )
    result = site.build()
    built = _same_as_clean(site, tmp_path, "picture")
    showing = _showing(built, "data-neu")
    assert "index.html" in showing and "projekte/index.html" in showing
    assert showing <= result.rendered

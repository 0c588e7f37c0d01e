"""Whole-site golden tests: each fixture site must build to exactly tests/golden/<name>.

Regenerate after an intended change with ``make golden`` and review the diff.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, TEMPLATES, build_site_at, copy_fixture_site

GOLDEN = Path(__file__).resolve().parent / "golden"
# Unminified (build --no-minify), so that a golden diff reads line by line;
# test_minified_pages_show_the_same compares the default, minified output with these.
CASES = {
    # name: (fixture site, build options)
    "minimal": ("minimal", {"minify": False}),
    "full": ("full", {"minify": False}),
    "full-preview": ("full", {"drafts": True, "future": True, "minify": False}),
}


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): _without_asset_hashes(p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file()
        and not _is_search_index(root, p)
        and not _is_theme_copy(root, p)
        and p.suffix not in (".gz", ".br")  # binary; tests/test_precompress.py checks them
    }


# A theme file's name carries the hash of its bytes (render/assets.py); an edit to the
# stylesheet would otherwise rewrite every golden page. The names themselves are
# checked by test_theme_assets_have_content_hashed_names.
_ASSET_HASH = re.compile(rb"(/assets/[\w/.-]*?)\.[0-9a-f]{8}(\.[a-z]+)\b")


def _without_asset_hashes(data: bytes) -> bytes:
    return _ASSET_HASH.sub(rb"\1.HASH\2", data)


def _is_theme_copy(root: Path, path: Path) -> bool:
    """assets/ holds verbatim copies of templates/assets/: storing them three more
    times would only repeat the theme; test_theme_assets_are_copied_verbatim checks them."""
    return path.relative_to(root).parts[0] == "assets"


def _is_search_index(root: Path, path: Path) -> bool:
    """pagefind/ is left out: it is byte-stable (tests/test_search.py builds it twice),
    but it is binary and holds Pagefind's engine, so every Pagefind upgrade would
    rewrite the goldens without a reviewable diff; test_search.py checks its content."""
    return path.relative_to(root).parts[0] == "pagefind"


@pytest.mark.parametrize("case", sorted(CASES))
def test_site_matches_golden(case: str, tmp_path: Path, update_golden: bool) -> None:
    fixture, options = CASES[case]
    if not (FIXTURES / "sites" / fixture).is_dir():
        pytest.fail(f"fixture site {fixture} is missing")
    root = copy_fixture_site(fixture, tmp_path / "site")
    output = tmp_path / "out"
    build_site_at(root, output=output, **options)
    actual = _tree(output)
    golden_dir = GOLDEN / case
    if update_golden:
        shutil.rmtree(golden_dir, ignore_errors=True)
        for rel, data in actual.items():
            (golden_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            (golden_dir / rel).write_bytes(data)
        return
    expected = _tree(golden_dir)
    assert sorted(actual) == sorted(expected), "file lists differ (run `make golden` if intended)"
    diffs = []
    for rel in sorted(expected):
        if actual[rel] != expected[rel]:
            try:
                old, new = expected[rel].decode(), actual[rel].decode()
            except UnicodeDecodeError:
                diffs.append(f"binary file {rel} differs")
                continue
            diffs.append(
                "".join(
                    difflib.unified_diff(
                        old.splitlines(keepends=True),
                        new.splitlines(keepends=True),
                        f"golden/{case}/{rel}",
                        f"built/{rel}",
                    )
                )
            )
    assert not diffs, "\n".join(diffs)[:20000]


def test_theme_assets_have_content_hashed_names(tmp_path: Path) -> None:
    """Every theme file is published once, under a name with the hash of its bytes, and
    pages name exactly those files; a second build gives the same names."""
    root = copy_fixture_site("full", tmp_path / "site")
    output = tmp_path / "out"
    build_site_at(root, output=output, minify=True)
    theme = TEMPLATES / "assets"
    sources = sorted(p.relative_to(theme).as_posix() for p in theme.rglob("*") if p.is_file())
    copied = output / "assets"
    published = {
        p.relative_to(copied).as_posix(): p
        for p in copied.rglob("*")
        if p.is_file() and p.suffix not in (".gz", ".br")  # test_precompress.py
    }
    unhashed = {re.sub(r"\.[0-9a-f]{8}(\.[a-z]+)$", r"\1", rel): rel for rel in published}
    # The fixture has a brand theme: its generated stylesheet joins the theme's files.
    assert sorted(unhashed) == sorted([*sources, "css/marke.css"])
    for rel, path in published.items():
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
        assert rel.rsplit(".", 2)[1] == digest, rel
    home = (output / "index.html").read_text(encoding="utf-8")
    named = set(re.findall(r"/sub/assets/([\w/.-]+)", home))
    assert named == {
        unhashed[n] for n in ("favicon.svg", "css/site.css", "css/print.css", "css/marke.css")
    } | {
        unhashed[n]
        for n in ("icons/leichte-sprache.svg", "icons/gebaerdensprache.svg")
        if f"/sub/assets/{unhashed[n]}" in home
    }
    again = tmp_path / "again"
    build_site_at(copy_fixture_site("full", tmp_path / "site2"), output=again, minify=True)
    assert sorted(p.name for p in (again / "assets").rglob("*")) == sorted(
        p.name for p in copied.rglob("*")
    )

"""Precompressed siblings (precompress.py): ``page.html.gz`` and ``.br`` beside text files.

They must decompress to exactly the file beside them, be the same bytes on every
build, and follow their file through incremental builds: a changed page gets new
ones, a removed page takes its own with it.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
from pathlib import Path

import brotli
import pytest

from kldigital_site import precompress
from kldigital_site.build import build
from kldigital_site.config import load_config
from kldigital_site.precompress import MIN_SIZE, TEXT_SUFFIXES
from kldigital_site.render import pages
from tests.conftest import NOW, TEMPLATES, build_site_at, copy_fixture_site

RELEASE = "content/presse/2025-08-26-digitale-sprechstunde.md"
RELEASE_PAGE = "presse/digitale-sprechstunde/index.html"


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_siblings_decompress_to_the_file_beside_them(tmp_path: Path) -> None:
    root = copy_fixture_site("full", tmp_path / "site")
    build_site_at(root, output=tmp_path / "out", minify=True)
    files = _files(tmp_path / "out")
    texts = [
        rel
        for rel, data in files.items()
        if Path(rel).suffix in TEXT_SUFFIXES and not rel.startswith("pagefind/")
    ]
    large = [rel for rel in texts if len(files[rel]) >= MIN_SIZE]
    # Pages, the theme's stylesheet and script, feeds, the sitemap, newsroom files.
    for wanted in ("index.html", "sitemap.xml", "presse/feed.xml", RELEASE_PAGE):
        assert wanted in large
    assert any(rel.startswith("assets/js/search.") for rel in large)
    # The journalists' downloads are left as they are (precompress.py).
    newsroom = [rel for rel in files if rel.endswith((".eml", ".txt", ".vcf"))]
    assert any(len(files[rel]) >= MIN_SIZE for rel in newsroom)
    assert not [rel for rel in newsroom if f"{rel}.gz" in files or f"{rel}.br" in files]
    for rel in large:
        zipped = files[f"{rel}.gz"]
        assert gzip.decompress(zipped) == files[rel], rel
        assert brotli.decompress(files[f"{rel}.br"]) == files[rel], rel
        # No time and no file name in the gzip header: the same bytes on every build.
        assert zipped[3] == 0 and zipped[4:8] == b"\0\0\0\0", rel
        assert len(zipped) < len(files[rel]), rel
    small = set(texts) - set(large)
    # Below MIN_SIZE: no siblings (the favicon is a few hundred bytes).
    assert any(rel.startswith("assets/favicon.") for rel in small)
    siblings = {rel for rel in files if rel.endswith((".gz", ".br"))}
    assert siblings == {f"{rel}{suffix}" for rel in large for suffix in (".gz", ".br")}
    # Pagefind's bundle is compressed by Pagefind (its .pf_ files) or left to the server.
    assert not any(rel.startswith("pagefind/") for rel in siblings)


def test_siblings_follow_their_page_through_incremental_builds(tmp_path: Path) -> None:
    root = copy_fixture_site("full", tmp_path / "site")
    out = tmp_path / "out"
    build_site_at(root, output=out, minify=True)
    before = (out / f"{RELEASE_PAGE}.gz").read_bytes()
    release = root / RELEASE
    release.write_text(
        release.read_text(encoding="utf-8") + "\nEin neuer Absatz am Ende.\n", encoding="utf-8"
    )
    result = build_site_at(root, output=out, minify=True)
    assert result.report is not None
    assert {f"{RELEASE_PAGE}.gz", f"{RELEASE_PAGE}.br"} <= set(result.report.written)
    after = (out / f"{RELEASE_PAGE}.gz").read_bytes()
    assert after != before
    assert b"Ein neuer Absatz am Ende." in gzip.decompress(after)
    assert (
        brotli.decompress((out / f"{RELEASE_PAGE}.br").read_bytes())
        == (out / RELEASE_PAGE).read_bytes()
    )
    # An unchanged page keeps its siblings, the very same files.
    assert "index.html.gz" not in result.report.written and (out / "index.html.gz").is_file()

    release.unlink()
    result = build_site_at(root, output=out, minify=True)
    assert result.report is not None
    assert {RELEASE_PAGE, f"{RELEASE_PAGE}.gz", f"{RELEASE_PAGE}.br"} <= set(result.report.removed)
    assert not (out / RELEASE_PAGE).parent.exists()

    clean = tmp_path / "clean"
    build_site_at(root, output=clean, minify=True, use_cache=False)
    digests = {rel: hashlib.sha256(data).hexdigest() for rel, data in _files(clean).items()}
    assert {rel: hashlib.sha256(d).hexdigest() for rel, d in _files(out).items()} == digests


def test_a_deleted_sibling_is_made_again(tmp_path: Path) -> None:
    root = copy_fixture_site("minimal", tmp_path / "site")
    out = tmp_path / "out"
    build_site_at(root, output=out)
    (out / "index.html.br").unlink()
    build_site_at(root, output=out)
    assert (
        brotli.decompress((out / "index.html.br").read_bytes()) == (out / "index.html").read_bytes()
    )


def test_a_template_change_that_leaves_a_page_as_it_was_compresses_nothing_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = copy_fixture_site("full", tmp_path / "site")
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    out = tmp_path / "out"
    config = load_config(root / "content", templates, out, minify=True)
    build(config, now=NOW, jobs=1)
    before = _files(out)
    # A comment: every page is rendered again, and minified to the bytes it had.
    base = templates / "base.html"
    base.write_text(base.read_text(encoding="utf-8") + "{# neu #}<!-- neu -->\n", "utf-8")
    compressed: list[str] = []

    def counting(path: str, data: bytes) -> tuple[tuple[str, bytes], ...]:
        compressed.append(path)
        return precompress.siblings(path, data)

    monkeypatch.setattr(pages, "siblings", counting)
    result = build(config, now=NOW, jobs=1)
    assert RELEASE_PAGE in result.rendered
    assert compressed == []
    assert result.report is not None and result.report.written == ()
    assert _files(out) == before

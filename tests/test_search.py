"""Issue 5: the full-text search index that every build writes to pagefind/.

Reads the bundle back without a browser: every fragment file holds one indexed
page as JSON (URL, the indexed text, meta data, filters), so the tests can say
exactly which pages are searchable and with which words. Stemming and the
ranking in the browser are checked in test_search_browser.py.

Shards: the fixtures are far below ``shards.SHARD_PAGES`` pages, so they get
one bundle; the ``small_shards`` fixture lowers it to 6, which splits the
full fixture's 22 indexed pages into 4 shards.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner

from kldigital_site import edit_build
from kldigital_site.build import build
from kldigital_site.cache import CACHE_DIR_NAME
from kldigital_site.cli import cli
from kldigital_site.config import load_config
from kldigital_site.errors import BuildFailed
from kldigital_site.output import read_manifest
from kldigital_site.search import client as pagefind_client
from kldigital_site.search import head_start as head_starts
from kldigital_site.search import indexer as search
from kldigital_site.search import shards
from kldigital_site.search.compounds import MARK
from kldigital_site.search.extract import search_digest, search_extract
from tests.conftest import NOW, TEMPLATES, build_site_at, copy_fixture_site, write_files

# Pagefind's files start with this signature after gunzip.
_SIGNATURE = b"pagefind_dcd"
FULL_DETAIL_PAGES = {
    "/projekte/buergerbeteiligung-online/",
    "/projekte/mobilitaetsdaten/",
    "/projekte/intelligente-strassenbeleuchtung/",
    "/projekte/verwaltung-digital/",
}


def indexed_pages(out: Path) -> dict[str, dict[str, Any]]:
    """URL → fragment (``content``, ``meta``, ``filters``) of every page in out/pagefind.

    Reads every shard (pagefind/fragment/, pagefind/teil-<n>/fragment/).
    """
    pages = {}
    for path in sorted((out / "pagefind").rglob("*.pf_fragment")):
        assert path.parent.name == "fragment", path
        data = gzip.decompress(path.read_bytes())
        assert data.startswith(_SIGNATURE), path
        fragment = json.loads(data[len(_SIGNATURE) :])
        assert fragment["url"] not in pages, f"{fragment['url']} in two shards"
        pages[fragment["url"]] = fragment
    return pages


def shard_folders(out: Path) -> list[str]:
    """The shard bundles in out/pagefind: "pagefind/", "pagefind/teil-1/", …"""
    bundle = out / "pagefind"
    teile = sorted(int(p.name.removeprefix("teil-")) for p in bundle.glob("teil-*"))
    assert teile == list(range(1, len(teile) + 1)), teile
    return ["pagefind/"] + [f"pagefind/teil-{n}/" for n in teile]


@pytest.fixture
def small_shards(monkeypatch: pytest.MonkeyPatch) -> int:
    """Six pages per shard: the full fixture's 22 indexed pages make 4 shards."""
    monkeypatch.setattr(shards, "SHARD_PAGES", 6)
    return 4


def words_of(fragment: dict[str, Any]) -> set[str]:
    """The words of an indexed page as written (the index marks compound parts, issue 18)."""
    content = str(fragment["content"]).replace(MARK, "")
    return {w.strip(".,:;!?()„“–").casefold() for w in content.split()}


@pytest.fixture(scope="module")
def full_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_fixture_site("full", tmp_path_factory.mktemp("full") / "site")
    out = root.parent / "out"
    build_site_at(root, output=out)
    return out


def test_bundle_is_written_under_pagefind(full_build: Path) -> None:
    bundle = full_build / "pagefind"
    assert (bundle / "pagefind.js").is_file()
    assert (bundle / "pagefind-worker.js").is_file()
    assert (bundle / "wasm.de.pagefind").is_file()
    entry = json.loads((bundle / "pagefind-entry.json").read_text(encoding="utf-8"))
    assert list(entry["languages"]) == ["de"], "one German index (stemming for German)"
    # Pagefind's own UIs are not shipped: the site has its own (CSP-safe) one.
    shipped = {p.name for p in bundle.iterdir()}
    assert not any(
        name.startswith(("pagefind-ui", "pagefind-modular", "pagefind-component"))
        for name in shipped
    )
    assert "wasm.unknown.pagefind" not in shipped
    manifest = read_manifest(full_build, full_build.parent / "site" / CACHE_DIR_NAME)
    assert manifest is not None and "pagefind/pagefind.js" in manifest, "written with the rest"


def test_only_published_detail_pages_are_indexed(full_build: Path) -> None:
    urls = set(indexed_pages(full_build))
    assert urls >= FULL_DETAIL_PAGES
    assert "/ueber-uns/" in urls
    assert "/presse/mitmachplattform/" in urls
    # Lists repeat the detail pages' titles and summaries: not results of their own.
    for listing in (
        "/",
        "/projekte/",
        "/smart-city/",
        "/presse/",
        "/presse/seite/2/",
        "/presse/2023/",
        "/themen/",
        "/themen/energie/",
        "/suche/",
        "/404.html",
    ):
        assert listing not in urls, listing
    # Drafts and embargoed releases are not published.
    assert "/projekte/entwurf-projekt/" not in urls
    assert not any("entwurf" in url or "sperrfrist" in url or "zukunft" in url for url in urls)
    assert all(url.startswith("/") and not url.startswith("/sub/") for url in urls), (
        "site paths: the browser adds the base path"
    )


def test_preview_build_still_keeps_drafts_out_of_the_index(tmp_path: Path) -> None:
    root = copy_fixture_site("full", tmp_path / "site")
    out = tmp_path / "out"
    build_site_at(root, output=out, drafts=True, future=True)
    assert (out / "projekte" / "entwurf-projekt" / "index.html").is_file()
    urls = set(indexed_pages(out))
    assert "/projekte/entwurf-projekt/" not in urls
    assert not any("sperrfrist" in url or "zukunft" in url for url in urls)
    assert urls >= FULL_DETAIL_PAGES


def test_only_the_main_content_is_indexed(full_build: Path) -> None:
    pages = indexed_pages(full_build)
    for url, fragment in pages.items():
        text = fragment["content"]
        assert "ist ein Angebot der" not in text, f"footer indexed on {url}"
        assert "Zum Inhalt springen" not in text, f"skip link indexed on {url}"
        assert "Hauptnavigation" not in text
        assert "Pressekontakt" not in text, f"contacts indexed on {url}"
        # The boilerplate ("Presseabbinder") is the same on every release.
        assert "erprobt neue Technologien" not in text, f"boilerplate indexed on {url}"
        assert "kurzer Abbinder" not in text, f"boilerplate indexed on {url}"
    assert "/presse/jahresrueckblick-2024/" in pages, "a release with the short boilerplate"


def test_pages_carry_title_type_date_and_filters(full_build: Path) -> None:
    pages = indexed_pages(full_build)
    project = pages["/projekte/buergerbeteiligung-online/"]
    assert project["meta"]["title"] == "Bürgerbeteiligung online"
    assert project["meta"]["typ"] == "Projekt"
    assert project["filters"]["typ"] == ["Projekt"]
    assert project["filters"]["smart_city"] == ["Smart City"]
    assert sorted(project["filters"]["thema"]) == ["Bürgerbeteiligung", "Stadtgesellschaft"]
    plain = pages["/projekte/intelligente-strassenbeleuchtung/"]
    assert "smart_city" not in plain["filters"]
    release = pages["/presse/mitmachplattform/"]
    assert release["meta"]["typ"] == "Pressemitteilung"
    assert release["meta"]["datum"] == "17. Januar 2023"
    assert release["meta"]["datum_iso"].startswith("2023-01-17")
    assert "smart_city" not in release["filters"], "the Smart-City filter means projects"
    page = pages["/ueber-uns/"]
    assert page["filters"]["typ"] == ["Seite"]
    assert page["meta"]["title"] == "Über uns"


def test_search_page_and_header_field(full_build: Path) -> None:
    html = (full_build / "suche" / "index.html").read_text(encoding="utf-8")
    # Under the sub-path: Pagefind and the result links get the base path.
    assert 'data-pagefind-url="/sub/pagefind/pagefind.js"' in html
    assert "data-pagefind-merge" not in html, "one shard: nothing to merge"
    assert 'data-base-url="/sub/"' in html
    assert re.search(r'src="/sub/assets/js/search\.[0-9a-f]{8}\.js"', html)
    # Without JavaScript: directions to the lists instead of an empty box.
    for link in ("/sub/projekte/", "/sub/presse/", "/sub/themen/"):
        assert f'href="{link}"' in html
    assert "data-search-app hidden" in html
    assert "<script>" not in html and " style=" not in html, "CSP: no inline script or style"
    page = (full_build / "projekte" / "mobilitaetsdaten" / "index.html").read_text("utf-8")
    assert 'action="/sub/suche/"' in page and 'name="q"' in page
    assert '<label class="visually-hidden" for="kopfsuche">Suche</label>' in page


def _edit(root: Path, rel: str, old: str, new: str) -> None:
    path = root / "content" / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, (rel, old)
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_incremental_builds_keep_the_index_right(tmp_path: Path) -> None:
    root = copy_fixture_site("full", tmp_path / "site")
    out = tmp_path / "out"
    build_site_at(root, output=out)
    url = "/projekte/intelligente-strassenbeleuchtung/"
    assert "zitronenfalter" not in words_of(indexed_pages(out)[url])
    old_word = "leuchten"
    assert old_word in words_of(indexed_pages(out)[url])

    # A changed page: the new word is found, the old one no longer.
    path = root / "content" / "projekte" / "strassenbeleuchtung.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("Leuchten", "Zitronenfalter").replace("leuchten", "Zitronenfalter"),
        encoding="utf-8",
    )
    build_site_at(root, output=out)
    words = words_of(indexed_pages(out)[url])
    assert "zitronenfalter" in words
    assert old_word not in words

    # A deleted page: gone from the index, and its fragment file with it.
    (root / "content" / "projekte" / "verwaltung-digital.md").unlink()
    build_site_at(root, output=out)
    pages = indexed_pages(out)
    assert "/projekte/verwaltung-digital/" not in pages
    assert url in pages
    listed = read_manifest(out, root / CACHE_DIR_NAME) or {}
    fragments = {p for p in listed if p.startswith("pagefind/fragment/")}
    assert len(fragments) == len(pages), "no stale fragment left behind"


def test_unchanged_site_reuses_the_cached_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = copy_fixture_site("minimal", tmp_path / "site")
    build_site_at(root, output=tmp_path / "a")
    cache_file = root / ".kldigital-cache" / "search" / "teil-0.bin"
    assert cache_file.is_file()

    def no_pagefind() -> None:
        raise AssertionError("Pagefind ran although no indexed page changed")

    monkeypatch.setattr(search, "PagefindProcess", no_pagefind)
    build_site_at(root, output=tmp_path / "b")  # a fresh output folder: only our cache helps
    bundle_a = _bundle(tmp_path / "a")
    assert bundle_a == _bundle(tmp_path / "b"), "byte-identical bundle from the cache"


def _bundle(out: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted((out / "pagefind").rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize(
    "damage",
    [b"{not json", b"kldigital-search 999 abc\n{}\n", "checksum", "truncated"],
    ids=["unreadable", "other-version", "checksum", "truncated"],
)
def test_a_damaged_cache_is_discarded(tmp_path: Path, damage: bytes | str) -> None:
    root = copy_fixture_site("minimal", tmp_path / "site")
    build_site_at(root, output=tmp_path / "a")
    cache_file = root / ".kldigital-cache" / "search" / "teil-0.bin"
    data = cache_file.read_bytes()
    if damage == "checksum":
        # The key line still matches: the damage shows only when the files are read.
        cache_file.write_bytes(data[:-10] + bytes(b ^ 0xFF for b in data[-10:]))
    elif damage == "truncated":
        cache_file.write_bytes(data[: len(data) // 2])
    else:
        assert isinstance(damage, bytes)
        cache_file.write_bytes(damage)
    build_site_at(root, output=tmp_path / "b")
    assert _bundle(tmp_path / "b") == _bundle(tmp_path / "a")
    assert cache_file.read_bytes() == data, "rewritten from a fresh Pagefind run"


def test_no_cache_neither_reads_nor_writes_the_search_cache(tmp_path: Path) -> None:
    root = copy_fixture_site("minimal", tmp_path / "site")
    result = CliRunner().invoke(
        cli,
        [
            "build",
            "--content",
            str(root / "content"),
            "--templates",
            str(TEMPLATES),
            "--output",
            str(tmp_path / "out"),
            "--no-cache",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "pagefind" / "pagefind.js").is_file()
    assert not (root / ".kldigital-cache" / "search").exists()


@pytest.mark.parametrize("shard_pages", [500, 6], ids=["one-bundle", "four-shards"])
def test_two_cold_builds_give_byte_identical_bundles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shard_pages: int
) -> None:
    """Pagefind orders filters by a randomly seeded hash map; the build makes them canonical.

    Two builds without cache, each running Pagefind in a fresh process, into
    different folders: every file in pagefind/ has the same name and bytes,
    with one bundle and with four shards.
    """
    monkeypatch.setattr(shards, "SHARD_PAGES", shard_pages)
    root = copy_fixture_site("full", tmp_path / "site")
    bundles = []
    for name in ("a", "b"):
        result = CliRunner().invoke(
            cli,
            [
                "build",
                "--content",
                str(root / "content"),
                "--templates",
                str(TEMPLATES),
                "--output",
                str(tmp_path / name),
                "--no-cache",
            ],
        )
        assert result.exit_code == 0, result.output
        bundles.append(_bundle(tmp_path / name))
    first, second = bundles
    assert sorted(first) == sorted(second)
    assert first == second
    folders = shard_folders(tmp_path / "a")
    filters = [path for path in first if re.fullmatch(r"pagefind/(teil-\d+/)?filter/.*", path)]
    if shard_pages == 500:
        assert folders == ["pagefind/"]
        assert len(filters) == 3, "typ, smart_city and thema: the files that used to vary"
    else:
        assert len(folders) == 4
        assert len(filters) >= 8, "each shard has its filter files (typ, thema at least)"


def test_shards_split_the_index_and_ship_only_what_merging_needs(
    tmp_path: Path, small_shards: int
) -> None:
    root = copy_fixture_site("full", tmp_path / "site")
    out = tmp_path / "out"
    site = build_site_at(root, output=out).site
    folders = shard_folders(out)
    assert len(folders) == small_shards
    # Every published detail page once, in the shard its URL hashes to.
    for folder in folders:
        number = 0 if folder == "pagefind/" else int(folder.split("-")[1].rstrip("/"))
        urls = set(indexed_pages_in(out / folder))
        assert urls, f"{folder}: no empty shard"
        assert all(shards.shard_of(url, small_shards) == number for url in urls), folder
    assert set(indexed_pages(out)) == {page.url for page in shards.search_pages(site)}
    # Shard 0 is the bundle with Pagefind's script, worker and engine; the
    # others hold only what pagefind.js's mergeIndex fetches.
    assert (out / "pagefind" / "pagefind.js").is_file()
    assert (out / "pagefind" / "wasm.de.pagefind").is_file()
    for folder in folders[1:]:
        shipped = {p.relative_to(out / folder).as_posix() for p in (out / folder).rglob("*")}
        top = {name for name in shipped if "/" not in name}
        assert top - {"index", "filter", "fragment"} == {
            "pagefind-entry.json",
            next(name for name in top if re.fullmatch(r"pagefind\.de_\w+\.pf_meta", name)),
        }, shipped
    # The search page names the further shards, under the base path.
    html = (out / "suche" / "index.html").read_text(encoding="utf-8")
    merge = re.search(r"data-pagefind-merge='([^']*)'", html)
    assert merge is not None
    assert json.loads(merge.group(1)) == ["/sub/" + folder for folder in folders[1:]]


def indexed_pages_in(bundle: Path) -> set[str]:
    urls = set()
    for path in (bundle / "fragment").glob("*.pf_fragment"):
        urls.add(json.loads(gzip.decompress(path.read_bytes())[len(_SIGNATURE) :])["url"])
    return urls


def test_shard_assignment_is_stable_and_the_count_follows_the_pages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    urls = [f"/presse/mitteilung-{i:05}/" for i in range(10_000)]
    assert shards.SHARD_PAGES == 500
    counts = {n: shards.shard_count(urls[:n]) for n in (0, 1, 500, 501, 1000, 1001, 2001, 10_000)}
    assert counts == {0: 1, 1: 1, 500: 1, 501: 2, 1000: 2, 1001: 4, 2001: 8, 10_000: 32}
    # A hash of the URL, not Python's hash(): the same in every process and
    # on every machine, so the cache of each shard stays valid across builds.
    assert [shards.shard_of(url, 32) for url in urls[:6]] == [26, 6, 21, 11, 12, 24]
    # When the shards double, each splits in two: shard s into s and s + count.
    for url in urls[:2000]:
        for count in (1, 2, 4, 8, 16):
            before = shards.shard_of(url, count)
            assert shards.shard_of(url, 2 * count) in (before, before + count)
    sizes = Counter(shards.shard_of(url, 32) for url in urls)
    assert len(sizes) == 32 and max(sizes.values()) <= shards.SHARD_PAGES
    # Never a shard without pages (Pagefind cannot make a bundle of none),
    # even when tiny shards make that likely.
    monkeypatch.setattr(shards, "SHARD_PAGES", 1)
    for n in range(1, 40):
        count = shards.shard_count(urls[:n])
        assert {shards.shard_of(url, count) for url in urls[:n]} == set(range(count)), n


class _CountingProcess(pagefind_client.PagefindProcess):
    """The real Pagefind process, recording which pages each bundle written got, in order
    (those the search head start begins included, search/head_start.py)."""

    started: ClassVar[list[_CountingProcess]] = []

    def __init__(self) -> None:
        super().__init__()
        self.bundles: list[list[str]] = []
        self._pages: dict[int, list[str]] = {}
        _CountingProcess.started.append(self)

    def add(
        self, bundle: pagefind_client.Bundle, pages: Sequence[pagefind_client.PageSource]
    ) -> None:
        self._pages.setdefault(id(bundle), []).extend(page.url for page in pages)
        super().add(bundle, pages)

    def write(self, bundle: pagefind_client.Bundle) -> dict[str, bytes]:
        self.bundles.append(self._pages.pop(id(bundle), []))
        return super().write(bundle)


def _indexed_bundles() -> list[list[str]]:
    return [bundle for process in _CountingProcess.started for bundle in process.bundles]


def test_a_body_edit_reindexes_only_the_shard_of_that_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_shards: int
) -> None:
    monkeypatch.setattr(search, "PagefindProcess", _CountingProcess)
    monkeypatch.setattr(head_starts, "PagefindProcess", _CountingProcess)
    _CountingProcess.started.clear()
    root = copy_fixture_site("full", tmp_path / "site")
    out = tmp_path / "out"
    site = build_site_at(root, output=out).site
    processes = len(_CountingProcess.started)
    assert 1 <= processes <= search.PAGEFIND_PROCESSES, "a process for several shards"
    assert len(_indexed_bundles()) == small_shards
    all_urls = sorted(page.url for page in shards.search_pages(site))
    assert sorted(url for bundle in _indexed_bundles() for url in bundle) == all_urls
    before = _bundle(out)

    url = "/projekte/intelligente-strassenbeleuchtung/"
    shard = shards.shard_of(url, small_shards)
    path = root / "content" / "projekte" / "strassenbeleuchtung.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nZitronenfalter.\n", encoding="utf-8")
    _CountingProcess.started.clear()
    build_site_at(root, output=out)
    same_shard = [u for u in all_urls if shards.shard_of(u, small_shards) == shard]
    assert _indexed_bundles() == [same_shard], "only the edited page's shard, in URL order"
    assert "zitronenfalter" in words_of(indexed_pages(out)[url])
    after = _bundle(out)
    changed = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    folder = shards.shard_dir(shard)
    assert changed and all(
        p.startswith(folder) and (shard > 0 or not p.startswith("pagefind/teil-")) for p in changed
    ), changed

    # Nothing changed (a fresh output folder, so every page renders): no Pagefind at all.
    _CountingProcess.started.clear()
    build_site_at(root, output=tmp_path / "fresh")
    assert _CountingProcess.started == []
    assert _bundle(tmp_path / "fresh") == after, "the cached shards, byte for byte"


def test_a_body_edit_seals_the_index_as_soon_as_the_edited_page_has_rendered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The kept pages are known to the index before rendering begins (build.py
    # ``announce``): Pagefind starts after the one changed page, not after the build
    # has handed on every kept detail page one by one (issue 15). The whole way's:
    # the command line's short way for an edit of bodies (edit_build.py) starts
    # Pagefind before it adds any file, tests/test_edit_build.py.
    monkeypatch.setattr(edit_build, "edit_candidate", lambda *args: None)
    root = copy_fixture_site("full", tmp_path / "site")
    out = tmp_path / "out"
    site = build_site_at(root, output=out).site
    handed: list[str] = []
    at_seal: list[list[str]] = []
    add, seal = search.SearchIndexer.add, search.SearchIndexer.seal

    def counting_add(self: search.SearchIndexer, path: str, digest: str, html: Any) -> None:
        if self.indexes(path):
            handed.append(path)
        add(self, path, digest, html)

    def noting_seal(self: search.SearchIndexer) -> None:
        at_seal.append(list(handed))
        seal(self)

    monkeypatch.setattr(search.SearchIndexer, "add", counting_add)
    monkeypatch.setattr(search.SearchIndexer, "seal", noting_seal)
    path = root / "content" / "projekte" / "strassenbeleuchtung.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nZitronenfalter.\n", encoding="utf-8")
    build_site_at(root, output=out)
    assert len(shards.search_pages(site)) > 10
    assert at_seal[0] == ["projekte/intelligente-strassenbeleuchtung/index.html"]
    assert "zitronenfalter" in words_of(
        indexed_pages(out)["/projekte/intelligente-strassenbeleuchtung/"]
    )
    clean = tmp_path / "clean"
    build_site_at(root, output=clean, use_cache=False)
    assert _bundle(out) == _bundle(clean)


def test_pagefind_gets_only_the_indexed_element_and_makes_the_same_bundle(
    full_build: Path,
) -> None:
    """search/extract.py: the data-pagefind-body element alone gives Pagefind the bundle of the
    whole page, byte for byte (titles, excerpts, filters, metadata, sub-results)."""
    urls = sorted(indexed_pages(full_build))
    whole = {url: (full_build / url.lstrip("/") / "index.html").read_bytes() for url in urls}
    extracts = {url: search_extract(data) for url, data in whole.items()}
    assert all(len(extracts[url]) < len(whole[url]) for url in urls), "no page fell back"
    assert all(b"<nav" not in data for data in extracts.values())
    with pagefind_client.PagefindProcess() as process:
        bundles = [
            process.index(
                [pagefind_client.PageSource(url, url, lambda d=pages[url]: d) for url in urls]
            )
            for pages in (whole, extracts)
        ]
    assert bundles[0] == bundles[1]


@pytest.mark.parametrize(
    "page",
    [
        b"<html><body><main><p>no marked element</p></main></body></html>",
        b"<html><body><main data-pagefind-body>a</main><p data-pagefind-body>b</p></body></html>",
        b'<html><body><main data-pagefind-body>a</main><p data-pagefind-meta="x">b</p></body>',
        b"<html><body><h1>Titel</h1><main data-pagefind-body>a</main></body></html>",
        b"<html><body><main data-pagefind-body><h1>T</h1></main><img src=x alt=y></body></html>",
        b"<html><body><main data-pagefind-body><main>a</main></body></html>",
    ],
    ids=["no-body", "two-bodies", "meta-outside", "h1-outside", "img-after", "unclosed"],
)
def test_pages_whose_frame_pagefind_reads_are_indexed_whole(page: bytes) -> None:
    assert search_extract(page) == page


@pytest.mark.parametrize("wholly", ['"all"', "all"], ids=["as-written", "minified"])
def test_what_pagefind_ignores_wholly_changes_no_search_key(wholly: str) -> None:
    """A new title in a project's list of releases (data-pagefind-ignore="all") keeps the
    project's search key; text under a plain data-pagefind-ignore, whose filters Pagefind
    still reads, and an ignored gallery (its images might count) do not. Minified pages
    write the attribute without quotes (render/minify.py)."""

    def page(listed: str, chips: str = "Umwelt", gallery: str = "a") -> bytes:
        return (
            '<html lang="de"><body><article data-pagefind-body><h1>Projekt</h1><p>Text</p>'
            f"<section data-pagefind-ignore={wholly}><article><h3>{listed}</h3></article>"
            "</section>"
            f'<section data-pagefind-ignore><a data-pagefind-filter="thema">{chips}</a></section>'
            f'<div data-pagefind-ignore={wholly}><img src="{gallery}.jpg" alt=""></div>'
            "</article></body></html>"
        ).encode()

    base = search_digest(page("Alter Titel"))
    assert search_digest(page("Neuer Titel")) == base
    assert b"Alter Titel" not in search_extract(page("Alter Titel"))
    assert search_digest(page("Alter Titel", chips="Klima")) != base
    assert search_digest(page("Alter Titel", gallery="b")) != base


def test_a_new_frame_reindexes_nothing_a_new_article_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_shards: int
) -> None:
    """The search keys a page on what Pagefind indexes of it: a base template change renders
    every page again but starts no Pagefind; a change inside the indexed element does."""
    templates = shutil.copytree(TEMPLATES, tmp_path / "templates")
    root = copy_fixture_site("full", tmp_path / "site")
    out = tmp_path / "out"
    config = load_config(root / "content", templates, out)
    build(config, now=NOW)
    before = indexed_pages(out)
    monkeypatch.setattr(search, "PagefindProcess", _CountingProcess)
    _CountingProcess.started.clear()
    read_back: list[Path] = []
    read_cache = search._read_cache

    def spy(path: Path, key: str) -> dict[str, bytes] | None:
        read_back.append(path)
        return read_cache(path, key)

    monkeypatch.setattr(search, "_read_cache", spy)

    base = templates / "base.html"
    base.write_text(
        base.read_text(encoding="utf-8").replace("</body>", "<p>Zitronenfalter</p>\n</body>"),
        encoding="utf-8",
    )
    result = build(config, now=NOW)
    url = "/projekte/intelligente-strassenbeleuchtung/"
    assert f"{url.strip('/')}/index.html" in result.rendered
    assert "Zitronenfalter" in (out / url.strip("/") / "index.html").read_text(encoding="utf-8")
    assert _CountingProcess.started == [], "no page's indexed text changed"
    assert read_back == [], "published bundles stay without their cached bytes being read"
    assert indexed_pages(out) == before

    article = templates / "project.html"
    article.write_text(
        article.read_text(encoding="utf-8").replace(
            "</article>", "<p>Schmetterlingswiese</p>\n</article>", 1
        ),
        encoding="utf-8",
    )
    build(config, now=NOW)
    assert _indexed_bundles(), "the projects' shards went through Pagefind"
    pages = indexed_pages(out)
    assert "schmetterlingswiese" in words_of(pages[url])
    assert all(
        "schmetterlingswiese" not in words_of(p)
        for p in pages.values()
        if "/presse/" in str(p["url"])
    )


def test_a_frame_change_that_leaves_the_pages_as_they_were_reads_none_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A comment in the base template is not in the minified pages: every page renders
    again, but what the search reads of a page is taken from the last build for the same
    bytes, not worked out again; a visible change is."""
    from kldigital_site.render import pages as render_pages

    templates = shutil.copytree(TEMPLATES, tmp_path / "templates")
    root = copy_fixture_site("full", tmp_path / "site")
    out = tmp_path / "out"
    config = load_config(root / "content", templates, out)
    build(config, now=NOW, jobs=1)
    before = indexed_pages(out)
    read: list[bytes] = []
    digest_of = render_pages.search_digest

    def counting(data: bytes) -> str:
        read.append(data)
        return digest_of(data)

    monkeypatch.setattr(render_pages, "search_digest", counting)
    base = templates / "base.html"
    frame = base.read_text(encoding="utf-8")
    base.write_text(frame.replace("</body>", "<!-- Zitronenfalter -->\n</body>"), encoding="utf-8")
    result = build(config, now=NOW, jobs=1)
    assert "projekte/intelligente-strassenbeleuchtung/index.html" in result.rendered
    assert read == []
    assert indexed_pages(out) == before

    base.write_text(frame.replace("</main>", "<p>Zitronenfalter</p>\n</main>"), encoding="utf-8")
    result = build(config, now=NOW, jobs=1)
    assert len(read) == len(before) > 0
    assert all(b"Zitronenfalter" in data for data in read)


def test_unchanged_shards_are_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_shards: int
) -> None:
    """The indexer keeps a reader per page, and reads only the pages of changed shards."""
    root = copy_fixture_site("full", tmp_path / "site")
    out = tmp_path / "out"
    site = build_site_at(root, output=out).site
    pages = shards.search_pages(site)
    read: list[str] = []

    def feed(indexer: search.SearchIndexer, changed: str | None = None) -> None:
        for page in pages:
            data = (out / page.output_path).read_bytes()
            if page.output_path == changed:
                data = data.replace(b"</h1>", b" Zitronenfalter</h1>", 1)

            def reader(page: shards.SearchPage = page, data: bytes = data) -> bytes:
                read.append(page.url)
                return data

            indexer.add(page.output_path, search_digest(data), reader)
            indexer.add("presse/index.html", "0" * 64, b"a list: ignored")

    unchanged = search.SearchIndexer(site)
    feed(unchanged)
    assert list(unchanged.finish())
    assert read == [] and unchanged.indexed == []

    edited = pages[5]
    indexer = search.SearchIndexer(site)
    feed(indexer, changed=edited.output_path)
    outputs = {output.path: output.data for output in indexer.finish()}
    shard = shards.shard_of(edited.url, small_shards)
    assert indexer.indexed == [shard]
    assert sorted(read) == sorted(
        p.url for p in pages if shards.shard_of(p.url, small_shards) == shard
    )
    assert all(path.startswith("pagefind/") for path in outputs)


def test_keeping_the_index_keeps_every_shard(tmp_path: Path, small_shards: int) -> None:
    """build(search_index=False) (the dev server's first build) leaves all shards as they were."""
    root = copy_fixture_site("full", tmp_path / "site")
    out = tmp_path / "out"
    build_site_at(root, output=out)
    before = _bundle(out)
    assert any(path.startswith("pagefind/teil-") for path in before)
    path = root / "content" / "projekte" / "strassenbeleuchtung.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nZitronenfalter.\n", encoding="utf-8")
    config = load_config(root / "content", TEMPLATES, out)
    build(config, now=NOW, search_index=False)
    assert _bundle(out) == before


def test_check_builds_no_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_pagefind() -> None:
        raise AssertionError("check started Pagefind")

    monkeypatch.setattr(search, "PagefindProcess", no_pagefind)
    root = copy_fixture_site("full", tmp_path / "site")
    build_site_at(root, output=tmp_path / "out", write=False)
    assert not (root / ".kldigital-cache" / "search").exists()


def test_pagefind_failure_is_a_clear_build_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = copy_fixture_site("minimal", tmp_path / "site")
    out = tmp_path / "out"
    build_site_at(root, output=out, now=NOW)
    before = _bundle(out)
    write_files(root, {"content/seiten/impressum.md": "---\ntitle: Impressum neu\n---\nText.\n"})
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", "/bin/false")  # starts, then dies at once
    with pytest.raises(BuildFailed) as failed:
        build_site_at(root, output=out, now=NOW)
    messages = [str(p) for p in failed.value.problems]
    assert messages and all(m.startswith("pagefind: Suchindex: ") for m in messages), messages
    assert _bundle(out) == before, "the previous site stays as it was"

    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(tmp_path / "nicht-da"))
    result = CliRunner().invoke(
        cli,
        [
            "build",
            "--content",
            str(root / "content"),
            "--templates",
            str(TEMPLATES),
            "--output",
            str(out),
        ],
    )
    assert result.exit_code == 1
    assert "pagefind: Suchindex: Das Programm pagefind fehlt" in result.output
    assert "Traceback" not in result.output


def test_a_pagefind_failure_with_several_shards_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_shards: int
) -> None:
    """Two Pagefind processes at work on four shards: the failure is reported once."""
    root = copy_fixture_site("full", tmp_path / "site")
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", "/bin/false")
    with pytest.raises(BuildFailed) as failed:
        build_site_at(root, output=tmp_path / "out")
    messages = [str(p) for p in failed.value.problems]
    assert len(messages) == 1 and messages[0].startswith("pagefind: Suchindex: "), messages
    assert not (tmp_path / "out").exists(), "nothing written"


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux's /proc")
def test_the_wait_lasts_until_the_writer_has_closed_its_files(tmp_path: Path) -> None:
    """Pagefind answers write_files before its files are written (see search/client.py);
    the session waits until the process has closed them. Here a process that still
    writes a file stands in for it."""
    target = tmp_path / "pagefind-entry.json"
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            f"f = open({str(target)!r}, 'w')\n"
            "print('open', flush=True)\n"
            "time.sleep(0.3)\n"
            "f.write('{}')\n"
            "f.close()\n"
            "time.sleep(30)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "open\n"
        assert target.read_text() == "", "still being written"
        asyncio.run(pagefind_client._wait_until_written(writer.pid, str(tmp_path)))
        assert target.read_text() == "{}"
        assert writer.poll() is None, "the writer is still running: the file was closed"
    finally:
        writer.kill()
        writer.wait()

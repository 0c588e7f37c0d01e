"""Issue 5: the full-text search index that every build writes to pagefind/.

Reads the bundle back without a browser: every fragment file holds one indexed
page as JSON (URL, the indexed text, meta data, filters), so the tests can say
exactly which pages are searchable and with which words. Stemming and the
ranking in the browser are checked in test_search_browser.py.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner

from kldigital_site import pagefind_client, search
from kldigital_site.cli import cli
from kldigital_site.errors import BuildFailed
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
    """URL → fragment (``content``, ``meta``, ``filters``) of every page in out/pagefind."""
    pages = {}
    for path in sorted((out / "pagefind" / "fragment").glob("*.pf_fragment")):
        data = gzip.decompress(path.read_bytes())
        assert data.startswith(_SIGNATURE), path
        fragment = json.loads(data[len(_SIGNATURE) :])
        pages[fragment["url"]] = fragment
    return pages


def words_of(fragment: dict[str, Any]) -> set[str]:
    return {w.strip(".,:;!?()„“–").casefold() for w in str(fragment["content"]).split()}


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
    manifest = json.loads((full_build / ".kldigital-manifest.json").read_text(encoding="utf-8"))
    assert "pagefind/pagefind.js" in manifest["files"], "written with the rest of the site"


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
    assert 'data-base-url="/sub/"' in html
    assert 'src="/sub/assets/js/search.js"' in html
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
    listed = json.loads((out / ".kldigital-manifest.json").read_text(encoding="utf-8"))["files"]
    fragments = {p for p in listed if p.startswith("pagefind/fragment/")}
    assert len(fragments) == len(pages), "no stale fragment left behind"


def test_unchanged_site_reuses_the_cached_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = copy_fixture_site("minimal", tmp_path / "site")
    build_site_at(root, output=tmp_path / "a")
    cache_file = root / ".kldigital-cache" / "search" / search.CACHE_FILE
    assert cache_file.is_file()

    def no_pagefind() -> None:
        raise AssertionError("Pagefind ran although no indexed page changed")

    monkeypatch.setattr(search, "PagefindSession", no_pagefind)
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
    [b"{not json", b'{"format": 999, "key": "x", "files": {}}', "checksum"],
    ids=["unreadable", "other-version", "checksum"],
)
def test_a_damaged_cache_is_discarded(tmp_path: Path, damage: bytes | str) -> None:
    root = copy_fixture_site("minimal", tmp_path / "site")
    build_site_at(root, output=tmp_path / "a")
    cache_file = root / ".kldigital-cache" / "search" / search.CACHE_FILE
    if damage == "checksum":
        data = json.loads(cache_file.read_text(encoding="utf-8"))
        entry = data["files"]["pagefind.js"]
        entry["data"] = "AAAA"  # valid base64, wrong bytes
        cache_file.write_text(json.dumps(data), encoding="utf-8")
    else:
        assert isinstance(damage, bytes)
        cache_file.write_bytes(damage)
    build_site_at(root, output=tmp_path / "b")
    assert (
        _bundle(tmp_path / "b")["pagefind/pagefind.js"]
        == _bundle(tmp_path / "a")["pagefind/pagefind.js"]
    )
    assert json.loads(cache_file.read_text(encoding="utf-8"))["format"] == search.CACHE_FORMAT


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


def test_two_cold_builds_give_byte_identical_bundles(tmp_path: Path) -> None:
    """Pagefind orders filters by a randomly seeded hash map; the build makes them canonical.

    Two builds without cache, each running Pagefind in a fresh process, into
    different folders: every file in pagefind/ has the same name and bytes.
    """
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
    filters = [path for path in first if path.startswith("pagefind/filter/")]
    assert len(filters) == 3, "typ, smart_city and thema: the files that used to vary"


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


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux's /proc")
def test_the_wait_lasts_until_the_writer_has_closed_its_files(tmp_path: Path) -> None:
    """Pagefind answers write_files before its files are written (see pagefind_client.py);
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


class _FakeSession:
    """Records what the indexer hands to Pagefind."""

    started: ClassVar[list[_FakeSession]] = []

    def __init__(self) -> None:
        self.fed: list[str] = []
        _FakeSession.started.append(self)

    def feed(self, url: str, html: str, origin: str) -> None:
        self.fed.append(url)

    def seal(self) -> None:
        pass

    def abort(self) -> None:
        pass

    def result(self) -> dict[str, bytes]:
        return {"pagefind.js": b"//"}


def test_pagefind_starts_at_the_first_page_that_differs_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = copy_fixture_site("full", tmp_path / "site")
    site = build_site_at(root, output=tmp_path / "out").site
    pages = search.search_pages(site)
    html = {p.output_path: (tmp_path / "out" / p.output_path).read_bytes() for p in pages}

    def feed_all(indexer: search.SearchIndexer, changed: str | None = None) -> None:
        for page in pages:
            data = html[page.output_path] + (b"x" if page.output_path == changed else b"")
            indexer.add(page.output_path, hashlib.sha256(data).hexdigest(), data)
            indexer.add("presse/index.html", "0" * 64, b"a list: ignored")

    monkeypatch.setattr(search, "PagefindSession", _FakeSession)
    _FakeSession.started.clear()
    unchanged = search.SearchIndexer(site)
    feed_all(unchanged)
    assert unchanged.finish(), "the cached bundle"
    assert _FakeSession.started == [], "nothing changed: Pagefind is not started"

    third = pages[2].output_path
    changed = search.SearchIndexer(site)
    feed_all(changed, changed=third)
    changed.finish()
    assert len(_FakeSession.started) == 1
    assert _FakeSession.started[0].fed == [p.url for p in pages], "every page, in order"

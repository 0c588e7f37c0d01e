"""Issue 5: the search page in real Chromium (Debian's, driven by Playwright).

Builds the sample site (content/) at the server root, the full fixture site
under /sub/ and the sample site once more under /teile/ with its index split
into four shards (three pages per shard instead of 500) and under /ganz/ with
Pagefind reading every page whole (to compare with what the build gives it), serves them with the
standard library on 127.0.0.1 and searches them as a visitor would: German
words and their inflected forms, the filters, ?q= in the address, the header
field, no JavaScript, drafts, words from pages in every shard. Every page is
served with a strict Content-Security-Policy (as meta tag if the templates
lack one, and as header, which also binds Pagefind's web worker); a request
to any other host or a CSP violation fails the test. If the quality gates'
axe-core is installed (gates/node_modules), the page must have no WCAG 2.1 A/AA
violations.
"""

from __future__ import annotations

import contextlib
import functools
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest

from kldigital_site.build import build
from kldigital_site.config import load_config
from kldigital_site.search import indexer, shards
from tests.conftest import FIXTURES, NOW, REPO, TEMPLATES

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

# What the search needs beyond a plain strict policy: 'wasm-unsafe-eval' for
# Pagefind's WebAssembly, connect-src 'self' for its index files, worker-src
# 'self' for its web worker.
CSP = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; worker-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'"
)
AXE = REPO / "gates" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
TIMEOUT_MS = 15_000
# Pages per shard for the sharded copy of the sample site: its 14 indexed
# pages make four shards, and none of the Smart-City projects is in the first.
SHARDED_PAGES = 3


@dataclass
class Served:
    url: str  # site root, e.g. http://127.0.0.1:4711/sub/
    out: Path
    requests: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _templates_with_csp(target: Path) -> Path:
    """The project's templates, with the CSP as meta tag if base.html has none."""
    shutil.copytree(TEMPLATES, target)
    base = target / "base.html"
    html = base.read_text(encoding="utf-8")
    if "Content-Security-Policy" not in html:
        tag = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        html = html.replace('<meta charset="utf-8">', f'<meta charset="utf-8">\n{tag}', 1)
        assert tag in html, "base.html has no <meta charset> to put the CSP after"
        base.write_text(html, encoding="utf-8")
    return target


class _Handler(SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", CSP)
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def _serve(www: Path) -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(www)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _build(
    content: Path, templates: Path, out: Path, base_url: str, *, preview: bool = False
) -> None:
    config = load_config(content, templates, out, base_url=base_url, preview=preview)
    build(config, now=NOW, use_cache=False)


@pytest.fixture(scope="module")
def www(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    """One server: the sample site at / and in four shards at /teile/, the full fixture at /sub/."""
    work = tmp_path_factory.mktemp("search-browser")
    templates = _templates_with_csp(work / "templates")
    www = work / "www"
    _build(REPO / "content", templates, www, "https://www.example.org/")
    full = work / "full"
    shutil.copytree(FIXTURES / "sites" / "full", full)
    _build(full / "content", templates, www / "sub", "https://example.org/sub/")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(shards, "SHARD_PAGES", SHARDED_PAGES)
        _build(REPO / "content", templates, www / "teile", "https://www.example.org/teile/")
    # The same site with Pagefind reading each published page whole, as its own command
    # line would (compounds still marked): what the search gets must find the same.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(indexer, "search_extract", lambda page: page)
        _build(REPO / "content", templates, www / "ganz", "https://www.example.org/ganz/")
    # The preview (serve, build --preview) indexes drafts and embargoed releases.
    _build(
        REPO / "content",
        templates,
        www / "vorschau",
        "https://www.example.org/vorschau/",
        preview=True,
    )
    with _serve(www) as port:
        yield www, port


@pytest.fixture(scope="module")
def sample(www: tuple[Path, int]) -> Served:
    root, port = www
    return Served(f"http://127.0.0.1:{port}/", root)


@pytest.fixture(scope="module")
def subpath(www: tuple[Path, int]) -> Served:
    root, port = www
    return Served(f"http://127.0.0.1:{port}/sub/", root / "sub")


@pytest.fixture(scope="module")
def sharded(www: tuple[Path, int]) -> Served:
    root, port = www
    return Served(f"http://127.0.0.1:{port}/teile/", root / "teile")


@pytest.fixture(params=["sample", "sharded"])
def served(request: pytest.FixtureRequest) -> Served:
    """The sample site in one bundle, then in four shards."""
    site: Served = request.getfixturevalue(request.param)
    return site


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    seen: list[str] = []
    problems: list[str] = []
    opened.on("request", lambda request: seen.append(request.url))
    opened.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    opened.on(
        "console",
        lambda message: (
            problems.append(f"console: {message.text}")
            if message.type == "error" or "Content Security Policy" in message.text
            else None
        ),
    )
    yield opened
    context.close()
    foreign = [url for url in seen if urlsplit(url).hostname not in ("127.0.0.1", None)]
    assert not foreign, f"requests to other hosts: {foreign}"
    assert not problems, "\n".join(problems)


def _search(page: Page, url: str) -> list[dict[str, str]]:
    """Open a search URL and wait for the result count to be announced."""
    page.goto(url)
    return _results(page)


def _results(page: Page) -> list[dict[str, str]]:
    status = page.locator("[data-search-status]")
    status.filter(has_text=re.compile(r"Treffer")).wait_for(timeout=TIMEOUT_MS)
    page.wait_for_function(
        "() => !document.querySelector('[data-search-results]').hasAttribute('aria-busy')",
        timeout=TIMEOUT_MS,
    )
    return page.eval_on_selector_all(
        ".search-result",
        """items => items.map(item => ({
            title: item.querySelector('.search-result-title a').textContent,
            href: item.querySelector('.search-result-title a').getAttribute('href'),
            meta: (item.querySelector('.search-result-meta') || {textContent: ''}).textContent,
            excerpt: item.querySelector('.search-result-excerpt').innerHTML,
        }))""",
    )


# Words (a compound and its part, an inflected form, two words, one on no page) and
# filters (alone and with a word), as a visitor would put them in the address.
EQUIVALENT_QUERIES = [
    "q=Beleuchtung",
    "q=Stra%C3%9Fenbeleuchtung",
    "q=Innenstadtbaum",
    "q=Treffpunkten",
    "q=Stadt%20Daten",
    "q=Baumkataster",
    "q=Stadt&smart_city=Smart+City",
    "q=Innenstadt&typ=Pressemitteilung",
    "thema=Beteiligung",
    "typ=Projekt&typ=Pressemitteilung&typ=Seite",
]


@pytest.mark.parametrize("query", EQUIVALENT_QUERIES)
def test_what_pagefind_gets_finds_what_the_whole_pages_find(
    page: Page, sample: Served, www: tuple[Path, int], query: str
) -> None:
    """The index made from what the build gives Pagefind (search/extract.py: the indexed
    element, compounds marked) answers every query as an index of the whole published
    pages does: the same results in the same order, with the same titles, badges and
    excerpts."""
    _, port = www
    ours = _search(page, f"{sample.url}suche/?{query}")
    whole = _search(page, f"http://127.0.0.1:{port}/ganz/suche/?{query}")
    for result in whole:
        result["href"] = result["href"].removeprefix("/ganz")
    assert ours == whole
    if query != "q=Baumkataster":
        assert ours, "a query that finds something"


def test_dritte_finds_the_project_dritte_orte(page: Page, served: Served) -> None:
    results = _search(page, served.url + "suche/?q=Dritte")
    titles = [r["title"] for r in results]
    assert titles[0] == "Dritte Orte", titles
    first = results[0]
    assert first["href"] == urlsplit(served.url).path + "projekte/dritte-orte/"
    assert "Projekt" in first["meta"] and "Smart City" in first["meta"]
    assert "<mark>Dritte</mark>" in first["excerpt"]
    assert page.locator("#suchbegriff").input_value() == "Dritte"
    assert "für „Dritte“" in page.locator("[data-search-status]").inner_text()


def test_an_inflected_form_finds_its_page(page: Page, sample: Served) -> None:
    # The profile says "Treffpunkt" and "Treffpunkte", never "Treffpunkten".
    source = (REPO / "content" / "projekte" / "dritte-orte.md").read_text(encoding="utf-8")
    assert "Treffpunkte" in source and "Treffpunkten" not in source
    results = _search(page, sample.url + "suche/?q=Treffpunkten")
    assert "Dritte Orte" in [r["title"] for r in results]
    # ... and a singular finds the plural: "Workshop" → "Workshops".
    assert re.search(r"\bWorkshop\b", source) is None and "Workshops" in source
    assert "Dritte Orte" in [r["title"] for r in _search(page, sample.url + "suche/?q=Workshop")]


def test_the_smart_city_filter_narrows_to_smart_city_projects(page: Page, served: Served) -> None:
    everything = _search(page, served.url + "suche/?q=Stadt")
    page.get_by_label("Nur Smart-City-Projekte").check()
    page.wait_for_function(
        "() => location.search.includes('smart_city=Smart+City')", timeout=TIMEOUT_MS
    )
    narrowed = _results(page)
    base = urlsplit(served.url).path
    smart_city = {
        f"{base}projekte/dialog-zivilgesellschaft/",
        f"{base}projekte/dritte-orte/",
        f"{base}projekte/lokaler-lieferdienst/",
    }
    assert narrowed, "some Smart-City projects mention the city"
    assert len(narrowed) < len(everything)
    for result in narrowed:
        assert result["href"] in smart_city, result
        assert "Smart City" in result["meta"] and "Projekt" in result["meta"]
    # Only the filter, no word: every Smart-City project, nothing else.
    only_filter = _search(page, served.url + "suche/?smart_city=Smart+City")
    assert {r["href"] for r in only_filter} == smart_city
    option = page.locator("[data-search-option]").filter(
        has=page.get_by_label("Nur Smart-City-Projekte")
    )
    assert "(3)" in option.inner_text(), "counted over every shard"


def test_type_and_topic_filters(page: Page, served: Served) -> None:
    results = _search(page, served.url + "suche/?q=Innenstadt&typ=Pressemitteilung")
    assert results and all("Pressemitteilung" in r["meta"] for r in results)
    assert page.get_by_label(re.compile("^Pressemitteilungen")).is_checked()
    topic = _search(page, served.url + "suche/?thema=Beteiligung")
    assert "Dritte Orte" in [r["title"] for r in topic]


def test_a_sharded_index_finds_the_pages_of_every_shard(page: Page, sharded: Served) -> None:
    folders = sorted(p.name for p in (sharded.out / "pagefind").glob("teil-*"))
    assert folders == ["teil-1", "teil-2", "teil-3"], "four shards"
    assert not (sharded.out / "pagefind" / "teil-2" / "pagefind.js").exists()
    # "Dritte Orte" is in a shard that is merged in, "Über uns" in the first.
    assert shards.shard_of("/projekte/dritte-orte/", 4) == 2
    assert shards.shard_of("/ueber-uns/", 4) == 0
    titles = [r["title"] for r in _search(page, sharded.url + "suche/?q=Treffpunkten")]
    assert "Dritte Orte" in titles, "stemming works in a merged shard too"
    # Every page the search indexes: the detail pages, marked for Pagefind.
    indexed = sum(
        "data-pagefind-body" in path.read_text(encoding="utf-8")
        for path in sharded.out.rglob("index.html")
    )
    every = _search(page, sharded.url + "suche/?typ=Projekt&typ=Pressemitteilung&typ=Seite")
    status = page.locator("[data-search-status]").inner_text()
    assert len(every) == 10 and f"{indexed} Treffer" in status
    page.locator("[data-search-more]").click()
    page.wait_for_function(
        f"() => document.querySelectorAll('.search-result').length === {indexed}",
        timeout=TIMEOUT_MS,
    )
    hrefs = page.eval_on_selector_all(
        ".search-result-title a", "links => links.map(a => a.getAttribute('href'))"
    )
    assert len(set(hrefs)) == indexed, hrefs
    assert "/teile/ueber-uns/" in hrefs and "/teile/projekte/dritte-orte/" in hrefs


def test_a_part_of_a_compound_finds_the_compound(page: Page, served: Served) -> None:
    # "Beleuchtung" alone is on neither page; both say "Straßenbeleuchtung".
    results = _search(page, served.url + "suche/?q=Beleuchtung")
    titles = {r["title"] for r in results}
    assert {"Intelligente Straßenbeleuchtung", "Straßenbeleuchtung, die mitdenkt"} <= titles
    # The index's marks between the parts never show.
    assert all("^" not in r["title"] + r["excerpt"] for r in results)
    assert any("<mark>Straßenbeleuchtung" in r["excerpt"] for r in results)
    assert "Intelligente Straßenbeleuchtung" in [
        r["title"] for r in _search(page, served.url + "suche/?q=Stra%C3%9Fe")
    ]


def test_a_query_that_matches_nothing_relevant_finds_nothing(page: Page, served: Served) -> None:
    # "Dritte Orte" describes its image with "Baum"; Pagefind alone answered
    # "Baumkataster" with it, and ignored an unknown word next to a known one.
    assert _search(page, served.url + "suche/?q=Baumkataster") == []
    assert "Keine Treffer für „Baumkataster“" in page.locator("[data-search-status]").inner_text()
    assert _search(page, served.url + "suche/?q=Orte%20Baumkataster") == []
    # A compound that is nowhere still finds a page that has both its parts.
    assert "Dritte Orte" in [
        r["title"] for r in _search(page, served.url + "suche/?q=Innenstadtbaum")
    ]


@pytest.mark.parametrize("width", [390, 1280])
def test_on_a_phone_the_results_come_before_the_folded_filters(
    browser: Browser, sample: Served, width: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        _search(page, sample.url + "suche/?q=Stadt")
        results = page.locator(".search-result").first.bounding_box()
        filters = page.locator("[data-search-filters]")
        box = filters.bounding_box()
        assert results is not None and box is not None
        open_ = filters.evaluate("details => details.open")
        if width == 390:
            assert box["y"] > results["y"], "the results first"
            assert not open_ and not page.get_by_label("Nur Smart-City-Projekte").is_visible()
            page.locator(".search-filters-title").click()
            page.get_by_label("Nur Smart-City-Projekte").check()
            assert "(1 gewählt)" in page.locator(".search-filters-title").inner_text()
        else:
            assert box["x"] > results["x"], "beside the results"
            assert open_ and page.get_by_label("Nur Smart-City-Projekte").is_visible()
    finally:
        context.close()


def test_the_preview_finds_drafts_and_embargoes_and_labels_them(
    page: Page, www: tuple[Path, int]
) -> None:
    root = f"http://127.0.0.1:{www[1]}/vorschau/"
    draft = _search(page, root + "suche/?q=Kolibri")
    assert [r["title"] for r in draft] == ["Neue Online-Dienste der Stadtverwaltung"]
    assert "Entwurf" in draft[0]["meta"]
    embargoed = _search(page, root + "suche/?q=Treffpunkte&typ=Pressemitteilung")
    assert any("Sperrfrist bis 1. März 2027, 10:00 Uhr" in r["meta"] for r in embargoed)
    assert not any(
        "Sperrfrist" in r["meta"] or "Entwurf" in r["meta"]
        for r in _search(page, root + "suche/?q=Straßenbeleuchtung")
    )


def test_a_drafts_unique_word_finds_nothing(page: Page, sample: Served) -> None:
    # "Kolibri" occurs only in the draft. (A compound such as "aufbereitet",
    # also unique to it, is no good here: its parts "auf" and "bereitet" are
    # on published pages, and the search finds pages with both parts.)
    draft = REPO / "content" / "presse" / "2026-10-12-neue-online-dienste-der-stadtverwaltung.md"
    assert "draft: true" in draft.read_text(encoding="utf-8")
    assert "Kolibri" in draft.read_text(encoding="utf-8")
    others = [p for p in (REPO / "content").rglob("*.md") if p != draft]
    assert not any("Kolibri" in p.read_text(encoding="utf-8") for p in others)
    assert _search(page, sample.url + "suche/?q=Kolibri") == []
    assert "Keine Treffer" in page.locator("[data-search-status]").inner_text()


def test_typing_updates_the_address_for_linking(page: Page, sample: Served) -> None:
    page.goto(sample.url + "suche/")
    page.locator("#suchbegriff").wait_for(state="visible", timeout=TIMEOUT_MS)
    history = page.evaluate("history.length")
    page.locator("#suchbegriff").fill("Orte")
    page.wait_for_function("() => location.search === '?q=Orte'", timeout=TIMEOUT_MS)
    assert _results(page)[0]["title"] == "Dritte Orte"
    assert page.evaluate("history.length") == history, "replaceState, not a new entry"


def test_the_header_field_leads_to_the_search(page: Page, sample: Served) -> None:
    page.goto(sample.url)
    field = page.get_by_role("search", name="Website durchsuchen").get_by_label("Suche")
    field.fill("Dritte")
    field.press("Enter")
    page.wait_for_url(re.compile(r"/suche/\?q=Dritte$"), timeout=TIMEOUT_MS)
    assert _results(page)[0]["title"] == "Dritte Orte"


def test_without_javascript_the_page_points_to_the_lists(browser: Browser, sample: Served) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(sample.url + "suche/?q=Dritte")
        fallback = page.locator("[data-search-fallback]")
        assert fallback.is_visible()
        assert "JavaScript" in fallback.inner_text()
        links = fallback.locator("a").evaluate_all("links => links.map(a => a.pathname)")
        assert {"/projekte/", "/presse/", "/themen/"} <= set(links)
        assert not page.locator("[data-search-app]").is_visible()
    finally:
        context.close()


def test_search_works_under_a_sub_path(page: Page, subpath: Served) -> None:
    results = _search(page, subpath.url + "suche/?q=Mobilit%C3%A4t")
    assert results
    assert all(r["href"].startswith("/sub/") for r in results)
    assert "Mobilitätsdaten & Verkehr" in [r["title"] for r in results]
    page.get_by_role("link", name="Mobilitätsdaten & Verkehr").first.click()
    page.wait_for_url("**/sub/projekte/mobilitaetsdaten/", timeout=TIMEOUT_MS)
    assert page.locator("h1").inner_text() == "Mobilitätsdaten & Verkehr"
    # The full fixture's draft project is not found either.
    assert _search(page, subpath.url + "suche/?q=Entwurfsprojekt") == []


def test_more_results_by_keyboard(page: Page, subpath: Served) -> None:
    # The full fixture has 13 published press releases: more than one batch of 10.
    results = _search(page, subpath.url + "suche/?typ=Pressemitteilung")
    more = page.locator("[data-search-more]")
    assert len(results) == 10 and more.is_visible()
    assert "13 Treffer" in page.locator("[data-search-status]").inner_text()
    more.focus()
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => document.querySelectorAll('.search-result').length > 10", timeout=TIMEOUT_MS
    )
    focused = page.evaluate(
        "[...document.querySelectorAll('.search-result')].indexOf("
        "document.activeElement.closest('.search-result'))"
    )
    assert focused == 10, "focus moves to the first new result"
    assert page.locator(".search-result").count() == 13
    assert not more.is_visible()


def _axe(page: Page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        """async (tags) => (await axe.run(document, {
            runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']
        })).violations.map(v => `${v.id}: ${v.help} (${v.nodes.map(n => n.target).join(', ')})`)""",
        AXE_TAGS,
    )
    return list(violations)


@pytest.mark.parametrize("width", [1280, 390])
def test_search_page_has_no_accessibility_violations(
    browser: Browser, sample: Served, width: int
) -> None:
    if not AXE.is_file():
        pytest.skip(f"axe-core not installed ({AXE}); run the gates setup")
    context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    try:
        page = context.new_page()
        for address in ("suche/", "suche/?q=Stadt&typ=Projekt", "suche/?q=xyzzy"):
            page.goto(sample.url + address)
            page.locator("[data-search-status]").filter(has_text=re.compile(r"\w")).wait_for(
                timeout=TIMEOUT_MS
            )
            violations = _axe(page)
            assert not violations, f"{address} at {width}px:\n" + "\n".join(violations)
    finally:
        context.close()


def test_result_addresses_keep_query_parameters_parseable(page: Page, sample: Served) -> None:
    page.goto(sample.url + "suche/?q=Orte&typ=Projekt&thema=Innenstadt")
    _results(page)
    query = parse_qs(urlsplit(page.url).query)
    assert query == {"q": ["Orte"], "typ": ["Projekt"], "thema": ["Innenstadt"]}

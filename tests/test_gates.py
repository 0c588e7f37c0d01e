"""The quality gates catch what they are meant to catch, and nothing on a clean site.

Each folder of tests/fixtures/gates-defects/ plants one defect in a copy of
the clean mini site; every gate runs once over all of them (one vnu run, one
nginx, one browser), and the tests read the findings per site. The tools are
real: Java + vnu.jar, nginx, Debian's Chromium. When one is missing the tests
fail and say to run `.ci/install-system-deps.sh`; they never skip.
"""

from __future__ import annotations

import gzip
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from gates import a11y, apache, feeds, html, links, tools
from gates.browser import (
    choose_pages,
    launch,
    page_type,
    representatives,
    search_results_target,
)
from gates.core import Finding, GateResult, Site, is_noindex
from gates.server import ServerError, render_server_block, serve

if TYPE_CHECKING:
    from playwright.sync_api import Browser

DEFECTS = Path(__file__).parent / "fixtures" / "gates-defects"
BASE_URL = "https://gates.example.org/"
CASES = sorted(p.name for p in DEFECTS.iterdir() if p.is_dir())
#: a11y cases and the page that carries the defect (the browser visits only that one).
A11Y_CASES = {
    "missing-alt": "/projekte/beispiel/",
    "skip-link-not-first": "/",
    "wide-page": "/impressum/",
    "script-error": "/",
    "console-error": "/impressum/",
}


def make_tree(case: str, into: Path) -> Site:
    """A copy of the clean site with the case's files laid over it."""
    dest = into / case
    shutil.copytree(DEFECTS / "clean", dest)
    overlay = DEFECTS / case
    if case != "clean":
        for file in sorted(overlay.rglob("*")):
            if file.is_file() and file.name != ".delete":
                target = dest / file.relative_to(overlay)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(file, target)
    # The home page's precompressed copy, as the build writes it (precompress.py);
    # nginx sends it to every browser that takes gzip, Chromium included.
    index = (dest / "index.html").read_bytes()
    (dest / "index.html.gz").write_bytes(gzip.compress(index, mtime=0))
    if case != "clean":
        delete = overlay / ".delete"
        if delete.is_file():
            for line in delete.read_text(encoding="utf-8").split():
                (dest / line).unlink()
    return Site(case, dest, BASE_URL)


def of(result: GateResult, case: str) -> list[Finding]:
    return [f for f in result.findings if f.site == case]


def rules(result: GateResult, case: str) -> set[str]:
    return {f.rule for f in of(result, case)}


@pytest.fixture(scope="module")
def installed() -> tools.Tools:
    try:
        return tools.find_all()
    except tools.MissingTool as exc:
        pytest.fail(f"the gates' tools are not installed: {exc}", pytrace=False)


@pytest.fixture(scope="module")
def trees(installed: tools.Tools, tmp_path_factory: pytest.TempPathFactory) -> list[Site]:
    root = tmp_path_factory.mktemp("gates-defects")
    return [make_tree(case, root) for case in CASES]


@pytest.fixture(scope="module")
def served(trees: list[Site]) -> Iterator[list[Site]]:
    with serve(trees) as sites:
        yield sites


@pytest.fixture(scope="module")
def html_result(trees: list[Site]) -> GateResult:
    return html.check_html(trees)


@pytest.fixture(scope="module")
def links_result(served: list[Site]) -> GateResult:
    return links.check_links(served)


@pytest.fixture(scope="module")
def feed_result(served: list[Site]) -> GateResult:
    return feeds.check_feed(served)


@pytest.fixture(scope="module")
def sitemap_result(served: list[Site]) -> GateResult:
    return feeds.check_sitemap(served)


@pytest.fixture(scope="module")
def browser(installed: tools.Tools) -> Iterator[Browser]:
    with launch() as browser:
        yield browser


@pytest.fixture(scope="module")
def a11y_result(served: list[Site], browser: Browser) -> GateResult:
    """Every page of the clean site; the page with the defect of each a11y case."""
    by_name = {site.name: site for site in served}
    results = [a11y.check_a11y([by_name["clean"]], browser, per_type=1)]
    for case, path in A11Y_CASES.items():
        results.append(a11y.check_a11y([by_name[case]], browser, only=[path]))
    findings = [f for result in results for f in result.findings]
    return GateResult("a11y", results[0].summary, findings)


# --- the clean site passes every gate ---------------------------------------------------


def test_every_defect_folder_is_a_case() -> None:
    assert "clean" in CASES
    assert len(CASES) >= 12


def test_clean_site_passes_html(html_result: GateResult) -> None:
    assert of(html_result, "clean") == []


def test_clean_site_passes_links(links_result: GateResult) -> None:
    assert of(links_result, "clean") == []


def test_clean_site_passes_feed_and_sitemap(
    feed_result: GateResult, sitemap_result: GateResult
) -> None:
    assert of(feed_result, "clean") == []
    assert of(sitemap_result, "clean") == []


@pytest.mark.browser
def test_clean_site_passes_a11y(a11y_result: GateResult) -> None:
    assert of(a11y_result, "clean") == []


@pytest.mark.browser
def test_summary_lines_on_the_clean_site(served: list[Site], a11y_result: GateResult) -> None:
    clean = [s for s in served if s.name == "clean"]
    assert html.check_html(clean).summary_line.startswith("html: 0 errors in 9 files")
    assert links.check_links(clean).summary_line.startswith(
        "links: 0 broken, 0 orphans, 0 old addresses not redirected (2 redirects followed); "
        "404 page ok"
    )
    assert feeds.check_feed(clean).summary_line.startswith("feed: 0 problems")
    assert feeds.check_sitemap(clean).summary_line.startswith("sitemap: 0 problems")
    # The fixture's summary line is the one of its run over the clean site.
    assert a11y_result.summary_line.startswith(
        "a11y: 0 violations on 9 pages at 1280 px and 390 px"
    )


# --- each planted defect is reported by its gate ---------------------------------------


def test_html_gate_reports_an_unclosed_tag(html_result: GateResult) -> None:
    found = of(html_result, "unclosed-tag")
    assert found, html_result.findings
    assert all(f.where.startswith("projekte/beispiel/index.html:") for f in found)
    assert any('Unclosed element "div"' in f.message for f in found)
    assert {f.rule for f in found} == {"vnu-error"}
    assert html_result.summary_line.startswith(f"html: {len(html_result.findings)} errors")
    assert not html_result.ok


def test_html_gate_reports_nothing_else(html_result: GateResult) -> None:
    # vnu also knows that an <img> needs alt (the a11y gate reports it as well).
    assert {f.site for f in html_result.findings} == {
        "unclosed-tag",
        "missing-alt",
        "invalid-email-html",
    }


def test_html_gate_checks_the_html_part_of_a_releases_email(html_result: GateResult) -> None:
    found = of(html_result, "invalid-email-html")
    assert found and {f.rule for f in found} == {"vnu-error"}
    assert all(f.where.startswith("presse/erste-meldung/pressemitteilung.eml:") for f in found)
    assert any('Unclosed element "div"' in f.message for f in found)


def test_links_gate_reports_a_broken_link(links_result: GateResult) -> None:
    found = of(links_result, "broken-link")
    assert [(f.where, f.rule) for f in found] == [("/presse/erste-meldung/", "broken-link")]
    assert "/projekte/gibt-es-nicht/" in found[0].message
    assert "HTTP 404" in found[0].message


def test_links_gate_follows_addresses_written_out_in_a_text_version(
    links_result: GateResult,
) -> None:
    found = of(links_result, "broken-written-link")
    where = "/presse/erste-meldung/pressemitteilung.txt"
    assert [(f.where, f.rule) for f in found] == [(where, "broken-link")]
    assert "/projekte/gibt-es-nicht/" in found[0].message


def test_links_gate_reports_a_broken_image(links_result: GateResult) -> None:
    found = of(links_result, "broken-image")
    assert [(f.where, f.rule) for f in found] == [("/", "broken-image")]
    assert "/medien/fehlt.png" in found[0].message


def test_links_gate_reports_a_broken_fragment(links_result: GateResult) -> None:
    assert rules(links_result, "broken-fragment") == {"broken-fragment"}
    assert "pressekontakt" in of(links_result, "broken-fragment")[0].message


def test_links_gate_reports_a_broken_url_in_the_stylesheet(links_result: GateResult) -> None:
    found = of(links_result, "broken-css-url")
    assert [f.rule for f in found] == ["broken-css"]
    assert found[0].where == "/assets/site.css"
    assert "hintergrund.png" in found[0].message


def test_links_gate_reports_an_orphan(links_result: GateResult) -> None:
    found = of(links_result, "orphan-page")
    assert [(f.where, f.rule) for f in found] == [("/verwaist/", "orphan")]
    assert "1 orphans" in links_result.summary_line or "orphans" in links_result.summary_line


def test_links_gate_checks_precompressed_pages_and_immutable_assets(
    links_result: GateResult,
) -> None:
    # nginx's gzip_static answers with the file beside the page; without it, nothing
    # precompressed reaches the visitor.
    assert rules(links_result, "not-precompressed") == {"precompressed"}
    assert not any(f.rule == "asset-cache" for f in links_result.findings)


def test_links_gate_reports_a_missing_404_page(links_result: GateResult) -> None:
    assert rules(links_result, "no-404-page") == {"not-found-page"}
    assert "404 page FAILS" in links_result.summary_line


def test_links_gate_counts_in_its_summary(links_result: GateResult) -> None:
    broken = sum(1 for f in links_result.findings if f.rule.startswith("broken-"))
    orphans = sum(1 for f in links_result.findings if f.rule == "orphan")
    assert links_result.summary_line.startswith(f"links: {broken} broken, {orphans} orphans")
    assert broken >= 4 and orphans == 1


@pytest.mark.browser
def test_a11y_gate_reports_an_image_without_alt(a11y_result: GateResult) -> None:
    found = of(a11y_result, "missing-alt")
    assert {f.rule for f in found} == {"axe:image-alt"}
    assert {f.where for f in found} == {"/projekte/beispiel/ @1280px", "/projekte/beispiel/ @390px"}


@pytest.mark.browser
def test_a11y_gate_reports_a_skip_link_that_is_not_first(a11y_result: GateResult) -> None:
    found = of(a11y_result, "skip-link-not-first")
    assert {f.rule for f in found} == {"skip-link"}
    assert {f.where for f in found} == {"/ @1280px", "/ @390px"}
    assert "not a link to the main content" in found[0].message


@pytest.mark.browser
def test_a11y_gate_reports_a_page_wider_than_a_phone(a11y_result: GateResult) -> None:
    found = of(a11y_result, "wide-page")
    assert [(f.where, f.rule) for f in found] == [("/impressum/ @390px", "reflow")]
    assert "900" in found[0].message or "px wide" in found[0].message


@pytest.mark.browser
def test_a11y_gate_reports_a_script_error(a11y_result: GateResult) -> None:
    found = of(a11y_result, "script-error")
    assert found and {f.rule for f in found} == {"script-error"}
    assert any("undefinedFunctionOfTheTheme" in f.message for f in found)


@pytest.mark.browser
def test_a11y_gate_reports_a_console_error(a11y_result: GateResult) -> None:
    found = of(a11y_result, "console-error")
    assert {f.rule for f in found} == {"script-error"}
    assert {f.message for f in found} == {"console error: Suche nicht verfügbar: kein Index"}


@pytest.mark.browser
def test_a11y_summary_counts_violations(served: list[Site], browser: Browser) -> None:
    case = [s for s in served if s.name == "missing-alt"]
    result = a11y.check_a11y(case, browser, only=["/projekte/beispiel/"])
    assert result.summary_line.startswith("a11y: 2 violations on 1 pages at 1280 px and 390 px")
    assert not result.ok


def test_feed_gate_reports_a_malformed_feed(feed_result: GateResult) -> None:
    found = of(feed_result, "bad-feed")
    assert "feed-bozo" in {f.rule for f in found}
    assert all(f.where.startswith("/presse/feed.xml") for f in found)


def test_feed_gate_reports_an_incomplete_entry(feed_result: GateResult) -> None:
    found = of(feed_result, "feed-entry-incomplete")
    messages = {(f.rule, f.message) for f in found}
    assert ("feed-entry-field", "the entry has no updated") in messages
    assert any(rule == "feed-link" and "not absolute" in msg for rule, msg in messages)


def test_feed_gate_reports_nothing_on_other_trees(feed_result: GateResult) -> None:
    assert {f.site for f in feed_result.findings} == {"bad-feed", "feed-entry-incomplete"}


def test_sitemap_gate_reports_a_missing_page(sitemap_result: GateResult) -> None:
    found = of(sitemap_result, "sitemap-missing-page")
    assert [f.rule for f in found] == ["sitemap-missing-page"]
    assert "/impressum/" in found[0].message


def test_sitemap_gate_validates_against_the_schema(sitemap_result: GateResult) -> None:
    found = of(sitemap_result, "sitemap-invalid")
    assert found and {f.rule for f in found} == {"sitemap-schema"}
    text = " ".join(f.message for f in found)
    assert "priority" in text and "lastmod" in text


def test_sitemap_gate_requires_robots_to_name_it(sitemap_result: GateResult) -> None:
    found = of(sitemap_result, "robots-without-sitemap")
    assert [f.rule for f in found] == ["robots"]
    assert "Sitemap: https://gates.example.org/sitemap.xml" in found[0].message


def test_links_gate_follows_the_redirects_of_old_addresses(links_result: GateResult) -> None:
    # The clean site's old address is redirected by the rules in its _server/ folder,
    # which nginx loads; an older rule file that lacks it is a finding, once per spelling.
    assert [(f.where, f.message) for f in of(links_result, "redirect-not-loaded")] == [
        ("/presse/erste-meldung-alt/", "expected 301 to /presse/erste-meldung/, got HTTP 200"),
        (
            "/presse/erste-meldung-alt",
            "expected 301 to /presse/erste-meldung/, got HTTP 301 to /presse/erste-meldung-alt/",
        ),
    ]


def test_sitemap_gate_sees_the_orphan_too(sitemap_result: GateResult) -> None:
    # The orphan page is published (not noindex) but not in the sitemap.
    assert rules(sitemap_result, "orphan-page") == {"sitemap-missing-page"}


# --- the server: the documented nginx block, root and sub-path --------------------------


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    try:
        with _OPENER.open(urllib.request.Request(url, headers=headers or {}), timeout=10) as reply:
            return reply.status, dict(reply.headers), reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


NEWSROOM_TYPES = {
    "themen/mobilitaet/feed.xml": "application/atom+xml; charset=utf-8",
    "projekte/dritte-orte/feed.xml": "application/atom+xml; charset=utf-8",
    "presse/x/pressemitteilung.txt": "text/plain; charset=utf-8",
    "presse/x/pressemitteilung.eml": "message/rfc822",
    "kontakt/presse.vcf": "text/vcard; charset=utf-8",
}


def test_nginx_serves_a_sub_path_build_like_production(
    installed: tools.Tools, tmp_path: Path
) -> None:
    tree = make_tree("clean", tmp_path)
    for path in NEWSROOM_TYPES:  # the newsroom's files (render/newsroom.py), any content
        (tree.root / path).parent.mkdir(parents=True, exist_ok=True)
        (tree.root / path).write_text("Überschrift\n", encoding="utf-8")
    site = Site("sub", tree.root, "https://gates.example.org/sub/")
    not_found = (tree.root / "404.html").read_bytes()
    with serve([site]) as (served,):
        assert served.entry_url.endswith("/sub/")
        status, headers, _ = _get(served.entry_url)
        assert status == 200 and headers["Cache-Control"] == "no-cache"
        status, headers, body = _get(served.entry_url + "nicht-da/")
        assert (status, body) == (404, not_found)
        status, _, body = _get(served.origin + "/impressum/")  # outside the sub-path
        assert (status, body) == (404, not_found)
        status, headers, _ = _get(served.entry_url + "assets/site.css")
        assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
        status, headers, body = _get(served.entry_url, {"Accept-Encoding": "gzip"})
        assert status == 200 and headers["Content-Encoding"] == "gzip"
        assert body == (tree.root / "index.html.gz").read_bytes()  # the file, as it is
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        assert "Accept-Encoding" in headers["Vary"]
        status, headers, _ = _get(served.entry_url + "presse/feed.xml")
        assert status == 200 and headers["Content-Type"].startswith("application/atom+xml")
        status, _, _ = _get(served.entry_url + "impressum")  # redirect to impressum/
        assert status == 200
        for path, content_type in NEWSROOM_TYPES.items():
            status, headers, body = _get(served.entry_url + path)
            assert status == 200 and headers["Content-Type"] == content_type, path
            assert headers["X-Content-Type-Options"] == "nosniff"
            assert body == (tree.root / path).read_bytes()
    with pytest.raises(urllib.error.URLError):
        _OPENER.open(served.entry_url, timeout=5)  # stopped by its pid


@pytest.fixture(scope="module")
def readable_trees(installed: tools.Tools) -> Iterator[Path]:
    """A folder everyone may read: as root, Apache's workers run as nobody."""
    folder = Path(tempfile.mkdtemp(prefix="gates-apache-trees-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


def test_apache_gate_passes_the_clean_site_and_finds_unloaded_redirects(
    readable_trees: Path,
) -> None:
    # Sub-path builds: the gates' own run (full, sample-sub) and the next test.
    trees = [make_tree(case, readable_trees) for case in ("clean", "redirect-not-loaded")]
    result = apache.check_apache(trees)
    assert of(result, "clean") == []
    assert [(f.where, f.rule) for f in of(result, "redirect-not-loaded")] == [
        ("/presse/erste-meldung-alt/", "redirect"),
        ("/presse/erste-meldung-alt", "redirect"),
    ]
    assert result.summary_line.startswith("apache: 2 problems with Apache/2.4")


def test_apache_serves_a_sub_path_build_like_production(readable_trees: Path) -> None:
    tree = make_tree("clean", readable_trees / "production")
    for path in NEWSROOM_TYPES:
        (tree.root / path).parent.mkdir(parents=True, exist_ok=True)
        (tree.root / path).write_text("Überschrift\n", encoding="utf-8")
    site = Site("sub", tree.root, "https://gates.example.org/sub/")
    not_found = (tree.root / "404.html").read_bytes()
    with apache.serve([site]) as (served,):
        status, headers, _ = _get(served.entry_url)
        assert status == 200 and headers["Cache-Control"] == "no-cache"
        status, _, body = _get(served.entry_url + "nicht-da/")
        assert (status, body) == (404, not_found)
        status, _, body = _get(served.origin + "/impressum/")  # outside the sub-path
        assert (status, body) == (404, not_found)
        status, _, body = _get(served.entry_url + "_server/redirects.apache.conf")
        assert (status, body) == (404, not_found)
        status, headers, _ = _get(served.entry_url + "assets/site.css")
        assert status == 200 and headers["Cache-Control"] == "public, max-age=31536000, immutable"
        # The precompressed page under the sub-path (RewriteBase): the file, as it is.
        status, headers, body = _get(served.entry_url, {"Accept-Encoding": "gzip"})
        assert status == 200 and headers["Content-Encoding"] == "gzip"
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        assert body == (tree.root / "index.html.gz").read_bytes()
        for path, content_type in NEWSROOM_TYPES.items():
            status, headers, body = _get(served.entry_url + path)
            assert status == 200 and headers["Content-Type"] == content_type, path
            assert headers["X-Content-Type-Options"] == "nosniff"
        status, _, _ = _get(served.entry_url + "impressum")  # redirect to impressum/
        assert status == 200
    with pytest.raises(urllib.error.URLError):
        _OPENER.open(served.entry_url, timeout=5)  # stopped by its pid


def test_server_block_needs_a_slashed_base_path(tmp_path: Path) -> None:
    with pytest.raises(ServerError):
        render_server_block(listen="80", server_name="x", root=tmp_path, base_path="/sub")
    block = render_server_block(listen="80", server_name="x", root=tmp_path, base_path="/sub/")
    assert "location ^~ /sub/ {" in block and "error_page 404 /sub/404.html;" in block
    assert "{{" not in block


# --- pure helpers -------------------------------------------------------------------


def test_site_maps_public_urls_to_the_server(tmp_path: Path) -> None:
    site = Site("s", tmp_path, "https://example.org/sub/").served_at("http://127.0.0.1:8")
    assert site.to_served("https://example.org/sub/a/") == "http://127.0.0.1:8/sub/a/"
    assert site.to_served("http://127.0.0.1:8/x") == "http://127.0.0.1:8/x"
    assert site.to_served("https://example.org/other/") is None
    assert site.to_served("https://elsewhere.example/") is None
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "index.html").write_text("x")
    (tmp_path / "404.html").write_text("x")
    assert site.pages() == {"/sub/a/": tmp_path / "a" / "index.html"}
    assert site.file_for_path("/sub/a/") == tmp_path / "a" / "index.html"
    assert site.file_for_path("/sub/../etc/") is None


def test_site_rejects_a_relative_base_url(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Site("s", tmp_path, "/sub/")


def test_noindex_is_recognised() -> None:
    assert is_noindex(b'<meta name="robots" content="noindex, follow">')
    assert is_noindex(b'<meta content="noindex" name="robots">')
    assert not is_noindex(b'<meta name="robots" content="index, follow">')
    # Minified pages (render/minify.py): no quotes, attributes in any order.
    assert is_noindex(b"<meta content=noindex name=robots>")
    assert is_noindex(b"<meta name=robots content=noindex>")
    assert not is_noindex(b"<meta content=index,follow name=robots>")


def test_page_types_follow_the_content_model(tmp_path: Path) -> None:
    site = Site("s", tmp_path, "https://example.org/sub/")
    expected = {
        "/sub/": "home",
        "/sub/projekte/": "project_list",
        "/sub/projekte/dritte-orte/": "project",
        "/sub/smart-city/": "smart_city",
        "/sub/presse/": "press_list",
        "/sub/presse/seite/2/": "press_list_page",
        "/sub/presse/2021/": "press_year",
        "/sub/presse/digitaltag/": "press_release",
        "/sub/themen/": "topics",
        "/sub/themen/energie/": "topic",
        "/sub/suche/": "search",
        "/sub/impressum/": "page",
    }
    assert {path: page_type(site, path) for path in expected} == expected


def test_representatives_spread_over_each_type() -> None:
    groups = {"project": [f"/p/{i}/" for i in range(10)], "home": ["/"]}
    assert representatives(groups, 2) == [("home", "/"), ("project", "/p/0/"), ("project", "/p/9/")]
    assert len(representatives(groups, 3)) == 4


def test_chosen_pages_cover_every_feature_of_a_type(tmp_path: Path) -> None:
    bodies = {
        "a": "<p>Text</p>",
        "b": "<table><tr><td>1</td></tr></table>",
        "c": "<p>Text</p>",
        "d": '<p class="banner" role="status">Entwurf</p><img src="x.png" alt="x">',
    }
    for slug, body in bodies.items():
        page = tmp_path / "projekte" / slug / "index.html"
        page.parent.mkdir(parents=True)
        page.write_text(f"<body><main>{body}</main></body>")
    site = Site("s", tmp_path, "https://example.org/")
    assert choose_pages(site, 1) == [
        ("project", "/projekte/a/"),
        ("project", "/projekte/d/"),
        ("project", "/projekte/b/"),
    ]


def test_search_results_are_visited_with_a_word_from_a_title(tmp_path: Path) -> None:
    site = make_tree("clean", tmp_path)
    assert search_results_target(site) == "/suche/?q=Beispielprojekt"
    shutil.rmtree(site.root / "suche")
    assert search_results_target(site) is None

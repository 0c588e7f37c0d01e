"""Minified pages, stylesheets and scripts (render/minify.py) show what they showed before.

The full fixture is built twice, as published (minified) and with ``--no-minify``
(the form the goldens keep). Chromium renders both: every page's visible text
must be the same, and two pages must look the same to the pixel at 1280 px.
"""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from kldigital_site.render.minify import minify_asset, minify_page
from tests.conftest import build_site_at, copy_fixture_site

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Route

SITE = "http://kl.test"  # routed to the built tree below, never to a network


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("minify")
    root = copy_fixture_site("full", tmp / "site")
    build_site_at(root, output=tmp / "minified", minify=True)
    build_site_at(root, output=tmp / "plain", minify=False)
    return tmp / "minified", tmp / "plain"


def _pages(root: Path) -> list[str]:
    """The pages made from templates (the redirect pages of old addresses are not)."""
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*.html")
        if b'http-equiv="refresh"' not in p.read_bytes()
    )


def _unhashed(root: Path, rel: str) -> str:
    return re.sub(r"\.[0-9a-f]{8}(\.[a-z]+)$", r"\1", rel)


def test_pages_stylesheets_and_scripts_are_smaller(builds: tuple[Path, Path]) -> None:
    minified, plain = builds
    assert _pages(minified) == _pages(plain)
    for rel in _pages(minified):
        assert (minified / rel).stat().st_size < (plain / rel).stat().st_size, rel
    small = {_unhashed(minified, p.name): p for p in (minified / "assets").rglob("*.*s")}
    large = {_unhashed(plain, p.name): p for p in (plain / "assets").rglob("*.*s")}
    assert sorted(small) == sorted(large) and "site.css" in small and "search.js" in small
    for name, path in small.items():
        assert path.stat().st_size < large[name].stat().st_size * 0.9, name


def test_text_files_feeds_and_cards_are_not_minified(builds: tuple[Path, Path]) -> None:
    """Plain text, e-mail, vCard, Atom and the sitemap are no HTML: byte for byte the same."""
    minified, plain = builds
    others = sorted(
        p.relative_to(plain).as_posix()
        for p in plain.rglob("*")
        if p.suffix in {".txt", ".eml", ".vcf", ".xml"} and "pagefind" not in p.parts
    )
    assert any(rel.endswith(".eml") for rel in others) and "sitemap.xml" in others
    for rel in others:
        assert (minified / rel).read_bytes() == (plain / rel).read_bytes(), rel


def test_preformatted_text_inline_spaces_and_typography_survive() -> None:
    html = (
        "<!DOCTYPE html>\n<html lang=de>\n<head>\n<title>T</title>\n</head>\n<body>\n"
        "<p>\n  Am 1.\u202fMai <strong>um</strong> <em>10 Uhr</em>\n</p>\n"
        "<pre><code>  eingerückt\n\n  zwei Zeilen</code></pre>\n"
        "<textarea>  so  bleibt  es </textarea>\n"
        '<script type="application/ld+json">{"a": "b  c"}</script>\n'
        "<!-- a comment -->\n</body>\n</html>\n"
    )
    out = minify_page(html)
    assert "Am 1.\u202fMai <strong>um</strong> <em>10 Uhr</em>" in out
    assert "<pre><code>  eingerückt\n\n  zwei Zeilen</code></pre>" in out
    assert "<textarea>  so  bleibt  es </textarea>" in out
    assert '{"a": "b  c"}' in out
    assert "comment" not in out
    assert "</p>" in out and "<head>" in out  # closing and optional tags are kept


def test_leichte_sprache_keeps_its_lines() -> None:
    """Its stylesheet shows line breaks as written (white-space: pre-line), which a
    minifier cannot know: the page is published as written
    (test_accessibility_browser.py measures the lines in Chromium)."""
    html = (
        '<!DOCTYPE html>\n<html lang="de">\n<body>\n<article class="content-page easy-language">'
        "<div class=prose><p>Zum Beispiel:\nDer Bus fährt.\nDie Bahn fährt.</p></div>"
        "</article>\n</body>\n</html>\n"
    )
    assert minify_page(html) == html
    assert "\n" not in minify_page(html.replace("easy-language", "plain-language"))


def test_stylesheets_and_scripts_lose_comments_and_whitespace_only() -> None:
    css = b'/* note */\n.a  {\n  color : red;\n}\n\n.b::after { content: "  x  "; }\n'
    assert minify_asset("x.css", css) == b'.a{color:red}.b::after{content:"  x  "}'
    js = b"// note\nconst greeting = 'Hallo  Welt';\n\nfunction f (a) {\n  return a + 1;\n}\n"
    assert minify_asset("x.js", js) == b"const greeting='Hallo  Welt';function f(a){return a+1;}"
    svg = b"<svg>\n  <path/>\n</svg>\n"
    assert minify_asset("x.svg", svg) == svg


def _serve_tree(root: Path) -> object:
    def handle(route: Route) -> None:
        path = route.request.url.removeprefix(SITE).split("?")[0].removeprefix("/sub/")
        target = root / path
        if target.is_dir() or path.endswith("/") or not path:
            target = target / "index.html"
        if not target.is_file():
            route.fulfill(status=404, body="")
            return
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        route.fulfill(status=200, body=target.read_bytes(), content_type=kind)

    return handle


def _open(browser: Browser, root: Path, *, scripts: bool) -> Page:
    page = browser.new_page(viewport={"width": 1280, "height": 900}, java_script_enabled=scripts)
    page.route(f"{SITE}/**", _serve_tree(root))  # type: ignore[arg-type]
    return page


@pytest.mark.browser
def test_minified_pages_show_the_same_text_and_look_the_same(
    builds: tuple[Path, Path], browser: Browser
) -> None:
    minified, plain = builds
    # Text without scripts: the search page's script writes its hints whenever it is
    # ready, which would race with reading the text. The pixels are compared with them.
    small, large = _open(browser, minified, scripts=False), _open(browser, plain, scripts=False)
    try:
        for rel in _pages(minified):
            url = f"{SITE}/sub/{rel}"
            small.goto(url)
            large.goto(url)
            text = small.evaluate("document.body.innerText")
            assert text == large.evaluate("document.body.innerText"), rel
            assert small.title() == large.title(), rel
        small.close()
        large.close()
        small, large = _open(browser, minified, scripts=True), _open(browser, plain, scripts=True)
        for rel in ("index.html", "presse/digitaltag-2026/index.html"):
            small.goto(f"{SITE}/sub/{rel}", wait_until="networkidle")
            large.goto(f"{SITE}/sub/{rel}", wait_until="networkidle")
            shots = [p.screenshot(full_page=True, animations="disabled") for p in (small, large)]
            assert shots[0] == shots[1], f"{rel} looks different when minified"
    finally:
        small.close()
        large.close()

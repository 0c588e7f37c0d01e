"""Issue 13 in Chromium: the Leichte Sprache page is set for its readers, the
Gebärdensprache video plays from the site itself, at desktop and phone width.

Builds the sample site (content/), serves it on 127.0.0.1 and reads what a
reader gets: computed type size, alignment and line breaks, the video's own
duration as the browser decodes it, the header's links to both pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from kldigital_site.build import build
from kldigital_site.config import load_config
from tests.conftest import NOW, REPO, TEMPLATES
from tests.test_csp_browser import TIMEOUT_MS, _serve

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

WIDTHS = (1280, 390)


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    www = tmp_path_factory.mktemp("accessibility-browser") / "www"
    config = load_config(REPO / "content", TEMPLATES, www)
    build(config, now=NOW, use_cache=False)
    with _serve(www) as port:
        yield f"http://127.0.0.1:{port}/"


def _page(browser: Browser, width: int) -> Page:
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    return page


@pytest.mark.parametrize("width", WIDTHS)
def test_leichte_sprache_is_large_left_aligned_one_statement_per_line(
    browser: Browser, origin: str, width: int
) -> None:
    page = _page(browser, width)
    try:
        page.goto(origin + "leichte-sprache/")
        style = page.eval_on_selector(
            ".easy-language .prose p",
            """p => { const s = getComputedStyle(p);
                return {size: parseFloat(s.fontSize), align: s.textAlign, hyphens: s.hyphens,
                        line: parseFloat(s.lineHeight)}; }""",
        )
        assert style["size"] >= 20
        assert style["align"] in ("left", "start")
        assert style["hyphens"] == "none"
        # "Zum Beispiel:" and the two sentences after it: three lines, as the editor wrote them.
        example = page.locator(".easy-language .prose p", has_text="Zum Beispiel:").first
        box = example.bounding_box()
        assert box is not None and box["height"] >= 3 * style["line"] - 1
        width_px = page.eval_on_selector(".easy-language .prose", "e => e.clientWidth")
        assert width_px <= 34 * 16 + 1  # short lines
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    finally:
        page.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_sign_language_video_plays_from_the_site(
    browser: Browser, origin: str, width: int
) -> None:
    page = _page(browser, width)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    try:
        page.goto(origin + "gebaerdensprache/")
        video = page.locator("video").first
        video.scroll_into_view_if_needed()
        page.wait_for_function(
            "document.querySelector('video').readyState >= 1", timeout=TIMEOUT_MS
        )
        assert round(video.evaluate("v => v.duration")) == 6
        assert video.evaluate("v => v.controls") is True
        assert all(url.startswith(origin) for url in requests), requests
        header = page.locator("header .access-links a")
        assert header.all_inner_texts() == ["Leichte Sprache", "Gebärdensprache"]
        assert all(link.is_visible() for link in header.all())
    finally:
        page.close()

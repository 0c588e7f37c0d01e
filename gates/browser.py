"""Debian's Chromium, headless, driven by Playwright (never a downloaded browser).

Also: the page types of the content model, told apart by URL, so the
browser gates visit each type of page rather than every page.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from gates.core import Site
from gates.tools import find_chromium

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Only loopback: the gates must never reach out, whatever a page links.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--no-proxy-server",
]
LAUNCH_TIMEOUT_MS = 60_000
#: Waits for web fonts, 5 s at most (Playwright's evaluate() never times out).
FONTS_READY = "() => Promise.race([document.fonts.ready, new Promise(r => setTimeout(r, 5000))])"
DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 390, "height": 844}


@contextlib.contextmanager
def launch() -> Iterator[Browser]:
    """A headless Debian Chromium, closed (and Playwright stopped) afterwards."""
    chromium = find_chromium()
    from playwright.sync_api import sync_playwright

    # Playwright gives the browser a fresh temporary profile of its own.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS, timeout=LAUNCH_TIMEOUT_MS
        )
        try:
            yield browser
        finally:
            browser.close()


# Page types of the content model (docs/templates.md), by URL relative to the
# base path. Order matters: the first match wins.
_PAGE_TYPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("home", re.compile(r"^$")),
    ("project_list", re.compile(r"^projekte/$")),
    ("project", re.compile(r"^projekte/[^/]+/$")),
    ("smart_city", re.compile(r"^smart-city/$")),
    ("press_list", re.compile(r"^presse/$")),
    ("press_list_page", re.compile(r"^presse/seite/\d+/$")),
    ("press_year", re.compile(r"^presse/\d{4}/$")),
    ("press_release", re.compile(r"^presse/[^/]+/$")),
    ("topics", re.compile(r"^themen/$")),
    ("topic", re.compile(r"^themen/[^/]+/$")),
    ("search", re.compile(r"^suche/$")),
    ("page", re.compile(r"^[^/]+/$")),
)


def page_type(site: Site, url_path: str) -> str:
    rel = url_path[len(site.base_path) :] if url_path.startswith(site.base_path) else url_path
    for name, pattern in _PAGE_TYPES:
        if pattern.match(rel):
            return name
    return "other"


def pages_by_type(site: Site) -> dict[str, list[str]]:
    """URL paths of the site's pages grouped by page type, each list sorted."""
    groups: dict[str, list[str]] = {}
    for path in sorted(site.pages()):
        groups.setdefault(page_type(site, path), []).append(path)
    return groups


def representatives(groups: Mapping[str, list[str]], per_type: int) -> list[tuple[str, str]]:
    """(type, path) pairs: up to `per_type` pages of each type, spread over the list."""
    chosen: list[tuple[str, str]] = []
    for kind in sorted(groups):
        paths = groups[kind]
        if len(paths) <= per_type:
            picks = paths
        else:
            step = (len(paths) - 1) / max(per_type - 1, 1)
            picks = list(dict.fromkeys(paths[round(i * step)] for i in range(per_type)))
        chosen.extend((kind, path) for path in picks)
    return chosen


# Markup in <main> worth seeing at least once per page type: a page type's
# pages differ by what editors put in them (images, tables, footnotes ...) and
# by banners (drafts, future items).
FEATURES = (
    "<img", "<picture", "<table", "footnote", "<iframe", "<figure", "<pre",
    "<blockquote", "<video", "<audio", "<dl", "<form", "<details", "<ol", "<sup",
    "<aside", "<svg", 'role="status"', 'class="banner"', "<nav", "easy-language",
)  # fmt: skip


def main_features(file: Path) -> frozenset[str]:
    """Which of FEATURES the page's <main> contains."""
    html = file.read_text(encoding="utf-8", errors="replace").lower()
    start, end = html.find("<main"), html.rfind("</main>")
    part = html[start:end] if 0 <= start < end else html
    return frozenset(feature for feature in FEATURES if feature in part)


def choose_pages(site: Site, per_type: int) -> list[tuple[str, str]]:
    """(type, path) pairs: `per_type` pages of each type spread over its list,
    plus as few more as cover every feature that pages of the type show."""
    groups = pages_by_type(site)
    pages = site.pages()
    spread = representatives(groups, per_type)
    chosen: list[tuple[str, str]] = []
    for kind in sorted(groups):
        picked = [path for k, path in spread if k == kind]
        covered: set[str] = set()
        for path in picked:
            covered |= main_features(pages[path])
        features = {p: main_features(pages[p]) for p in groups[kind] if p not in picked}
        while features:
            best = max(features, key=lambda p: len(features[p] - covered))
            if not features[best] - covered:
                break
            picked.append(best)
            covered |= features.pop(best)
        chosen.extend((kind, path) for path in picked)
    return chosen


def search_results_target(site: Site) -> str | None:
    """`/suche/?q=<word>` for a word from a page title, when the site has a search
    page: the results are made by script, so they need a look of their own."""
    groups = pages_by_type(site)
    if not groups.get("search"):
        return None
    pages = site.pages()
    for kind in ("project", "press_release", "page"):
        for path in groups.get(kind, []):
            html = pages[path].read_text(encoding="utf-8", errors="replace")
            match = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.DOTALL)
            words = (
                re.findall(r"[^\W\d_]{5,}", re.sub(r"<[^>]+>", " ", match.group(1)))
                if match
                else []
            )
            if words:
                return f"{groups['search'][0]}?q={quote(max(words, key=len))}"
    return None

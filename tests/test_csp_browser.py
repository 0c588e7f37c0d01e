"""Issue 7: the pages' own Content-Security-Policy holds in real Chromium.

Builds the sample site (content/) at the server root and the full fixture site
under /sub/ with the project's templates, serves them with the standard library
on 127.0.0.1 *without* any security header, so only the ``<meta>`` policy of
templates/base.html is in force, and opens every generated page (and the search
with a query, which loads Pagefind's WebAssembly engine and index). Any CSP
violation — reported as a ``securitypolicyviolation`` event or as a "Refused to
…" console message — fails the test: the default theme must need no
'unsafe-inline'. A control case injects an inline script and expects it to be
refused, so a listener that hears nothing cannot pass by accident.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import lxml.html
import pytest

from kldigital_site.build import build
from kldigital_site.config import load_config
from kldigital_site.render.views import content_security_policy
from tests.conftest import FIXTURES, NOW, REPO, TEMPLATES

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

TIMEOUT_MS = 15_000
# Runs before any page script and is not subject to the page's CSP.
_RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(`${e.effectiveDirective} blocked ${e.blockedURI || 'inline'}`
    + ` (${e.sourceFile || ''}:${e.lineNumber || 0})`);
});
"""


class _Handler(SimpleHTTPRequestHandler):
    # No Content-Security-Policy header on purpose: the meta tag alone must do.
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


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    work = tmp_path_factory.mktemp("csp-browser")
    www = work / "www"
    config = load_config(REPO / "content", TEMPLATES, www, base_url="https://www.example.org/")
    build(config, now=NOW, use_cache=False)
    full = work / "full"
    shutil.copytree(FIXTURES / "sites" / "full", full)
    config = load_config(
        full / "content", TEMPLATES, www / "sub", base_url="https://example.org/sub/"
    )
    build(config, now=NOW, use_cache=False)
    with _serve(www) as port:
        yield www, f"http://127.0.0.1:{port}/"


@pytest.fixture
def page(browser: Browser) -> Iterator[tuple[Page, list[str]]]:
    context = browser.new_context()
    context.add_init_script(_RECORD_VIOLATIONS)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text)
            if "Content Security Policy" in message.text or message.text.startswith("Refused")
            else None
        ),
    )
    try:
        yield page, refused
    finally:
        context.close()


def _violations(page: Page, refused: list[str]) -> list[str]:
    recorded: list[str] = page.evaluate("window.__csp")
    return recorded + refused


def _pages(www: Path) -> list[str]:
    return sorted(p.relative_to(www).as_posix() for p in www.rglob("*.html"))


def test_every_page_carries_the_policy_first_in_head(served: tuple[Path, str]) -> None:
    www, _ = served
    policy = content_security_policy(())
    for rel in _pages(www):
        # Parsed, not searched as text: the published pages are minified.
        head = lxml.html.document_fromstring(www.joinpath(rel).read_bytes()).head
        # Before any stylesheet or script, or those would load unchecked.
        first_tags = list(itertools.takewhile(lambda e: e.tag not in ("link", "script"), head))
        metas = {
            (e.get("http-equiv") or e.get("name")): e.get("content")
            for e in first_tags
            if e.tag == "meta"
        }
        assert "Content-Security-Policy" in metas, rel
        assert metas.get("referrer") == "strict-origin-when-cross-origin", rel
        if not rel.startswith("sub/"):
            assert metas["Content-Security-Policy"] == policy, rel


def test_no_page_violates_the_policy(
    served: tuple[Path, str], page: tuple[Page, list[str]]
) -> None:
    www, root = served
    tab, refused = page
    problems: list[str] = []
    pages = _pages(www)
    assert len(pages) > 60
    for rel in pages:
        if 'http-equiv="refresh"' in www.joinpath(rel).read_text(encoding="utf-8"):
            continue  # a redirect page at an old address: the browser leaves it at once
        url = root + rel.removesuffix("index.html")
        tab.goto(url, wait_until="load")
        problems += [f"{rel}: {v}" for v in _violations(tab, refused)]
        refused.clear()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("search", ["suche/?q=Stadt", "sub/suche/?q=Mobilit%C3%A4t"])
def test_search_runs_under_the_policy(
    served: tuple[Path, str], page: tuple[Page, list[str]], search: str
) -> None:
    _, root = served
    tab, refused = page
    tab.goto(root + search, wait_until="load")
    # Results appear only if Pagefind's script, worker, WebAssembly and index all loaded.
    tab.wait_for_selector(".search-result", timeout=TIMEOUT_MS)
    assert not _violations(tab, refused)


def test_an_inline_script_is_refused(
    served: tuple[Path, str], page: tuple[Page, list[str]]
) -> None:
    # The control: what the policy exists for is really blocked, and the listener hears it.
    _, root = served
    tab, refused = page
    tab.goto(root, wait_until="load")
    tab.evaluate(
        """() => { const s = document.createElement('script');
        s.textContent = 'window.__ran = true'; document.head.append(s); }"""
    )
    tab.wait_for_function("window.__csp.length > 0", timeout=TIMEOUT_MS)
    assert tab.evaluate("window.__ran === undefined")
    assert any("script-src" in v for v in _violations(tab, refused))

"""Issue 16 in real Chromium: "Text kopieren" puts the release's text version on
the clipboard, under the pages' own Content-Security-Policy; without script the
button stays hidden and the link to the text file remains.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kldigital_site.build import build
from kldigital_site.config import load_config
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, NOW, REPO, TEMPLATES
from tests.test_csp_browser import TIMEOUT_MS, _serve

pytestmark = pytest.mark.browser

RELEASE = "presse/herzlich-digitales-miteinander/"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    www = tmp_path_factory.mktemp("newsroom-browser") / "www"
    build(load_config(REPO / "content", TEMPLATES, www), now=NOW, use_cache=False)
    with _serve(www) as port:
        yield www, f"http://127.0.0.1:{port}/"


def test_copy_button_copies_the_text_version(served: tuple[Path, str]) -> None:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium")
    from playwright.sync_api import sync_playwright

    www, origin = served
    expected = (www / RELEASE / "pressemitteilung.txt").read_text(encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin[:-1])
            page = context.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(origin + RELEASE, timeout=TIMEOUT_MS)
            button = page.get_by_role("button", name="Text kopieren")
            button.click(timeout=TIMEOUT_MS)
            status = page.locator(".press-tools-status")
            status.filter(has_text="Zwischenablage").wait_for(timeout=TIMEOUT_MS)
            assert page.evaluate("navigator.clipboard.readText()") == expected
            assert errors == []

            plain = browser.new_context(java_script_enabled=False).new_page()
            plain.goto(origin + RELEASE, timeout=TIMEOUT_MS)
            assert not plain.get_by_role("button", name="Text kopieren").is_visible()
            link = plain.get_by_role("link", name="Text als Datei (TXT)")
            assert link.get_attribute("href") == "/" + RELEASE + "pressemitteilung.txt"
        finally:
            browser.close()

"""/admin/ of a running preview in real Chromium: Decap CMS on the local backend.

Starts ``serve`` on the sample site (a copy), logs in to the local backend,
creates a press release through the form (title, sub-headline, date, body, a
topic, a contact) and saves it: the file appears in ``content/presse/`` with
the contract's name, ``check`` passes and the preview shows the release. Then
changes a profile's status through the select. Every request the page makes
must stay on 127.0.0.1 (the browser cannot resolve any other name anyway, so
an outside request would show up as a failed one).

Needs the Decap bundle: ``make cms`` (``make test`` runs it).
"""

from __future__ import annotations

import datetime as dt
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kldigital_site.cms.page import bundle_dir
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, REPO, pipe_lines

pytestmark = pytest.mark.browser

START_TIMEOUT = 60.0
TIMEOUT_MS = 30_000
SCREENSHOTS = os.environ.get("KLDIGITAL_CMS_SCREENSHOTS")  # docs/: make the guide's pictures


@dataclass
class Serve:
    root: Path
    process: subprocess.Popen[str]
    url: str = ""
    output: list[str] = field(default_factory=list)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} fehlt (apt-get install chromium; .ci/install-system-deps.sh)")
    if bundle_dir(REPO) is None:
        pytest.fail("Decap CMS fehlt: make cms (make test installiert es)")
    root = tmp_path / "site"
    shutil.copytree(REPO / "content", root / "content")
    shutil.copytree(REPO / "templates", root / "templates")
    process = subprocess.Popen(
        [sys.executable, "-m", "kldigital_site", "serve", "--host", "127.0.0.1", "--port", "0"],
        cwd=root,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    running = Serve(root, process)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=pipe_lines, args=(process.stdout, lines, running.output), daemon=True
    ).start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not running.url:
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("serve did not start:\n" + "".join(running.output))
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                continue
            match = re.match(r"Vorschau: (http://127\.0\.0\.1:\d+)/", line)
            if match:
                running.url = match[1]
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _shot(page: object, name: str) -> None:
    """Pictures for docs/redaktion.md, when asked for (KLDIGITAL_CMS_SCREENSHOTS=dir)."""
    if SCREENSHOTS:
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 900})  # type: ignore[attr-defined]
            page.wait_for_timeout(300)  # type: ignore[attr-defined]
            suffix = "" if width == 1280 else "-schmal"
            page.screenshot(path=f"{SCREENSHOTS}/{name}{suffix}.png")  # type: ignore[attr-defined]
        page.set_viewport_size({"width": 1280, "height": 900})  # type: ignore[attr-defined]


def test_create_a_release_and_change_a_status_in_the_cms(serve: Serve) -> None:
    from playwright.sync_api import expect, sync_playwright

    requests: list[str] = []
    failed: list[str] = []
    csp: list[str] = []
    # Written today for an embargo three days ahead: the file name takes the release's date.
    day = dt.date.today() + dt.timedelta(days=3)
    expected = serve.root / "content/presse" / f"{day:%Y-%m-%d}-buergerbuero-jetzt-digital.md"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="de-DE")
            page.set_default_timeout(TIMEOUT_MS)
            page.on("request", lambda r: requests.append(r.url))
            # (A long-poll cut short by leaving the page is aborted, not failed.)
            page.on(
                "requestfailed",
                lambda r: failed.append(r.url) if r.failure != "net::ERR_ABORTED" else None,
            )
            page.on(
                "response",
                lambda r: (
                    failed.append(f"{r.status} {r.url} {r.text()}") if r.status >= 400 else None
                ),
            )
            page.on(
                "console",
                lambda m: csp.append(m.text) if "Content Security Policy" in m.text else None,
            )
            # From the preview: the "Admin" link every preview page has.
            page.goto(f"{serve.url}/")
            page.get_by_role("link", name="Admin", exact=True).click()
            expect(page).to_have_url(re.compile(re.escape(f"{serve.url}/admin/") + "(#.*)?$"))
            page.get_by_role("button", name="Login").click()
            expect(page.get_by_role("link", name="Pressemitteilungen")).to_be_visible()
            expect(page.get_by_role("link", name="Projekte")).to_be_visible()
            expect(page.get_by_role("link", name="Seiten")).to_be_visible()
            expect(page.get_by_role("link", name="Kontakte")).to_be_visible()
            expect(page.get_by_role("link", name="Presseabbinder")).to_be_visible()
            _shot(page, "cms-sammlungen")

            # A new press release through the form.
            page.goto(f"{serve.url}/admin/#/collections/presse/new")
            page.locator("#title-field-1").fill("Bürgerbüro jetzt digital")
            page.locator("[id^=subtitle-field]").fill("Termine ab sofort auch online buchen")
            page.locator("[id^=date-field]").fill(f"{day:%Y-%m-%d}T09:30")
            page.locator("[id^=tags-field]").fill("Verwaltung")
            contacts = page.locator("[id^=contacts-field]")
            contacts.click()
            page.get_by_text("Katrin Fechner (fechner)", exact=True).click()
            _shot(page, "cms-pressemitteilung")
            body = page.locator("[data-slate-editor=true]")
            body.click()
            body.type("Das Bürgerbüro bietet seine Termine jetzt online an.")
            page.get_by_role("button", name="Veröffentlichen").click()
            page.get_by_text("Jetzt veröffentlichen").click()
            expect(page.get_by_text("Beitrag gespeichert")).to_be_visible()

            deadline = time.monotonic() + 10
            while not expected.is_file() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert expected.is_file(), sorted(os.listdir(serve.root / "content/presse"))
            text = expected.read_text(encoding="utf-8")
            assert "title: Bürgerbüro jetzt digital\n" in text
            assert "subtitle: Termine ab sofort auch online buchen\n" in text
            assert "- Verwaltung\n" in text
            assert "- fechner\n" in text
            assert text.rstrip().endswith("Das Bürgerbüro bietet seine Termine jetzt online an.")

            # The preview shows it (the watcher rebuilds on the save).
            release_page = browser.new_page()
            release_page.set_default_timeout(TIMEOUT_MS)
            release_page.on("request", lambda r: requests.append(r.url))
            deadline = time.monotonic() + 30
            while True:
                response = release_page.goto(f"{serve.url}/presse/buergerbuero-jetzt-digital/")
                if (response is not None and response.ok) or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            expect(release_page.locator("main h1").first).to_have_text("Bürgerbüro jetzt digital")
            expect(release_page.locator("main")).to_contain_text("Katrin Fechner")

            # A profile's status through the select.
            # (A fresh load: Decap keeps the last entry's form on a mere hash change.)
            page.goto("about:blank")
            page.goto(f"{serve.url}/admin/#/collections/projekte/entries/dritte-orte")
            expect(page.locator("[id^=title-field]")).to_have_value("Dritte Orte")
            status = page.locator("[id^=status-field]")
            status.click()
            _shot(page, "cms-projekt-status")
            page.get_by_text("abgeschlossen", exact=True).click()
            page.get_by_role("button", name="Veröffentlichen").click()
            page.get_by_text("Jetzt veröffentlichen").click()
            expect(page.get_by_text("Beitrag gespeichert"), str(failed)).to_be_visible()
            profile = serve.root / "content/projekte/dritte-orte.md"
            deadline = time.monotonic() + 10
            while "status: abgeschlossen" not in profile.read_text(encoding="utf-8"):
                assert time.monotonic() < deadline, profile.read_text(encoding="utf-8")
                time.sleep(0.1)
        finally:
            browser.close()

    outside = [u for u in requests if not u.startswith(("http://127.0.0.1:", "data:", "blob:"))]
    assert not outside, f"requests left 127.0.0.1: {outside}"
    assert not failed, f"failed requests: {failed}"
    assert not csp, f"Content-Security-Policy violations: {csp}"

    check = subprocess.run(
        [sys.executable, "-m", "kldigital_site", "check"],
        cwd=serve.root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr

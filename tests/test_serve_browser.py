"""``kldigital-site serve`` in real Chromium (Debian's, driven by Playwright).

Starts the command on a free port, opens a press release, edits the file and
sees the new title without touching the browser; breaks the front matter and
sees the overlay with file and line; fixes it and sees the overlay go; stops
the server with Ctrl-C (SIGINT) and expects a clean exit. The page carries a
strict Content-Security-Policy (no 'unsafe-inline', no connect-src), as the
real templates do, so the reload script must work within it.
"""

from __future__ import annotations

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
from typing import TYPE_CHECKING

import pytest

from tests.conftest import CHROMIUM, TEMPLATES, copy_fixture_site, pipe_lines

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'none'; object-src 'none'; base-uri 'none'"
)
START_TIMEOUT = 30.0
CHANGE_TIMEOUT_MS = 15_000
RELEASE = "content/presse/2024-05-02-erste-mitteilung.md"


@dataclass
class Serve:
    root: Path
    process: subprocess.Popen[str]
    url: str = ""
    output: list[str] = field(default_factory=list)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _with_csp(target: Path) -> None:
    """The project's templates, with a strict CSP meta tag if they lack one."""
    shutil.copytree(TEMPLATES, target)
    base = target / "base.html"
    html = base.read_text(encoding="utf-8")
    if "Content-Security-Policy" not in html:
        tag = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        html = html.replace('<meta charset="utf-8">', f'<meta charset="utf-8">\n{tag}', 1)
        assert tag in html, "base.html has no <meta charset> to put the CSP after"
        base.write_text(html, encoding="utf-8")


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    if not CHROMIUM.is_file():
        pytest.fail(
            f"{CHROMIUM} fehlt: Debian's chromium is needed for this test "
            "(apt-get install chromium; .ci/install-system-deps.sh installs it)."
        )
    root = copy_fixture_site("minimal", tmp_path / "site")
    _with_csp(root / "templates")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "kldigital_site", "serve", "--host", "127.0.0.1", "--port", "0"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # As in a terminal: a test run started in the background inherits an
        # ignored SIGINT, and then Ctrl-C could never reach the server.
        preexec_fn=_default_sigint,
    )
    running = Serve(root, process)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=pipe_lines, args=(process.stdout, lines, running.output), daemon=True
    ).start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not running.url:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or process.poll() is not None:
                pytest.fail("serve did not start:\n" + "".join(running.output))
            try:
                line = lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            match = re.match(r"Vorschau: (http://127\.0\.0\.1:\d+)/", line)
            if match:
                running.url = match[1]
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # what Ctrl-C sends
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                pytest.fail("serve did not stop within 10 s of Ctrl-C")


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_edit_reloads_the_page_and_errors_show_as_overlay(serve: Serve, browser: Browser) -> None:
    from playwright.sync_api import expect

    release = serve.root / RELEASE
    csp_reports: list[str] = []
    timings: dict[str, float] = {}
    page = browser.new_page()
    try:
        page.set_default_timeout(CHANGE_TIMEOUT_MS)
        page.on(
            "console",
            lambda message: (
                csp_reports.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )
        page.goto(f"{serve.url}/presse/erste-mitteilung/")
        heading = page.locator("main h1").first
        expect(heading).to_have_text("Erste Mitteilung")
        assert page.locator('meta[http-equiv="Content-Security-Policy"]').count() == 1
        # The script has connected once it defined its callback.
        page.wait_for_function("typeof window.__kldigitalLivereload === 'function'")

        started = time.monotonic()
        _edit(release, "title: Erste Mitteilung", "title: Neuer Titel aus dem Editor")
        expect(heading).to_have_text("Neuer Titel aus dem Editor")
        timings["reload"] = time.monotonic() - started

        started = time.monotonic()
        _edit(release, "date: 2024-05-02", "date: [2024-05-02")
        overlay = page.locator("#kldigital-dev-overlay")
        expect(overlay).to_contain_text(f"{RELEASE}:3")
        timings["overlay"] = time.monotonic() - started
        expect(overlay).to_have_attribute("role", "alert")
        # The external stylesheet applied despite the CSP: the overlay floats.
        assert overlay.evaluate("e => getComputedStyle(e).position") == "fixed"
        # The last good page stays underneath.
        expect(page.locator("main h1").first).to_have_text("Neuer Titel aus dem Editor")

        started = time.monotonic()
        _edit(release, "date: [2024-05-02", "date: 2024-05-02")
        expect(overlay).to_have_count(0)
        timings["fixed"] = time.monotonic() - started
        expect(page.locator("main h1").first).to_have_text("Neuer Titel aus dem Editor")
    finally:
        page.close()

    ours = [r for r in csp_reports if "__kldigital__" in r]
    assert not ours, f"the reload script broke the Content-Security-Policy: {ours}"
    print("save-to-screen seconds:", {k: round(v, 2) for k, v in timings.items()})

    serve.process.send_signal(signal.SIGINT)
    # Generous: under a loaded CI machine the build workers and threads take a while.
    assert serve.process.wait(timeout=30) == 0
    time.sleep(0.1)  # let the reader thread take the last lines
    output = "".join(serve.output)
    assert "Traceback" not in output, output
    assert "Vorschau beendet." in output
    assert not (serve.root / "output").exists()  # serve never writes output/


def test_stylesheet_edit_reloads_the_page_with_the_new_hashed_file(
    serve: Serve, browser: Browser
) -> None:
    """A theme file's name carries its hash: an edit gives every page a new name to load,
    so the open tab reloads and shows the new style (render/assets.py)."""
    from playwright.sync_api import expect

    stylesheet = serve.root / "templates/assets/css/site.css"
    page = browser.new_page()
    try:
        page.set_default_timeout(CHANGE_TIMEOUT_MS)
        page.goto(f"{serve.url}/presse/erste-mitteilung/")
        page.wait_for_function("typeof window.__kldigitalLivereload === 'function'")
        link = page.locator('link[rel="stylesheet"]:not([media])').first
        before = link.get_attribute("href") or ""
        assert re.search(r"/assets/css/site\.[0-9a-f]{8}\.css$", before), before
        text = stylesheet.read_text(encoding="utf-8")
        stylesheet.write_text(text + "\nmain h1 { color: rgb(1, 2, 3); }\n", encoding="utf-8")
        heading = page.locator("main h1").first
        expect(heading).to_have_css("color", "rgb(1, 2, 3)")
        after = page.locator('link[rel="stylesheet"]:not([media])').first.get_attribute("href")
        assert after != before
    finally:
        page.close()

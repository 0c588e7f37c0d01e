"""Issue 15: the preview starts as fast as a no-op build when nothing changed.

The preview's pages are built with a fixed origin (serve/origin.py) and get the
origin it listens on only when served, so a start on another port finds the
site of the last session unchanged and renders nothing.
"""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from kldigital_site.serve.origin import PREVIEW_ORIGIN, with_origin
from kldigital_site.serve.server import SERVE_DIR, BuildOutcome, DevServer, ServeOptions
from tests.conftest import NOW, TEMPLATES, copy_fixture_site

REAL = "http://127.0.0.1:8123"


def test_the_fixed_origin_is_replaced_plain_and_percent_encoded() -> None:
    page = (
        f'<link rel="canonical" href="{PREVIEW_ORIGIN}/presse/x/">'
        f'<a href="mailto:a@b.de?body=Adresse%3A%20{quote(PREVIEW_ORIGIN, safe="")}%2Fpresse">'
    ).encode()
    served = with_origin(page, REAL)
    assert (
        served
        == (
            f'<link rel="canonical" href="{REAL}/presse/x/">'
            f'<a href="mailto:a@b.de?body=Adresse%3A%20{quote(REAL, safe="")}%2Fpresse">'
        ).encode()
    )
    assert (
        with_origin(b"https://www.example.org/presse/", REAL) == b"https://www.example.org/presse/"
    )


def test_a_mail_line_break_inside_the_origin_is_no_obstacle() -> None:
    split = PREVIEW_ORIGIN[:11] + "=\r\n" + PREVIEW_ORIGIN[11:]
    mail = f"Im Netz: {split}/presse/x/\r\n".encode()
    assert with_origin(mail, REAL, folded=True) == f"Im Netz: {REAL}/presse/x/\r\n".encode()
    # Outside mails and contact cards a line break is a line break.
    assert with_origin(mail, REAL) == mail


@contextmanager
def _serving(root: Path, outcomes: list[BuildOutcome]) -> Iterator[DevServer]:
    options = ServeOptions(
        content_dir=root / "content", templates_dir=TEMPLATES, port=0, now=NOW, quiet=0.05
    )
    ready = threading.Event()
    server = DevServer(options, on_build=outcomes.append, on_ready=lambda url: ready.set())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert ready.wait(60), "the first build did not finish"
        yield server
    finally:
        server.stop()
        thread.join(10)


def _get(server: DevServer, path: str) -> bytes:
    with urllib.request.urlopen(server.url + path.lstrip("/"), timeout=10) as response:
        return bytes(response.read())


def test_a_second_start_on_another_port_renders_nothing(tmp_path: Path) -> None:
    root = copy_fixture_site("full", tmp_path / "site")
    first: list[BuildOutcome] = []
    with _serving(root, first) as server:
        port = server.port
    assert first[0].result is not None and first[0].result.rendered, "the first start builds"

    again: list[BuildOutcome] = []
    with _serving(root, again) as server:
        assert server.port != port
        start = again[0].result
        assert start is not None and not again[0].problems
        assert start.rendered == frozenset() and start.report is not None
        assert start.report.written == () and start.report.removed == ()
        # What a tab gets names the preview it asked, on this port.
        home = _get(server, "/").decode()
        assert f"{server.url}" in home and PREVIEW_ORIGIN not in home
        site = root / SERVE_DIR
        mail = next(site.rglob("*.eml")).relative_to(site).as_posix()
        served_mail = _get(server, f"/{mail}")
        assert PREVIEW_ORIGIN.encode() not in served_mail
        assert server.origin.encode() in served_mail.replace(b"=\r\n", b"")
        feed = next(site.rglob("feed.xml")).relative_to(site).as_posix()
        served_feed = _get(server, f"/{feed}").decode()
        assert f"{server.origin}/" in served_feed and PREVIEW_ORIGIN not in served_feed


def test_after_a_start_with_nothing_changed_the_first_save_finds_the_model_ready(
    tmp_path: Path,
) -> None:
    """The start made no model; the idle server prepares it (``resident_build.prepare``), so that
    the first save is built like every later one: one file parsed, no model made."""
    root = copy_fixture_site("full", tmp_path / "site")
    with _serving(root, []):
        pass
    outcomes: list[BuildOutcome] = []
    with _serving(root, outcomes) as server:
        assert outcomes[0].result is not None and outcomes[0].result.site is None
        deadline = time.monotonic() + 30
        while server.resident.kept.site is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.resident.kept.site is not None, "the idle server prepared the model"
        release = root / "content/presse/2025-08-26-digitale-sprechstunde.md"
        release.write_text(release.read_text(encoding="utf-8") + "\nNachtrag.\n", "utf-8")
        while len(outcomes) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        saved = outcomes[1].result
        assert saved is not None and not outcomes[1].problems
        # Data files (a handful) are parsed by every build.
        markdown = {path for path in saved.parsed if path.endswith(".md")}
        assert markdown == {"content/presse/2025-08-26-digitale-sprechstunde.md"}
        assert saved.bodies_rendered == {"presse/2025-08-26-digitale-sprechstunde.md"}
        assert "Nachtrag." in _get(server, "/presse/digitale-sprechstunde/").decode()

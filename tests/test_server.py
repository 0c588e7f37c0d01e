"""serve/responses.py and serve/server.py: request handling without a socket (``DevSite.respond``),
the live state, and the whole dev server (real watcher, real builds) on a free port."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest

from kldigital_site import build as build_module
from kldigital_site.errors import SiteError
from kldigital_site.serve.assets import CALLBACK, POLL_URL, SCRIPT_URL, STYLE_URL
from kldigital_site.serve.responses import (
    DevSite,
    LiveState,
    allowed_hosts,
    host_allowed,
    inject_script,
)
from kldigital_site.serve.server import (
    SERVE_DIR,
    BuildOutcome,
    DevServer,
    ServeOptions,
    _terminate_as_interrupt,
)
from tests.conftest import NOW, TEMPLATES, copy_fixture_site

SECRET = "streng geheim"
SCRIPT_TAG = re.compile(rb'<script src="/__kldigital__/livereload\.js" data-site="(\d+)" defer>')


def _write(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")


@pytest.fixture
def built(tmp_path: Path) -> Path:
    """A stand-in for a built site, plus a secret next to it."""
    site = tmp_path / "serve" / "site"
    _write(
        site,
        {
            "index.html": "<!DOCTYPE html><html><body><h1>Start</h1></body></html>",
            "presse/x/index.html": "<html><body><h1>X</h1></body></html>",
            "404.html": "<html><body><h1>Seite nicht gefunden</h1></body></html>",
            "assets/css/site.css": "body{color:#000}",
            "medien/bild.png": b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,
            "presse/feed.xml": "<feed/>",
            "presse/x/pressemitteilung.txt": "Überschrift\n",
            "presse/x/pressemitteilung.eml": "Subject: X\r\n\r\nText\r\n",
            "kontakt/presse.vcf": "BEGIN:VCARD\r\nEND:VCARD\r\n",
            ".kldigital-manifest.json": "{}",
        },
    )
    (tmp_path / "geheim.txt").write_text(SECRET)
    (site / "link.txt").symlink_to(tmp_path / "geheim.txt")
    return site


@pytest.fixture
def state() -> LiveState:
    live = LiveState()
    live.end_build([], site_changed=True)
    return live


@pytest.fixture
def dev(built: Path, state: LiveState) -> DevSite:
    return DevSite(built, state)


def _body(response: object) -> bytes:
    stream = getattr(response, "stream", None)
    if stream is not None:
        with stream:
            return bytes(stream.read())
    return bytes(getattr(response, "body", b""))


# --- files and injection -----------------------------------------------------------


def test_html_gets_the_reload_script_at_serve_time_only(dev: DevSite, built: Path) -> None:
    response = dev.respond("GET", "/presse/x/")
    body = _body(response)
    assert response.status == 200
    assert response.header("Content-Type") == "text/html; charset=utf-8"
    match = SCRIPT_TAG.search(body)
    assert match is not None and int(match[1]) == dev.state.snapshot.site
    assert body.count(b"livereload.js") == 1
    assert body.index(b"<script") < body.index(b"</body>")
    assert b"livereload" not in (built / "presse/x/index.html").read_bytes()
    assert response.header("Content-Length") is None  # set by the socket side from size
    assert response.size == len(body)


@pytest.mark.parametrize(
    ("target", "content_type"),
    [
        ("/assets/css/site.css", "text/css; charset=utf-8"),
        ("/medien/bild.png", "image/png"),
        ("/presse/feed.xml", "application/atom+xml; charset=utf-8"),
        ("/presse/x/pressemitteilung.txt", "text/plain; charset=utf-8"),
        ("/presse/x/pressemitteilung.eml", "message/rfc822"),
        ("/kontakt/presse.vcf", "text/vcard; charset=utf-8"),
    ],
)
def test_other_files_are_served_unchanged(
    dev: DevSite, built: Path, target: str, content_type: str
) -> None:
    response = dev.respond("GET", target)
    assert response.status == 200
    assert response.header("Content-Type") == content_type
    assert _body(response) == (built / target.lstrip("/")).read_bytes()


def test_every_response_forbids_caching(dev: DevSite) -> None:
    assert dev.respond("GET", "/").header("Cache-Control") == "no-store"


def test_folder_without_slash_redirects(dev: DevSite) -> None:
    response = dev.respond("GET", "/presse/x?a=1")
    assert response.status == 302
    assert response.header("Location") == "/presse/x/?a=1"


def test_unknown_page_gets_the_sites_404_page_with_script(dev: DevSite) -> None:
    response = dev.respond("GET", "/gibt/es/nicht/")
    body = _body(response)
    assert response.status == 404
    assert b"Seite nicht gefunden" in body and SCRIPT_TAG.search(body)


def test_a_file_path_with_a_trailing_slash_is_not_found(dev: DevSite) -> None:
    assert dev.respond("GET", "/assets/css/site.css/").status == 404


@pytest.mark.parametrize(
    "target",
    [
        "/../geheim.txt",
        "/../../etc/passwd",
        "/%2e%2e/geheim.txt",
        "/%2E%2E/%2e%2e/etc/passwd",
        "/presse/..%2f..%2fgeheim.txt",
        "/presse%2f..%2f..%2fgeheim.txt",
        "/..%5cgeheim.txt",
        "/..\\geheim.txt",
        "/presse/./x/",
        "/.kldigital-manifest.json",
        "/link.txt",  # symlink pointing out of the site
        "/index.html%00.css",
        "/%ff%fe",  # not UTF-8
        "//geheim.txt",
    ],
)
def test_nothing_outside_the_site_is_served(dev: DevSite, target: str) -> None:
    response = dev.respond("GET", target)
    assert response.status == 404
    assert SECRET.encode() not in _body(response)


def test_head_has_headers_but_no_body(dev: DevSite, built: Path) -> None:
    response = dev.respond("HEAD", "/medien/bild.png")
    assert response.status == 200
    assert response.body == b"" and response.stream is None
    assert response.size == (built / "medien/bild.png").stat().st_size


def test_other_methods_are_refused(dev: DevSite) -> None:
    response = dev.respond("POST", "/")
    assert response.status == 405
    assert response.header("Allow") == "GET, HEAD"


def test_site_under_a_sub_path(built: Path, state: LiveState) -> None:
    dev = DevSite(built, state, base_path="/sub/")
    assert dev.respond("GET", "/").header("Location") == "/sub/"
    assert dev.respond("GET", "/sub").header("Location") == "/sub/"
    assert dev.respond("GET", "/sub/presse/x/").status == 200
    assert dev.respond("GET", "/presse/x/").status == 404


def test_before_the_first_good_build_a_page_explains_and_reloads(built: Path) -> None:
    dev = DevSite(built, LiveState())
    response = dev.respond("GET", "/presse/x/")
    body = _body(response)
    assert response.status == 503
    assert b"noch nicht erzeugt" in body and SCRIPT_TAG.search(body)


TAG = b'<script src="/__kldigital__/livereload.js" data-site="7" defer></script>'


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        (b"<body>a</body>", b"<body>a" + TAG + b"</body>"),
        (b"<p>ohne body", b"<p>ohne body" + TAG),
        (b"<BODY>a</BODY >", b"<BODY>a" + TAG + b"</BODY >"),
    ],
)
def test_inject_script(html: bytes, expected: bytes) -> None:
    assert inject_script(html, 7) == expected


def test_inject_script_uses_the_last_body_end() -> None:
    html = b"<body><pre>&lt;/body&gt; </body> im Text</pre></body>"
    assert inject_script(html, 1).endswith(b"defer></script></body>")


# --- the dev server's own files --------------------------------------------------------


def test_script_and_style_are_served(dev: DevSite) -> None:
    script = dev.respond("GET", SCRIPT_URL)
    assert script.header("Content-Type") == "text/javascript; charset=utf-8"
    assert CALLBACK.encode() in script.body and b"innerHTML" not in script.body
    style = dev.respond("GET", STYLE_URL)
    assert style.header("Content-Type") == "text/css; charset=utf-8"
    assert b".kldigital-dev-overlay" in style.body
    assert dev.respond("GET", "/__kldigital__/unbekannt").status == 404


def _poll(dev: DevSite, since: int) -> dict[str, object]:
    body = dev.respond("GET", f"{POLL_URL}?since={since}&t=1").body.decode()
    prefix = f"window.{CALLBACK} && window.{CALLBACK}("
    assert body.startswith(prefix) and body.endswith(");\n")
    return dict(json.loads(body[len(prefix) : -3]))


def test_poll_answers_at_once_when_the_tab_is_behind(dev: DevSite) -> None:
    snapshot = dev.state.snapshot
    assert _poll(dev, -1) == {"site": snapshot.site, "state": snapshot.state, "problems": []}


def test_poll_waits_until_timeout_when_nothing_changed(dev: DevSite) -> None:
    dev.poll_timeout = 0.3
    started = time.monotonic()
    data = _poll(dev, dev.state.snapshot.state)
    assert time.monotonic() - started >= 0.25
    assert data["state"] == dev.state.snapshot.state


def test_poll_wakes_on_a_failed_build_with_its_problems(dev: DevSite) -> None:
    dev.poll_timeout = 10
    before = dev.state.snapshot
    problem = SiteError("content/presse/2024-05-02-x.md", 3, "YAML-Syntaxfehler: …")

    def fail_soon() -> None:
        time.sleep(0.1)
        dev.state.begin_build()
        dev.state.end_build([problem], site_changed=False)

    threading.Thread(target=fail_soon).start()
    started = time.monotonic()
    data = _poll(dev, before.state)
    assert time.monotonic() - started < 5
    assert data["site"] == before.site  # the last good site stays
    assert data["state"] > before.state  # type: ignore[operator]
    assert data["problems"] == [
        {"where": "content/presse/2024-05-02-x.md:3", "message": "YAML-Syntaxfehler: …"}
    ]


def test_versions_only_grow() -> None:
    live = LiveState()
    seen = []
    for changed in (True, False, True, True):
        live.begin_build()
        seen.append(live.end_build([], site_changed=changed))
    assert [s.state for s in seen] == sorted({s.state for s in seen})
    assert seen[1].site == seen[0].site and seen[2].site > seen[1].site


def test_requests_wait_while_a_build_runs(dev: DevSite) -> None:
    dev.state.begin_build()
    done = threading.Event()

    def request() -> None:
        dev.respond("GET", "/")
        done.set()

    threading.Thread(target=request, daemon=True).start()
    assert not done.wait(0.3)
    dev.state.end_build([], site_changed=True)
    assert done.wait(5)


def test_a_build_waits_for_requests_already_reading(dev: DevSite) -> None:
    started = threading.Event()
    with dev.state.reading():
        threading.Thread(target=lambda: (dev.state.begin_build(), started.set())).start()
        assert not started.wait(0.2)
    assert started.wait(5)
    dev.state.end_build([], site_changed=True)


# --- the whole server: real watcher, real builds -------------------------------------------


class Running:
    def __init__(self, server: DevServer, root: Path) -> None:
        self.server = server
        self.root = root

    def url(self, path: str) -> str:
        return self.server.origin + path

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url(path), timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def wait_for(self, check: Callable[[], bool], what: str, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            self.server.state.wait_newer(self.server.state.snapshot.state, 0.2)
        pytest.fail(f"timed out waiting for: {what}")


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    root = copy_fixture_site("minimal", tmp_path / "site")
    options = ServeOptions(
        content_dir=root / "content", templates_dir=TEMPLATES, port=0, now=NOW, quiet=0.05
    )
    ready = threading.Event()
    server = DevServer(options, on_ready=lambda url: ready.set())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    assert ready.wait(30), "the first build did not finish"
    try:
        yield Running(server, root)
    finally:
        server.stop()
        thread.join(10)
        assert not thread.is_alive()


RELEASE = "content/presse/2024-05-02-erste-mitteilung.md"


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_serve_rebuilds_on_save_and_never_touches_output(running: Running) -> None:
    status, html = running.get("/presse/erste-mitteilung/")
    assert status == 200 and "Erste Mitteilung" in html and "livereload.js" in html
    assert "http://127.0.0.1:" in html  # absolute links point at the preview

    _replace(running.root / RELEASE, "title: Erste Mitteilung", "title: Neuer Titel")
    running.wait_for(
        lambda: "Neuer Titel" in running.get("/presse/erste-mitteilung/")[1], "the new title"
    )
    assert not (running.root / "output").exists()
    staged = running.root / SERVE_DIR / "presse/erste-mitteilung/index.html"
    assert "Neuer Titel" in staged.read_text() and "livereload" not in staged.read_text()


def test_tabs_reload_once_the_new_site_is_in_place_not_once_the_cache_has_it(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build records the new site in the cache after putting it in place (issue 15:
    a tenth of a second of a save at 10,000 items): the tabs are told, and the new page
    is served, before that."""
    store_build = build_module._store_build
    seen: list[tuple[bool, str]] = []
    before = running.server.state.snapshot.site

    def storing(*args: Any, **kwargs: Any) -> None:
        # In the build's own thread: a request waiting for the build would never come back.
        told = running.server.state.snapshot.site > before
        seen.append((told, running.get("/presse/erste-mitteilung/")[1]))
        store_build(*args, **kwargs)

    monkeypatch.setattr(build_module, "_store_build", storing)
    _replace(running.root / RELEASE, "title: Erste Mitteilung", "title: Neuer Titel")
    running.wait_for(lambda: bool(seen), "the build to record the new site")
    told, html = seen[0]
    assert told and "Neuer Titel" in html


def test_a_broken_file_keeps_the_last_good_site_and_reports_path_and_line(
    running: Running,
) -> None:
    path = running.root / RELEASE
    good = path.read_text(encoding="utf-8")
    path.write_text(good.replace("date: 2024-05-02", "date: [2024-05-02"), encoding="utf-8")
    running.wait_for(lambda: bool(running.server.state.snapshot.problems), "the error")
    problems = running.server.state.snapshot.problems
    assert [(p.path, p.line) for p in problems] == [(RELEASE, 3)]
    status, html = running.get("/presse/erste-mitteilung/")
    assert status == 200 and "Erste Mitteilung" in html

    path.write_text(good, encoding="utf-8")
    running.wait_for(lambda: not running.server.state.snapshot.problems, "the fix")


def test_site_settings_apply_without_restart(running: Running) -> None:
    _replace(running.root / "content/site.yaml", "title: Minimal", "title: Ganz neu")
    running.wait_for(lambda: "Ganz neu" in running.get("/")[1], "the new site title")


def test_renamed_and_deleted_files_disappear(running: Running) -> None:
    old = running.root / RELEASE
    new = old.with_name("2024-05-02-umbenannt.md")
    old.rename(new)
    running.wait_for(lambda: running.get("/presse/umbenannt/")[0] == 200, "the new address")
    assert running.get("/presse/erste-mitteilung/")[0] == 404
    new.unlink()
    running.wait_for(lambda: running.get("/presse/umbenannt/")[0] == 404, "the deletion")


def test_an_added_alias_redirects_and_a_removed_one_disappears(running: Running) -> None:
    # With umlauts, as old addresses often have them; requested as a browser sends it.
    old = "/presse/frühere-mitteilung/"
    url = quote(old)
    assert running.get(url)[0] == 404
    _replace(running.root / RELEASE, "date: 2024-05-02", "date: 2024-05-02\naliases: [" + old + "]")
    running.wait_for(lambda: running.get(url)[0] == 200, "the redirect page")
    assert 'content="0; url=/presse/erste-mitteilung/"' in running.get(url)[1]
    _replace(running.root / RELEASE, "aliases: [" + old + "]\n", "")
    running.wait_for(lambda: running.get(url)[0] == 404, "the removed redirect page")


def test_drafts_and_embargoes_are_shown_with_their_banner(running: Running) -> None:
    _write(
        running.root,
        {
            "content/presse/2024-06-01-entwurf.md": "---\ntitle: Entwurf\ndate: 2024-06-01\n"
            "draft: true\n---\nText.\n",
            "content/presse/2027-03-01-sperrfrist.md": "---\ntitle: Bald\n"
            "date: 2027-03-01 10:00:00\n---\nText.\n",
        },
    )
    running.wait_for(lambda: running.get("/presse/sperrfrist/")[0] == 200, "the embargoed page")
    assert "Sperrfrist bis 1. März 2027, 10:00 Uhr" in running.get("/presse/sperrfrist/")[1]
    assert "Entwurf –" in running.get("/presse/entwurf/")[1]
    # Their cards on the lists say so too (issue 18), in words, not only by colour.
    for listing in ("/", "/presse/"):
        html = running.get(listing)[1]
        assert re.search(r'<span class="badge badge-notice">.*</span>Entwurf</span>', html)
        assert "</span>Sperrfrist bis 1. März 2027, 10:00 Uhr</span>" in html


def _raw(port: int, request: bytes) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        data = b""
        while chunk := connection.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


FOREIGN_HOSTS = (
    "evil.example",
    "evil.example:8000",
    "127.0.0.1.evil.example",
    "localhost.evil.example",
    "[::1].evil.example",
    "127.0.0.2",
    "",
)


def test_a_request_for_another_host_gets_nothing(running: Running) -> None:
    # DNS rebinding: a page elsewhere resolves its own name to 127.0.0.1 and reads the
    # preview, drafts and embargoed releases included, reload channel included.
    _write(
        running.root,
        {
            "content/presse/2027-03-01-sperrfrist.md": "---\ntitle: Geheimsache\n"
            "date: 2027-03-01 10:00:00\n---\nText.\n"
        },
    )
    running.wait_for(lambda: running.get("/presse/sperrfrist/")[0] == 200, "the embargoed page")
    port = running.server.port
    paths = ("/", "/presse/", "/presse/sperrfrist/", POLL_URL + "?since=0", SCRIPT_URL, "/admin/")
    for host in FOREIGN_HOSTS:
        for path in paths:
            for method in ("GET", "HEAD", "POST"):
                request = (
                    f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n"
                    "Connection: close\r\n\r\n"
                )
                status, body = _raw(port, request.encode())
                assert status == 403, (host, path, method)
                assert b"Geheimsache" not in body and b"Erste Mitteilung" not in body
                assert b"window." not in body, "nothing of the reload channel"
                if method == "GET":
                    assert "Anfrage abgelehnt" in body.decode()


def test_requests_for_the_preview_itself_are_answered(running: Running) -> None:
    port = running.server.port
    for host in ("127.0.0.1", f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}"):
        request = f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        assert _raw(port, request.encode())[0] == 200, host
    # HTTP/1.0 without any Host header: not a browser tab; refused too.
    assert _raw(port, b"GET / HTTP/1.0\r\n\r\n")[0] == 403


def test_the_host_given_with_host_is_allowed_too() -> None:
    allowed = allowed_hosts("192.168.1.20")
    assert host_allowed("192.168.1.20:8000", allowed)
    assert host_allowed("[::1]:8000", allowed)
    assert not host_allowed("192.168.1.21:8000", allowed)
    assert host_allowed("[fe80::1]:8000", allowed_hosts("fe80::1"))
    assert host_allowed("vorschau.local", allowed_hosts("vorschau.local"))
    assert not host_allowed("vorschau.local.evil.example", allowed_hosts("vorschau.local"))
    assert not host_allowed(None, allowed)


def test_swap_files_do_not_trigger_a_build(running: Running) -> None:
    before = running.server.state.snapshot.state
    (running.root / "content/presse/.2024-05-02-erste-mitteilung.md.swp").write_bytes(b"x")
    (running.root / "content/presse/4913").write_bytes(b"")
    assert running.server.state.wait_newer(before, 0.8).state == before


def test_an_embargo_that_ends_while_serving_loses_its_banner(tmp_path: Path) -> None:
    # The real clock this time: the server rebuilds by itself when the time comes.
    root = copy_fixture_site("minimal", tmp_path / "site")
    berlin = ZoneInfo("Europe/Berlin")
    goes_live = (dt.datetime.now(berlin) + dt.timedelta(seconds=3)).replace(microsecond=0)
    _write(
        root,
        {
            f"content/presse/{goes_live:%Y-%m-%d}-gleich.md": "---\ntitle: Gleich\n"
            f"date: {goes_live:%Y-%m-%d %H:%M:%S}\n---\nText.\n"
        },
    )
    options = ServeOptions(content_dir=root / "content", templates_dir=TEMPLATES, port=0)
    ready = threading.Event()
    server = DevServer(options, on_ready=lambda url: ready.set())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert ready.wait(30)
        running = Running(server, root)
        assert "Sperrfrist bis" in running.get("/presse/gleich/")[1]
        running.wait_for(
            lambda: "Sperrfrist bis" not in running.get("/presse/gleich/")[1],
            "the banner to go at the embargo time",
        )
    finally:
        server.stop()
        thread.join(10)


def test_forked_build_workers_do_not_inherit_the_sigterm_handler() -> None:
    # The build's process pool ends workers with SIGTERM; a Python-level handler
    # inherited from serve could make a worker miss it and hang the build.
    previous = _terminate_as_interrupt()
    try:
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
        pid = os.fork()
        if pid == 0:  # the child: report by exit code, never return into pytest
            os._exit(0 if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_a_site_broken_at_start_appears_once_fixed(tmp_path: Path) -> None:
    root = copy_fixture_site("minimal", tmp_path / "site")
    # The same port in both sessions, as with the default 8000: then the
    # earlier session's build is byte for byte what the fixed site builds.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    options = ServeOptions(
        content_dir=root / "content", templates_dir=TEMPLATES, port=port, now=NOW, quiet=0.05
    )

    def start() -> tuple[DevServer, threading.Thread]:
        ready = threading.Event()
        server = DevServer(options, on_ready=lambda url: ready.set())
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        assert ready.wait(30)
        return server, thread

    # An earlier session left a complete build in the staging folder.
    server, thread = start()
    server.stop()
    thread.join(10)

    release = root / RELEASE
    good = release.read_text(encoding="utf-8")
    release.write_text(good.replace("title:", "titel:"), encoding="utf-8")
    server, thread = start()
    try:
        running = Running(server, root)
        assert server.state.snapshot.problems
        assert running.get("/presse/erste-mitteilung/")[0] == 503
        release.write_text(good, encoding="utf-8")
        running.wait_for(
            lambda: running.get("/presse/erste-mitteilung/")[0] == 200, "the site once fixed"
        )
    finally:
        server.stop()
        thread.join(10)


def test_each_error_is_printed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file broken while the search index waits to follow a good build: the index
    does not rebuild (and fail, and print the same errors again as "Suchindex")."""
    monkeypatch.setattr("kldigital_site.serve.server.SEARCH_INDEX_DELAY", 2.0)
    root = copy_fixture_site("minimal", tmp_path / "site")
    options = ServeOptions(
        content_dir=root / "content", templates_dir=TEMPLATES, port=0, now=NOW, quiet=0.05
    )
    outcomes: list[BuildOutcome] = []
    ready = threading.Event()
    server = DevServer(options, on_build=outcomes.append, on_ready=lambda url: ready.set())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert ready.wait(30)
        running = Running(server, root)
        release = root / RELEASE
        _replace(release, "title: Erste Mitteilung", "title: Neuer Titel")
        running.wait_for(lambda: len(outcomes) >= 2, "the good rebuild")
        assert outcomes[-1].result is not None
        _replace(release, "title: Neuer Titel", "titel: Neuer Titel")
        running.wait_for(lambda: bool(server.state.snapshot.problems), "the error")
        time.sleep(3.0)  # past the moment the index would have followed
    finally:
        server.stop()
        thread.join(10)
    failed = [o for o in outcomes if o.problems]
    assert len(failed) == 1, [(o.reason, len(o.problems)) for o in outcomes]
    assert failed[0].reason != "Suchindex"

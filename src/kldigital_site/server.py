"""Dev server: build, serve, watch, rebuild, reload every open tab.

Input: ``ServeOptions`` (folders, host and port, clock) and callbacks for what
the command line prints. Output: a running server until Ctrl-C; nothing is
returned and ``output/`` is never touched.

Modelled on MkDocs ``livereload/__init__.py`` and ``commands/serve.py``:

* the site is built into ``<site root>/.kldigital-cache/serve/site``; the
  build's own atomic tree swap means that folder is always one complete build,
  and requests wait while a build runs (``LiveState.reading``), so no visitor
  ever sees half a site;
* a long-poll tells each tab when the site changed; the reload script is
  injected into ``text/html`` responses only, at serve time, never on disk;
* a failed build keeps the last good site and sends its problems to every tab,
  which overlays them (Zola ``error_injection_middleware``); the next good
  build removes the overlay by itself;
* ``content/site.yaml`` is read again whenever it changes, so settings take
  effect without a restart.

``DevSite.respond`` turns a request line into a ``Response`` without any
socket, so tests drive it directly (MkDocs ``testing_server``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import logging
import mimetypes
import os
import re
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import BinaryIO
from urllib.parse import parse_qs, unquote, urlsplit

from kldigital_site.build import BuildResult, build
from kldigital_site.config import SiteConfig, load_config
from kldigital_site.errors import BuildFailed, SiteError
from kldigital_site.server_assets import (
    CALLBACK,
    LIVERELOAD_JS,
    OVERLAY_CSS,
    POLL_URL,
    PREFIX,
    SCRIPT_URL,
    STYLE_URL,
)
from kldigital_site.watch import ChangeKind, ChangeSet, Watcher

log = logging.getLogger(__name__)

SERVE_DIR = Path(".kldigital-cache") / "serve" / "site"
POLL_TIMEOUT = 25.0  # below the usual proxy and browser idle limits
# Re-check embargo times at least this often (the machine may have slept).
MAX_EMBARGO_WAIT = 600.0

_ENCODED_SEPARATOR = re.compile(r"%(2f|5c|00)", re.IGNORECASE)
_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".xml": "application/xml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
}


# --- shared state between the build loop and request threads ----------------------


@dataclass(frozen=True, slots=True)
class Snapshot:
    site: int  # version of the last good build; 0 = none yet
    state: int  # version of the last build attempt, good or bad
    problems: tuple[SiteError, ...]

    def payload(self) -> dict[str, object]:
        return {
            "site": self.site,
            "state": self.state,
            "problems": [
                {
                    "where": f"{p.path}:{p.line}" if p.line > 0 else p.path,
                    "message": p.message,
                }
                for p in self.problems
            ],
        }


def _stamp(previous: int) -> int:
    # Milliseconds of wall time: versions stay unique across server restarts, so
    # a tab left open while the server restarted reloads instead of waiting.
    return max(previous + 1, time.time_ns() // 1_000_000)


class LiveState:
    """Versions of the site, the current problems, and a readers/builder lock.

    Requests read files while no build runs; a build waits until the requests
    that already opened a file are done (writer preference, so a stream of
    requests cannot starve the builder).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._snapshot = Snapshot(0, 0, ())
        self._building = False
        self._readers = 0
        self._closed = False

    @property
    def snapshot(self) -> Snapshot:
        with self._cond:
            return self._snapshot

    def begin_build(self) -> None:
        with self._cond:
            self._building = True
            self._cond.wait_for(lambda: self._readers == 0)

    def end_build(self, problems: Sequence[SiteError], *, site_changed: bool) -> Snapshot:
        with self._cond:
            old = self._snapshot
            state = _stamp(old.state)
            self._snapshot = Snapshot(state if site_changed else old.site, state, tuple(problems))
            self._building = False
            self._cond.notify_all()
            return self._snapshot

    @contextmanager
    def reading(self) -> Iterator[Snapshot]:
        with self._cond:
            self._cond.wait_for(lambda: not self._building or self._closed)
            self._readers += 1
            snapshot = self._snapshot
        try:
            yield snapshot
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    def wait_newer(self, since: int, timeout: float) -> Snapshot:
        with self._cond:
            self._cond.wait_for(lambda: self._snapshot.state > since or self._closed, timeout)
            return self._snapshot

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


# --- requests → responses, without a socket -------------------------------------------


@dataclass(slots=True)
class Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    stream: BinaryIO | None = None  # large files: streamed after the read lock is released
    length: int | None = None  # of the stream, or of the body a HEAD request leaves out

    @property
    def size(self) -> int:
        return self.length if self.length is not None else len(self.body)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


class DevSite:
    """Answers requests from the staging folder of the last good build."""

    def __init__(self, site_dir: Path, state: LiveState, base_path: str = "/") -> None:
        self.site_dir = site_dir
        self.state = state
        self.base_path = base_path
        self.poll_timeout = POLL_TIMEOUT

    def respond(self, method: str, target: str) -> Response:
        if method not in ("GET", "HEAD"):
            return Response(HTTPStatus.METHOD_NOT_ALLOWED, [("Allow", "GET, HEAD")])
        raw_path, query = _split_target(target)
        if raw_path.startswith(PREFIX):
            return self._own(raw_path, query)
        with self.state.reading() as snapshot:
            response = self._file(raw_path, query, snapshot)
        if method == "HEAD":
            response.length = response.size
            if response.stream is not None:
                response.stream.close()
            response.stream, response.body = None, b""
        return response

    # -- the dev server's own files --------------------------------------------------

    def _own(self, raw_path: str, query: str) -> Response:
        if raw_path == SCRIPT_URL:
            return _text(LIVERELOAD_JS, "text/javascript; charset=utf-8")
        if raw_path == STYLE_URL:
            return _text(OVERLAY_CSS, "text/css; charset=utf-8")
        if raw_path == POLL_URL:
            values = parse_qs(query).get("since", ["-1"])
            try:
                since = int(values[0])
            except ValueError:
                since = -1
            snapshot = self.state.wait_newer(since, self.poll_timeout)
            payload = json.dumps(snapshot.payload(), ensure_ascii=False)
            return _text(
                f"window.{CALLBACK} && window.{CALLBACK}({payload});\n",
                "text/javascript; charset=utf-8",
            )
        return _text("Nicht gefunden.\n", "text/plain; charset=utf-8", HTTPStatus.NOT_FOUND)

    # -- files of the built site ----------------------------------------------------

    def _file(self, raw_path: str, query: str, snapshot: Snapshot) -> Response:
        if snapshot.site == 0:
            return self._html(_NO_SITE_YET.encode(), snapshot, HTTPStatus.SERVICE_UNAVAILABLE)
        path = _decode_path(raw_path)
        if path is None:
            return self._not_found(snapshot)
        if not path.startswith(self.base_path):
            if path == "/" or path + "/" == self.base_path:
                return _redirect(self.base_path)
            return self._not_found(snapshot)
        rel = path[len(self.base_path) :]
        candidate = self.site_dir / rel if rel else self.site_dir
        if candidate.is_dir():
            if rel and not path.endswith("/"):
                return _redirect(path + "/" + (f"?{query}" if query else ""))
            candidate = candidate / "index.html"
        elif path.endswith("/"):
            return self._not_found(snapshot)
        if not self._inside(candidate) or not candidate.is_file():
            return self._not_found(snapshot)
        return self._serve_file(candidate, snapshot, HTTPStatus.OK)

    def _inside(self, candidate: Path) -> bool:
        # Symlinks must not lead out of the served folder.
        root = os.path.realpath(self.site_dir)
        return os.path.commonpath([root, os.path.realpath(candidate)]) == root

    def _serve_file(self, file: Path, snapshot: Snapshot, status: int) -> Response:
        content_type = _content_type(file)
        if content_type.startswith("text/html"):
            return self._html(file.read_bytes(), snapshot, status)
        stream = file.open("rb")
        size = os.fstat(stream.fileno()).st_size
        return Response(status, _headers(content_type), stream=stream, length=size)

    def _not_found(self, snapshot: Snapshot) -> Response:
        page = self.site_dir / "404.html"
        if page.is_file():
            return self._serve_file(page, snapshot, HTTPStatus.NOT_FOUND)
        return self._html(_NOT_FOUND.encode(), snapshot, HTTPStatus.NOT_FOUND)

    def _html(self, body: bytes, snapshot: Snapshot, status: int) -> Response:
        data = inject_script(body, snapshot.site)
        return Response(status, _headers("text/html; charset=utf-8"), body=data)


def inject_script(html: bytes, site_version: int) -> bytes:
    """The reload script before the last ``</body>`` (or at the end): served only."""
    tag = f'<script src="{SCRIPT_URL}" data-site="{site_version}" defer></script>'.encode()
    matches = list(_BODY_END.finditer(html))
    at = matches[-1].start() if matches else len(html)
    return html[:at] + tag + html[at:]


def _split_target(target: str) -> tuple[str, str]:
    """Path and query of a request target. Not ``urlsplit``: it reads "//x" as a host."""
    if target.startswith(("http://", "https://")):  # absolute form, as sent to proxies
        parts = urlsplit(target)
        return parts.path or "/", parts.query
    path, _, query = target.partition("?")
    return path.partition("#")[0], query


def _decode_path(raw_path: str) -> str | None:
    """The decoded URL path, or None when it could leave the site folder.

    Encoded slashes, backslashes and NUL are refused before decoding, ``.``
    and ``..`` segments and hidden names (``.kldigital-manifest.json``) after.
    """
    if "\\" in raw_path or _ENCODED_SEPARATOR.search(raw_path):
        return None
    try:
        path = unquote(raw_path, errors="strict")
    except UnicodeDecodeError:
        return None
    if "\\" in path or "\x00" in path or "//" in path or not path.startswith("/"):
        return None
    segments = path.split("/")[1:]
    if any(s in (".", "..") or s.startswith(".") for s in segments):
        return None
    return path


def _content_type(path: Path) -> str:
    suffix = path.suffix.lower()
    if path.name == "feed.xml":
        return "application/atom+xml; charset=utf-8"
    return _TYPES.get(suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def _headers(content_type: str) -> list[tuple[str, str]]:
    # no-store: a reload must always show the newest build.
    return [
        ("Content-Type", content_type),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
    ]


def _text(text: str, content_type: str, status: int = HTTPStatus.OK) -> Response:
    return Response(status, _headers(content_type), body=text.encode())


def _redirect(location: str) -> Response:
    return Response(HTTPStatus.FOUND, [("Location", location), ("Cache-Control", "no-store")])


_NO_SITE_YET = """<!DOCTYPE html>
<html lang="de"><head><meta charset="utf-8"><title>Vorschau – noch keine Website</title></head>
<body><main><h1>Die Website konnte noch nicht erzeugt werden</h1>
<p>Bitte die unten genannten Fehler beheben; die Seite lädt dann von selbst neu.</p></main>
</body></html>
"""
_NOT_FOUND = """<!DOCTYPE html>
<html lang="de"><head><meta charset="utf-8"><title>Seite nicht gefunden</title></head>
<body><main><h1>Seite nicht gefunden</h1></main></body></html>
"""


# --- the socket side ------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    server_version = "kldigital-site-dev"

    def do_GET(self) -> None:
        self._answer()

    def do_HEAD(self) -> None:
        self._answer()

    def _answer(self) -> None:
        response = self.server.dev_site.respond(self.command, self.path)
        try:
            self.send_response(response.status)
            for name, value in response.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(response.size))
            self.end_headers()
            if response.stream is not None:
                while chunk := response.stream.read(1 << 16):
                    self.wfile.write(chunk)
            elif response.body:
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the tab reloaded or closed while we answered
        finally:
            if response.stream is not None:
                response.stream.close()

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s - %s", self.address_string(), format % args)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # pending long-polls must not keep the process alive
    dev_site: DevSite

    def handle_error(self, request: object, client_address: object) -> None:
        log.debug("request from %s failed", client_address, exc_info=True)


class _HTTPServer6(_HTTPServer):
    address_family = socket.AF_INET6


# --- the build loop -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServeOptions:
    content_dir: Path
    templates_dir: Path
    host: str = "127.0.0.1"
    port: int = 8000
    base_url: str | None = None  # --base-url: only its path matters for serving
    strict: bool = False
    polling: bool = False
    now: dt.datetime | None = None  # fixed clock (--now); None = real time at each build
    jobs: int | None = None
    use_cache: bool = True  # the incremental cache: a save re-renders only what it affects
    quiet: float = 0.15


@dataclass(frozen=True, slots=True)
class BuildOutcome:
    """What one (re)build did, for the command line to print."""

    reason: str  # "Start", a description of the changed files, or the embargo
    seconds: float
    result: BuildResult | None
    problems: tuple[SiteError, ...]


class DevServer:
    """Binds the socket, builds, serves, and rebuilds on changes until stopped."""

    def __init__(
        self,
        options: ServeOptions,
        *,
        on_build: Callable[[BuildOutcome], None] = lambda outcome: None,
        on_ready: Callable[[str], None] = lambda url: None,
    ) -> None:
        self.options = options
        self.on_build = on_build
        self.on_ready = on_ready
        self.state = LiveState()
        content_dir = options.content_dir.resolve()
        self.site_root = content_dir.parent
        self.site_dir = self.site_root / SERVE_DIR
        server_class = _HTTPServer6 if ":" in options.host else _HTTPServer
        self.httpd = server_class((options.host, options.port), _Handler)
        self.port = int(self.httpd.server_address[1])
        shown_host = options.host
        if shown_host in ("", "0.0.0.0", "::"):
            shown_host = "127.0.0.1"
        elif ":" in shown_host:
            shown_host = f"[{shown_host}]"
        self.origin = f"http://{shown_host}:{self.port}"
        self.dev_site = DevSite(self.site_dir, self.state)
        self.httpd.dev_site = self.dev_site
        self.watcher = Watcher(
            content_dir, options.templates_dir, polling=options.polling, quiet=options.quiet
        )
        self._config: SiteConfig | None = None
        self._next_embargo: dt.datetime | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self.origin + self.dev_site.base_path

    def serve_forever(self) -> None:
        """Run until Ctrl-C (or SIGTERM); always releases the port and the watcher."""
        previous = _terminate_as_interrupt()
        try:
            self.watcher.start()
            self.rebuild("Start", initial=True)
            self._thread = threading.Thread(
                target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
            )
            self._thread.start()
            self.on_ready(self.url)
            self._loop()
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    def stop(self) -> None:
        self.watcher.stop()
        self.state.close()
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=5)
        self.httpd.server_close()

    def _loop(self) -> None:
        while True:
            changes = self.watcher.queue.take(timeout=self._embargo_wait())
            if self.watcher.queue.closed:
                return
            if changes is not None:
                self.rebuild(changes.describe(self.site_root), changes=changes)
            elif self._next_embargo is not None and self._clock() >= self._next_embargo:
                self.rebuild("Sperrfrist abgelaufen")

    def rebuild(
        self, reason: str, *, changes: ChangeSet | None = None, initial: bool = False
    ) -> None:
        started = time.perf_counter()
        result: BuildResult | None = None
        problems: list[SiteError] = []
        self.state.begin_build()
        try:
            if self._config is None or (changes and ChangeKind.CONFIG in changes.kinds):
                self._config = None  # a broken site.yaml must not leave the old one in use
                self._config = self._load_config()
                self.dev_site.base_path = self._config.base_path
            result = build(
                self._config,
                now=self._clock(),
                write=True,
                strict=self.options.strict,
                out_dir=self.site_dir,
                jobs=self.options.jobs,
                use_cache=self.options.use_cache,
            )
        except BuildFailed as failed:
            problems = list(failed.problems)
        except Exception as exc:  # a bug must not end the preview; show it instead
            log.exception("build crashed")
            problems = [SiteError("kldigital-site", 0, f"Interner Fehler: {exc!r}")]
        finally:
            # Tabs reload when the site differs from what they show; the first
            # good build always counts (the staging folder may hold an identical
            # tree from an earlier session, while tabs show "no site yet").
            changed = result is not None and (
                initial
                or self.state.snapshot.site == 0
                or result.report is None
                or bool(result.report.written or result.report.removed)
            )
            self.state.end_build(problems, site_changed=changed)
        # After a failed build the timer waits for the next good one: retrying a
        # broken site every half second would only repeat the same errors.
        self._next_embargo = _next_embargo(result) if result is not None else None
        self.on_build(BuildOutcome(reason, time.perf_counter() - started, result, tuple(problems)))

    def _load_config(self) -> SiteConfig:
        options = self.options
        config = load_config(
            options.content_dir,
            options.templates_dir,
            self.site_dir,
            base_url=options.base_url,
            drafts=True,  # editors see drafts and embargoed items, with their banner
            future=True,
        )
        # Absolute links (canonical, feed) point at the preview, under the same path.
        return dataclasses.replace(config, base_url=self.origin + config.base_path)

    def _clock(self) -> dt.datetime:
        return self.options.now or dt.datetime.now(dt.UTC)

    def _embargo_wait(self) -> float | None:
        if self._next_embargo is None or self.options.now is not None:
            return None
        seconds = (self._next_embargo - self._clock()).total_seconds()
        return min(max(seconds, 0.0) + 0.5, MAX_EMBARGO_WAIT)


def _next_embargo(result: BuildResult) -> dt.datetime | None:
    """When the earliest embargoed release goes live: its banner must then go."""
    times = [i.date for i in result.site.items.values() if i.is_future and i.date is not None]
    return min(times, default=None)


def _terminate_as_interrupt() -> signal.Handlers | Callable[..., object] | int | None:
    """SIGTERM stops the server the same clean way as Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        return None
    _reset_sigterm_after_fork()
    return signal.signal(signal.SIGTERM, _interrupt)


@functools.cache  # at-fork hooks cannot be removed: register once per process
def _reset_sigterm_after_fork() -> None:
    os.register_at_fork(after_in_child=_default_sigterm_in_child)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _default_sigterm_in_child() -> None:
    # Forked build workers must not inherit the handler: the pool ends them
    # with SIGTERM, and a Python-level handler can miss a signal that arrives
    # just before a blocking wait, leaving the worker (and the build) hanging.
    if signal.getsignal(signal.SIGTERM) is _interrupt:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

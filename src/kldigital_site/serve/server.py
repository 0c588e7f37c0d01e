"""Dev server: build, serve, watch, rebuild, reload every open tab.

Input: ``ServeOptions`` (folders, host and port, clock) and callbacks for what
the command line prints. Output: a running server until Ctrl-C; nothing is
returned and ``output/`` is never touched.

Modelled on MkDocs ``livereload/__init__.py`` and ``commands/serve.py``:

* the site is built into ``<site root>/.kldigital-cache/serve/site``; the
  build's own atomic tree swap means that folder is always one complete build,
  and requests wait while a build runs (``LiveState.reading``), so no visitor
  ever sees half a site;
* a long-poll tells each tab when the site changed, as soon as the new tree is
  in place (the build records it in the cache after that); the reload script is
  injected into ``text/html`` responses only, at serve time, never on disk;
* a failed build keeps the last good site and sends its problems to every tab,
  which overlays them (Zola ``error_injection_middleware``); the next good
  build removes the overlay by itself;
* ``content/site.yaml`` is read again whenever it changes, so settings take
  effect without a restart;
* the server is one long-running process, so it keeps what a build would read
  back from disk or make again in memory between builds (``resident.Resident``:
  the cache's rows, the folder's manifests, the sources, the model, the bodies'
  summaries, the compiled templates), and tells the build which files the watcher
  saw change: a save costs what it changed, not walking, decoding and verifying
  10,000 documents and 20,000 files again (issue 15);
* pages are built with a fixed origin and get the real one when served
  (serve/origin.py), so a start on another port finds the site unchanged.

What a request gets is decided in ``serve/responses.py`` (no socket); this module
adds the socket, the watcher and the build loop.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import gc
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from kldigital_site.build import BuildResult, build
from kldigital_site.cms.endpoint import MAX_BODY, AdminEndpoint, is_admin_path
from kldigital_site.config import SiteConfig, load_config
from kldigital_site.errors import BuildFailed, SiteError
from kldigital_site.output import WriteReport
from kldigital_site.resident import Resident
from kldigital_site.resident_build import prepare, prepare_saves, stage_published
from kldigital_site.search.shards import BUNDLE_DIR
from kldigital_site.serve.origin import PREVIEW_ORIGIN
from kldigital_site.serve.responses import (
    DevSite,
    LiveState,
    Response,
    allowed_hosts,
    host_allowed,
    refused_host,
)
from kldigital_site.serve.watch import ChangeKind, ChangeSet, Watcher

log = logging.getLogger(__name__)

SERVE_DIR = Path(".kldigital-cache") / "serve" / "site"
# Re-check embargo times at least this often (the machine may have slept).
MAX_EMBARGO_WAIT = 600.0
# Quiet time after a change before the search index is rebuilt (seconds).
SEARCH_INDEX_DELAY = 1.0
# Files of the published site placed in the staging folder per step while idle after a
# start (``DevServer._stage``): about a tenth of a second, which a save may have to wait.
STAGING_STEP = 2000
# Quiet time after a build before the heap is collected (``_set_heap_aside``): the
# tabs' reload requests come first.
HEAP_DELAY = 0.4


# --- the socket side ------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    server_version = "kldigital-site-dev"

    def parse_request(self) -> bool:
        # Before any method is dispatched (GET, HEAD, and whatever is added later):
        # a request addressed to another host gets nothing of the site.
        if not super().parse_request():
            return False
        host = self.headers.get("Host")
        if host_allowed(host, self.server.allowed_hosts):
            return True
        self.close_connection = True
        response = refused_host(host)
        if self.command == "HEAD":
            response.length, response.body = response.size, b""
        self._send(response)
        return False

    def do_GET(self) -> None:
        self._answer()

    def do_HEAD(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        path = self.path.partition("?")[0]
        if is_admin_path(path):
            self._admin(path)
            return
        self._send(self.server.dev_site.respond(self.command, self.path))

    def _send(self, response: Response) -> None:
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

    def _admin(self, path: str) -> None:
        """/admin/: the CMS and its local backend (kldigital_site.cms)."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self.send_error(413 if length > MAX_BODY else 400)
            return
        body = self.rfile.read(length) if length else b""
        response = self.server.admin.respond(
            self.command, path, self.headers.get, body, self.client_address[0]
        )
        try:
            self.send_response(response.status)
            for name, value in response.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s - %s", self.address_string(), format % args)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # pending long-polls must not keep the process alive
    dev_site: DevSite
    admin: AdminEndpoint
    allowed_hosts: frozenset[str]

    def handle_error(self, request: object, client_address: object) -> None:
        log.debug("request from %s failed", client_address, exc_info=True)


class _HTTPServer6(_HTTPServer):
    address_family = socket.AF_INET6


# --- the build loop -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """What ``kldigital-site serve`` was asked for (command-line options)."""

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
        self.dev_site = DevSite(self.site_dir, self.state, origin=self.origin)
        self.httpd.dev_site = self.dev_site
        self.httpd.admin = AdminEndpoint(
            content_dir,
            options.templates_dir,
            origin=self.origin,
            hosts=_own_hosts(options.host, shown_host, self.port),
            site_title=lambda: self._config.title if self._config else "Website",
        )
        self.httpd.allowed_hosts = allowed_hosts(options.host)
        self.watcher = Watcher(
            content_dir, options.templates_dir, polling=options.polling, quiet=options.quiet
        )
        self._config: SiteConfig | None = None
        # Kept between builds: a save re-reads, re-parses and re-renders only what it changed.
        self.resident = Resident()
        self._next_embargo: dt.datetime | None = None
        self._index_due: float | None = None
        self._heap_due: float | None = None
        self._prepare_due = False  # a start found nothing changed: fill the resident state
        self._staging_due = False  # then fill the staging folder, in steps (``_stage``)
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
            changes = self.watcher.queue.take(timeout=self._wait())
            if self.watcher.queue.closed:
                return
            if changes is not None:
                # The build fills the resident state and the staging folder itself.
                self._prepare_due = self._staging_due = False
                # The page first, the search index a moment later: Pagefind re-indexes
                # every page, which on a large site would hold up the reload by seconds.
                if self.rebuild(changes.describe(self.site_root), changes=changes, search=False):
                    self._index_due = time.monotonic() + SEARCH_INDEX_DELAY
                else:
                    # The index follows the next good build: rebuilding it now would
                    # only fail again and print the same errors a second time.
                    self._index_due = None
            elif self._prepare_due:
                self._prepare_due = False
                self._prepare()
            elif self._staging_due:
                self._stage()
            elif self._heap_due is not None and time.monotonic() >= self._heap_due:
                self._heap_due = None
                _set_heap_aside()
            elif self._index_due is not None and time.monotonic() >= self._index_due:
                self._index_due = None
                self.rebuild("Suchindex")
            elif self._next_embargo is not None and self._clock() >= self._next_embargo:
                self.rebuild("Sperrfrist abgelaufen")

    def rebuild(
        self,
        reason: str,
        *,
        changes: ChangeSet | None = None,
        initial: bool = False,
        search: bool = True,
    ) -> bool:
        """One build into the preview folder; True when it succeeded."""
        succeeded = self._build(reason, changes=changes, initial=initial, search=search)
        # The build's own values are gone now; what is left is the resident state. It
        # is set aside at once (``gc.freeze``, no time at all) and collected when the
        # tabs have reloaded: a full collection holds every thread for a few tenths of
        # a second at 10,000 items, the answers to the tabs included.
        gc.freeze()
        self._heap_due = time.monotonic() + HEAP_DELAY
        return succeeded

    def _build(
        self, reason: str, *, changes: ChangeSet | None, initial: bool, search: bool
    ) -> bool:
        started = time.perf_counter()
        result: BuildResult | None = None
        problems: list[SiteError] = []
        published: list[bool] = []  # the tabs were told (``_published``)
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
                search_index=search,
                resident=self.resident if self.options.use_cache else None,
                # Nobody downloads the preview over a slow line: no .gz/.br to wait for.
                precompress=False,
                # What the watcher saw change: the rest is not even looked at (resident.py).
                # Timed builds (search index, embargo) look at everything, which also
                # catches up with any change the watcher missed.
                changed=tuple(changes.changes) if changes is not None else None,
                on_published=functools.partial(self._published, published, initial=initial),
            )
            if initial and result.site is not None and self.options.use_cache:
                # Before the server listens: nobody waits for this but the start.
                self._prepare_saves()
        except BuildFailed as failed:
            problems = list(failed.problems)
        except Exception as exc:  # a bug must not end the preview; show it instead
            log.exception("build crashed")
            problems = [SiteError("kldigital-site", 0, f"Interner Fehler: {exc!r}")]
        finally:
            if not published or problems:
                changed = result is not None and self._site_changed(result.report, initial)
                self.state.end_build(problems, site_changed=changed)
        # A start that found nothing changed made no model: the first save would do the
        # rest, so the idle preview does it (``_prepare``). One that built has the
        # model; what it lacks for a save is made before the tabs are told (``_build``).
        self._prepare_due = initial and result is not None and result.site is None
        # After a failed build the timer waits for the next good one: retrying a
        # broken site every half second would only repeat the same errors.
        self._next_embargo = _next_embargo(result) if result is not None else None
        self.on_build(BuildOutcome(reason, time.perf_counter() - started, result, tuple(problems)))
        return result is not None

    def _published(self, told: list[bool], report: WriteReport, *, initial: bool) -> None:
        """The new site is in place: the tabs reload now, while the build goes on to record
        it in the cache (a tenth of a second of a save at 10,000 items, issue 15). Requests
        are answered from here on; the build touches only the cache and staging."""
        told.append(True)
        self.state.end_build((), site_changed=self._site_changed(report, initial))

    def _site_changed(self, report: WriteReport | None, initial: bool) -> bool:
        """Tabs reload when the site differs from what they show; the first good build
        always counts (the staging folder may hold an identical tree from an earlier
        session, while tabs show "no site yet")."""
        return (
            initial
            or self.state.snapshot.site == 0
            or report is None
            or any(
                not path.startswith(f"{BUNDLE_DIR}/") for path in (*report.written, *report.removed)
            )
        )

    def _prepare(self) -> None:
        """Fill the resident state after a start that found nothing changed, so that the
        first save costs no more than the next (``resident_build.prepare``). The tabs need not wait:
        nothing is written, so requests go on being answered meanwhile."""
        if self._config is None or not self.options.use_cache:
            return
        try:
            self._staging_due = prepare(
                self._config,
                now=self._clock(),
                out_dir=self.site_dir,
                jobs=self.options.jobs,
                resident=self.resident,
            )
        except Exception:  # only a head start: the next build does the same and reports
            log.debug("preparing the resident state failed", exc_info=True)
        gc.freeze()
        self._heap_due = time.monotonic() + HEAP_DELAY

    def _prepare_saves(self) -> None:
        """After a start that built, before the tabs are told: a second or two of a start
        that took minutes, so that a save right after it need not wait (build.py
        ``prepare_saves``: a first build leaves no staging folder)."""
        assert self._config is not None
        try:
            prepare_saves(self._config, out_dir=self.site_dir, resident=self.resident)
        except Exception:  # only a head start, as ``_prepare``
            log.debug("preparing for saves failed", exc_info=True)

    def _stage(self) -> None:
        """One step of filling the staging folder with the published site (build.py
        ``stage_published``), so that a save coming meanwhile waits for one step at most."""
        if self._config is None:
            self._staging_due = False
            return
        try:
            done = stage_published(
                self._config, out_dir=self.site_dir, resident=self.resident, limit=STAGING_STEP
            )
        except Exception:  # only a head start, as ``_prepare``
            log.debug("filling the staging folder failed", exc_info=True)
            done = True
        self._staging_due = not done

    def _load_config(self) -> SiteConfig:
        options = self.options
        config = load_config(
            options.content_dir,
            options.templates_dir,
            self.site_dir,
            base_url=options.base_url,
            preview=True,  # editors see drafts and embargoed items, labelled
        )
        # Absolute links (canonical, feed) point at the preview, under the same path: on
        # disk at a fixed origin whatever the port, so that a start on another port
        # finds the site unchanged; the real origin is put in when served (serve/origin.py).
        return dataclasses.replace(config, base_url=PREVIEW_ORIGIN + config.base_path)

    def _clock(self) -> dt.datetime:
        return self.options.now or dt.datetime.now(dt.UTC)

    def _wait(self) -> float | None:
        """How long to wait for changes before a timed rebuild is due."""
        heap = None if self._heap_due is None else max(self._heap_due - time.monotonic(), 0.0)
        if self._prepare_due or self._staging_due:
            return 0.0
        waits = [w for w in (self._embargo_wait(), self._index_wait(), heap) if w is not None]
        return min(waits, default=None)

    def _index_wait(self) -> float | None:
        if self._index_due is None:
            return None
        return max(self._index_due - time.monotonic(), 0.0)

    def _embargo_wait(self) -> float | None:
        if self._next_embargo is None or self.options.now is not None:
            return None
        seconds = (self._next_embargo - self._clock()).total_seconds()
        return min(max(seconds, 0.0) + 0.5, MAX_EMBARGO_WAIT)


def _set_heap_aside() -> None:
    """Keep what outlives a build out of the garbage collector's way until the next one.

    The resident state (``Resident``: documents, page records, body summaries,
    manifests) is a million objects at 10,000 items, and every full collection
    during a build walked them all: 0.5–0.8 s of a 2.5 s rebuild, measured. A moment
    after each build (``HEAP_DELAY``, once the tabs have reloaded), one collection frees
    what the builds left in cycles, and ``gc.freeze`` sets the survivors aside, so the
    next build's collections look only at what it makes itself (Instagram's use
    of ``gc.freeze``; nothing frozen is lost: reference counting still frees it,
    and the next call here unfreezes it for its collection).
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def _own_hosts(host: str, shown_host: str, port: int) -> set[str]:
    """The Host headers that name this server: the address it listens on."""
    hosts = {f"{shown_host}:{port}"}
    if host in ("", "0.0.0.0", "::", "127.0.0.1", "::1", "localhost"):
        hosts |= {f"localhost:{port}", f"127.0.0.1:{port}"}
    return hosts


def _next_embargo(result: BuildResult) -> dt.datetime | None:
    """When the earliest embargoed release goes live: its banner must then go."""
    return result.next_change


def _terminate_as_interrupt() -> signal.Handlers | Callable[..., object] | int | None:
    """SIGTERM stops the server the same clean way as Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        return None
    _reset_sigterm_after_fork()
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _interrupt)
    return signal.signal(signal.SIGTERM, _interrupt)


@functools.cache  # at-fork hooks cannot be removed: register once per process
def _reset_sigterm_after_fork() -> None:
    os.register_at_fork(after_in_child=_default_sigterm_in_child)


# A stop signal arrives at an arbitrary point of the main thread, possibly in
# the middle of a build that holds locks the shutdown then waits for. The
# output of a build is atomic and the preview folder is the tool's own, so if
# the orderly shutdown has not finished after this long, the process just ends.
STOP_DEADLINE = 5.0


def _interrupt(signum: int, frame: object) -> None:
    deadline = threading.Timer(STOP_DEADLINE, os._exit, args=(0,))
    deadline.daemon = True
    deadline.start()
    raise KeyboardInterrupt


def _default_sigterm_in_child() -> None:
    # Forked build workers must not inherit the handler: the pool ends them
    # with SIGTERM, and a Python-level handler can miss a signal that arrives
    # just before a blocking wait, leaving the worker (and the build) hanging.
    if signal.getsignal(signal.SIGTERM) is _interrupt:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if signal.getsignal(signal.SIGINT) is _interrupt:
        signal.signal(signal.SIGINT, signal.default_int_handler)

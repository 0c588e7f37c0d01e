"""Pagefind as a library: pages in, the files of one search bundle out (for search/indexer.py).

Input: the pages of one bundle as ``PageSource`` values (URL, content file,
and how to read the HTML: it is read only when Pagefind takes the page).
Output: the bundle files by path within the bundle's folder, read back from a
private scratch folder (search/scratch.py, which also prunes those of aborted
builds) and put in canonical form (``PagefindProcess.index``),
or the exception that stopped Pagefind: ``PageRejected`` naming the page,
``PageUnreadable`` when a page cannot be read, ``FileNotFoundError`` when
the binary is missing, ``TimeoutError``, ``Aborted``, or another error when
the process fails.

Pagefind's Python API (``pagefind[bin]``) is asyncio-based and drives the
``pagefind --service`` binary over a pipe. ``PagefindProcess`` wraps it for
one thread of the caller (search/indexer.py runs it in a thread of its own, so the
build renders on meanwhile): one process, started at the first bundle, builds
any number of bundles one after another, each in an index of its own that is
deleted once its files are read, so Pagefind holds one bundle's pages at a
time, not the whole site's.

Pagefind 1.5 writes its filters in a random order per process, so the files
read back go through ``search.canonical.canonical_bundle``: the same pages
give the same bytes in every run.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import os
import signal
import threading
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

from pagefind.index import IndexConfig, PagefindIndex
from pagefind.service import PagefindService
from pagefind.service.types import InternalRequestPayload, InternalResponsePayload

from kldigital_site.search.canonical import canonical_bundle
from kldigital_site.search.scratch import scratch_folder

log = logging.getLogger(__name__)

Result = TypeVar("Result")

# The pages carry lang="de" already; forcing it keeps one German index (and
# German stemming) even if a page ever declares another language.
INDEX_CONFIG: Mapping[str, Any] = {"force_language": "de"}
# Pagefind also returns its ready-made user interfaces, the highlighting
# script and a fallback engine for pages without a known language. The site
# uses its own UI (assets/js/search.js: no inline styles, so a strict CSP
# holds) and one German index, so these are never loaded and are not shipped.
UNUSED_PREFIXES = (
    "pagefind-ui.",
    "pagefind-modular-ui.",
    "pagefind-component-ui.",
    "pagefind-highlight.",
    "wasm.unknown.",
    "playground/",
)
# A generous upper bound for one bundle, so a hanging process cannot hang the
# build (the sample site takes a fraction of a second, 500 pages about 2 s).
TIMEOUT_SECONDS = 300.0
# How long Pagefind may still be writing after it reported its files written
# (see _wait_until_written; it takes a few milliseconds at most).
WRITE_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class PageSource:
    """One page for Pagefind: site URL without base path, content file, and its HTML on demand."""

    url: str
    origin: str  # content file, for error messages
    read: Callable[[], bytes]


class PageRejected(Exception):
    """Pagefind refused one page; ``origin`` is its content file."""

    def __init__(self, origin: str, message: str) -> None:
        super().__init__(message)
        self.origin = origin


class PageUnreadable(Exception):
    """A page could not be read back for Pagefind; ``origin`` is its content file."""

    def __init__(self, origin: str, message: str) -> None:
        super().__init__(message)
        self.origin = origin


class ServiceDied(Exception):
    """The Pagefind process ended before it answered."""


class Aborted(Exception):
    """The build stopped Pagefind (it failed elsewhere)."""


class PagefindProcess:
    """One ``pagefind --service`` process, used from one thread at a time: ``index`` a
    bundle at a time, or ``begin`` one, ``add`` its pages in parts and ``write`` it
    (search/head_start.py feeds a shard's first pages before the rest are known).

    ``stop`` may be called from any thread: it ends the process, and the
    running or next call raises ``Aborted``. ``close`` ends the process
    in the thread that used it last.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._service: _Service | None = None
        self._stopped = threading.Event()
        self._lock = threading.Lock()  # guards _loop against stop() from another thread

    def index(self, pages: Sequence[PageSource]) -> dict[str, bytes]:
        """The bundle of ``pages``, numbered in the order given (unused files left out)."""
        bundle = self.begin()
        self.add(bundle, pages)
        return self.write(bundle)

    def begin(self) -> Bundle:
        """A new, empty bundle (the process is started with the first)."""
        return self._run(self._begin())

    def add(self, bundle: Bundle, pages: Sequence[PageSource]) -> None:
        """``pages`` join ``bundle`` after those added before, numbered in that order."""
        self._run(self._add_all(bundle, pages))

    def write(self, bundle: Bundle) -> dict[str, bytes]:
        """The files of ``bundle``, which Pagefind then forgets (unused files left out)."""
        return self._run(self._write(bundle))

    def _run(self, work: Coroutine[Any, Any, Result]) -> Result:
        with self._lock:
            if self._stopped.is_set():
                work.close()
                raise Aborted("Pagefind wurde abgebrochen.")
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
            loop = self._loop
        try:
            return loop.run_until_complete(asyncio.wait_for(work, TIMEOUT_SECONDS))
        except Exception as exc:
            if self._stopped.is_set():  # whatever failed, it failed because of stop()
                raise Aborted("Pagefind wurde abgebrochen.") from exc
            if isinstance(exc, TimeoutError):
                raise TimeoutError(f"Pagefind took longer than {TIMEOUT_SECONDS:.0f} s") from None
            raise

    def stop(self) -> None:
        """End Pagefind now (the build failed elsewhere); safe from any thread."""
        with self._lock:
            self._stopped.set()
            loop, service = self._loop, self._service
        if loop is not None and service is not None:
            # A closed loop: the process has been closed already.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(service.kill)

    def close(self) -> None:
        """End the process and the event loop (in the thread that called ``index``)."""
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is None:
            return
        try:
            if self._service is not None:
                loop.run_until_complete(self._service.close())
        finally:
            self._service = None
            loop.close()

    def __enter__(self) -> PagefindProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def _begin(self) -> Bundle:
        if self._service is None:
            service = _Service()
            await service.launch()
            self._service = service
        if self._stopped.is_set():  # stop() came while the process started
            raise Aborted("Pagefind wurde abgebrochen.")
        return Bundle(await self._service.create_index(cast(IndexConfig, dict(INDEX_CONFIG))))

    async def _add_all(self, bundle: Bundle, pages: Sequence[PageSource]) -> None:
        # All pages are sent without waiting for each answer (Pagefind takes
        # them in the order sent, so page numbers are stable); one answer
        # after another would cost a round trip per page. A bundle's pages
        # are few enough (search.SHARD_PAGES) to be on the way at once.
        added = [asyncio.create_task(_add(bundle.index, page)) for page in pages]
        try:
            outcomes = await asyncio.gather(*added, return_exceptions=True)
        finally:
            for task in added:  # after a timeout: nothing left running on the loop
                task.cancel()
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome  # the first page Pagefind refused, in page order
        bundle.pages += len(pages)

    async def _write(self, bundle: Bundle) -> dict[str, bytes]:
        assert self._service is not None
        # write_files into a private scratch folder, not get_files: get_files
        # sends every file base64-encoded in one JSON message, Pagefind's
        # unused UIs included (860 KB for any site), which costs 10 ms more
        # per build (16 ms vs 7 ms for a one-page index). The files still
        # become Outputs: Pagefind never writes into the output folder.
        with scratch_folder() as out:
            await bundle.index.write_files(output_path=out)
            await _wait_until_written(self._service.pid, out)
            files = _read_bundle(Path(out))
        # Pagefind keeps every index it has made until it is deleted: one at a time.
        await bundle.index.delete_index()
        self._service.forget_answered()
        return canonical_bundle(files)


@dataclass(slots=True)
class Bundle:
    """A bundle Pagefind is making (``PagefindProcess.begin``): its index, and how many
    pages it holds so far."""

    index: PagefindIndex
    pages: int = 0


async def _add(index: PagefindIndex, page: PageSource) -> None:
    # Read only now: the caller keeps no page's HTML, so at most one bundle's
    # pages are in memory, however large the site.
    try:
        html = page.read().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PageUnreadable(page.origin, str(exc)) from exc
    try:
        await index.add_html_file(content=html, url=page.url)
    except ServiceDied:
        raise
    except Exception as exc:  # the wrapper raises bare Exception(message)
        raise PageRejected(page.origin, str(exc.args[0] if exc.args else exc)) from exc


async def _wait_until_written(pid: int, folder: str) -> None:
    """Wait until process ``pid`` has no file under ``folder`` open any more.

    Pagefind 1.5 answers ``write_files`` before its files are complete: it
    writes each file with tokio's ``File::write_all``, which only hands the
    bytes to a background thread, and never flushes. Now and then (3 of 41
    cold builds of the sample site) the build read an empty
    ``pagefind-entry.json``: a search that cannot start. A file is complete
    once that thread is done and has closed it, so this waits for the last of
    Pagefind's descriptors into ``folder`` to close (Linux: ``/proc/<pid>/fd``;
    elsewhere there is nothing to wait on, and a damaged entry, meta or filter
    file is still caught by ``canonical_bundle``).
    """
    fds = Path(f"/proc/{pid}/fd")
    if not fds.is_dir():
        return
    prefix = os.path.join(folder, "")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WRITE_TIMEOUT_SECONDS
    while any(target.startswith(prefix) for target in _open_files(fds)):
        if loop.time() > deadline:
            raise RuntimeError(
                f"Pagefind hat seine Dateien nach {WRITE_TIMEOUT_SECONDS:.0f} s "
                "noch nicht fertig geschrieben."
            )
        await asyncio.sleep(0.001)


def _open_files(fds: Path) -> list[str]:
    """Where the process's file descriptors point (those closed meanwhile left out)."""
    targets = []
    with contextlib.suppress(FileNotFoundError):  # the process has ended: nothing open
        for fd in fds.iterdir():
            with contextlib.suppress(OSError):  # closed between listing and reading
                targets.append(os.readlink(fd))
    return targets


def _read_bundle(folder: Path) -> dict[str, bytes]:
    """The files in ``folder`` by path within it, in path order, those never shipped left
    out. ``os.walk``, not ``Path.rglob``: the end of an edit build waits for this, and
    for a shard's 360 files it takes half the time (issue 15)."""
    files = {}
    for top, _, names in os.walk(folder):
        rel = os.path.relpath(top, folder)
        prefix = "" if rel == os.curdir else rel.replace(os.sep, "/") + "/"
        for name in names:
            path = prefix + name
            if not path.startswith(UNUSED_PREFIXES):
                with open(os.path.join(top, name), "rb") as stream:
                    files[path] = stream.read()
    return dict(sorted(files.items()))


class _Service(PagefindService):
    """Pagefind's service client with a reader that does not sleep.

    pagefind 1.5.2's ``PagefindService._wait_for_responses`` sleeps 100 ms
    before reading each response, so indexing the 12 pages of the sample site
    took 1.5 s instead of 0.03 s; it also waits for ever when the process dies,
    and reads at most 2 MiB per message. This reader takes whatever has
    arrived, splits it at the protocol's commas and fails every open request
    when the process ends. The protocol (base64 JSON messages separated by
    commas) and everything else are Pagefind's own.
    """

    async def _wait_for_responses(self) -> None:
        stdout = self._backend.stdout
        assert stdout is not None
        buffer = bytearray()
        while True:
            chunk = await stdout.read(1 << 20)
            if not chunk:
                self._fail_all(ServiceDied("Pagefind wurde unerwartet beendet."))
                return
            scanned = len(buffer)  # no comma before this: don't search it again
            buffer += chunk
            while (end := buffer.find(b",", scanned)) >= 0:
                message = bytes(buffer[:end])
                del buffer[: end + 1]
                scanned = 0
                self._dispatch(message)

    async def send(self, payload: InternalRequestPayload) -> InternalResponsePayload:
        """One request and its answer, in Pagefind's protocol (base64 of the JSON
        ``{"message_id": …, "payload": …}``, then a comma).

        Not the upstream ``send``: it formats the whole request and answer into
        debug messages whether or not debug logging is on, a page's HTML and its
        metadata each time — a fifth of the Python time indexing took (0.15 s per
        1,000 pages).
        """
        stdin = self._backend.stdin
        if stdin is None:
            raise ServiceDied("Pagefind wurde unerwartet beendet.")
        self._message_id += 1
        message_id = self._message_id
        future: asyncio.Future[InternalResponsePayload] = self._loop.create_future()
        self._responses[message_id] = future
        request = json.dumps({"message_id": message_id, "payload": payload}).encode()
        try:
            stdin.write(base64.b64encode(request) + b",")  # Pagefind answers after the comma
            await stdin.drain()
        except ConnectionError as exc:  # writing to a closed pipe: the process has ended
            future.cancel()
            raise ServiceDied("Pagefind wurde unerwartet beendet.") from exc
        return await future

    def _dispatch(self, message: bytes) -> None:
        try:
            response = json.loads(base64.b64decode(message))
        except (binascii.Error, ValueError):
            # Not a protocol message: stderr shares the pipe. Only logged,
            # because a failed request is reported through its own response.
            log.debug("pagefind printed: %r", message[:200])
            return
        message_id = response.get("message_id")
        payload = response.get("payload") or {}
        if message_id is None and payload.get("original_message"):
            # A message Pagefind could not parse comes back without its id.
            message_id = json.loads(payload["original_message"]).get("message_id")
        future = self._responses.get(message_id)
        if future is None or future.done():
            return
        if payload.get("type") == "Error":
            future.set_exception(Exception(payload.get("message", "unbekannter Fehler")))
        else:
            future.set_result(cast(InternalResponsePayload, payload))

    def _fail_all(self, exc: Exception) -> None:
        for future in self._responses.values():
            if not future.done():
                future.set_exception(exc)

    def forget_answered(self) -> None:
        """Drop the answers already taken: the upstream client keeps every one for the
        life of the process (~1 KB per page, 10 MB over 10,000 pages)."""
        for message_id, future in list(self._responses.items()):
            if future.done():
                if not future.cancelled():
                    future.exception()  # retrieved: asyncio need not log it as lost
                del self._responses[message_id]

    @property
    def pid(self) -> int:
        return self._backend.pid

    def kill(self) -> None:
        """End the process at once; every open request fails with ``ServiceDied``."""
        self._signal(signal.SIGKILL)

    def _signal(self, number: int) -> None:
        # os.kill, not Process.kill/terminate: those poll() first and so may
        # reap a process that has just ended, behind the back of asyncio's
        # child watcher, which then logs "Unknown child process pid …".
        if self._backend.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._backend.pid, number)

    async def close(self) -> None:
        # The upstream close() waits up to 5 s for open requests and
        # re-raises their errors; here every request has finished or failed,
        # and a failure has been reported through the call that made it.
        self._poll_task.cancel()
        for future in self._responses.values():
            if not future.done():
                future.cancel()
            elif not future.cancelled():
                future.exception()  # retrieved: asyncio need not log it as lost
        self._signal(signal.SIGTERM)
        await self._backend.wait()

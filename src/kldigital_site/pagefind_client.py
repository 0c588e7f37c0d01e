"""Pagefind in a background thread: pages in, the search bundle's files out (for search.py).

Input: (URL, HTML) pairs, fed from the build's thread while it renders.
Output: the bundle files by path within ``pagefind/``, read back from a
private scratch folder and put in canonical form (``PagefindSession.result``),
or the exception that stopped Pagefind: ``PageRejected`` naming the page,
``FileNotFoundError`` when the binary is missing, ``TimeoutError``, or another
error when the process fails.

Pagefind's Python API (``pagefind[bin]``) is asyncio-based and drives the
``pagefind --service`` binary over a pipe. The session runs that API on an
event loop of its own in a daemon thread, so the build's thread only hands
pages over and Pagefind's work in its own process overlaps the rendering.

Pagefind 1.5 writes its filters in a random order per process, so the files
read back go through ``pagefind_canonical.canonical_bundle``: the same pages
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
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from pagefind.index import IndexConfig, PagefindIndex
from pagefind.service import PagefindService
from pagefind.service.types import InternalResponsePayload

from kldigital_site.pagefind_canonical import canonical_bundle

log = logging.getLogger(__name__)

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
# A generous upper bound for one Pagefind run, so a hanging process cannot
# hang the build (the sample site takes a fraction of a second).
TIMEOUT_SECONDS = 300.0
# How long Pagefind may still be writing after it reported its files written
# (see _wait_until_written; it takes a few milliseconds at most).
WRITE_TIMEOUT_SECONDS = 30.0

# Pagefind's scratch output: in memory (tmpfs) where there is one.
_SCRATCH = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None

_SEAL = object()  # end of the pages: build the index
_ABORT = object()  # stop without an index


class PageRejected(Exception):
    """Pagefind refused one page; ``origin`` is its content file."""

    def __init__(self, origin: str, message: str) -> None:
        super().__init__(message)
        self.origin = origin


class ServiceDied(Exception):
    """The Pagefind process ended before it answered."""


class Aborted(Exception):
    """The build stopped the session (it failed elsewhere)."""


class PagefindSession:
    """One Pagefind index, filled from the caller's thread, built in a thread of its own."""

    def __init__(self) -> None:
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[object] | None = None
        self._files: dict[str, bytes] | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="pagefind", daemon=True)
        self._thread.start()

    def feed(self, url: str, html: str, origin: str) -> None:
        """Add one page (site URL without base path, its HTML, its content file)."""
        self._put((url, html, origin))

    def seal(self) -> None:
        """No more pages: Pagefind builds the index now."""
        self._put(_SEAL)

    def abort(self) -> None:
        """Stop Pagefind; ``result`` then raises."""
        self._put(_ABORT)

    def result(self) -> dict[str, bytes]:
        """The bundle files (unused ones left out); waits for Pagefind, raises what stopped it."""
        self.seal()
        self._thread.join(TIMEOUT_SECONDS)
        if self._thread.is_alive():
            self.abort()
            raise TimeoutError(f"Pagefind took longer than {TIMEOUT_SECONDS:.0f} s")
        if self._error is not None:
            raise self._error
        assert self._files is not None
        return self._files

    def _put(self, item: object) -> None:
        self._ready.wait()
        if self._loop is None or self._queue is None:
            return  # the session never started; result() reports why
        # A closed loop: the session has ended (failed); result() reports why.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)

    def _run(self) -> None:
        try:
            self._files = asyncio.run(self._index())
        except BaseException as exc:  # handed to the build's thread by result()
            self._error = exc
        finally:
            self._ready.set()

    async def _index(self) -> dict[str, bytes]:
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        self._ready.set()
        service = _Service()
        await service.launch()
        try:
            index = await service.create_index(cast(IndexConfig, dict(INDEX_CONFIG)))
            # Pages are sent as they come, without waiting for each answer:
            # while the build's thread renders, it holds the GIL, and every
            # wake-up of this thread waits for it (up to 5 ms). Pagefind still
            # takes them in the order sent, so page numbers stay stable.
            added: list[asyncio.Task[None]] = []
            while (item := await self._queue.get()) is not _SEAL:
                if item is _ABORT:
                    raise Aborted("Pagefind wurde abgebrochen.")
                added.append(asyncio.create_task(_add(index, *cast(tuple[str, str, str], item))))
            for outcome in await asyncio.gather(*added, return_exceptions=True):
                if isinstance(outcome, BaseException):
                    raise outcome  # the first page Pagefind refused, in page order
            # write_files into a private scratch folder, not get_files: get_files
            # sends every file base64-encoded in one JSON message, Pagefind's
            # unused UIs included (860 KB for any site), which costs 10 ms more
            # per build (16 ms vs 7 ms for a one-page index). The files still
            # become Outputs: Pagefind never writes into the output folder.
            with tempfile.TemporaryDirectory(prefix="kldigital-pagefind-", dir=_SCRATCH) as out:
                await index.write_files(output_path=out)
                await _wait_until_written(service.pid, out)
                return canonical_bundle(_read_bundle(Path(out)))
        finally:
            await service.close()


async def _add(index: PagefindIndex, url: str, html: str, origin: str) -> None:
    try:
        await index.add_html_file(content=html, url=url)
    except ServiceDied:
        raise
    except Exception as exc:  # the wrapper raises bare Exception(message)
        raise PageRejected(origin, str(exc.args[0] if exc.args else exc)) from exc


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
    files = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_file() and not rel.startswith(UNUSED_PREFIXES):
            files[rel] = path.read_bytes()
    return files


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

    @property
    def pid(self) -> int:
        return self._backend.pid

    async def close(self) -> None:
        # The upstream close() waits up to 5 s for open requests and
        # re-raises their errors; here every request has finished or failed.
        self._poll_task.cancel()
        if self._backend.returncode is None:
            self._backend.terminate()
        await self._backend.wait()

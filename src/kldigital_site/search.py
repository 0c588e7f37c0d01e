"""Full-text search index: rendered pages → Pagefind bundle ``Output``s under ``pagefind/``.

Input: the ``Site`` and every ``Output`` of a successful render. Output: the
files of a Pagefind search bundle (``pagefind/pagefind.js``, the WebAssembly
search engine, index, filter and fragment chunks) as ``Output`` values, so that
``write_tree`` writes them atomically together with the pages they describe;
or ``BuildFailed`` with a positioned problem when Pagefind fails.

Only published detail pages are indexed (projects, press releases, plain
pages), and of those only the element marked ``data-pagefind-body`` by the
theme. Lists are left out on purpose: the home page, project and press lists,
year archives and topic pages only repeat titles and summaries of the detail
pages, so they would push duplicates above the page a visitor is looking for;
topics are offered as a filter instead. Drafts and embargoed releases are left
out even in ``--drafts``/``--future`` preview builds, because the search must
never reveal what is not published.

Pagefind is driven through its Python API (``pagefind[bin]`` from PyPI) with
the language forced to German, so its stemmer finds inflected forms ("Projekt"
finds "Projekte"). The index comes back in memory (``get_files``), nothing is
written by Pagefind itself.

Cache: when the indexed HTML, the Pagefind version and the settings are the
same as last time, the previous bundle is taken from
``<site root>/.kldigital-cache/search/`` instead of starting Pagefind again.
That also keeps unchanged builds byte-identical, which Pagefind alone does not
guarantee (see ``_KNOWN_NONDETERMINISM``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import concurrent.futures
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar, cast

from pagefind.index import IndexConfig
from pagefind.service import PagefindService
from pagefind.service.types import InternalResponsePayload

from kldigital_site.errors import BuildFailed, SiteError
from kldigital_site.model import Route, Site
from kldigital_site.output import Output

log = logging.getLogger(__name__)
_T = TypeVar("_T")

BUNDLE_DIR = "pagefind"
CACHE_SUBDIR = Path(".kldigital-cache") / "search"
CACHE_FILE = "index.json"
# Bump when the cache file layout or the choice of indexed pages changes.
CACHE_FORMAT = 1
# Route kinds whose pages are search results (see the module docstring for why
# lists are not).
INDEXED_KINDS = frozenset({"project", "press_release", "page"})
# Pagefind settings. The pages carry lang="de" already; forcing it keeps one
# German index even if a page ever declares another language.
INDEX_CONFIG: Mapping[str, Any] = {"force_language": "de"}
# Pagefind also returns its ready-made user interfaces, the highlighting
# script and a fallback engine for pages without a known language. The site
# uses its own UI (assets/js/search.js: no inline styles, so a strict CSP
# holds) and one German index, so these are never loaded and are not shipped.
_UNUSED_PREFIXES = (
    "pagefind-ui.",
    "pagefind-modular-ui.",
    "pagefind-component-ui.",
    "pagefind-highlight.",
    "wasm.unknown.",
    "playground/",
)
# Why two cold builds may differ in pagefind/ (reported, not hidden): Pagefind
# 1.5 keeps filters in a hash map with a random seed per process (pagefind
# src/index/mod.rs, "TODO: Change filter indexes to BTree to give them a stable
# hash"), so the order of filter values in filter/*.pf_filter and of filters
# in pagefind.de_*.pf_meta, their hashed names and the meta hash in
# pagefind-entry.json change from run to run. The search results are the same.
# Everything else (fragments, word index, scripts) is byte-identical.
# A generous upper bound for one Pagefind run, so a hanging process cannot
# hang the build (the sample site takes well under a second).
TIMEOUT_SECONDS = 300.0
_PROBLEM_PATH = "pagefind"  # where a failure not tied to one page is reported


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page to index: its site URL, its output file and where it comes from."""

    url: str  # "/projekte/dritte-orte/": site path, base path is added in the browser
    output_path: str  # "projekte/dritte-orte/index.html"
    origin: str  # content file, for error messages


def search_pages(site: Site) -> list[SearchPage]:
    """The published detail pages of ``site``, sorted by URL.

    Sorted, because Pagefind numbers pages in the order they are added and the
    bundle should not depend on route order.
    """
    pages = [
        SearchPage("/" + route.url, route.output_path, route.origin)
        for route in site.routes
        if _is_indexed(site, route)
    ]
    return sorted(pages, key=lambda p: p.url)


def _is_indexed(site: Site, route: Route) -> bool:
    if route.kind not in INDEXED_KINDS or route.item is None:
        return False
    item = site.items[route.item]
    return not (item.is_draft or item.is_future)


def build_search_index(
    site: Site,
    outputs: Sequence[Output],
    *,
    use_cache: bool = True,
    cache_dir: Path | None = None,
) -> list[Output]:
    """The Pagefind bundle for a build that holds every rendered page in ``outputs``.

    Returns ``Output``s under ``pagefind/``. See ``search_index`` for the
    cache and the errors.
    """
    html = {o.path: o.data for o in outputs if o.data is not None}
    digests = {path: hashlib.sha256(data).hexdigest() for path, data in html.items()}
    return search_index(site, digests, html.__getitem__, use_cache=use_cache, cache_dir=cache_dir)


def search_index(
    site: Site,
    digests: Mapping[str, str],
    read: Callable[[str], bytes],
    *,
    use_cache: bool = True,
    cache_dir: Path | None = None,
) -> list[Output]:
    """The Pagefind bundle as ``Output``s under ``pagefind/``.

    ``digests`` maps the output path of every rendered page to the sha256 of
    its bytes; ``read(path)`` returns those bytes. Pages are only read when the
    index has to be rebuilt, so a build that renders nothing new (a render
    cache) costs no reading at all. ``cache_dir`` defaults to
    ``<site root>/.kldigital-cache/search``; ``use_cache=False`` (``--no-cache``)
    neither reads nor writes it. Raises ``BuildFailed`` when
    Pagefind is missing or fails; the problem names the content file whose page
    it rejected.
    """
    pages = [p for p in search_pages(site) if p.output_path in digests]
    folder = cache_dir if cache_dir is not None else site.config.root / CACHE_SUBDIR
    key = _cache_key([(p.url, digests[p.output_path]) for p in pages])
    files = _read_cache(folder, key) if use_cache else None
    if files is None:
        files = run_pagefind([(p, read(p.output_path).decode("utf-8")) for p in pages])
        if use_cache:
            _write_cache(folder, key, files)
    else:
        log.debug("search index unchanged: %d files from the cache", len(files))
    return [Output(f"{BUNDLE_DIR}/{path}", data) for path, data in sorted(files.items())]


def run_pagefind(pages: Sequence[tuple[SearchPage, str]]) -> dict[str, bytes]:
    """Index (page, HTML) pairs with Pagefind; returns the bundle files by path in ``pagefind/``."""
    try:
        files = _run_in_own_loop(lambda: asyncio.wait_for(_index(pages), TIMEOUT_SECONDS))
    except _PageProblem as problem:
        raise _failed(f"Pagefind lehnt die Seite ab: {problem}", problem.origin) from problem
    except FileNotFoundError as exc:
        raise _failed(
            "Das Programm pagefind fehlt; bitte `make install` ausführen "
            f"(Abhängigkeit „pagefind[bin]“). ({exc})"
        ) from exc
    except TimeoutError as exc:
        raise _failed(f"Pagefind hat nach {TIMEOUT_SECONDS:.0f} s nicht geantwortet.") from exc
    except (OSError, _ServiceDied, ValueError, KeyError, RuntimeError) as exc:
        raise _failed(f"Pagefind ist fehlgeschlagen: {exc}") from exc
    return {path: data for path, data in files.items() if not path.startswith(_UNUSED_PREFIXES)}


def _run_in_own_loop(make: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    """Run a coroutine to completion from synchronous code.

    When this thread already runs an event loop (an async caller, Playwright's
    sync API in the tests, a notebook), ``asyncio.run`` refuses; Pagefind's
    client then gets a thread and a loop of its own.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="pagefind") as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def _failed(message: str, path: str = _PROBLEM_PATH) -> BuildFailed:
    return BuildFailed([SiteError(path, 0, f"Suchindex: {message}")])


class _PageProblem(Exception):
    def __init__(self, origin: str, message: str) -> None:
        super().__init__(message)
        self.origin = origin


class _ServiceDied(Exception):
    pass


async def _index(pages: Sequence[tuple[SearchPage, str]]) -> dict[str, bytes]:
    service = await _Service().launch()
    try:
        index = await service.create_index(cast(IndexConfig, dict(INDEX_CONFIG)))
        # One page after the other, not gathered: Pagefind numbers pages in the
        # order it receives them, so this keeps that order stable.
        for page, html in pages:
            try:
                await index.add_html_file(content=html, url=page.url)
            except _ServiceDied:
                raise
            except Exception as exc:  # the wrapper raises bare Exception(message)
                raise _PageProblem(page.origin, str(exc.args[0] if exc.args else exc)) from exc
        return {str(f["path"]): bytes(f["content"]) for f in await index.get_files()}
    finally:
        await service.close()


class _Service(PagefindService):
    """Pagefind's service client with a reader that does not sleep.

    pagefind 1.5.2's ``PagefindService._wait_for_responses`` sleeps 100 ms
    before reading each response, so indexing the 31 pages of the sample
    site took 3.3 s instead of 0.1 s; it also waits for ever when the
    process dies, and reads at most 2 MiB per message. This reader takes
    whatever has arrived, splits it at the protocol's commas and fails
    every open request when the process ends. The protocol (base64 JSON
    messages separated by commas) and everything else are Pagefind's own.
    """

    async def _wait_for_responses(self) -> None:
        stdout = self._backend.stdout
        assert stdout is not None
        buffer = bytearray()
        while True:
            chunk = await stdout.read(1 << 20)
            if not chunk:
                self._fail_all(_ServiceDied("Pagefind wurde unerwartet beendet."))
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

    async def close(self) -> None:
        # The upstream close() waits up to 5 s for open requests and
        # re-raises their errors; here every request has finished or failed.
        self._poll_task.cancel()
        if self._backend.returncode is None:
            self._backend.terminate()
        await self._backend.wait()


# --- cache -----------------------------------------------------------------------


def _cache_key(pages: Sequence[tuple[str, str]]) -> str:
    """Hash of everything the bundle depends on: (URL, HTML digest) pairs and Pagefind."""
    digest = hashlib.sha256()
    header = {
        "format": CACHE_FORMAT,
        "pagefind": _version("pagefind"),
        "binary": _version("pagefind_bin"),
        "config": dict(INDEX_CONFIG),
        "unused": _UNUSED_PREFIXES,
    }
    digest.update(json.dumps(header, sort_keys=True).encode())
    for url, page_digest in pages:
        digest.update(f"\0{url}\0{page_digest}".encode())
    return digest.hexdigest()


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "-"


def _read_cache(folder: Path, key: str) -> dict[str, bytes] | None:
    """The cached bundle for ``key``; None when missing, stale or damaged."""
    path = folder / CACHE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        _discard(path, "unreadable")
        return None
    try:
        if data["format"] != CACHE_FORMAT or data["key"] != key:
            return None
        files = {}
        for name, entry in data["files"].items():
            content = base64.b64decode(entry["data"], validate=True)
            if hashlib.sha256(content).hexdigest() != entry["sha256"]:
                raise ValueError(f"checksum of {name}")
            files[str(name)] = content
    except (KeyError, TypeError, AttributeError, ValueError, binascii.Error) as exc:
        _discard(path, str(exc))
        return None
    return files


def _discard(path: Path, reason: str) -> None:
    log.warning("search cache %s discarded (%s)", path, reason)
    path.unlink(missing_ok=True)


def _write_cache(folder: Path, key: str, files: Mapping[str, bytes]) -> None:
    """Store the bundle atomically; a cache that cannot be written is only a lost speed-up."""
    payload = {
        "format": CACHE_FORMAT,
        "key": key,
        "files": {
            name: {
                "sha256": hashlib.sha256(content).hexdigest(),
                "data": base64.b64encode(content).decode("ascii"),
            }
            for name, content in sorted(files.items())
        },
    }
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as stream:
                json.dump(payload, stream)
            os.replace(temp, folder / CACHE_FILE)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        log.warning("search cache not written: %s", exc)

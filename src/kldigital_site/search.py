"""Full-text search index: rendered pages → Pagefind bundle ``Output``s under ``pagefind/``.

Input: the ``Site`` and its rendered pages, handed over one by one while the
site renders (``SearchIndexer``) or all at once (``build_search_index``).
Output: the files of a Pagefind search bundle (``pagefind/pagefind.js``, the
WebAssembly engine, index, filter and fragment chunks) as ``Output`` values,
written atomically together with the pages they describe; or ``BuildFailed``
with a positioned problem when Pagefind fails.

Only published detail pages are indexed (projects, press releases, plain
pages), and of those only the element the theme marks ``data-pagefind-body``.
Lists are left out on purpose: the home page, project and press lists, year
archives and topic pages only repeat titles and summaries of the detail pages,
so they would push duplicates above the page a visitor is looking for; topics
are offered as a filter instead. Drafts and embargoed releases are left out
even in ``--drafts``/``--future`` preview builds: the search must never reveal
what is not published.

Pagefind runs through its Python API (``pagefind[bin]`` from PyPI; the client
lives in ``pagefind_client.py``) with the language forced to German, so its
stemmer finds inflected forms ("Projekt" finds "Projekte"). It indexes in a
process of its own while the build goes on rendering; its files come back as
``Output``s, so Pagefind never writes into the output folder.

Cache: when the indexed pages (URL and HTML digest), the Pagefind version and
the settings are the same as last time, the bundle is taken from
``<site root>/.kldigital-cache/search/`` instead of running Pagefind. Either
way the bundle is byte-identical for the same pages: Pagefind's own files,
whose filter order varies from run to run, are put in a canonical form first
(``pagefind_canonical.py``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from kldigital_site.errors import BuildFailed, SiteError
from kldigital_site.model import Route, Site
from kldigital_site.output import Output
from kldigital_site.pagefind_client import (
    INDEX_CONFIG,
    TIMEOUT_SECONDS,
    UNUSED_PREFIXES,
    PagefindSession,
    PageRejected,
)

log = logging.getLogger(__name__)

BUNDLE_DIR = "pagefind"
CACHE_SUBDIR = Path(".kldigital-cache") / "search"
CACHE_FILE = "index.json"
# Bump when the cache file layout, the choice of indexed pages or the way the
# bundle is made changes (3: canonical filter files, complete files only).
CACHE_FORMAT = 3
# Route kinds whose pages are search results (see the module docstring for why
# lists are not).
INDEXED_KINDS = frozenset({"project", "press_release", "page"})
_PROBLEM_PATH = "pagefind"  # where a failure not tied to one page is reported

Html = bytes | Callable[[], bytes]  # the page, or how to read it when needed


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page to index: its site URL, its output file and where it comes from."""

    url: str  # "/projekte/dritte-orte/": site path, base path is added in the browser
    output_path: str  # "projekte/dritte-orte/index.html"
    origin: str  # content file, for error messages


def search_pages(site: Site) -> list[SearchPage]:
    """The published detail pages of ``site``, in route order.

    Pagefind numbers pages in the order it receives them; route order is
    deterministic, and it is the order in which the pages render.
    """
    return [
        SearchPage("/" + route.url, route.output_path, route.origin)
        for route in site.routes
        if _is_indexed(site, route)
    ]


def _is_indexed(site: Site, route: Route) -> bool:
    if route.kind not in INDEXED_KINDS or route.item is None:
        return False
    item = site.items[route.item]
    return not (item.is_draft or item.is_future)


@dataclass(frozen=True, slots=True)
class _Cached:
    key: str
    pages: list[tuple[str, str]]  # (URL, HTML digest) in indexing order
    files: dict[str, bytes]


class SearchIndexer:
    """Builds the search bundle while the site renders.

    ``add`` every rendered file as it comes (files that are not search pages
    are ignored), call ``seal`` when rendering is done, then ``finish`` for the
    bundle. Pagefind starts at the first page that differs from the cached
    index and works in a process of its own, so indexing overlaps rendering
    instead of adding to it (issue 5 allows the index 10 % of a cold build).
    ``abort`` stops Pagefind when the build fails elsewhere.
    """

    def __init__(
        self, site: Site, *, use_cache: bool = True, cache_dir: Path | None = None
    ) -> None:
        self._pages = {page.output_path: page for page in search_pages(site)}
        self._use_cache = use_cache
        self._folder = cache_dir if cache_dir is not None else site.config.root / CACHE_SUBDIR
        self._cached = _read_cache(self._folder) if use_cache else None
        self._seen: list[tuple[SearchPage, str, Html]] = []
        self._session: PagefindSession | None = None
        # Pagefind's thread starts with the first page, not here: rendering
        # may fork worker processes first (workers.py), and forking a process
        # that runs other threads can deadlock the children.
        self._sealed = False

    def add(self, path: str, digest: str, html: Html) -> None:
        """One rendered file: its output path, the sha256 of its bytes, the bytes or a reader."""
        page = self._pages.get(path)
        if page is None:
            return
        self._seen.append((page, digest, html))
        if self._session is not None:
            self._session.feed(page.url, _read(html), page.origin)
        elif not self._matches_cache():
            self._start()
        if len(self._seen) == len(self._pages):
            # The last search page: Pagefind builds the index while the build
            # renders the lists (pages.py renders detail pages first).
            self.seal()

    def seal(self) -> None:
        """No more pages: Pagefind (if it has to run) assembles the index in the background."""
        if self._sealed:
            return
        self._sealed = True
        if self._session is None and not self._cache_hit():
            self._start()
        if self._session is not None:
            self._session.seal()

    def finish(self) -> list[Output]:
        """The bundle as ``Output``s under ``pagefind/``; ``BuildFailed`` if Pagefind failed."""
        self.seal()
        if self._session is None:
            assert self._cached is not None
            log.debug("search index unchanged: %d files from the cache", len(self._cached.files))
            files = self._cached.files
        else:
            files = _result(self._session)
            if self._use_cache:
                _write_cache(self._folder, self._key(), self._digests(), files)
        return [Output(f"{BUNDLE_DIR}/{path}", data) for path, data in sorted(files.items())]

    def abort(self) -> None:
        if self._session is not None:
            self._session.abort()

    def _digests(self) -> list[tuple[str, str]]:
        return [(page.url, digest) for page, digest, _ in self._seen]

    def _key(self) -> str:
        return _cache_key(self._digests())

    def _matches_cache(self) -> bool:
        """The pages so far are the cached index's first pages."""
        cached, count = self._cached, len(self._seen)
        if cached is None or count > len(cached.pages):
            return False
        page, digest, _ = self._seen[-1]
        return cached.pages[count - 1] == (page.url, digest)

    def _cache_hit(self) -> bool:
        return self._cached is not None and self._cached.key == self._key()

    def _start(self) -> None:
        self._session = PagefindSession()
        for page, _, html in self._seen:
            self._session.feed(page.url, _read(html), page.origin)


def build_search_index(
    site: Site,
    outputs: Sequence[Output],
    *,
    use_cache: bool = True,
    cache_dir: Path | None = None,
) -> list[Output]:
    """The bundle for a build that holds every rendered page in ``outputs``."""
    indexer = SearchIndexer(site, use_cache=use_cache, cache_dir=cache_dir)
    by_path = {o.path: o.data for o in outputs if o.data is not None}
    try:
        for page in search_pages(site):
            data = by_path.get(page.output_path)
            if data is not None:
                indexer.add(page.output_path, hashlib.sha256(data).hexdigest(), data)
        return indexer.finish()
    except BaseException:
        indexer.abort()
        raise


def _read(html: Html) -> str:
    return (html if isinstance(html, bytes) else html()).decode("utf-8")


def _result(session: PagefindSession) -> dict[str, bytes]:
    """Pagefind's files, or its failure as a positioned problem."""
    try:
        return session.result()
    except PageRejected as problem:
        raise _failed(f"Pagefind lehnt die Seite ab: {problem}", problem.origin) from problem
    except FileNotFoundError as exc:
        raise _failed(
            "Das Programm pagefind fehlt; bitte `make install` ausführen "
            f"(Abhängigkeit „pagefind[bin]“). ({exc})"
        ) from exc
    except TimeoutError as exc:
        raise _failed(f"Pagefind hat nach {TIMEOUT_SECONDS:.0f} s nicht geantwortet.") from exc
    except Exception as exc:
        raise _failed(f"Pagefind ist fehlgeschlagen: {exc}") from exc


def _failed(message: str, path: str = _PROBLEM_PATH) -> BuildFailed:
    return BuildFailed([SiteError(path, 0, f"Suchindex: {message}")])


# --- cache -----------------------------------------------------------------------


def _cache_key(pages: Sequence[tuple[str, str]]) -> str:
    """Hash of everything the bundle depends on: (URL, HTML digest) pairs and Pagefind."""
    digest = hashlib.sha256()
    header = {
        "format": CACHE_FORMAT,
        "pagefind": _version("pagefind"),
        "binary": _version("pagefind_bin"),
        "config": dict(INDEX_CONFIG),
        "unused": UNUSED_PREFIXES,
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


def _read_cache(folder: Path) -> _Cached | None:
    """The last bundle with the pages it was made from; None when missing or damaged."""
    path = folder / CACHE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        _discard(path, "unreadable")
        return None
    try:
        if data["format"] != CACHE_FORMAT:
            _discard(path, f"format {data['format']}")
            return None
        files = {}
        for name, entry in data["files"].items():
            content = base64.b64decode(entry["data"], validate=True)
            if hashlib.sha256(content).hexdigest() != entry["sha256"]:
                raise ValueError(f"checksum of {name}")
            files[str(name)] = content
        pages = [(str(url), str(digest)) for url, digest in data["pages"]]
        return _Cached(str(data["key"]), pages, files)
    except (KeyError, TypeError, AttributeError, ValueError, binascii.Error) as exc:
        _discard(path, str(exc))
        return None


def _discard(path: Path, reason: str) -> None:
    log.warning("search cache %s discarded (%s)", path, reason)
    path.unlink(missing_ok=True)


def _write_cache(
    folder: Path, key: str, pages: Sequence[tuple[str, str]], files: Mapping[str, bytes]
) -> None:
    """Store the bundle atomically; a cache that cannot be written is only a lost speed-up."""
    payload = {
        "format": CACHE_FORMAT,
        "key": key,
        "pages": [list(page) for page in pages],
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

"""Full-text search index: rendered pages → Pagefind bundle ``Output``s under ``pagefind/``.

Input: the ``Site`` and its rendered pages, handed over one by one while the
site renders (``SearchIndexer``).
Output: the files of the Pagefind search bundles (``pagefind/pagefind.js``,
the WebAssembly engine, index, filter and fragment chunks) as ``Output``
values, written atomically together with the pages they describe; or
``BuildFailed`` with a positioned problem when Pagefind fails.

Only published detail pages are indexed (projects, press releases, plain
pages), and of those only the element the theme marks ``data-pagefind-body``.
Lists are left out on purpose: the home page, project and press lists, year
archives and topic pages only repeat titles and summaries of the detail pages,
so they would push duplicates above the page a visitor is looking for; topics
are offered as a filter instead. Drafts and embargoed releases are left out
even in ``--drafts``/``--future`` builds: the published search must never reveal
them. Only the preview (``serve``, ``build --preview``) indexes them, labelled.

Shards: Pagefind cannot change one page of an index, only build it anew from
all its pages (about 2.5 ms of Pagefind's CPU time per page). So the index is
split into shards, each a bundle of its own, by a stable hash of the page's
URL (``shard_of``); a changed page re-indexes only its shard. The number of
shards grows in powers of two with the number of indexed pages, at most
``SHARD_PAGES`` per shard on average (``shard_count``): one shard, exactly
the bundle of old, up to 500 pages; 32 for 10,000. Shard 0 is the bundle in
``pagefind/`` with Pagefind's script, worker and engine; shard n > 0 lies in
``pagefind/teil-<n>/`` with only the files Pagefind's ``mergeIndex`` loads
(entry, meta, index, filter and fragment files). The search page lists those
folders (``merged_bundles``) and its script merges them in the browser.

Pagefind runs through its Python API (``pagefind[bin]`` from PyPI; the client
lives in ``search/client.py``) with the language forced to German, so its
stemmer finds inflected forms ("Projekt" finds "Projekte"). It indexes in a
process of its own, one shard after another (two processes when several
shards changed), driven by a thread of the build that starts when the last
detail page has rendered (render/pages.py renders them first), so it works while
the newsroom files and the lists render. An edit build gives it a head start
(search/head_start.py): while the build parses, Pagefind is fed the pages of the
edited page's shard that come before it, and as soon as the edited page has rendered
(``expect``, ``offer``), the rest, and writes the bundle; the indexer takes it if its
pages are the shard's, else goes on from what was fed.
The indexer keeps no page's HTML: it notes each page's URL, digest and how to
read it back from the staging folder, and reads only the pages of shards that
changed, when Pagefind takes them. The files come back as ``Output``s, so
Pagefind never writes into the output folder.

Cache: one file per shard in ``<site root>/.kldigital-cache/search/``,
``teil-<n>.bin``, keyed by the shard's pages (URL and the digest of what
Pagefind indexes of each, search/extract.py: a new base template changes no
key), the Pagefind version and the settings. A shard whose key is unchanged is taken
from there, without starting Pagefind or reading its pages; a build in which
no indexed page changed starts no Pagefind at all. Either way a shard's
bundle is byte-identical for the same pages: Pagefind's own files, whose
filter order varies from run to run, are put in a canonical form first
(``search/canonical.py``), and Pagefind numbers a shard's pages in URL
order.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import re
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from kldigital_site.errors import BuildFailed, SiteError
from kldigital_site.model import Site
from kldigital_site.output import Output
from kldigital_site.search.canonical import ENTRY_FILE
from kldigital_site.search.client import (
    INDEX_CONFIG,
    TIMEOUT_SECONDS,
    UNUSED_PREFIXES,
    Aborted,
    PagefindProcess,
    PageRejected,
    PageSource,
    PageUnreadable,
)
from kldigital_site.search.compounds import Splitter, dictionary_version, load_splitter
from kldigital_site.search.extract import search_digest, search_extract
from kldigital_site.search.head_start import HeadStart, Html
from kldigital_site.search.shards import (
    SHARD_PREFIX,
    SearchPage,
    search_pages,
    shard_dir,
    shard_numbers,
)
from kldigital_site.versions import version
from kldigital_site.workers import default_jobs

log = logging.getLogger(__name__)

# Pagefind processes at once when several shards changed (see _index_all);
# each holds one shard, about 60 to 120 MB at 500 pages.
PAGEFIND_PROCESSES = 2
CACHE_SUBDIR = Path(".kldigital-cache") / "search"
# Bump when the cache file layout, the choice of indexed pages or the way the
# bundles are made changes (3: canonical filter files, complete files only;
# 4: one file per shard, pages in URL order; 5: keyed on and fed only what Pagefind
# indexes of a page, search/extract.py; 6: each file's sha256 in the table).
CACHE_FORMAT = 6
_CACHE_MAGIC = "kldigital-search"
_CACHE_NAME = re.compile(rf"{SHARD_PREFIX}(\d+)\.bin")
_OLD_CACHE_FILES = ("index.json",)  # format 3 kept the whole index in one file
# What Pagefind's mergeIndex loads from a merged bundle (pagefind.js 1.5:
# loadEntry, loadMeta, loadChunk, loadFilterChunk, loadFragment; it uses the
# first bundle's engine, load_wasm: false): all a shard n > 0 ships.
_MERGED_FOLDERS = ("index/", "filter/", "fragment/")
_PROBLEM_PATH = "pagefind"  # where a failure not tied to one page is reported


@dataclass(frozen=True, slots=True)
class _Shard:
    number: int
    pages: tuple[tuple[SearchPage, str, Html], ...]  # in URL order: Pagefind's page numbers
    key: str  # cache key: the pages' URLs and search digests, Pagefind and its settings

    def sources(
        self, splitter: Splitter, ready: Mapping[str, tuple[str, bytes]] | None = None
    ) -> list[PageSource]:
        """What Pagefind gets of each page; ``ready``: pages made so before (URL → search
        digest, bytes), taken where the digest is the page's now."""
        ready = ready or {}
        return [
            PageSource(page.url, page.origin, _ready(ready, page.url, digest, html, splitter))
            for page, digest, html in self.pages
        ]


def _ready(
    ready: Mapping[str, tuple[str, bytes]], url: str, digest: str, html: Html, splitter: Splitter
) -> Callable[[], bytes]:
    made = ready.get(url)
    if made is not None and made[0] == digest:
        data = made[1]
        return lambda: data
    return _reader(html, splitter)


def _reader(html: Html, splitter: Splitter) -> Callable[[], bytes]:
    """The page as Pagefind gets it: only what it indexes (search/extract.py), its
    compounds marked, so their parts are found too."""
    read = html if callable(html) else (lambda: html)
    return lambda: splitter.mark(search_extract(read()))


class SearchIndexer:
    """Builds the search bundles while the site renders.

    ``add`` every rendered file as it comes (files that are not search pages
    are ignored); the last search page ``seal``s the indexer, and a thread
    takes unchanged shards from the cache and runs Pagefind over the others
    while the build renders the lists. ``finish`` waits for it and returns
    the bundles; ``abort`` stops Pagefind when the build fails elsewhere.
    """

    def __init__(
        self,
        site: Site,
        *,
        use_cache: bool = True,
        cache_dir: Path | None = None,
        head_start: HeadStart | None = None,
    ) -> None:
        pages = search_pages(site)
        self._pages = {page.output_path: page for page in pages}
        self._count, numbers = shard_numbers([page.url for page in pages])
        # By output path: an edit build asks for the shard of each page (edit_build.py).
        self._shard_of = {page.output_path: n for page, n in zip(pages, numbers, strict=True)}
        self._use_cache = use_cache
        self._folder = cache_dir if cache_dir is not None else site.config.root / CACHE_SUBDIR
        # Per page its URL, digest and a reader, never the HTML of all pages.
        self._seen: dict[str, tuple[SearchPage, str, Html]] = {}
        self._shards: list[_Shard] = []
        self._fresh: dict[int, dict[str, bytes]] = {}  # made now and not in the cache
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._lock = threading.Lock()  # guards _processes against abort() from the build's thread
        self._processes: list[PagefindProcess] = []
        self._aborted = False
        # Pagefind begun on the shards the edit may change (search/head_start.py).
        self._head_start = head_start
        self.indexed: list[int] = []  # shards that went through Pagefind in this build

    @property
    def shard_count(self) -> int:
        return self._count

    def indexes(self, path: str) -> bool:
        """Whether the file at ``path`` is one of the pages the search indexes."""
        return path in self._pages

    def shard_of_page(self, path: str) -> int | None:
        """The shard of the search page at output path ``path``; None: no search page."""
        return self._shard_of.get(path)

    def pages_in(self, shards: Collection[int]) -> list[str]:
        """The output paths of the search pages in ``shards``, in route order."""
        return [path for path, number in self._shard_of.items() if number in shards]

    def add(self, path: str, digest: str, html: Html) -> None:
        """One rendered file: its output path, the digest of what the search reads of it
        (``search.extract.search_digest``; "" if not known: then it is read now), the
        bytes or a reader."""
        if self.expect(path, digest, html) and len(self._seen) == len(self._pages):
            # The last search page: the shards are known, and Pagefind can work
            # while the build renders the rest (render/pages.py renders detail pages first).
            self.seal()

    def expect(self, path: str, digest: str, html: Html) -> bool:
        """As ``add``, for a page known before rendering begins (one kept as it was,
        build.py): never seals, since the build may still fork its workers, which must
        not happen while the indexer's thread runs. False: not a search page, or sealed."""
        page = self._pages.get(path)
        if page is None or self._thread is not None:
            return False
        if not digest:
            digest = search_digest(html() if callable(html) else html)
        self._seen[path] = (page, digest, html)
        if self._head_start is not None:
            self._head_start.offer(path, digest, html)
        return True

    def offer(self, path: str, digest: str, html: Html) -> None:
        """A page rendered before the shards to index are known (edit_build.py): for the
        head start alone, which may go on with its shard from there. ``expect`` or ``add``
        it as well once its shard is known to have changed."""
        if self._head_start is not None and path in self._pages and digest:
            self._head_start.offer(path, digest, html)

    def seal(self) -> None:
        """No more pages: shards are taken from the cache or indexed, in the background."""
        if self._thread is not None:
            return
        self._shards = self._plan()
        # Started only now, not in __init__: rendering may fork worker processes
        # first (workers.py), and forking a process that runs other threads can
        # deadlock the children.
        self._thread = threading.Thread(target=self._run, name="pagefind", daemon=True)
        self._thread.start()

    def finish(self, published: Mapping[str, str] | None = None) -> Iterator[Output | Kept]:
        """The bundles as ``Output``s under ``pagefind/``; ``BuildFailed`` if Pagefind failed.

        Cached shards are read one at a time while the outputs are consumed,
        so the bundles are never all in memory at once. A cached shard whose
        files are all in ``published`` (output path → sha256) with the digests
        the cache lists comes as ``Kept`` files, without its bytes being read:
        a body edit changes one shard of 32, a template change none.
        """
        self.seal()
        assert self._thread is not None
        self._thread.join()
        if self._error is not None:
            raise _failure(self._error) from self._error
        self.indexed.sort()  # parallel processes finish in any order
        log.debug(
            "search index: %d shards, %s through Pagefind",
            len(self._shards),
            self.indexed or "none",
        )
        return self._outputs(published or {})

    def abort(self) -> None:
        if self._head_start is not None and self._thread is None:
            self._head_start.close()  # never taken over: no thread of ours will
        with self._lock:
            self._aborted = True
            processes = list(self._processes)
        for process in processes:
            process.stop()

    def _plan(self) -> list[_Shard]:
        by_shard: dict[int, list[tuple[SearchPage, str, Html]]] = {}
        for entry in self._seen.values():
            by_shard.setdefault(self._shard_of[entry[0].output_path], []).append(entry)
        shards = []
        for number, entries in sorted(by_shard.items()):
            entries.sort(key=lambda entry: entry[0].url)
            key = _shard_key(number == 0, [(page.url, digest) for page, digest, _ in entries])
            shards.append(_Shard(number, tuple(entries), key))
        return shards

    def _cache_file(self, number: int) -> Path:
        return self._folder / f"{SHARD_PREFIX}{number}.bin"

    def _run(self) -> None:
        """The thread: which shards changed, and Pagefind over those."""
        try:
            changed = [
                shard
                for shard in self._shards
                if not self._use_cache or _cached_key(self._cache_file(shard.number)) != shard.key
            ]
            if self._head_start is not None:
                changed = self._go_on(changed)
            self._index_all(changed)
            if self._use_cache:
                _prune_cache(self._folder, self._count)
        except BaseException as exc:  # handed to the build's thread by finish()
            self._error = exc

    def _go_on(self, changed: list[_Shard]) -> list[_Shard]:
        """Finish the changed shards the head start began with their first pages as they
        are now; the other changed shards, for ``_index_all``. Shards it began that did not
        change are never written: they go with its process."""
        assert self._head_start is not None
        taken = self._head_start.take(self._count, [shard.number for shard in changed])
        if taken is None:
            return changed
        with self._lock:
            self._processes.append(taken.process)
            if self._aborted:
                taken.process.stop()
        rest: list[_Shard] = []
        try:
            for shard in changed:
                started = taken.started.get(shard.number)
                fed = started.fed if started is not None else []
                now = [(page.url, digest) for page, digest, _ in shard.pages]
                if started is not None and started.files is not None and fed == now:
                    # Written by the head start from exactly the shard's pages as they are.
                    log.debug("search shard %d: written early", shard.number)
                    self.indexed.append(shard.number)
                    self._keep(shard, _shipped(shard.number, started.files))
                    continue
                if (
                    started is None
                    or started.files is not None  # written from other pages: done afresh
                    or rest  # the process failed (below): the others go to a fresh one
                    or fed != now[: len(fed)]
                ):
                    rest.append(shard)
                    continue
                log.debug("search shard %d: %d pages fed early", shard.number, len(fed))
                process, pages = taken.process, shard.sources(taken.splitter, taken.ready)
                try:
                    process.add(started.bundle, pages[len(fed) :])
                    files = process.write(started.bundle)
                except (PageRejected, PageUnreadable, Aborted):
                    raise  # the build's failure, as without a head start
                except Exception as exc:  # the process, not a page: start afresh
                    log.debug("search head start's Pagefind failed: %r", exc)
                    rest.append(shard)
                    continue
                self.indexed.append(shard.number)
                self._keep(shard, _shipped(shard.number, files))
        finally:
            taken.splitter.save()
            with self._lock:
                self._processes.remove(taken.process)
            taken.process.close()
        return rest

    def _keep(self, shard: _Shard, files: dict[str, bytes]) -> None:
        """A shard's new bundle into the cache, or held for ``finish`` where it cannot go there."""
        cached = self._use_cache and _write_cache(self._cache_file(shard.number), shard.key, files)
        if not cached:  # else finish() reads them back, one shard at a time
            self._fresh[shard.number] = files

    def _index_all(self, shards: Sequence[_Shard]) -> None:
        """Pagefind over ``shards``, in up to ``PAGEFIND_PROCESSES`` processes at once.

        After rendering nothing else runs, and one Pagefind process keeps
        about one core busy: two halve a cold build's index (8.9 s → 4.9 s for
        8 shards of 320 pages on 2 cores), at twice one shard's memory.
        """
        queue = deque(shards)
        count = min(len(shards), PAGEFIND_PROCESSES, default_jobs())
        if count <= 1:
            self._work(queue)
            return
        errors: list[BaseException] = []

        def work() -> None:
            try:
                self._work(queue)
            except BaseException as exc:
                errors.append(exc)
                queue.clear()
                if not isinstance(exc, Aborted):
                    self.abort()  # the build fails anyway: stop the other process too

        threads = [threading.Thread(target=work, name=f"pagefind-{n}") for n in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            # The first real failure, not the Aborted it caused in the other process.
            raise next((e for e in errors if not isinstance(e, Aborted)), errors[0])

    def _work(self, queue: deque[_Shard]) -> None:
        """Take shards from ``queue`` until it is empty; keep or cache each bundle."""
        for shard, files in self._index(_drain(queue)):
            self._keep(shard, files)

    def _index(self, shards: Iterable[_Shard]) -> Iterator[tuple[_Shard, dict[str, bytes]]]:
        """Each shard's bundle, from one Pagefind process (started at the first shard)."""
        iterator = iter(shards)
        first = next(iterator, None)
        if first is None:
            return
        # Loaded only now: a build whose shards all come from the cache never needs it.
        splitter = load_splitter(self._folder if self._use_cache else None)
        with PagefindProcess() as process:
            with self._lock:
                self._processes.append(process)
                if self._aborted:
                    process.stop()
            try:
                for shard in itertools.chain([first], iterator):
                    files = _shipped(shard.number, process.index(shard.sources(splitter)))
                    self.indexed.append(shard.number)
                    yield shard, files
            finally:
                splitter.save()
                with self._lock:
                    self._processes.remove(process)

    def _outputs(self, published: Mapping[str, str]) -> Iterator[Output | Kept]:
        damaged = []
        for shard in self._shards:
            files = self._fresh.pop(shard.number, None)
            if files is None and published:
                cached = _cached_digests(self._cache_file(shard.number), shard.key)
                kept = _kept(shard.number, cached)
                if kept and all(published.get(k.path) == k.digest for k in kept):
                    yield from kept
                    continue
            if files is None:
                files = _read_cache(self._cache_file(shard.number), shard.key)
            if files is None:
                damaged.append(shard)
            else:
                yield from _as_outputs(shard.number, files)
        if not damaged:
            return
        # A cache file damaged, or replaced by a build of another state of the
        # site, since its key was read: index those shards now after all.
        try:
            for shard, files in self._index(damaged):
                if self._use_cache:
                    _write_cache(self._cache_file(shard.number), shard.key, files)
                yield from _as_outputs(shard.number, files)
        except Exception as exc:
            raise _failure(exc) from exc


def _drain(queue: deque[_Shard]) -> Iterator[_Shard]:
    """Shards from a queue shared by several threads (popleft is atomic)."""
    while True:
        try:
            yield queue.popleft()
        except IndexError:
            return


def _shipped(number: int, files: Mapping[str, bytes]) -> dict[str, bytes]:
    """What a shard's folder holds: everything for shard 0, what mergeIndex loads for the rest."""
    if number == 0:
        return dict(files)
    return {
        path: data
        for path, data in files.items()
        if path == ENTRY_FILE
        or path.startswith(_MERGED_FOLDERS)
        or (path.startswith("pagefind.") and path.endswith(".pf_meta"))
    }


@dataclass(frozen=True, slots=True)
class Kept:
    """A bundle file that stays as published: its output path and sha256."""

    path: str
    digest: str


def _kept(number: int, digests: Mapping[str, str] | None) -> list[Kept]:
    folder = shard_dir(number)
    return [Kept(folder + path, digest) for path, digest in sorted((digests or {}).items())]


def _as_outputs(number: int, files: Mapping[str, bytes]) -> Iterator[Output]:
    folder = shard_dir(number)
    for path, data in sorted(files.items()):
        yield Output(folder + path, data)


def _failure(exc: BaseException) -> BuildFailed:
    """What stopped Pagefind, as a positioned problem."""
    if isinstance(exc, PageRejected):
        return _failed(f"Pagefind lehnt die Seite ab: {exc}", exc.origin)
    if isinstance(exc, PageUnreadable):
        return _failed(f"Die Seite ist für den Suchindex nicht lesbar: {exc}", exc.origin)
    if isinstance(exc, FileNotFoundError):
        return _failed(
            "Das Programm pagefind fehlt; bitte `make install` ausführen "
            f"(Abhängigkeit „pagefind[bin]“). ({exc})"
        )
    if isinstance(exc, TimeoutError):
        return _failed(f"Pagefind hat nach {TIMEOUT_SECONDS:.0f} s nicht geantwortet.")
    return _failed(f"Pagefind ist fehlgeschlagen: {exc}")


def _failed(message: str, path: str = _PROBLEM_PATH) -> BuildFailed:
    return BuildFailed([SiteError(path, 0, f"Suchindex: {message}")])


# --- cache -------------------------------------------------------------------------
#
# A shard's cache file: the line "kldigital-search <format> <key>", a line of
# JSON {"files": [[path, size, sha256], ...], "sha256": <of the payload>}, then
# the payload, the files' bytes one after another. The key alone decides whether
# the shard is unchanged (one short read per shard); the files are read only
# when the bundle is written, and checked against the checksum then; a bundle
# published as the table lists it is not read at all (``Kept``).


def _shard_key(primary: bool, pages: Sequence[tuple[str, str]]) -> str:
    """Hash of everything a shard's bundle depends on: its pages (URL, digest of what is
    indexed of the page) and Pagefind."""
    digest = hashlib.sha256()
    header = {
        "format": CACHE_FORMAT,
        "pagefind": _version("pagefind"),
        "binary": _version("pagefind_bin"),
        "config": dict(INDEX_CONFIG),
        "unused": UNUSED_PREFIXES,
        "primary": primary,  # shard 0 ships Pagefind's script and engine, the others not
        "compounds": dictionary_version(),  # how compounds are split (search/compounds.py)
    }
    digest.update(json.dumps(header, sort_keys=True).encode())
    for url, page_digest in sorted(pages):
        digest.update(f"\0{url}\0{page_digest}".encode())
    return digest.hexdigest()


def _version(distribution: str) -> str:
    return version(distribution) or "-"


def _first_line(key: str) -> bytes:
    return f"{_CACHE_MAGIC} {CACHE_FORMAT} {key}\n".encode("ascii")


def _cached_key(path: Path) -> str | None:
    """The key of a shard's cache file; None when missing, damaged or of another format."""
    try:
        with path.open("rb") as stream:
            line = stream.readline(200)
    except FileNotFoundError:
        return None
    except OSError as exc:
        _discard(path, str(exc))
        return None
    parts = line.decode("ascii", "replace").split()
    if len(parts) != 3 or parts[0] != _CACHE_MAGIC or parts[1] != str(CACHE_FORMAT):
        _discard(path, f"header {line[:60]!r}")
        return None
    return parts[2]


def _cached_digests(path: Path, key: str) -> dict[str, str] | None:
    """Path → sha256 of the files a shard's cache file for ``key`` lists, read from its
    first two lines only; None when it holds another key or cannot be read
    (``_read_cache`` then decides)."""
    try:
        with path.open("rb") as stream:
            if stream.readline() != _first_line(key):
                return None
            table = json.loads(stream.readline())
        return {str(name): str(digest) for name, _, digest in table["files"]}
    except (OSError, KeyError, TypeError, ValueError):
        return None


def _read_cache(path: Path, key: str) -> dict[str, bytes] | None:
    """The files of a shard's cache file if it holds ``key``; None otherwise.

    A damaged file is deleted; one that holds another key is left alone (a
    build of another state of the site may have written it meanwhile).
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        _discard(path, str(exc))
        return None
    first = _first_line(key)
    if not data.startswith(first):
        if data.startswith(first[: first.rindex(b" ") + 1]):
            return None  # same format, another key
        _discard(path, "header")
        return None
    try:
        end = data.index(b"\n", len(first))
        table = json.loads(data[len(first) : end])
        payload = memoryview(data)[end + 1 :]
        if hashlib.sha256(payload).hexdigest() != table["sha256"]:
            raise ValueError("checksum")
        files = {}
        offset = 0
        for name, size, _ in table["files"]:
            if not isinstance(name, str) or not isinstance(size, int) or size < 0:
                raise ValueError(f"entry {name!r}")
            files[name] = bytes(payload[offset : offset + size])
            offset += size
        if offset != len(payload):
            raise ValueError("length")
        return files
    except (KeyError, TypeError, ValueError) as exc:
        _discard(path, str(exc))
        return None


def _discard(path: Path, reason: str) -> None:
    log.warning("search cache %s discarded (%s)", path, reason)
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("search cache %s not removed: %s", path, exc)


def _write_cache(path: Path, key: str, files: Mapping[str, bytes]) -> bool:
    """Store a shard atomically; a cache that cannot be written is only a lost speed-up."""
    names = sorted(files)
    payload = b"".join(files[name] for name in names)
    table = {
        "files": [
            [name, len(files[name]), hashlib.sha256(files[name]).hexdigest()] for name in names
        ],
        "sha256": hashlib.sha256(payload).hexdigest(),
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=".tmp-", suffix=".bin", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as stream:
                stream.write(_first_line(key))
                stream.write(json.dumps(table, separators=(",", ":")).encode() + b"\n")
                stream.write(payload)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        log.warning("search cache not written: %s", exc)
        return False
    return True


def _prune_cache(folder: Path, count: int) -> None:
    """Remove the cache files of shards that no longer exist, and older formats' files."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        match = _CACHE_NAME.fullmatch(name)
        if (match is not None and int(match.group(1)) >= count) or name in _OLD_CACHE_FILES:
            try:
                (folder / name).unlink(missing_ok=True)
            except OSError as exc:
                log.warning("search cache %s not removed: %s", folder / name, exc)

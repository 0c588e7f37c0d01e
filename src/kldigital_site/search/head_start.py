"""A head start for the search index of an edit: Pagefind reads a shard's kept pages early.

Input: the last build's page records (``PageRecord``: what each page's view read, the
digest of what the search reads of it), the Markdown files whose bytes changed (their
body keys) and the published output folder. Output: a ``HeadStart`` that, in a thread
of its own while the build parses and models, starts Pagefind on each shard the edit
is likely to change and feeds it that shard's pages in URL order up to the first page
the edit may change: the pages as published, each checked against the digest its
record keeps. ``SearchIndexer`` takes it over once it knows the shards (``take``):
a shard whose pages now begin with exactly the pages fed goes on from there; any
other, and every shard the edit left as it was, is dropped with the process. So the
bundles are byte for byte those a build without a head start makes; the head start
only moves work earlier, and when it guesses wrong it costs the second core's time.

Why (issue 15): Pagefind numbers a shard's pages in the order they are added
(tests/test_search.py), so it must get them in URL order, and a shard is final only
once its changed pages have rendered: after parsing, the model and the route
examination, about 2 s into an edit build at 10,000 items. Its re-index (about 2.4 ms
of Pagefind's CPU per page, some 360 pages a shard) was then left as a wait at the end
of the build. Which pages an edit may change is known much earlier: those whose view
read an edited body ("body:<key>", render/pages.py), the page of that text above all.
The shard's pages before the first of them are read while the main process parses,
and Pagefind indexes them on the second core.

Forking: the build may fork worker processes while the head start runs (an edit that
re-renders many pages). A thread running in the parent at a fork can leave a lock held
in the child, so before any fork the head start stops feeding and its thread ends
(``os.register_at_fork``); the pages fed so far stay fed, the rest come later.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import weakref
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kldigital_site.cache import PageRecord
from kldigital_site.search.client import Bundle, PagefindProcess, PageSource
from kldigital_site.search.compounds import Splitter, load_splitter
from kldigital_site.search.extract import search_extract
from kldigital_site.search.shards import shard_count, shard_of

log = logging.getLogger(__name__)

# More edited files than this are no single edit (a pull, a search and replace): they
# touch many shards, and a head start would mostly guess.
MAX_EDITED = 8
# Pages sent to Pagefind at a time (a round trip each): a fork waits for at most one
# batch to be answered, about 20 ms.
BATCH = 16
_INDEX_FILE = "index.html"

# The head starts of this process that may be running, for the fork hook (``_before_fork``).
_running: weakref.WeakSet[HeadStart] = weakref.WeakSet()
_fork_hook = threading.Lock()
_fork_hook_registered = False


@dataclass(slots=True)
class Started:
    """A shard's bundle begun by the head start, and the pages fed to it, in order."""

    bundle: Bundle
    fed: list[tuple[str, str]] = field(default_factory=list)  # (URL, search digest)


@dataclass(frozen=True, slots=True)
class Taken:
    """What ``SearchIndexer`` takes over: the Pagefind process (it closes it), the
    splitter the pages were marked with, the shards begun, by number, and the pages
    after those fed made ready as Pagefind gets them (URL → search digest, bytes)."""

    process: PagefindProcess
    splitter: Splitter
    started: Mapping[int, Started]
    ready: Mapping[str, tuple[str, bytes]]


class HeadStart:
    """Pagefind on the shards an edit may change, fed before the build knows the shards."""

    def __init__(
        self,
        previous: Mapping[str, PageRecord],
        edited: Collection[str],
        published: Path,
        cache_dir: Path | None,
    ) -> None:
        self._previous = previous
        self._edited = frozenset(f"body:{key}" for key in edited)
        self._published = published
        self._cache_dir = cache_dir
        self._stop = threading.Event()
        self._lock = threading.Lock()  # take() and close() against each other
        self._done = False  # taken or closed
        self._process: PagefindProcess | None = None
        self._splitter: Splitter | None = None
        self._count = 0
        self._started: dict[int, Started] = {}
        self._ready: dict[str, tuple[str, bytes]] = {}
        self._thread = threading.Thread(target=self._run, name="pagefind-head-start", daemon=True)

    def start(self) -> None:
        _register_fork_hook()
        _running.add(self)
        self._thread.start()

    def stop(self) -> None:
        """Feed no more pages, and wait until the thread has ended (any thread but its own)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        _running.discard(self)

    def take(self, count: int) -> Taken | None:
        """The process with the shards begun, for ``count`` shards; None when nothing was
        begun or the shards are counted otherwise now (the process is then closed)."""
        with self._lock:
            if self._done:
                return None
            self._done = True
        self.stop()
        process, splitter = self._process, self._splitter
        if process is None or splitter is None:
            return None
        if count != self._count or not self._started:
            process.close()
            return None
        return Taken(process, splitter, dict(self._started), self._ready)

    def close(self) -> None:
        """End it all unless taken: the build failed, or indexes nothing."""
        with self._lock:
            if self._done:
                return
            self._done = True
        self.stop()
        if self._process is not None:
            self._process.close()

    def _run(self) -> None:
        try:
            self._feed()
        except Exception as exc:  # only a head start: the indexer does it all without
            log.debug("search head start given up: %r", exc)
            self._started.clear()

    def _feed(self) -> None:
        urls = {path: _url_of(path) for path, record in self._previous.items() if record.search}
        suspects = {
            path for path in urls if not self._edited.isdisjoint(self._previous[path].reads)
        }
        if not suspects or self._stop.is_set():
            return
        self._count = shard_count(list(urls.values()))
        by_shard: dict[int, list[tuple[str, str]]] = {}
        for path, url in urls.items():
            by_shard.setdefault(shard_of(url, self._count), []).append((url, path))
        numbers = sorted({shard_of(urls[path], self._count) for path in suspects})
        self._splitter = load_splitter(self._cache_dir)
        self._process = PagefindProcess()
        rests = []
        for number in numbers:
            pages = sorted(by_shard[number])
            started = self._started[number] = Started(self._process.begin())
            first = next(n for n, (_, path) in enumerate(pages) if path in suspects)
            rests.append([page for page in pages[first:] if page[1] not in suspects])
            for start in range(0, first, BATCH):
                batch = pages[start : min(start + BATCH, first)]
                if self._stop.is_set() or not self._feed_batch(started, batch):
                    break
        # The shards' other pages, as Pagefind will get them once the edited ones have
        # rendered: then the build's thread is busy, and each page read, reduced and
        # marked in the indexer's thread waited for it (GIL) longer than it took.
        for rest in rests:
            for url, path in rest:
                if self._stop.is_set():
                    return
                marked = self._marked(path)
                if marked is not None:
                    self._ready[url] = (self._previous[path].search, marked)
        self._splitter.save()

    def _feed_batch(self, started: Started, batch: list[tuple[str, str]]) -> bool:
        """Feed ``batch`` (URL, output path) as published; False where a page is not as its
        record says (the shard's prefix then ends before it) or the head start is to stop."""
        assert self._process is not None
        sources = []
        for url, path in batch:
            marked = None if self._stop.is_set() else self._marked(path)
            if marked is None:
                break
            sources.append(PageSource(url, path, _bytes(marked)))
            started.fed.append((url, self._previous[path].search))
        self._process.add(started.bundle, sources)
        return len(sources) == len(batch)

    def _marked(self, path: str) -> bytes | None:
        """The published page at ``path`` as Pagefind gets it (search/indexer.py ``_reader``);
        None if it cannot be read or is not what its record says."""
        assert self._splitter is not None
        try:
            extract = search_extract((self._published / path).read_bytes())
        except OSError:
            return None
        if hashlib.sha256(extract).hexdigest() != self._previous[path].search:
            return None
        return self._splitter.mark(extract)


def _bytes(data: bytes) -> Callable[[], bytes]:
    return lambda: data


def _url_of(path: str) -> str:
    """The site URL of a detail page's output file (``Route.output_path`` backwards); a
    wrong guess only makes the shard's prefix differ from its pages (``take``)."""
    return "/" + (path[: -len(_INDEX_FILE)] if path.endswith(_INDEX_FILE) else path)


def _before_fork() -> None:
    for head_start in list(_running):
        if head_start._thread is not threading.current_thread():
            head_start.stop()


def _register_fork_hook() -> None:
    global _fork_hook_registered
    with _fork_hook:
        if not _fork_hook_registered and hasattr(os, "register_at_fork"):
            os.register_at_fork(before=_before_fork)
            _fork_hook_registered = True

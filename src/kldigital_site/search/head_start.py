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

It goes on from there as soon as it can (``offer``): the indexer hands it every page of
this build as it learns of it, the edited page as soon as it has rendered (and the short
way of a body edit, edit_build.py, hands it that page before it knows the shards, and,
where only the body changed, a guess of its search text as soon as the edit is parsed:
search/guess.py). The head start then feeds the edited page and the shard's pages after
it, as published where this build has not handed them over, and has Pagefind write the
bundle: during the rest of the render, where the indexer would only begin after it
(about 0.3 s at 10,000 items). ``take`` compares what was fed with the shard's pages
as they are now; a bundle written from other pages is dropped.

Forking: the build may fork worker processes while the head start runs (an edit that
re-renders many pages). A thread running in the parent at a fork can leave a lock held
in the child, so before any fork the head start stops feeding and its thread ends
(``os.register_at_fork``); the pages fed so far stay fed, the rest come later. The head
start forks a child itself, before its thread starts (``start``): it reads, reduces and
marks the published pages to feed, so that the thread only passes them on and the
build's main thread does not wait for the GIL meanwhile.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import weakref
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from kldigital_site.cache import PageRecord
from kldigital_site.forked import Forked
from kldigital_site.search.client import Bundle, PagefindProcess, PageSource
from kldigital_site.search.compounds import Splitter, load_splitter
from kldigital_site.search.extract import search_extract
from kldigital_site.search.shards import shard_numbers

log = logging.getLogger(__name__)

# More edited files than this are no single edit (a pull, a search and replace): they
# touch many shards, and a head start would mostly guess.
MAX_EDITED = 8
# Pages sent to Pagefind at a time (a round trip each): a fork waits for at most one
# batch to be answered, about 20 ms.
BATCH = 16
# Published pages sent at a time once the edited ones are handed over and the others come
# from the child as Pagefind works (``_go_on``): a round trip each, about 10 ms.
STREAM = 48
_INDEX_FILE = "index.html"

# The head starts of this process that may be running, for the fork hook (``_before_fork``).
_running: weakref.WeakSet[HeadStart] = weakref.WeakSet()
_fork_hook = threading.Lock()
_fork_hook_registered = False


Html = bytes | Callable[[], bytes]  # a page, or how to read it (search/indexer.py)


@dataclass(slots=True)
class Started:
    """A shard's bundle begun by the head start, the pages fed to it, in order, and its
    files once written (then ``fed`` are all the pages it was written from)."""

    bundle: Bundle
    fed: list[tuple[str, str]] = field(default_factory=list)  # (URL, search digest)
    files: dict[str, bytes] | None = None


class _Offered(NamedTuple):
    """A page of this build, as the indexer will index it (``HeadStart.offer``)."""

    digest: str  # of what the search reads of it (search/extract.py)
    html: Html


class _Plan(NamedTuple):
    """The shards the edit may change (``HeadStart._plan``)."""

    shard_count: int  # of all shards
    shards: dict[int, list[tuple[str, str]]]  # by number, their pages (URL, path) in URL order
    suspects: frozenset[str]  # the paths of the pages that read an edited body

    def first(self, number: int) -> int:
        """Where the first suspect stands among shard ``number``'s pages."""
        return next(n for n, (_, path) in enumerate(self.shards[number]) if path in self.suspects)


class _Closing(NamedTuple):
    """What ``take`` tells the thread: the shard count and the shards that changed."""

    shard_count: int
    changed: frozenset[int]


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
        # The pages of this build handed over (``offer``), of the paths the thread may
        # feed (None: not known yet); ``take``'s word once it came. Guarded by ``_offers``,
        # which wakes the thread when either changes, or ``stop``.
        self._offers = threading.Condition()
        self._offered: dict[str, _Offered] = {}
        self._wanted: frozenset[str] | None = None
        self._closing: _Closing | None = None
        self._marking: Forked | None = None
        self._thread = threading.Thread(target=self._run, name="pagefind-head-start", daemon=True)

    def start(self) -> None:
        _register_fork_hook()
        self._splitter = load_splitter(self._cache_dir)
        # The published pages are read, reduced and marked in a forked child (forked.py),
        # on the other core: in the thread they held the GIL ~0.2 s at 10,000 items, time
        # the build's main thread waited (issue 15). Forked before the thread starts, so
        # that no thread of ours runs at the fork.
        self._marking = Forked.start(self._marked_published)
        _running.add(self)
        self._thread.start()

    def stop(self) -> None:
        """Feed no more pages, and wait until the thread has ended (any thread but its own)."""
        self._stop.set()
        with self._offers:
            self._offers.notify_all()
        if self._thread.is_alive():
            self._thread.join()
        _running.discard(self)

    @property
    def published(self) -> Path:
        """The output folder whose pages it reads as published."""
        return self._published

    def readers(self, key: str) -> dict[str, str]:
        """The search pages whose view read the body of item ``key`` at the last build:
        output path → digest of what the search read of them (search/guess.py)."""
        name = f"body:{key}"
        return {
            path: record.search
            for path, record in self._previous.items()
            if record.search and name in record.reads
        }

    def offer(self, path: str, digest: str, html: Html) -> None:
        """A search page of this build: its output path, the digest of what the search
        reads of it and its bytes or a reader. The head start feeds it in its place when
        the shard gets there (module docstring)."""
        wanted = self._wanted
        if (wanted is not None and path not in wanted) or self._stop.is_set():
            return
        with self._offers:
            if self._closing is None:
                self._offered[path] = _Offered(digest, html)
                self._offers.notify_all()

    def take(self, count: int, changed: Collection[int] = ()) -> Taken | None:
        """The process with the shards begun, for ``count`` shards of which ``changed``
        are to be indexed again; None when nothing was begun or the shards are counted
        otherwise now (the process is then closed). The thread first finishes the changed
        shards as far as the pages handed over allow; the others it leaves."""
        with self._lock:
            if self._done:
                return None
            self._done = True
        with self._offers:
            self._closing = _Closing(count, frozenset(changed))
            self._offers.notify_all()
        if self._thread.is_alive():
            self._thread.join()
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
        finally:
            if self._marking is not None:
                self._marking.close()

    def _plan(self) -> _Plan | None:
        """The shards of the pages that read an edited body; None if there are none."""
        urls = {path: _url_of(path) for path, record in self._previous.items() if record.search}
        suspects = frozenset(
            path for path in urls if not self._edited.isdisjoint(self._previous[path].reads)
        )
        if not suspects:
            return None
        count, numbers = shard_numbers(list(urls.values()))
        shard = dict(zip(urls, numbers, strict=True))
        by_shard: dict[int, list[tuple[str, str]]] = {}
        for path, url in urls.items():
            by_shard.setdefault(shard[path], []).append((url, path))
        numbers = sorted({shard[path] for path in suspects})
        return _Plan(count, {number: sorted(by_shard[number]) for number in numbers}, suspects)

    def _marked_published(self) -> Iterator[list[str | None]]:
        """Run by the forked child: [output path, the page as published as Pagefind gets it
        or None] for each page the thread will ask for (``_published_page``), in its order: the
        pages before each shard's first suspect, then the others after it."""
        plan = self._plan()
        if plan is None:
            return
        order = [page for n, pages in plan.shards.items() for page in pages[: plan.first(n)]]
        for n, pages in plan.shards.items():
            order += [page for page in pages[plan.first(n) :] if page[1] not in plan.suspects]
        for _, path in order:
            marked = self._marked(path)
            yield [path, None if marked is None else marked.decode("utf-8")]

    def _published_page(self, path: str) -> bytes | None:
        """``_marked(path)``, as the child made it; made here where the child gives none."""
        while self._marking is not None:
            part = self._marking.part()
            if part is None:  # the child failed, or has no more
                self._marking = None
                break
            made, marked = part[0]
            if made == path:
                return None if marked is None else str(marked).encode("utf-8")
        return self._marked(path)

    def _feed(self) -> None:
        plan = None if self._stop.is_set() else self._plan()
        if plan is None:
            return
        self._count, suspects = plan.shard_count, plan.suspects
        with self._offers:
            self._wanted = frozenset(path for pages in plan.shards.values() for _, path in pages)
            self._offered = {p: o for p, o in self._offered.items() if p in self._wanted}
        self._process = PagefindProcess()
        rests: list[tuple[int, list[tuple[str, str]]]] = []
        for number, pages in plan.shards.items():
            started = self._started[number] = Started(self._process.begin())
            first = plan.first(number)
            whole = True
            for start in range(0, first, BATCH):
                batch = pages[start : min(start + BATCH, first)]
                if self._halted(number) or not self._feed_batch(started, batch):
                    whole = False
                    break
            if whole:
                rests.append((number, pages[first:]))
        # The shards' other pages, as Pagefind will get them once the edited ones have
        # rendered: then the build's thread is busy, and each page read, reduced and
        # marked in the indexer's thread waited for it (GIL) longer than it took. Not
        # once the edited ones are handed over (a guess, search/guess.py): Pagefind
        # then gets the others as they come (``_go_on``).
        for url, path in (page for _, rest in rests for page in rest):
            if self._stop.is_set():
                return
            if self._all_handed_over(suspects):
                break
            if path in suspects:
                continue
            marked = self._published_page(path)
            if marked is not None:
                self._ready[url] = (self._previous[path].search, marked)
        for number, rest in rests:
            if not self._go_on(number, rest, suspects):
                break
        assert self._splitter is not None
        self._splitter.save()

    def _go_on(self, number: int, rest: list[tuple[str, str]], suspects: Collection[str]) -> bool:
        """Feed shard ``number`` from its first suspect on and write its bundle: each
        page as this build handed it over or, where it has not (yet), as published; a
        suspect waits until it is handed over. False when the head start is to stop."""
        started = self._started[number]
        batch: list[tuple[str, str, str, bytes]] = []
        for url, path in rest:
            suspect = path in suspects
            offered = self._handed_over(path, wait=False)
            if offered is None and suspect:
                self._feed_marked(started, batch)  # Pagefind works while it renders
                batch = []
                offered = self._handed_over(path, wait=True)
            ready = None if suspect else self._ready.get(url)
            if ready is None and offered is None and not suspect:
                # Not made ready while waiting (``_feed``): Pagefind works on those
                # before while the child reads on.
                if len(batch) >= STREAM:
                    self._feed_marked(started, batch)
                    batch = []
                marked = self._published_page(path)
                if marked is not None:
                    ready = (self._previous[path].search, marked)
            if offered is not None and (ready is None or ready[0] != offered.digest):
                page = self._marked_offer(offered)
            else:  # as published, made so by the child already (the same digest: the same)
                page = ready
            if page is None or self._halted(number):
                return not self._stop.is_set()  # the indexer goes on from what was fed
            batch.append((url, path, *page))
        # In one part where no suspect is waited for: the pages are sent without waiting
        # for each answer, where parts of them waited for the GIL between answers while
        # the build's thread rendered, and Pagefind for them.
        self._feed_marked(started, batch)
        if self._halted(number):
            return not self._stop.is_set()
        started.files = self._pagefind().write(started.bundle)
        log.debug("search shard %d written by the head start", number)
        return True

    def _all_handed_over(self, paths: Collection[str]) -> bool:
        with self._offers:
            return all(path in self._offered for path in paths)

    def _halted(self, number: int) -> bool:
        """Whether to feed shard ``number`` no further: the head start is stopped, or was
        taken over for another count of shards, or with that shard unchanged."""
        closing = self._closing
        if closing is None:
            return self._stop.is_set()
        return (
            self._stop.is_set()
            or closing.shard_count != self._count
            or number not in closing.changed
        )

    def _handed_over(self, path: str, *, wait: bool) -> _Offered | None:
        """The page at ``path`` as this build handed it over; with ``wait``, until it is or
        no more pages can come (``take``, ``stop``)."""
        with self._offers:
            while wait and path not in self._offered:
                if self._stop.is_set() or self._closing is not None:
                    break
                self._offers.wait()
            return self._offered.get(path)

    def _marked_offer(self, offered: _Offered) -> tuple[str, bytes] | None:
        """A page handed over, as Pagefind gets it, with its digest; None if what it is
        does not have that digest."""
        assert self._splitter is not None
        try:
            extract = search_extract(offered.html() if callable(offered.html) else offered.html)
        except OSError:
            return None
        if hashlib.sha256(extract).hexdigest() != offered.digest:
            return None
        return offered.digest, self._splitter.mark(extract)

    def _feed_marked(self, started: Started, batch: list[tuple[str, str, str, bytes]]) -> None:
        """Feed ``batch`` (URL, output path, search digest, bytes as Pagefind gets them)."""
        if not batch:
            return
        sources = [PageSource(url, path, _bytes(marked)) for url, path, _, marked in batch]
        self._pagefind().add(started.bundle, sources)
        started.fed.extend((url, digest) for url, _, digest, _ in batch)

    def _pagefind(self) -> PagefindProcess:
        assert self._process is not None
        return self._process

    def _feed_batch(self, started: Started, batch: list[tuple[str, str]]) -> bool:
        """Feed ``batch`` (URL, output path) as published; False where a page is not as its
        record says (the shard's prefix then ends before it) or the head start is to stop."""
        assert self._process is not None
        sources = []
        for url, path in batch:
            marked = None if self._stop.is_set() else self._published_page(path)
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

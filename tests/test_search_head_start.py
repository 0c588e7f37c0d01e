"""Issue 15: the search index of an edit gets a head start (search/head_start.py).

While an edit build parses, Pagefind is fed the pages of the edited page's shard that
come before it in URL order, as published. The index must still be exactly the one a
clean build writes: the pages fed early are checked against the shard's pages once
they are known, and a head start that guessed wrong is dropped without a trace.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pytest

from kldigital_site import build as build_module
from kldigital_site import edit_build
from kldigital_site.cache import CACHE_DIR_NAME, BuildCache
from kldigital_site.search import head_start as head_starts
from kldigital_site.search import shards
from kldigital_site.workers import run_parallel
from tests.conftest import build_site_at, copy_fixture_site
from tests.test_search import _bundle, indexed_pages, small_shards, words_of

__all__ = ["small_shards"]  # the fixture, used by name


@pytest.fixture(autouse=True)
def whole_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """The head start serves builds that go the whole way (render/pages.py over every
    route); an edit of bodies alone from the command line goes the short way
    (edit_build.py), which these tests turn off."""
    monkeypatch.setattr(edit_build, "edit_candidate", lambda *args, **kwargs: None)


class Fed(dict[int, int]):
    """Shard → pages fed by the head start, as the indexer takes it over; ``written``:
    the shards whose bundle it wrote (all their pages fed)."""

    written: set[int]


@pytest.fixture
def fed(monkeypatch: pytest.MonkeyPatch) -> Fed:
    seen = Fed()
    seen.written = set()
    take = head_starts.HeadStart.take

    def noting_take(
        self: head_starts.HeadStart, count: int, changed: Collection[int] = ()
    ) -> head_starts.Taken | None:
        taken = take(self, count, changed)
        if taken is not None:
            seen.update({n: len(s.fed) for n, s in taken.started.items()})
            seen.written.update(n for n, s in taken.started.items() if s.files is not None)
        return taken

    monkeypatch.setattr(head_starts.HeadStart, "take", noting_take)
    return seen


def _shard_size(out: Path, url: str, count: int) -> int:
    """How many pages the published search index holds in the shard of ``url``."""
    shard = shards.shard_of(url, count)
    return sum(shards.shard_of(u, count) == shard for u in indexed_pages(out))


def _latest_in_its_shard(root: Path, out: Path, count: int) -> tuple[str, str, int]:
    """The press release with the most pages before it in its shard: its URL, its
    content file (relative to content/) and how many pages come before it."""
    site = build_site_at(root, output=out).site
    pages = sorted(shards.search_pages(site), key=lambda page: page.url)
    by_shard: dict[int, list[shards.SearchPage]] = {}
    for page in pages:
        by_shard.setdefault(shards.shard_of(page.url, count), []).append(page)
    page, before = max(
        ((page, pages.index(page)) for pages in by_shard.values() for page in pages),
        key=lambda entry: (entry[0].url.startswith("/presse/"), entry[1], entry[0].url),
    )
    return page.url, page.origin.removeprefix("content/"), before


def _edited_latest_in_its_shard(tmp_path: Path, count: int) -> tuple[Path, Path, str, int]:
    """The full fixture site built into ``tmp_path/out``, then a word appended to the body
    of its release with the most pages before it in its shard (``_latest_in_its_shard``):
    the site's root, the output folder, that release's URL and how many pages come before
    it."""
    root = copy_fixture_site("full", tmp_path / "site")
    out = tmp_path / "out"
    url, source, before = _latest_in_its_shard(root, out, count)
    path = root / "content" / source
    path.write_text(path.read_text(encoding="utf-8") + "\nZitronenfalter.\n", encoding="utf-8")
    return root, out, url, before


def _clean_build(root: Path, tmp_path: Path) -> Path:
    """The output folder of a build of ``root`` without the cache."""
    clean = tmp_path / "clean"
    build_site_at(root, output=clean, use_cache=False)
    return clean


def _pagefind_children() -> list[int]:
    """Pagefind processes started by this process and still there."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == os.getpid() and b"pagefind" in command:
            found.append(int(entry.name))
    return found


def test_an_edit_fed_early_gives_the_index_of_a_clean_build(
    tmp_path: Path, small_shards: int, fed: Fed
) -> None:
    root, out, url, before = _edited_latest_in_its_shard(tmp_path, small_shards)
    assert before >= 2, "a shard with pages before the edited one"
    size = _shard_size(out, url, small_shards)

    result = build_site_at(root, output=out)
    shard = shards.shard_of(url, small_shards)
    # Its shard was begun with every page before the edited one, went on with the edited
    # page once it had rendered, and the head start wrote it.
    assert fed == {shard: size} and fed.written == {shard}
    assert result.search_indexed == (shard,)
    assert "zitronenfalter" in words_of(indexed_pages(out)[url])
    assert _bundle(out) == _bundle(_clean_build(root, tmp_path))
    assert _pagefind_children() == []


@pytest.fixture
def fed_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """The build goes on only once the head start has fed its first pages: a fork of
    workers stops it (``test_a_fork_stops_the_head_start_first``), and on a busy machine
    that could come first."""
    first = threading.Event()
    start, feed_batch = head_starts.HeadStart.start, head_starts.HeadStart._feed_batch

    def feeding(self: head_starts.HeadStart, started: Any, batch: Any) -> bool:
        try:
            return feed_batch(self, started, batch)
        finally:
            first.set()

    def started_and_fed(self: head_starts.HeadStart) -> None:
        start(self)
        assert first.wait(60)

    monkeypatch.setattr(head_starts.HeadStart, "_feed_batch", feeding)
    monkeypatch.setattr(head_starts.HeadStart, "start", started_and_fed)


@pytest.mark.usefixtures("fed_first")
def test_pages_fed_early_that_then_changed_are_indexed_as_they_are_now(
    tmp_path: Path, small_shards: int, fed: Fed
) -> None:
    # The place in site.yaml stands in every release's dateline, which Pagefind reads:
    # the releases before the edited one were fed as published, and are not so any more.
    root, out, url, _ = _edited_latest_in_its_shard(tmp_path, small_shards)
    settings = root / "content" / "site.yaml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(text.replace("location: Kaiserslautern", "location: Morlautern"), "utf-8")

    build_site_at(root, output=out)
    shard = shards.shard_of(url, small_shards)
    assert fed.get(shard, 0) >= 1, "the head start fed the old pages"
    pages = indexed_pages(out)
    assert "morlautern" in words_of(pages[url])
    assert _bundle(out) == _bundle(_clean_build(root, tmp_path))
    assert _pagefind_children() == []


def test_a_shard_begun_early_that_did_not_change_is_left_as_it_was(
    tmp_path: Path, small_shards: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A blank line more changes the file, not its page: the head start begins the
    # shard, the index finds it unchanged, and nothing of it is written or left running.
    begun: list[int] = []
    start = head_starts.HeadStart.start

    def noting_start(self: head_starts.HeadStart) -> None:
        begun.append(1)
        start(self)

    monkeypatch.setattr(head_starts.HeadStart, "start", noting_start)
    root = copy_fixture_site("full", tmp_path / "site")
    out = tmp_path / "out"
    _, source, _ = _latest_in_its_shard(root, out, small_shards)
    bundle = _bundle(out)
    path = root / "content" / source
    path.write_text(path.read_text(encoding="utf-8") + "\n\n", encoding="utf-8")

    result = build_site_at(root, output=out)
    assert begun == [1]
    assert result.search_indexed == ()
    assert _bundle(out) == bundle
    assert _pagefind_children() == []


def test_a_fork_stops_the_head_start_first(
    tmp_path: Path, small_shards: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Worker processes are forked; a thread feeding Pagefind at that moment could leave
    # a lock held in them. The head start stops before the fork, keeping what it fed.
    root = copy_fixture_site("full", tmp_path / "site")
    out = tmp_path / "out"
    url, source, before = _latest_in_its_shard(root, out, small_shards)
    marked = head_starts.HeadStart._marked

    def slow_marked(self: head_starts.HeadStart, path: str) -> bytes | None:
        time.sleep(0.5)
        return marked(self, path)

    monkeypatch.setattr(head_starts.HeadStart, "_marked", slow_marked)
    cache = BuildCache(root / CACHE_DIR_NAME, read_only=True)
    try:
        previous = cache.pages(str(out.absolute()))
    finally:
        cache.close()
    head_start = head_starts.HeadStart(previous, [source], out, None)
    head_start.start()
    time.sleep(0.2)
    results = list(run_parallel(_square, None, list(range(8)), 2, min_tasks=1))
    assert results == [n * n for n in range(8)]
    alive = head_start._thread.is_alive()
    taken = head_start.take(small_shards)
    assert not alive, "stopped before the fork"
    assert taken is not None
    shard = shards.shard_of(url, small_shards)
    assert len(taken.started[shard].fed) < before, "stopped while it fed"
    taken.process.close()
    assert _pagefind_children() == []


def _square(_: Any, n: int) -> int:
    return n * n


def test_a_bundle_written_early_from_pages_changed_since_is_made_again(
    tmp_path: Path, small_shards: int, fed: Fed, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The head start goes on past the edited page with the pages after it as published,
    # where the build has not handed them over yet, and writes the bundle. Here every
    # release's dateline changed (site.yaml), and the build hands over only the edited
    # page: the bundle written early holds old pages, and must not be taken.
    monkeypatch.setattr(build_module, "default_jobs", lambda: 1)  # no fork stops it
    root = copy_fixture_site("full", tmp_path / "site")
    out = tmp_path / "out"
    site = build_site_at(root, output=out).site
    by_shard: dict[int, list[shards.SearchPage]] = {}
    for page in sorted(shards.search_pages(site), key=lambda page: page.url):
        by_shard.setdefault(shards.shard_of(page.url, small_shards), []).append(page)
    edited = next(
        pages[n]
        for pages in by_shard.values()
        for n in range(len(pages) - 1)
        if pages[n].url.startswith("/presse/") and pages[n + 1].url.startswith("/presse/")
    )
    offer = head_starts.HeadStart.offer

    def only_the_edited(self: head_starts.HeadStart, path: str, digest: str, html: Any) -> None:
        if path == edited.output_path:
            offer(self, path, digest, html)

    monkeypatch.setattr(head_starts.HeadStart, "offer", only_the_edited)
    path = root / edited.origin
    path.write_text(path.read_text(encoding="utf-8") + "\nZitronenfalter.\n", encoding="utf-8")
    settings = root / "content" / "site.yaml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(text.replace("location: Kaiserslautern", "location: Morlautern"), "utf-8")

    build_site_at(root, output=out)
    shard = shards.shard_of(edited.url, small_shards)
    assert shard in fed.written, "the head start wrote the shard from the pages it had"
    assert _bundle(out) == _bundle(_clean_build(root, tmp_path))
    assert _pagefind_children() == []


@pytest.mark.parametrize("marking", ["child", "no fork", "child fails"])
def test_the_published_pages_are_marked_by_a_child_or_else_here(
    tmp_path: Path, small_shards: int, fed: Fed, monkeypatch: pytest.MonkeyPatch, marking: str
) -> None:
    # A forked child reads and marks the published pages, so the build's main thread need
    # not wait for the head start's thread (GIL). Without fork, or when the child fails
    # midway, the thread does it itself; the index is the same each way.
    here: list[str] = []
    marked, pid = head_starts.HeadStart._marked, os.getpid()

    def noting_marked(self: head_starts.HeadStart, path: str) -> bytes | None:
        if os.getpid() == pid:
            here.append(path)
        return marked(self, path)

    monkeypatch.setattr(head_starts.HeadStart, "_marked", noting_marked)
    if marking == "no fork":
        monkeypatch.setattr(head_starts.Forked, "start", lambda parts, **_: None)
    elif marking == "child fails":
        made = head_starts.HeadStart._marked_published

        def failing(self: head_starts.HeadStart) -> Any:
            yield next(made(self))
            raise OSError("kaputt")

        monkeypatch.setattr(head_starts.HeadStart, "_marked_published", failing)
    root, out, url, before = _edited_latest_in_its_shard(tmp_path, small_shards)
    assert before >= 2, "a shard with pages before the edited one"

    build_site_at(root, output=out)
    shard = shards.shard_of(url, small_shards)
    assert fed[shard] > before and shard in fed.written
    if marking == "child":
        assert here == []
    else:
        assert len(here) >= before - (marking == "child fails")
    assert _bundle(out) == _bundle(_clean_build(root, tmp_path))
    assert _pagefind_children() == []

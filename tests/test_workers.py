"""The process pool (workers.py) and the kept summary digests (render/pages.py).

``run_parallel`` hands out a window of chunks instead of every task at once: the
results must still come in task order, all of them, with a worker's error raised
where its task's result would be, and the pool must not run far ahead of a slow
reader (issue 15: results piled up in the main process).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

import pytest

from kldigital_site import workers
from kldigital_site.markdown.bodies import Bodies, BodyInfo, BodyStore
from kldigital_site.render.pages import body_signatures
from kldigital_site.workers import run_parallel


def _square_with_pid(offset: int, task: int) -> tuple[int, int]:
    return task * task + offset, os.getpid()


def _fail_at_seven(_: None, task: int) -> int:
    if task == 7:
        raise ValueError("task 7")
    return task


def _started_file(folder: str, task: int) -> int:
    with open(os.path.join(folder, str(task)), "w", encoding="utf-8"):
        pass
    return task


def test_results_come_in_task_order_from_other_processes() -> None:
    results = list(run_parallel(_square_with_pid, 1, list(range(500)), 2))
    assert [value for value, _ in results] == [n * n + 1 for n in range(500)]
    assert {pid for _, pid in results} - {os.getpid()}, "the work ran in worker processes"


def test_a_worker_error_is_raised_at_its_task() -> None:
    seen: list[int] = []
    with pytest.raises(ValueError, match="task 7"):
        for value in run_parallel(_fail_at_seven, None, list(range(200)), 2, chunk=1):
            seen.append(value)
    assert seen == list(range(7))


def test_the_workers_stay_a_window_ahead_of_a_slow_reader(tmp_path: Any) -> None:
    """While the reader holds the first result, no more than the window is started."""
    tasks = list(range(2000))
    chunk, jobs = 10, 2
    results = run_parallel(_started_file, str(tmp_path), tasks, jobs, chunk=chunk)
    assert next(results) == 0
    time.sleep(0.5)  # time enough for a pool without a window to run through them all
    window = jobs * workers.CHUNKS_AHEAD * chunk
    started = len(os.listdir(tmp_path))
    assert chunk <= started <= window
    assert list(results) == tasks[1:]
    assert len(os.listdir(tmp_path)) == len(tasks)


def _bodies(paragraphs: dict[str, str]) -> Bodies:
    items = {key: BodyInfo(key, text, ()) for key, text in paragraphs.items()}
    return Bodies(items, {}, BodyStore({}, None), frozenset())


def test_kept_summary_digests_follow_every_change_of_a_first_paragraph() -> None:
    kept: dict[str, tuple[str, str]] = {}
    first = body_signatures(_bodies({"a": "Eins.", "b": "Zwei."}), kept)
    assert first == body_signatures(_bodies({"a": "Eins.", "b": "Zwei."}))
    changed = body_signatures(_bodies({"a": "Eins, neu.", "b": "Zwei."}), kept)
    assert changed == body_signatures(_bodies({"a": "Eins, neu.", "b": "Zwei."}))
    assert changed["summary:a"] != first["summary:a"]
    assert changed["summary:b"] == first["summary:b"]
    # A body that is gone leaves nothing behind.
    body_signatures(_bodies({"b": "Zwei."}), kept)
    assert set(kept) == {"b"}


def test_the_last_builds_summary_digests_are_taken_only_for_a_body_of_the_same_version() -> None:
    """An edit build takes a summary's digest from the last build's signatures where the
    body's version ("body:…") is the one recorded there (edit_build.py ``_changes``)."""

    def bodies(versions: dict[str, tuple[str, str]]) -> Bodies:
        items = {k: BodyInfo(key, text, ()) for k, (key, text) in versions.items()}
        return Bodies(items, {}, BodyStore({}, None), frozenset())

    before = {"a": ("key-a1", "Eins."), "b": ("key-b1", "Zwei.")}
    last = body_signatures(bodies(before))
    assert body_signatures(bodies(before), last=last) == last
    # Body a saved again with a new first paragraph: a new body key, so a new version.
    after = {**before, "a": ("key-a2", "Eins, neu.")}
    signatures = body_signatures(bodies(after), last=last)
    assert signatures == body_signatures(bodies(after))
    assert signatures["summary:a"] != last["summary:a"]
    assert signatures["summary:b"] == last["summary:b"]
    # An item the last build did not have.
    more = {**before, "c": ("key-c1", "Drei.")}
    assert body_signatures(bodies(more), last=last) == body_signatures(bodies(more))


_prepared: list[tuple[int, ...]] = []


def _note_chunk(state: str, tasks: Sequence[int]) -> None:
    _prepared.append(tuple(tasks))


def _with_chunk(state: str, task: int) -> tuple[int, tuple[int, ...]]:
    return task, _prepared[-1]


@pytest.mark.parametrize("jobs", [1, 2])
def test_prepare_runs_before_each_chunk_in_the_process_that_runs_it(jobs: int) -> None:
    """render/pages.py reads the bodies of a chunk of pages in ``prepare``: each task must
    find its own chunk prepared, in a worker as in the build's own process."""
    tasks = list(range(300))
    results = list(run_parallel(_with_chunk, "", tasks, jobs, chunk=7, prepare=_note_chunk))
    assert [task for task, _ in results] == tasks
    for task, chunk in results:
        assert task in chunk and len(chunk) == (7 if task < 294 else 6)


class _CountingCache:
    """The two reads of a BuildCache that a BodyStore makes, counted."""

    def __init__(self, html: dict[str, str]) -> None:
        self.html = html
        self.single: list[str] = []
        self.batches: list[list[str]] = []

    def body(self, key: str) -> str | None:
        self.single.append(key)
        return self.html.get(key)

    def bodies(self, keys: Sequence[str]) -> dict[str, str]:
        self.batches.append(list(keys))
        return {key: self.html[key] for key in keys if key in self.html}


def test_prefetched_bodies_are_read_in_one_query_and_the_rest_one_by_one() -> None:
    cache = _CountingCache({"a": "<p>A</p>", "b": "<p>B</p>", "c": "<p>C</p>"})
    store = BodyStore({"fresh": "<p>F</p>"}, cache, lambda key: f"<p>neu {key}</p>")  # type: ignore[arg-type]
    store.prefetch(["a", "b", "fresh", "gone"])
    assert cache.batches == [["a", "b", "gone"]]
    assert [store.html(k) for k in ("a", "b", "fresh")] == ["<p>A</p>", "<p>B</p>", "<p>F</p>"]
    assert cache.single == []
    # Not prefetched, or missing from the cache: read alone, or rendered again.
    assert store.html("c") == "<p>C</p>"
    assert store.html("gone") == "<p>neu gone</p>"
    assert cache.single == ["c", "gone"]
    # The next chunk's prefetch replaces the last one's.
    store.prefetch(["c"])
    assert len(cache.batches) == 1  # read just now, kept among the recent ones
    store.prefetch(["b"])
    assert store.html("a") == "<p>A</p>" and cache.single[-1] == "a"

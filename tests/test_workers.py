"""The process pool (workers.py) and the kept summary digests (render/pages.py).

``run_parallel`` hands out a window of chunks instead of every task at once: the
results must still come in task order, all of them, with a worker's error raised
where its task's result would be, and the pool must not run far ahead of a slow
reader (issue 15: results piled up in the main process).
"""

from __future__ import annotations

import os
import time
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

"""Run work over ``--jobs`` processes, sharing the read-only model by ``fork``.

Input: a function, its read-only shared state and a list of tasks. Output: the
results in task order. Forked workers inherit the state instead of receiving a
pickled copy, so a 10,000-item model costs nothing to hand over; each worker
keeps it in its own process-local slot. Small workloads run in-process, where
starting processes would cost more than it saves.
"""

from __future__ import annotations

import gc
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

Task = TypeVar("Task")
Result = TypeVar("Result")

# Below this many tasks a pool costs more than it saves.
MIN_PARALLEL_TASKS = 64
# Chunks handed out per worker ahead of the one the caller is reading: enough to keep
# every worker busy, few enough that results do not pile up (``run_parallel``).
CHUNKS_AHEAD = 4

_worker_state: Any = None


def default_jobs() -> int:
    return max(
        1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )


def _init_worker(state: Any) -> None:
    global _worker_state
    _worker_state = state
    # The command line builds without the cyclic garbage collector (cli.py); a worker
    # renders thousands of pages, and what Jinja leaves in cycles must be freed as it goes.
    gc.enable()


def _call_chunk(
    function: Callable[[Any, Any], Any],
    tasks: Sequence[Any],
    prepare: Callable[[Any, Sequence[Any]], None] | None = None,
) -> list[Any]:
    if prepare is not None:
        prepare(_worker_state, tasks)
    return [function(_worker_state, task) for task in tasks]


def run_parallel(
    function: Callable[[Any, Task], Result],
    state: Any,
    tasks: Sequence[Task],
    jobs: int,
    *,
    min_tasks: int = MIN_PARALLEL_TASKS,
    chunk: int | None = None,
    prepare: Callable[[Any, Sequence[Task]], None] | None = None,
) -> Iterator[Result]:
    """Yield ``function(state, task)`` for every task, in order. Heavy tasks (decoding a
    photo) pass a lower ``min_tasks`` and ``chunk=1``. ``prepare(state, tasks)`` runs
    before each chunk of tasks, in the process that runs them: what many tasks need is
    fetched there at once (render/pages.py reads a chunk's bodies in one query)."""
    in_process = jobs <= 1 or len(tasks) < min_tasks
    if not in_process:
        # Imported for a pool only: an edit build runs its few tasks here (issue 15).
        import multiprocessing

        in_process = "fork" not in multiprocessing.get_all_start_methods()
    chunk = chunk or max(1, min(64, len(tasks) // (max(jobs, 1) * 8)))
    if in_process:
        for start in range(0, len(tasks), chunk):
            part = tasks[start : start + chunk]
            if prepare is not None:
                prepare(state, part)
            for task in part:
                yield function(state, task)
        return
    context = multiprocessing.get_context("fork")
    chunks = (tasks[start : start + chunk] for start in range(0, len(tasks), chunk))
    with context.Pool(jobs, initializer=_init_worker, initargs=(state,)) as pool:
        # A window of chunks, not ``pool.imap``: imap hands out every task at once and
        # queues every result until the caller reads it, so a caller slower than the
        # workers (the build writes each page while two workers render) holds any
        # number of rendered pages at a time. The window bounds them to a few chunks
        # (a cold build of 10,000 items: main process peak 383 → 372 MB).
        pending: deque[Any] = deque()
        for part in chunks:
            pending.append(pool.apply_async(_call_chunk, (function, part, prepare)))
            if len(pending) >= jobs * CHUNKS_AHEAD:
                yield from pending.popleft().get()
        while pending:
            yield from pending.popleft().get()

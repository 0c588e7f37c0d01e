"""Run work over ``--jobs`` processes, sharing the read-only model by ``fork``.

Input: a function, its read-only shared state and a list of tasks. Output: the
results in task order. Forked workers inherit the state instead of receiving a
pickled copy, so a 10,000-item model costs nothing to hand over; each worker
keeps it in its own process-local slot. Small workloads run in-process, where
starting processes would cost more than it saves.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

Task = TypeVar("Task")
Result = TypeVar("Result")

# Below this many tasks a pool costs more than it saves.
MIN_PARALLEL_TASKS = 64

_worker_state: Any = None


def default_jobs() -> int:
    return max(
        1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )


def _init_worker(state: Any) -> None:
    global _worker_state
    _worker_state = state


def _call(args: tuple[Callable[[Any, Any], Any], Any]) -> Any:
    function, task = args
    return function(_worker_state, task)


def run_parallel(
    function: Callable[[Any, Task], Result],
    state: Any,
    tasks: Sequence[Task],
    jobs: int,
    *,
    min_tasks: int = MIN_PARALLEL_TASKS,
    chunk: int | None = None,
) -> Iterator[Result]:
    """Yield ``function(state, task)`` for every task, in order. Heavy tasks (decoding a
    photo) pass a lower ``min_tasks`` and ``chunk=1``."""
    if jobs <= 1 or len(tasks) < min_tasks or "fork" not in multiprocessing.get_all_start_methods():
        for task in tasks:
            yield function(state, task)
        return
    context = multiprocessing.get_context("fork")
    chunk = chunk or max(1, min(64, len(tasks) // (jobs * 8)))
    with context.Pool(jobs, initializer=_init_worker, initargs=(state,)) as pool:
        yield from pool.imap(_call, [(function, task) for task in tasks], chunksize=chunk)

"""CPU time of one build by role, for the profile of a figure that missed its target.

Input: a build run in this process (bench/run.py's probe calls ``CpuRoles.install``
before it and ``CpuRoles.result`` after). Output: seconds of CPU time (user+sys) of
each kind of work the build ran: its main thread, its other threads (the search's
head start and indexer), the forked child that checks the output trees, the forked
child that reads published pages for the search's head start, the Pagefind
processes, and the remaining child processes (render and parse workers).

Why: an edit build at 10,000 items runs all of these at once on two cores, and its
stage timings overlap, so they do not show what bounds it. Their CPU times do: their
sum over the cores is the least wall time the build can take, and the shares show
whose work to cut. A child's and Pagefind's time is read from ``/proc/<pid>/stat``
just before the build ends it (Linux; elsewhere those roles are left out and count
as workers).
"""

from __future__ import annotations

import os
import resource
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

# The functions a forked child runs (kldigital_site/forked.py), by role.
_FORKED_ROLES = {
    "_check_trees": "cpu_tree_check",
    "_marked_published": "cpu_search_marking",
}
# Children whose CPU time is read as they end; the rest of the children's is workers'.
_CHILD_ROLES = ("cpu_tree_check", "cpu_search_marking", "cpu_pagefind")
ROLES = (
    "cpu_main_thread",
    "cpu_other_threads",
    "cpu_tree_check",
    "cpu_search_marking",
    "cpu_pagefind",
    "cpu_workers",
)


def process_cpu(pid: int) -> float | None:
    """User+sys seconds of process ``pid`` (running, or ended and not yet reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuRoles:
    """Counts the CPU time of the build's processes by role (module docstring)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def install(self) -> None:
        """Wrap where the build starts and ends its children, before it runs."""
        from kldigital_site.forked import Forked
        from kldigital_site.search import client

        start, close = Forked.start.__func__, Forked.close  # type: ignore[attr-defined]
        roles = self.seconds

        def starting(cls: type[Forked], parts: Callable[[], Iterable[Any]], **kwargs: Any) -> Any:
            forked = start(cls, parts, **kwargs)
            if forked is not None:
                name = getattr(parts, "__name__", "")
                forked._bench_role = _FORKED_ROLES.get(name, "cpu_workers")
            return forked

        def closing(forked: Forked) -> None:
            pid = forked._pid
            seconds = process_cpu(pid) if pid is not None else None
            if seconds is not None:
                roles[getattr(forked, "_bench_role", "cpu_workers")] += seconds
            close(forked)

        service_close = client._Service.close

        async def closing_service(service: client._Service) -> None:
            seconds = process_cpu(service.pid)
            if seconds is not None:
                roles["cpu_pagefind"] += seconds
            await service_close(service)

        Forked.start = classmethod(starting)  # type: ignore[method-assign,assignment]
        Forked.close = closing  # type: ignore[method-assign]
        client._Service.close = closing_service  # type: ignore[method-assign]

    def result(self) -> dict[str, float]:
        """Seconds per role (``ROLES``), once the build has returned (in its thread)."""
        own = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        main_thread = time.thread_time()
        named = {role: self.seconds.get(role, 0.0) for role in _CHILD_ROLES}
        children_cpu = children.ru_utime + children.ru_stime
        figures = {
            "cpu_main_thread": main_thread,
            "cpu_other_threads": max(0.0, own.ru_utime + own.ru_stime - main_thread),
            **named,
            # Every child not named above: render and parse workers, untagged forks.
            "cpu_workers": max(0.0, children_cpu - sum(named.values())),
        }
        return {role: figures[role] for role in ROLES}

"""One C heap for all the threads of the process (glibc), so that the preview's memory stays put.

A build feeds the search index from threads (search/indexer.py) and the preview
answers requests from threads (serve/server.py). glibc gives each thread that
allocates an arena of its own, up to eight per core, and memory freed there is
kept for that arena: each search index build after a save then left the preview
holding more. Measured at 10,000 items over three saves, each with its search
index build after it: 270 → 337 MB with one arena per thread, 262 → 291 MB with
one arena in all (issue 15). The threads allocate little, so they hardly ever
wait for each other's lock.
"""

from __future__ import annotations

import ctypes
import sys

# glibc's malloc.h: the most arenas the process may have.
M_ARENA_MAX = -8


def one_malloc_arena() -> bool:
    """Let every thread allocate from the main arena; True when the C library agreed.

    Must run before the process starts a thread: glibc fixes the limit when a
    thread first needs an arena. Other C libraries (musl, macOS) keep their own
    ways and return False.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, 1))

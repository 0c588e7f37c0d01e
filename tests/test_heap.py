"""The command line keeps one C heap for all its threads (heap.py): the preview's memory
does not grow by an arena for each thread that indexed the search or answered a tab."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

# Counts glibc's arenas after a thread allocated: malloc_stats() prints one
# "Arena n:" block per arena to the process's stderr.
_PROBE = textwrap.dedent(
    """
    import ctypes, sys, threading
    if sys.argv[1] == "limit":
        from kldigital_site.heap import one_malloc_arena
        assert one_malloc_arena()
    kept = []
    def allocate():
        kept.extend(bytearray(4096) for _ in range(1000))
    thread = threading.Thread(target=allocate)
    thread.start()
    thread.join()
    ctypes.CDLL(None).malloc_stats()
    """
)


def _arenas(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, check=True
    )
    return sum(line.startswith("Arena ") for line in done.stderr.splitlines())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_threads_allocate_from_the_one_main_arena() -> None:
    assert _arenas("default") >= 2  # the probe can tell: a thread gets an arena of its own
    assert _arenas("limit") == 1


def test_the_command_line_limits_the_arenas_before_any_thread(monkeypatch) -> None:
    import kldigital_site.cli as cli
    import kldigital_site.heap as heap

    calls: list[str] = []
    monkeypatch.setattr(heap, "one_malloc_arena", lambda: calls.append("heap") or True)
    monkeypatch.setattr(cli, "cli", lambda **kwargs: calls.append("cli"))
    cli.main()
    assert calls == ["heap", "cli"]

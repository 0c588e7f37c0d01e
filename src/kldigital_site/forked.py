"""Work done beside the build: a function run in a forked child process.

Input: a function that yields JSON-able parts, one after another. Output: those
parts, read in order by the parent when it needs each of them, or None for a
part the child could not give (no ``fork`` on this system, the child failed or
was killed); the caller then does that work itself.

Why: a command-line edit build of 10,000 items spent ~0.5 s of its main
process's CPU checking the published tree and the staging folder (67,000 stats
and a walk of 12,000 folders) before it could write a file, although nothing
needs the answer until the pages are rendered (issue 15). A forked child does
it on the other core while the build parses. It inherits the manifests, so
nothing is handed over but the few paths it finds wanting. The tool's render
workers are forked the same way (workers.py).

The child changes nothing the build depends on. It only reads, but for the
listings of the two trees it keeps for the next build (tree_listing.py), each
written whole or not at all. So a build that ends early just kills it, and one
that is killed leaves nothing for the next build to repair.
It ends with ``os._exit``: none of the parent's cleanup (the cache's SQLite
connection, open files, ``atexit``) runs in it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import Callable, Iterable
from typing import IO, Any


class Forked:
    """A child process yielding parts; ``part`` reads the next, ``close`` ends it."""

    def __init__(self, pid: int, stream: IO[str]) -> None:
        self._pid: int | None = pid
        self._stream = stream
        self._failed = False

    @classmethod
    def start(cls, parts: Callable[[], Iterable[Any]], *, nice: int = 0) -> Forked | None:
        """Run ``parts`` in a forked child, ``nice`` steps lower in CPU priority than this
        process; None when this system cannot fork."""
        if not hasattr(os, "fork"):
            return None
        read_end, write_end = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read_end)
            os.close(write_end)
            return None
        if pid == 0:  # pragma: no cover - the child; its parts are checked by the parent
            _run_child(parts, read_end, write_end, nice)
        os.close(write_end)
        return cls(pid, os.fdopen(read_end, "r", encoding="utf-8"))

    def part(self) -> tuple[Any] | None:
        """The next part (in a one-element tuple: a part may be None itself), waiting for
        the child if need be; None once the child failed to give one."""
        if self._failed:
            return None
        line = self._stream.readline()
        if not line.endswith("\n"):  # ended before the part was whole
            self._failed = True
            self.close()
            return None
        return (json.loads(line),)

    def close(self) -> None:
        """End the child, whether or not it is done, and reap it."""
        pid, self._pid = self._pid, None
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        self._stream.close()


def _run_child(
    parts: Callable[[], Iterable[Any]], read_end: int, write_end: int, nice: int
) -> None:
    status = 1
    # Whatever goes wrong, the parent sees the missing part and does that work itself.
    try:
        with contextlib.suppress(BaseException):
            os.close(read_end)
            if nice:
                with contextlib.suppress(OSError):  # only a preference: work on without
                    os.nice(nice)
            for part in parts():
                data = (json.dumps(part) + "\n").encode()
                while data:
                    data = data[os.write(write_end, data) :]
            status = 0
    finally:
        os._exit(status)

"""One writing build of a site at a time: an operating-system lock in the work folder.

Input: the site's work folder (``.kldigital-cache/``). Output: a context manager
that holds ``build.lock`` for as long as a build writes its staging folder,
cache and output. The lock is ``flock(2)``: the kernel releases it when its
process ends, however it ends, so a killed build never leaves a stale lock
behind, and the next build repairs what the killed one left (output.py).
A second build waits; the file names the process holding the lock, so the
waiting one can say whom it waits for.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path

LOCK_NAME = "build.lock"

# Told the pid of the build being waited for (None: not known yet).
OnWait = Callable[[int | None], None]


@contextlib.contextmanager
def site_lock(work_dir: Path, on_wait: OnWait | None = None) -> Iterator[None]:
    """Hold the site's build lock; wait for it when another process has it."""
    work_dir.mkdir(parents=True, exist_ok=True)
    path = work_dir / LOCK_NAME
    told = False
    while True:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if on_wait is not None and not told:
                    on_wait(holder(work_dir))
                    told = True
                fcntl.flock(descriptor, fcntl.LOCK_EX)
            if _still_named(descriptor, path):
                break
        except BaseException:
            os.close(descriptor)
            raise
        # `clean` removed the work folder while we waited: that file locks nothing now.
        os.close(descriptor)
        work_dir.mkdir(parents=True, exist_ok=True)
    try:
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        # Unlock explicitly: forked workers share the descriptor and would keep it.
        fcntl.flock(descriptor, fcntl.LOCK_UN)
        os.close(descriptor)


def holder(work_dir: Path) -> int | None:
    """The process that holds (or last held) the lock, as far as its file says."""
    try:
        text = (work_dir / LOCK_NAME).read_text(encoding="ascii").strip()
    except (OSError, ValueError):
        return None
    return int(text) if text.isdigit() else None


def _still_named(descriptor: int, path: Path) -> bool:
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(descriptor)
    return (named.st_dev, named.st_ino) == (mine.st_dev, mine.st_ino)

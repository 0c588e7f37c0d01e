"""Pagefind's scratch folders (search/client.py): one per bundle, and the stale ones pruned.

Input: nothing but the process's own id. Output: ``scratch_folder()``, a
private temporary folder for one bundle, in memory (``/dev/shm``) where there
is one, named ``kldigital-pagefind-<pid>-…`` after the process that owns it.

Why the owner's id: a build that is aborted or killed can leave its folder
behind, and Pagefind, a process of its own, can even create it again when it
writes after the build gave up waiting (12 such folders in ``/dev/shm`` after
a day of tests, each holding a bundle, and ``/dev/shm`` is memory). So the
first folder a process makes prunes those of its user whose owner no longer
runs (``prune_stale``). A folder whose owner runs is never touched: another
build may be writing there at the same time, from another checkout. A dead
owner's id taken again by a new process only keeps its old folders a while
longer. Folders of the old form (no id in the name) are left alone: nothing
says whether their owner still runs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile

PREFIX = "kldigital-pagefind-"

# In memory (tmpfs) where there is one; else the system's temporary folder.
ROOT = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None

# Process ids are positive and below 2**22 on Linux; the bound keeps os.kill to real ones.
_MAX_PID = 1 << 31

# The process that pruned: a forked child is a process of its own and prunes once itself.
# No lock: two threads that both prune only race to remove the same folders (harmless),
# and a lock a fork caught held would hang the child.
_pruned_in = -1


def scratch_folder() -> tempfile.TemporaryDirectory[str]:
    """A new private folder for one bundle, named after this process (removed on exit
    of the ``with``); the first one a process makes prunes the stale ones first."""
    _prune_once()
    return tempfile.TemporaryDirectory(prefix=f"{PREFIX}{os.getpid()}-", dir=ROOT)


def _prune_once() -> None:
    global _pruned_in
    pid = os.getpid()
    if _pruned_in != pid:
        _pruned_in = pid
        prune_stale(ROOT if ROOT is not None else tempfile.gettempdir(), os.geteuid())


def prune_stale(root: str, uid: int) -> list[str]:
    """Remove the scratch folders in ``root`` that belong to ``uid`` and whose owning
    process no longer runs; the names of those removed. Never raises: a folder that
    cannot be removed stays for the next process to try."""
    removed: list[str] = []
    try:
        entries = list(os.scandir(root))
    except OSError:
        return removed
    for entry in entries:
        owner = _owner_pid(entry.name)
        if owner is None or _is_running(owner):
            continue
        try:
            # Not followed: in a folder every user may write to, a link could point anywhere.
            if not entry.is_dir(follow_symlinks=False):
                continue
            if entry.stat(follow_symlinks=False).st_uid != uid:
                continue
        except OSError:  # removed meanwhile
            continue
        with contextlib.suppress(OSError):
            shutil.rmtree(entry.path)
            removed.append(entry.name)
    return removed


def _owner_pid(name: str) -> int | None:
    """The owner's process id in a scratch folder's name, or None (not one of ours)."""
    if not name.startswith(PREFIX):
        return None
    digits, dash, _ = name[len(PREFIX) :].partition("-")
    if not dash or not digits.isdigit() or not digits.isascii():
        return None
    pid = int(digits)
    return pid if 0 < pid < _MAX_PID else None


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it runs, as another user
        return True
    return True

"""The user's own files in the output folder: looked for early, brought up to date late.

Input: the output folder and the paths the tool wrote into it. Output: the other
files below it (a verification file, a ``.htaccess``, a download), which every
build carries over into the new tree (output.py ``TreeWriter.find_foreign``).

Why two steps: listing the whole folder (12,000 folders, 67,000 files at 10,000
items) cost the main process 0.2 s of every edit build (issue 15). The forked
child that checks the trees (forked.py) now ``look``s while the build parses, in
its listing of output/, which notes each folder's inode and change time
(``st_ctime_ns``) before listing it (tree_listing.py). When the build needs the
answer, after its pages are rendered, ``brought_up_to_date`` takes a stat of
each folder and lists again only those that changed since: a file added,
removed or renamed in a folder changes that folder's change time, and nobody
can set a change time back by hand (``touch`` and ``rsync -a`` set the
modification time, and change the change time doing it). So a file put into
output/ after the look is still found, as when the build looked only then.

Racy folders (git's "racy clean" entries): a folder changed within the clock
tick of its stat may change again in that same tick with an unchanged change
time. A folder whose change time lies less than ``RACY_NS`` before the look
began is therefore listed again whatever its stat says.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

# Folders changed less than this before the look are listed again when the answer is
# needed (tree_listing.py says why the value).
from kldigital_site.tree_listing import RACY_NS, Listing, file_paths


def walk(folder: Path) -> dict[str, int]:
    """Every file (or symlink) below ``folder`` with its inode number, as the listing
    gives it (no stat per file)."""
    found: dict[str, int] = {}
    pending = [(os.fspath(folder), "")]
    while pending:
        directory, prefix = pending.pop()
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    pending.append((entry.path, f"{prefix}{entry.name}/"))
                else:
                    found[prefix + entry.name] = entry.inode()
    return found


def _parent(rel: str) -> str:
    return rel.rpartition("/")[0]


def look(listing: Listing, ours: Collection[str], left_out: Collection[str]) -> dict[str, Any]:
    """The files of the tree ``listing`` lists (tree_listing.py) that are neither ``ours``
    nor ``left_out``, with what ``brought_up_to_date`` needs to tell which folders
    changed since: JSON-able, for the forked child to send."""
    paths = file_paths(listing)
    return {
        "taken": listing.taken,
        "folders": listing.folders,
        "stamps": listing.stamps,
        "foreign": [path for path in paths if path not in ours and path not in left_out],
    }


def brought_up_to_date(
    folder: Path, seen: dict[str, Any], ours: Collection[str], left_out: Collection[str]
) -> frozenset[str]:
    """What ``look`` found, as the folder holds it now: the folders whose inode or change
    time differ from the look's (or that were racy then) are listed again, folders
    that are new since are walked whole."""
    taken, folders, stamps = seen["taken"], seen["folders"], seen["stamps"]
    racy = taken - RACY_NS
    root = os.fspath(folder)
    changed: set[str] = set()
    lstat, is_dir = os.lstat, stat.S_ISDIR
    for number, rel in enumerate(folders):
        ino, ctime = stamps[2 * number], stamps[2 * number + 1]
        try:
            info = lstat(f"{root}/{rel}" if rel else root)
        except OSError:
            changed.add(rel)
            continue
        if (
            ctime >= racy
            or info.st_ctime_ns != ctime
            or info.st_ino != ino
            or not is_dir(info.st_mode)
        ):
            changed.add(rel)
    foreign = {rel for rel in seen["foreign"] if _parent(rel) not in changed}
    if changed:
        known = set(folders)
        foreign.update(_listed_again(root, sorted(changed), known, ours, left_out))
    return frozenset(foreign)


def _listed_again(
    root: str,
    changed: Iterable[str],
    known: Collection[str],
    ours: Collection[str],
    left_out: Collection[str],
) -> set[str]:
    """The files that are not ours directly in each of ``changed`` (gone: none), and
    everywhere below the folders in them that ``look`` did not see."""
    found: set[str] = set()
    for rel in changed:
        prefix = f"{rel}/" if rel else ""
        try:
            with os.scandir(f"{root}/{rel}" if rel else root) as entries:
                listed = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries]
        except (NotADirectoryError, FileNotFoundError):
            continue  # gone, or a file now: its parent changed too and lists it
        for name, is_folder in listed:
            path = prefix + name
            if not is_folder:
                found.add(path)
            elif path not in known:
                found.update(f"{path}/{below}" for below in walk(Path(root, path)))
    return {path for path in found if path not in ours and path not in left_out}

"""A tree's folders and files as last listed, brought up to date by a stat of each folder.

Input: one tree of the output folder (output/ or staging) and its listing from the
build before. Output: its listing now, which names every file with its inode, and is
stored for the next build.

Why: the forked child that checks both trees (output.py ``TreeWriter._check_trees``)
walked each of them whole in every build: 12,000 folders and 67,000 files at 10,000
items, 0.17-0.19 s of CPU per tree, and on ext4 the end of an edit build waited for it
(issue 15). A folder's entries change only together with its change time: creating,
removing or renaming a file in it, or a folder, sets the folder's ``st_ctime_ns``, and
nobody can set a change time back by hand (foreign_files.py). So a folder with the
inode and change time it had when it was last listed still holds the same names with
the same inodes; only the folders changed since, by a build or by someone else, are
listed again. Folders changed shortly before the last listing (racy, foreign_files.py)
are listed again whatever their stat says.

Each tree is listed once per build, as output/ and after the exchange as staging, so
its stored listing is one build old and what that build changed is listed again.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import stat
import time
from array import array
from pathlib import Path
from typing import NamedTuple

# Longer than any file system's timestamp granularity (FAT: 2 s) plus the coarse
# clock's lag behind ``time.time_ns``: a folder changed this shortly before a listing
# (or foreign_files.py's look) is listed again whatever its stat says.
RACY_NS = 3_000_000_000

# The stored form; another number (an older or newer version's listing) is not read.
_VERSION = 1
# Item code of the inode numbers' array: eight bytes on every platform.
_INODE = "Q"
_ITEM_SIZE = array(_INODE).itemsize


class Listing(NamedTuple):
    """A tree as listed: its folders, each with its stamp and entries. Plain lists of
    strings and bytes, one item per folder: 12,000 folders load in a few ms, where
    67,000 paths as strings took ten times as long."""

    taken: int  # ``time.time_ns()`` before the first folder's stat
    folders: list[str]  # "" is the tree itself, then "presse", "presse/a", …
    stamps: list[int]  # inode and change time of each folder, in turn, before its listing
    names: list[str]  # the files (and symlinks) in each folder, joined by "/"
    inodes: list[bytes]  # their inode numbers, in the same order (``array("Q")``)
    subfolders: list[str]  # the folders in each folder, joined by "/"


def list_tree(tree: Path, earlier: Listing | None = None) -> Listing:
    """``tree`` as it is now, listing again only the folders changed since ``earlier``
    (all of them without one)."""
    taken = time.time_ns()
    known = {rel: number for number, rel in enumerate(earlier.folders)} if earlier else {}
    racy = earlier.taken - RACY_NS if earlier else 0
    listing = Listing(taken, [], [], [], [], [])
    folders, stamps = listing.folders, listing.stamps
    names, inodes, subfolders = listing.names, listing.inodes, listing.subfolders
    root = os.fspath(tree)
    pending = [""]
    while pending:
        rel = pending.pop()
        path = f"{root}/{rel}" if rel else root
        try:
            info = os.lstat(path)  # before the listing: a change during it shows next time
        except FileNotFoundError:
            if not rel:
                raise
            continue  # removed since its parent was listed: that parent shows it next time
        if not stat.S_ISDIR(info.st_mode):
            continue  # a file now, as above
        ino, ctime = info.st_ino, info.st_ctime_ns
        number = known.get(rel)
        if (
            earlier is not None
            and number is not None
            and ctime < racy
            and earlier.stamps[2 * number] == ino
            and earlier.stamps[2 * number + 1] == ctime
        ):
            joined, numbers, below = (
                earlier.names[number],
                earlier.inodes[number],
                earlier.subfolders[number],
            )
        else:
            try:
                joined, numbers, below = _entries(path)
            except (FileNotFoundError, NotADirectoryError):
                continue
        folders.append(rel)
        stamps += (ino, ctime)
        names.append(joined)
        inodes.append(numbers)
        subfolders.append(below)
        if below:
            prefix = f"{rel}/" if rel else ""
            pending += [prefix + name for name in below.split("/")]
    return listing


def _entries(path: str) -> tuple[str, bytes, str]:
    """The files of the folder at ``path`` (joined), their inodes and its folders (joined)."""
    files: list[str] = []
    numbers = array(_INODE)
    folders: list[str] = []
    with os.scandir(path) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                folders.append(entry.name)
            else:
                files.append(entry.name)
                numbers.append(entry.inode())
    return "/".join(files), numbers.tobytes(), "/".join(folders)


def file_paths(listing: Listing) -> list[str]:
    """Every file of the tree, as a relative POSIX path, folder by folder."""
    paths: list[str] = []
    for rel, joined in zip(listing.folders, listing.names, strict=True):
        if joined:
            prefix = f"{rel}/" if rel else ""
            paths += [prefix + name for name in joined.split("/")]
    return paths


def files_with_inodes(listing: Listing) -> dict[str, int]:
    """Every file of the tree, as a relative POSIX path, with its inode number."""
    numbers = array(_INODE, b"".join(listing.inodes))
    return dict(zip(file_paths(listing), numbers, strict=True))


def load(path: Path) -> Listing | None:
    """The listing stored at ``path``; None when there is none or it is damaged."""
    try:
        value = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if not (isinstance(value, tuple) and len(value) == 7 and value[0] == _VERSION):
        return None
    listing = Listing(*value[1:])
    return listing if _well_formed(listing) else None


def _well_formed(listing: Listing) -> bool:
    count = len(listing.folders) if isinstance(listing.folders, list) else -1
    columns = (listing.names, listing.inodes, listing.subfolders)
    return (
        type(listing.taken) is int
        and count > 0
        and all(isinstance(column, list) and len(column) == count for column in columns)
        and isinstance(listing.stamps, list)
        and len(listing.stamps) == 2 * count
        and all(type(rel) is str for rel in listing.folders)
        and all(type(number) is int for number in listing.stamps)
        and all(type(joined) is str for joined in listing.names)
        and all(type(joined) is str for joined in listing.subfolders)
        and all(type(numbers) is bytes for numbers in listing.inodes)
        and all(
            len(numbers) == _ITEM_SIZE * (joined.count("/") + 1 if joined else 0)
            for joined, numbers in zip(listing.names, listing.inodes, strict=True)
        )
    )


def store(listing: Listing, path: Path) -> None:
    """Keep ``listing`` at ``path`` for the next build, whole or not at all. A cache
    folder that cannot be written only costs the next build a whole listing."""
    temporary = path.with_name(f"{path.name}.tmp")
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_bytes(marshal.dumps((_VERSION, *listing)))
        os.replace(temporary, path)

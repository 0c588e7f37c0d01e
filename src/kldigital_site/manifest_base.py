"""The base of a tree's manifest on disk: every file's digest and stat, in ``marshal``.

Input: a whole tree's record (path → digest, path → [size, mtime_ns, inode]).
Output: the same two mappings read back, or None when the file is missing,
damaged or of another shape. output.py checks the paths and types of what comes
back, as it does with any manifest.

Why not JSON: every edit build reads one base of 67,000 files at 10,000 items;
its JSON took ~0.08 s to decode, and writing it ~0.09 s (issue 15). ``marshal``
builds nothing but the plain dicts, lists and strings it holds, each path once
for both mappings. It is stored a few thousand files at a time, so a cold build
never holds the whole text at once (where its memory peaks), and a SHA-256 of
it all comes last: a file cut short or altered by accident is never read.
As for the cache's values (cache.py), this guards against damage, not against a
file crafted to harm: the tool's work folder is trusted as its own.
"""

from __future__ import annotations

import hashlib
import marshal
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

SUFFIX = ".bin"
_MAGIC = "kldigital-site manifest base"
_FORMAT = 1
_PIECE = 4096  # files per marshal value
_DIGEST_SIZE = 32
_LENGTH_SIZE = 8


def write(path: Path, files: Mapping[str, str], stats: Mapping[str, object]) -> None:
    """Store ``files`` and ``stats`` (the same paths) at ``path``, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.tmp")
    checksum = hashlib.sha256()
    names = list(files)
    with temporary.open("wb") as stream:

        def put(value: Any) -> None:
            data = marshal.dumps(value)
            # Its length first: ``marshal.loads`` of a slice is fast, ``marshal.load``
            # from a stream reads piece by tiny piece (twice as slow as JSON).
            for part in (len(data).to_bytes(_LENGTH_SIZE, "big"), data):
                checksum.update(part)
                stream.write(part)

        put((_MAGIC, _FORMAT, len(names)))
        for start in range(0, len(names), _PIECE):
            piece = names[start : start + _PIECE]
            # One tuple of both: marshal stores each path once and refers to it after.
            put(({n: files[n] for n in piece}, {n: stats[n] for n in piece}))
        stream.write(checksum.digest())
    os.replace(temporary, path)  # never half a base, whenever a build is killed


def read(path: Path) -> tuple[dict[str, object], dict[str, object]] | None:
    """The files and stats stored at ``path``; None when missing, damaged or not a base."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    payload = memoryview(data)[:-_DIGEST_SIZE]
    if len(data) <= _DIGEST_SIZE or hashlib.sha256(payload).digest() != data[-_DIGEST_SIZE:]:
        return None
    files: dict[str, object] = {}
    stats: dict[str, object] = {}
    values = _values(payload)
    try:
        head = next(values)
        if not (isinstance(head, tuple) and len(head) == 3 and head[:2] == (_MAGIC, _FORMAT)):
            return None
        for piece_files, piece_stats in values:
            files.update(piece_files)
            stats.update(piece_stats)
    except (StopIteration, EOFError, ValueError, TypeError):
        return None
    if len(files) != head[2] or len(stats) != head[2]:
        return None
    return files, stats


def _values(payload: memoryview) -> Iterator[Any]:
    """The values ``write`` stored, each after its length."""
    offset = 0
    while offset < len(payload):
        size = int.from_bytes(payload[offset : offset + _LENGTH_SIZE], "big")
        offset += _LENGTH_SIZE
        if offset + size > len(payload):
            raise ValueError("cut short")
        yield marshal.loads(payload[offset : offset + size])
        offset += size

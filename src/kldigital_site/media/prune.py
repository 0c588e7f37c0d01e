"""The media cache without what no build has used for ``KEEP_DAYS`` days.

Input: the media folder (pipeline.py ``media_folder``) and the files a build that went
through published (``Media.files``). Output: the folder without the
variants, originals and press-photo ZIPs that no build used in that time, and its
record of when each entry was last used (``RECORD``).

Entries are keyed by content (pipeline.py), so an entry made for a photo that was
replaced, re-cropped or given another credit is never used again: without this the
folder grows with every image a site ever showed, and with it every CI cache restored
and saved again on each run (docs/deployment.md). An entry is kept for a while after
its last use, not dropped at once: a photo taken out of a release and put back, or a
draft's photo that the preview (``serve`` shows drafts) and a build from the command
line (it does not) take turns to use, is not processed again.

Days are counted by the computer's clock, not by the build's "now": ``--now`` and
``SOURCE_DATE_EPOCH`` say what the site shows, not how long a file lay unused. A
day of last use never moves back (a clock set back), so nothing goes too early.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from kldigital_site.media.pipeline import INFO_SUFFIX, PublishedFile

KEEP_DAYS = 30
RECORD = "used.json"
# The folders that hold entries (pipeline.py); facts.json prunes itself as it is saved.
_ENTRY_FOLDERS = ("variants", "originals", "zips")


def prune_media(folder: Path, published: Iterable[PublishedFile]) -> None:
    """Note today as the last use of each entry ``published`` comes from; remove those
    last used more than ``KEEP_DAYS`` ago. A damaged record counts every entry as used
    today: the worst it does is keep an entry longer."""
    today = _today()
    record = _read_record(folder / RECORD)
    used = {name for name in map(_EntryOf(folder), published) if name is not None}
    kept: dict[str, str] = {}
    stale: list[Path] = []
    for name, paths in _entries(folder).items():
        # One the record does not know yet (made by an older version) starts today.
        recorded = _day(record.get(name)) or today
        last = max(today, recorded) if name in used else recorded
        if (today - last).days > KEEP_DAYS:
            stale.extend(paths)
        else:
            kept[name] = last.isoformat()
    for path in stale:
        # One that cannot be removed now (rights, a read-only disk) is tried again next time.
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
    if kept != record:
        _write_record(folder / RECORD, kept)


class _EntryOf:
    """The cache entry (``variants/<key>``, ``originals/<file>``, ``zips/<file>``) a
    published file is copied from, or None for one from content/."""

    def __init__(self, folder: Path) -> None:
        self.prefix = f"{folder}{os.sep}"

    def __call__(self, file: PublishedFile) -> str | None:
        source = str(file.source)
        if not source.startswith(self.prefix):
            return None
        parts = source[len(self.prefix) :].split(os.sep)
        return f"{parts[0]}/{parts[1]}" if len(parts) > 1 and parts[0] in _ENTRY_FOLDERS else None


def _entries(folder: Path) -> dict[str, list[Path]]:
    """Each entry by name, with its paths: an original or ZIP with its info beside it."""
    entries: dict[str, list[Path]] = {}
    for kind in _ENTRY_FOLDERS:
        try:
            paths = sorted((folder / kind).iterdir())
        except OSError:
            continue  # not made yet, or unreadable: nothing to prune there
        for path in paths:
            name = path.name
            if kind != "variants" and name.endswith(INFO_SUFFIX):
                name = name.removesuffix(INFO_SUFFIX)
            entries.setdefault(f"{kind}/{name}", []).append(path)
    return entries


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _day(value: object) -> dt.date | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _read_record(path: Path) -> dict[str, str]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {str(k): v for k, v in loaded.items() if isinstance(v, str)}


def _write_record(path: Path, record: dict[str, str]) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(json.dumps(record, sort_keys=True, indent=0), encoding="utf-8")
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)  # a full disk: pruned again next time

"""Watch ``content/`` and ``templates/`` for changes the dev server must rebuild for.

Input: file-system events from watchdog (or paths, for the pure functions).
Output: ``ChangeSet`` values — every relevant path of one burst of events with
its ``ChangeKind`` — handed to the caller once the burst has settled.

Two pure functions carry the decisions and are unit-tested on their own (Zola
``src/fs_utils.rs`` and ``components/utils/src/fs.rs``):

* ``is_temp_file(name)``: editor swap, backup, lock and "safe write" files,
  which appear and vanish around every save and must not trigger a rebuild;
* ``classify_change(path, ...)``: what a changed path is (content, data,
  template, static file, site settings) or ``IGNORED``.

``ChangeQueue`` debounces: an editor saving one file produces several events
(vim: create ``4913``, rename to ``x.md~``, create ``x.md``, modify, close), so
the caller is woken once, after the events have stopped for ``quiet`` seconds
(MkDocs ``build_delay``, Eleventy ``awaitWriteFinish``) — or for only
``closed_quiet`` once every changed file was last seen closed after writing:
its writer is done, and the editor waits for nothing but the preview.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from watchdog.events import (
    EVENT_TYPE_CLOSED,
    EVENT_TYPE_CREATED,
    EVENT_TYPE_DELETED,
    EVENT_TYPE_MODIFIED,
    EVENT_TYPE_MOVED,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from kldigital_site.content.discover import is_ignored_name

log = logging.getLogger(__name__)

# Quiet time before a burst counts as finished; long enough for an editor's
# save sequence, short enough to feel instant (MkDocs uses 0.25 s, Zola 0.1 s).
DEFAULT_QUIET = 0.15
# Quiet time when the last event of every changed file was "closed after writing"
# (inotify's IN_CLOSE_WRITE): the save is complete, only the next file of the same
# burst (``git checkout``, "save all": a millisecond apart) is still worth waiting
# for. A tenth of a second less for every save (issue 15).
DEFAULT_CLOSED_QUIET = 0.03
# A file written continuously (a large copy) must not postpone the rebuild forever.
DEFAULT_MAX_DELAY = 2.0


class ChangeKind(StrEnum):
    """What a changed path is; decides what the server reloads before rebuilding."""

    CONFIG = "Einstellungen"  # content/site.yaml: load the settings again
    CONTENT = "Inhalt"  # Markdown in projekte/, presse/, seiten/ (and unknown files)
    DATA = "Daten"  # content/daten/*.yaml
    TEMPLATE = "Template"  # templates/** except assets
    STATIC = "Datei"  # content/medien/**, templates/assets/**: copied verbatim
    IGNORED = "ignoriert"  # temp files, hidden files, anything outside the watched folders


# --- the pure functions --------------------------------------------------------

# Exact names some editors create next to the file they save.
_TEMP_NAMES = frozenset(
    {
        "4913",  # vim probes whether it may create files in the folder
        ".DS_Store",
        "Thumbs.db",
        "desktop.ini",
        ".directory",
    }
)
_TEMP_SUFFIXES = (
    "~",  # vim, emacs, gedit, nano backups
    ".swp",  # vim swap files: .x.md.swp, .swo, .swn, .swx, .swpx
    ".swo",
    ".swn",
    ".swx",
    ".swpx",
    ".tmp",
    ".temp",
    ".bak",
    ".orig",
    ".kate-swp",  # Kate
    "___jb_tmp___",  # JetBrains "safe write"
    "___jb_old___",
    "___jb_bak___",
    ".crdownload",  # downloads in progress (Chrome, Firefox)
    ".part",
    ".partial",
)
_TEMP_PREFIXES = (
    ".#",  # emacs lock link
    ".~lock.",  # LibreOffice lock file: .~lock.bericht.odt#
    "~$",  # Microsoft Office owner file
    ".goutputstream-",  # GTK (gedit) safe write
    ".syncthing.",
    ".sb-",  # macOS "safe save" folders of some editors
)


# ``sed -i`` and similar tools write "sed" + 6 random characters, then rename.
_SED_TEMP = re.compile(r"sed[A-Za-z0-9]{6}")


def is_temp_file(name: str) -> bool:
    """True for editor swap, backup, lock and "safe write" files, by file name only.

    VS Code saves in place (no temp file); vim, emacs, JetBrains, Kate, gedit and
    LibreOffice leave the names listed above for a moment around every save.
    Hidden files count as temporary too: the build never reads them either.
    """
    if not name or name in _TEMP_NAMES:
        return True
    if name.startswith("#") and name.endswith("#"):  # emacs auto-save: #x.md#
        return True
    if name.startswith(_TEMP_PREFIXES) or name.endswith(_TEMP_SUFFIXES):
        return True
    if _SED_TEMP.fullmatch(name):
        return True
    # vim also numbers swap files when one exists: .x.md.swp, .x.md.swo ... .x.md.swa
    if name.startswith(".") and len(name) > 4 and name[-4:-1] == ".sw":
        return True
    # Keep in step with what discovery skips, so a file that cannot change the
    # site never wakes the builder.
    return is_ignored_name(name)


def classify_change(path: Path, *, content_dir: Path, templates_dir: Path) -> ChangeKind:
    """What a changed ``path`` (absolute, or relative to the current folder) is.

    ``content_dir`` and ``templates_dir`` are the watched folders; the result
    depends only on the three paths, never on the file system, so deleted and
    renamed files classify the same as existing ones.
    """
    path = Path(os.path.abspath(path))
    content, templates = Path(os.path.abspath(content_dir)), Path(os.path.abspath(templates_dir))
    # The more specific folder first, should one lie inside the other.
    folders = sorted([(content, True), (templates, False)], key=lambda f: -len(f[0].parts))
    for folder, is_content in folders:
        try:
            parts = path.relative_to(folder).parts
        except ValueError:
            continue
        if not parts or any(is_temp_file(part) for part in parts):
            return ChangeKind.IGNORED
        if is_content:
            return _classify_content(parts)
        return ChangeKind.STATIC if parts[0] == "assets" else ChangeKind.TEMPLATE
    return ChangeKind.IGNORED


def _classify_content(parts: tuple[str, ...]) -> ChangeKind:
    top = parts[0]
    if parts == ("site.yaml",):
        return ChangeKind.CONFIG
    if top == "daten":
        return ChangeKind.DATA
    if top == "medien":
        return ChangeKind.STATIC
    # projekte/, presse/, seiten/ and anything unexpected: discovery warns about
    # files in unknown places, so a rebuild shows the warning.
    return ChangeKind.CONTENT


# --- debouncing ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """The relevant paths of one settled burst of events, with their kinds."""

    changes: Mapping[Path, ChangeKind]

    @property
    def kinds(self) -> frozenset[ChangeKind]:
        return frozenset(self.changes.values())

    def describe(self, root: Path) -> str:
        """Short German summary for the console: "content/presse/x.md (Inhalt)"."""
        shown = []
        for path, kind in sorted(self.changes.items())[:3]:
            try:
                rel = path.relative_to(root).as_posix()
            except ValueError:
                rel = path.as_posix()
            shown.append(f"{rel} ({kind})")
        more = len(self.changes) - len(shown)
        return ", ".join(shown) + (f" und {more} weitere" if more > 0 else "")


class ChangeQueue:
    """Collects classified paths from the watcher thread; hands them out debounced.

    ``put`` is called from watchdog's thread, ``take`` from the build loop. The
    last kind seen for a path wins (Zola ``filter_events``).
    """

    def __init__(
        self,
        *,
        quiet: float = DEFAULT_QUIET,
        max_delay: float = DEFAULT_MAX_DELAY,
        closed_quiet: float = DEFAULT_CLOSED_QUIET,
    ):
        self.quiet = quiet
        self.closed_quiet = min(closed_quiet, quiet)
        self.max_delay = max_delay
        self._pending: dict[Path, ChangeKind] = {}
        self._open: set[Path] = set()  # pending paths whose last event was no close
        self._first_at = 0.0
        self._last_at = 0.0
        self._closed = False
        self._cond = threading.Condition()

    def put(self, changes: Iterable[tuple[Path, ChangeKind]], *, closed: bool = False) -> None:
        """``closed``: the event was a file closed after writing (module docstring)."""
        relevant = [(p, k) for p, k in changes if k is not ChangeKind.IGNORED]
        if not relevant:
            return
        with self._cond:
            now = time.monotonic()
            if not self._pending:
                self._first_at = now
            self._last_at = now
            self._pending.update(relevant)
            for path, _ in relevant:
                if closed:
                    self._open.discard(path)
                else:
                    self._open.add(path)
            self._cond.notify_all()

    def close(self) -> None:
        """Wake a waiting ``take`` for good (shutdown)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def take(self, timeout: float | None = None) -> ChangeSet | None:
        """Wait for a burst to settle and return it; None on timeout or close.

        Returns once no event arrived for ``quiet`` seconds (``closed_quiet`` when
        every changed file was last closed after writing), or ``max_delay`` after
        the burst's first event, whichever comes first.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._pending and not self._closed:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)
            if self._closed:
                return None
            while True:
                now = time.monotonic()
                quiet = self.quiet if self._open else self.closed_quiet
                settle_at = min(self._last_at + quiet, self._first_at + self.max_delay)
                if now >= settle_at or self._closed:
                    break
                self._cond.wait(settle_at - now)
            batch = ChangeSet(dict(self._pending))
            self._pending.clear()
            self._open.clear()
            return batch


# --- the watchdog side -------------------------------------------------------------

# Only events that can change a file's content or existence. inotify also
# reports "opened" and "closed without writing" — the build itself reading the
# sources would otherwise trigger the next build, forever.
_RELEVANT_EVENTS = frozenset(
    {
        EVENT_TYPE_CREATED,
        EVENT_TYPE_DELETED,
        EVENT_TYPE_MODIFIED,
        EVENT_TYPE_MOVED,
        EVENT_TYPE_CLOSED,
    }
)


def event_paths(event: FileSystemEvent) -> list[Path]:
    """The paths an event touches: both ends of a rename (deleted and renamed
    files must disappear from the site, so the old name counts too)."""
    if event.event_type not in _RELEVANT_EVENTS:
        return []
    # A folder's "modified" only says a child changed; the child's own event follows.
    if event.is_directory and event.event_type == EVENT_TYPE_MODIFIED:
        return []
    paths = [event.src_path, getattr(event, "dest_path", "")]
    return [Path(os.fsdecode(p)) for p in paths if p]


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: Watcher) -> None:
        self._watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        self._watcher.queue.put(
            ((path, self._watcher.classify(path)) for path in event_paths(event)),
            closed=event.event_type == EVENT_TYPE_CLOSED,
        )


class Watcher:
    """A watchdog observer over ``content/`` and ``templates/`` feeding a ``ChangeQueue``.

    ``polling=True`` uses watchdog's ``PollingObserver`` (network drives, some
    containers), as MkDocs does for robustness; the default is the native one.
    """

    def __init__(
        self,
        content_dir: Path,
        templates_dir: Path,
        *,
        polling: bool = False,
        quiet: float = DEFAULT_QUIET,
    ) -> None:
        self.content_dir = content_dir.resolve()
        self.templates_dir = templates_dir.resolve()
        self.queue = ChangeQueue(quiet=quiet)
        # A short emitter timeout: stopping joins the emitter threads, and Ctrl-C
        # should end the preview at once, not after a second per watched folder.
        self._observer: BaseObserver = (
            PollingObserver(timeout=0.5) if polling else Observer(timeout=0.2)
        )
        handler = _Handler(self)
        for folder in self._folders():
            self._observer.schedule(handler, str(folder), recursive=True)

    def _folders(self) -> list[Path]:
        folders = [self.content_dir]
        # A templates folder inside content/ (unusual) is already covered.
        if self.templates_dir.is_dir() and not self.templates_dir.is_relative_to(self.content_dir):
            folders.append(self.templates_dir)
        return folders

    def classify(self, path: Path) -> ChangeKind:
        return classify_change(path, content_dir=self.content_dir, templates_dir=self.templates_dir)

    def start(self) -> None:
        self._observer.start()

    def stop(self) -> None:
        self.queue.close()
        self._observer.stop()
        self._observer.join(timeout=5)

"""serve/watch.py: the swap-file filter and the change classifier as pure functions,
the debouncing queue, the event filter, and one real watchdog round trip."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from watchdog.events import (
    DirModifiedEvent,
    FileClosedEvent,
    FileClosedNoWriteEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileOpenedEvent,
)

from kldigital_site.serve.watch import (
    ChangeKind,
    ChangeQueue,
    ChangeSet,
    Watcher,
    classify_change,
    event_paths,
    is_temp_file,
)

ROOT = Path("/site")
CONTENT = ROOT / "content"
TEMPLATES = ROOT / "templates"


@pytest.mark.parametrize(
    "name",
    [
        # vim
        ".2024-05-02-x.md.swp",
        ".x.md.swo",
        ".x.md.swn",
        ".x.md.swx",
        ".x.md.swpx",
        "x.md~",
        "4913",
        # emacs
        "#x.md#",
        ".#x.md",
        # JetBrains safe write
        "x.md___jb_tmp___",
        "x.md___jb_old___",
        "x.md___jb_bak___",
        # LibreOffice and Microsoft Office lock files
        ".~lock.bericht.odt#",
        "~$bericht.docx",
        # Kate, gedit
        ".x.md.kate-swp",
        ".goutputstream-ABC123",
        # generic temp and backup files, OS clutter
        "x.md.tmp",
        "x.md.bak",
        "bild.jpg.crdownload",
        ".DS_Store",
        "Thumbs.db",
        "desktop.ini",
        ".hidden.md",
        "sedpCShIa",  # sed -i
        "",
    ],
)
def test_temp_and_swap_files_are_recognised(name: str) -> None:
    assert is_temp_file(name)


@pytest.mark.parametrize(
    "name",
    [
        "2024-05-02-erste-mitteilung.md",
        "site.yaml",
        "kontakte.yaml",
        "base.html",
        "site.css",
        "bild.jpg",
        "bericht.odt",
        "swp.md",  # "swp" inside a real name
        "4913.md",
        "tmp-notizen.md",
        "c#-kurs.md",
    ],
)
def test_real_files_are_not_temp_files(name: str) -> None:
    assert not is_temp_file(name)


@pytest.mark.parametrize(
    ("rel", "kind"),
    [
        ("content/site.yaml", ChangeKind.CONFIG),
        ("content/presse/2024-05-02-x.md", ChangeKind.CONTENT),
        ("content/projekte/dritte-orte.md", ChangeKind.CONTENT),
        ("content/seiten/impressum.md", ChangeKind.CONTENT),
        ("content/presse", ChangeKind.CONTENT),  # a renamed or deleted folder
        ("content/notizen.txt", ChangeKind.CONTENT),  # unknown place: the build warns
        ("content/daten/kontakte.yaml", ChangeKind.DATA),
        ("content/medien/presse/bild.jpg", ChangeKind.STATIC),
        ("templates/base.html", ChangeKind.TEMPLATE),
        ("templates/partials/cards.html", ChangeKind.TEMPLATE),
        ("templates/assets/css/site.css", ChangeKind.STATIC),
        ("templates/assets", ChangeKind.STATIC),
        # noise
        ("content/presse/.2024-05-02-x.md.swp", ChangeKind.IGNORED),
        ("content/presse/2024-05-02-x.md~", ChangeKind.IGNORED),
        ("content/presse/4913", ChangeKind.IGNORED),
        ("templates/base.html___jb_tmp___", ChangeKind.IGNORED),
        ("content/.git/index", ChangeKind.IGNORED),  # inside a hidden folder
        ("content/medien/.~lock.plan.ods#", ChangeKind.IGNORED),
        ("content", ChangeKind.IGNORED),  # the watched folder itself
        ("output/index.html", ChangeKind.IGNORED),
        (".kldigital-cache/serve/site/index.html", ChangeKind.IGNORED),
        ("README.md", ChangeKind.IGNORED),
    ],
)
def test_classify_change(rel: str, kind: ChangeKind) -> None:
    assert classify_change(ROOT / rel, content_dir=CONTENT, templates_dir=TEMPLATES) is kind


def test_classify_change_needs_no_file_system(tmp_path: Path) -> None:
    # Deleted files classify like existing ones: only the paths count.
    gone = tmp_path / "content" / "presse" / "2020-01-01-weg.md"
    kind = classify_change(
        gone, content_dir=tmp_path / "content", templates_dir=tmp_path / "templates"
    )
    assert kind is ChangeKind.CONTENT


def test_templates_folder_inside_content_is_classified_as_templates() -> None:
    kind = classify_change(
        CONTENT / "theme" / "base.html", content_dir=CONTENT, templates_dir=CONTENT / "theme"
    )
    assert kind is ChangeKind.TEMPLATE


# --- events ------------------------------------------------------------------------


def test_event_paths_keeps_both_ends_of_a_rename() -> None:
    event = FileMovedEvent("/site/content/presse/a.md", "/site/content/presse/b.md")
    assert event_paths(event) == [
        Path("/site/content/presse/a.md"),
        Path("/site/content/presse/b.md"),
    ]


@pytest.mark.parametrize(
    "event",
    [
        FileOpenedEvent("/site/content/presse/a.md"),
        FileClosedNoWriteEvent("/site/content/presse/a.md"),
        DirModifiedEvent("/site/content/presse"),
    ],
)
def test_reads_and_folder_notices_are_not_changes(event: object) -> None:
    # The build reads every source: counting those reads would rebuild forever.
    assert event_paths(event) == []  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "event",
    [
        FileCreatedEvent("/site/content/presse/a.md"),
        FileModifiedEvent("/site/content/presse/a.md"),
        FileClosedEvent("/site/content/presse/a.md"),
        FileDeletedEvent("/site/content/presse/a.md"),
    ],
)
def test_writes_are_changes(event: object) -> None:
    assert event_paths(event) == [Path("/site/content/presse/a.md")]  # type: ignore[arg-type]


# --- debouncing ----------------------------------------------------------------------


def test_a_burst_of_events_is_one_change_set() -> None:
    queue = ChangeQueue(quiet=0.1)
    path = CONTENT / "presse" / "a.md"

    def editor_save() -> None:
        # vim-like: several events for one save, a few milliseconds apart.
        for kind in (
            ChangeKind.CONTENT,
            ChangeKind.IGNORED,
            ChangeKind.CONTENT,
            ChangeKind.CONTENT,
        ):
            queue.put([(path, kind)])
            time.sleep(0.02)

    writer = threading.Thread(target=editor_save)
    writer.start()
    batch = queue.take(timeout=2)
    writer.join()
    assert batch == ChangeSet({path: ChangeKind.CONTENT})
    assert queue.take(timeout=0.3) is None  # nothing left over for a second build


def test_take_waits_for_quiet_before_returning() -> None:
    queue = ChangeQueue(quiet=0.2)
    queue.put([(CONTENT / "site.yaml", ChangeKind.CONFIG)])
    started = time.monotonic()
    batch = queue.take(timeout=2)
    assert batch is not None and batch.kinds == {ChangeKind.CONFIG}
    assert time.monotonic() - started >= 0.15


def test_a_file_closed_after_writing_settles_the_burst_sooner() -> None:
    """A save ends with the file closed: then only a moment is waited for more files,
    unless another changed file is still open (or was renamed, deleted, ...)."""
    queue = ChangeQueue(quiet=0.5, closed_quiet=0.02)
    saved, other = CONTENT / "presse" / "a.md", CONTENT / "presse" / "b.md"
    queue.put([(saved, ChangeKind.CONTENT)])
    queue.put([(saved, ChangeKind.CONTENT)], closed=True)
    started = time.monotonic()
    assert queue.take(timeout=2) == ChangeSet({saved: ChangeKind.CONTENT})
    assert time.monotonic() - started < 0.3

    queue.put([(saved, ChangeKind.CONTENT)], closed=True)
    queue.put([(other, ChangeKind.CONTENT)])  # still being written
    started = time.monotonic()
    batch = queue.take(timeout=2)
    assert batch is not None and set(batch.changes) == {saved, other}
    assert time.monotonic() - started >= 0.45


def test_endless_writes_do_not_postpone_the_build_forever() -> None:
    queue = ChangeQueue(quiet=0.2, max_delay=0.4)
    stop = threading.Event()

    def busy_writer() -> None:
        while not stop.is_set():
            queue.put([(CONTENT / "medien" / "gross.pdf", ChangeKind.STATIC)])
            time.sleep(0.05)

    writer = threading.Thread(target=busy_writer)
    writer.start()
    try:
        started = time.monotonic()
        assert queue.take(timeout=3) is not None
        assert time.monotonic() - started < 1.5
    finally:
        stop.set()
        writer.join()


def test_ignored_paths_never_wake_the_builder() -> None:
    queue = ChangeQueue(quiet=0.05)
    queue.put([(CONTENT / "presse" / "x.md~", ChangeKind.IGNORED)])
    assert queue.take(timeout=0.2) is None


def test_close_wakes_a_waiting_take() -> None:
    queue = ChangeQueue()
    threading.Timer(0.1, queue.close).start()
    assert queue.take(timeout=5) is None
    assert queue.closed


def test_describe_lists_paths_relative_to_the_site() -> None:
    batch = ChangeSet({CONTENT / "presse" / "a.md": ChangeKind.CONTENT})
    assert batch.describe(ROOT) == "content/presse/a.md (Inhalt)"


# --- a real observer -------------------------------------------------------------------


@pytest.mark.parametrize("polling", [False, True])
def test_watcher_reports_a_saved_file_and_ignores_swap_files(tmp_path: Path, polling: bool) -> None:
    content, templates = tmp_path / "content", tmp_path / "templates"
    (content / "presse").mkdir(parents=True)
    templates.mkdir()
    watcher = Watcher(content, templates, polling=polling, quiet=0.1)
    watcher.start()
    try:
        time.sleep(0.3)  # let the observer take its first snapshot
        (content / "presse" / ".a.md.swp").write_text("swap")
        target = content / "presse" / "2024-05-02-a.md"
        target.write_text("---\ntitle: A\n---\n")
        batch = watcher.queue.take(timeout=5)
    finally:
        watcher.stop()
    assert batch is not None
    assert batch.changes == {target.resolve(): ChangeKind.CONTENT}

"""Issue 14: any file name, any disk. File names that are not UTF-8 and operating-system
errors while writing end in a German ``path: message`` and exit 1, never a traceback,
and the previous site stays exactly as it was."""

from __future__ import annotations

import errno
import os
import re
import subprocess
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from kldigital_site import output as output_module
from tests.conftest import build_cli, copy_fixture_site, tree_state

MakeSite = Callable[[Mapping[str, str | bytes]], Path]
CACHE_ON_FULL_DISK = "Zwischenspeicher nicht benutzt: Der Datenträger ist voll."


def test_a_file_name_that_is_not_utf8_is_named_with_a_hint(
    make_site: MakeSite, tmp_path: Path
) -> None:
    # As a ZIP archive from an old Windows system unpacks: "Straße.jpg" in Latin-1.
    # Created here, not in tests/fixtures: git may not carry such a name.
    root = make_site({})
    media = os.fsencode(root / "content/medien")
    os.makedirs(media, exist_ok=True)
    with open(media + b"/Stra\xdfe.jpg", "wb") as stream:
        stream.write(b"\xff\xd8\xff")
    os.makedirs(media + b"/Gr\xfc\xdfe")
    result = build_cli(root, tmp_path / "out")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "content/medien/Gr??e: Der Ordnername ist nicht UTF-8-kodiert (häufig bei ZIP-Archiven "
        "von anderen Systemen); bitte umbenennen, z. B. Umlaute neu eintippen oder ä als ae "
        "schreiben.",
        "content/medien/Stra?e.jpg: Der Dateiname ist nicht UTF-8-kodiert (häufig bei "
        "ZIP-Archiven von anderen Systemen); bitte umbenennen, z. B. Umlaute neu eintippen "
        "oder ä als ae schreiben.",
        "Abgebrochen: 2 Fehler. Die Ausgabe wurde nicht verändert.",
    ]


def _failing_after(calls: int, error: int) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """``Path.write_bytes`` and ``output._create`` (which writes a file staging does not
    hold yet in place) that fail with ``error`` once ``calls`` files were written."""
    count = 0

    def failing(path: object) -> None:
        nonlocal count
        count += 1
        if count > calls:
            raise OSError(error, os.strerror(error), str(path))

    real_write, real_create = Path.write_bytes, output_module._create

    def write_bytes(self: Path, data: bytes) -> int:
        failing(self)
        result: int = real_write(self, data)
        return result

    def create(path: str, data: bytes) -> bool:
        failing(path)
        return real_create(path, data)

    return write_bytes, create


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (errno.ENOSPC, "Der Datenträger ist voll"),
        (errno.EACCES, "Keine Berechtigung"),
        (errno.ENOENT, "Ein Ordner wurde während des Bauens gelöscht oder umbenannt ("),
    ],
)
def test_an_os_error_while_writing_is_a_german_message_and_the_old_site_stays(
    make_site: MakeSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: int, reason: str
) -> None:
    root = make_site({})
    out = tmp_path / "out"
    assert build_cli(root, out).exit_code == 0
    before = tree_state(out)
    page = root / "content/seiten/impressum.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nNeu.\n", encoding="utf-8")
    # The disk fills up (or a folder goes) after a few pages of the new build.
    write_bytes, create = _failing_after(3, error)
    monkeypatch.setattr(output_module.Path, "write_bytes", write_bytes)
    monkeypatch.setattr(output_module, "_create", create)
    result = build_cli(root, out, "--jobs", "1", "--no-cache")
    monkeypatch.undo()
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert "Traceback" not in result.stderr
    # Named: the folder (inside the tool's work folder, where the new tree is assembled).
    assert lines[0].startswith(".kldigital-cache/staging-"), lines[0]
    assert f": {reason}" in lines[0]
    assert lines[1] == "Abgebrochen: 1 Fehler. Die Ausgabe wurde nicht verändert."
    assert tree_state(out) == before
    # Once there is room again, the next build succeeds.
    assert build_cli(root, out).exit_code == 0
    assert "Neu." in (out / "impressum/index.html").read_text(encoding="utf-8")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 4 MB file system (tmpfs), unmounted afterwards. Mounting needs root (or
    CAP_SYS_ADMIN): where the test runs without, it is skipped, and the simulated full
    disk above still runs."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mount = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mount.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mount.stderr.strip() or mount.returncode}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def _add_releases(root: Path, count: int) -> None:
    """Enough press releases to make the site several times as big (pages, text, e-mail)."""
    for number in range(1, count + 1):
        day = number % 28 + 1
        body = "\n\n".join(
            f"Die Digitalagentur berichtet in Meldung {number}, Absatz {paragraph}, über "
            "Daten, Beteiligung und Mobilität in der Innenstadt."
            for paragraph in range(6)
        )
        (root / f"content/presse/2024-06-{day:02d}-meldung-{number}.md").write_text(
            f"---\ntitle: Meldung {number} der Digitalagentur\ndate: 2024-06-{day:02d}\n---\n"
            f"{body}\n",
            encoding="utf-8",
        )


def _fill(disk: Path, leave: int) -> Path:
    """A file that takes all the room on ``disk`` but ``leave`` bytes."""
    info = os.statvfs(disk)
    filler = disk / "filler"
    filler.write_bytes(b"\0" * (info.f_bavail * info.f_frsize - leave))
    return filler


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_a_build_onto_a_full_disk_keeps_the_old_site_and_the_next_one_succeeds(
    small_disk: Path, tmp_path: Path
) -> None:
    # Site, output and the tool's work folder (cache and staging, .kldigital-cache/ in the
    # site root) all on the small disk, as on a build server with one full partition.
    root = copy_fixture_site("minimal", small_disk / "site")
    out = root / "output"
    assert build_cli(root, out).exit_code == 0
    before = tree_state(out)
    _add_releases(root, 60)
    # 48 KB free: the cache runs out of room first, then the new tree;
    # the new site needs about 2 MB more than the old one.
    filler = _fill(small_disk, 48 * 1024)

    result = build_cli(root, out)

    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    # The cache is first to find the disk full; it may say so, and the build goes on.
    lines = [line for line in result.stderr.splitlines() if line != CACHE_ON_FULL_DISK]
    assert len(lines) == 2, result.stderr
    assert re.fullmatch(
        r"\.kldigital-cache/staging-[0-9a-f]+/[^:]+: Der Datenträger ist voll \([^)]+\)\. "
        r"Bitte Platz schaffen bzw\. Rechte und Ordner prüfen und neu bauen\.",
        lines[0],
    ), lines[0]
    assert lines[1] == "Abgebrochen: 1 Fehler. Die Ausgabe wurde nicht verändert."
    assert tree_state(out) == before
    # A full disk does not damage the cache: it is kept for the next build.
    assert (root / ".kldigital-cache/cache.sqlite").stat().st_size > 0

    filler.unlink()  # room again
    assert build_cli(root, out).exit_code == 0
    clean = copy_fixture_site("minimal", tmp_path / "clean")
    _add_releases(clean, 60)
    assert build_cli(clean, clean / "output", "--no-cache").exit_code == 0
    assert _files(out) == _files(clean / "output")


def test_a_source_file_that_cannot_be_read_is_named_in_german(
    make_site: MakeSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As root (the tests' usual user here) a chmod 000 file is still readable: simulated.
    root = make_site({})
    locked = root / "content/seiten/impressum.md"
    real = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self == locked:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    result = build_cli(root, tmp_path / "out", "--no-cache")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "content/seiten/impressum.md: Datei nicht lesbar: Keine Berechtigung"
    )

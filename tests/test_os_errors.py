"""Issue 14: any file name, any disk. File names that are not UTF-8 and operating-system
errors while writing end in a German ``path: message`` and exit 1, never a traceback,
and the previous site stays exactly as it was."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from kldigital_site import output as output_module
from tests.conftest import build_cli, tree_state

MakeSite = Callable[[Mapping[str, str | bytes]], Path]


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


def _failing_after(calls: int, error: int, real: Callable[..., Any]) -> Callable[..., Any]:
    count = 0

    def write_bytes(self: Path, data: bytes) -> int:
        nonlocal count
        count += 1
        if count > calls:
            raise OSError(error, os.strerror(error), str(self))
        result: int = real(self, data)
        return result

    return write_bytes


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (errno.ENOSPC, "Der Datenträger ist voll"),
        (errno.EACCES, "Keine Berechtigung"),
        (errno.ENOENT, "Ein Ordner ist verschwunden"),
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
    monkeypatch.setattr(
        output_module.Path, "write_bytes", _failing_after(3, error, Path.write_bytes)
    )
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

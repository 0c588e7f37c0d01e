"""„Alle Pressefotos als ZIP“: the originals of one release and a text of their credits.

Input: the photos in the order of the release's ``images:`` (file name, bytes of the
published original, caption, credit). Output: the bytes of the ZIP archive,
byte-identical for the same input: fixed timestamps, order and permissions, stored
without compression (JPEGs do not shrink, and unpacking stays instant).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass

CREDITS_NAME = "Bildnachweise.txt"
_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest date a ZIP entry can carry


@dataclass(frozen=True, slots=True)
class ZipPhoto:
    name: str
    data: bytes
    caption: str | None
    credit: str
    label: str  # "JPG, 4.000 × 3.000 px, 3,2 MB"


def credits_text(title: str, photos: Sequence[ZipPhoto]) -> str:
    lines = [f"Pressefotos: {title}", "", "Abdruck honorarfrei nur mit Bildnachweis.", ""]
    for number, photo in enumerate(photos, start=1):
        lines.append(f"{number}. {photo.name} ({photo.label})")
        if photo.caption:
            lines.append(f"   Bildunterschrift: {photo.caption}")
        lines.append(f"   Bildnachweis: {photo.credit}")
        lines.append("")
    return "\r\n".join(lines)  # read on every system, Windows Notepad included


def press_zip(title: str, photos: Sequence[ZipPhoto]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        entries = [(p.name, p.data) for p in photos]
        entries.append((CREDITS_NAME, credits_text(title, photos).encode("utf-8")))
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            info.create_system = 3  # Unix, whatever system builds
            info.flag_bits |= 0x800  # UTF-8 names
            archive.writestr(info, data)
    return buffer.getvalue()


def unique_names(paths: Sequence[str]) -> list[str]:
    """File names for the archive: the base names, numbered where two are alike."""
    names: list[str] = []
    for path in paths:
        name = path.rsplit("/", 1)[-1]
        stem, dot, suffix = name.rpartition(".")
        candidate, number = name, 2
        while candidate in names:
            candidate = f"{stem}-{number}{dot}{suffix}" if dot else f"{name}-{number}"
            number += 1
        names.append(candidate)
    return names

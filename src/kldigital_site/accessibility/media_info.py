"""What visitors are told about a file before they open it: type, size, duration.

Input: a media file's path. Output: German labels — "PDF, 1,2 MB" for a
download, "6 Sekunden" for a video — and the ISO 8601 duration for
``<time datetime>``. Durations are read from the file's own header with
mutagen (MP4), without a system tool; a format it cannot read has no duration.
"""

from __future__ import annotations

from pathlib import Path

# Files a link announces with type and size (issue 13: downloads announce themselves).
DOWNLOAD_TYPES = frozenset(
    [
        "pdf",
        "doc",
        "docx",
        "xls",
        "xlsx",
        "ppt",
        "pptx",
        "odt",
        "ods",
        "odp",
        "rtf",
        "txt",
        "csv",
        "zip",
        "epub",
        "ics",
        "vcf",
        "gpx",
        "mp3",
        "mp4",
    ]
)


def size_text(size: int) -> str:
    """1234567 → "1,2 MB"; decimal units, as file managers show them."""
    if size < 1000:
        return f"{size} Byte"
    # Imported here: Babel and its locale data cost a command-line build ~25 ms, and
    # most builds announce no download (issue 15).
    from babel.numbers import format_decimal

    if size < 1_000_000:
        return f"{format_decimal(round(size / 1000), locale='de_DE')} kB"
    return f"{format_decimal(round(size / 1_000_000, 1), format='#,##0.0', locale='de_DE')} MB"


def download_type(path: str) -> str | None:
    """ "medien/flyer.pdf" → "PDF"; None for files that are not downloads (images, pages)."""
    suffix = path.rpartition(".")[2].lower() if "." in path.rpartition("/")[2] else ""
    return suffix.upper() if suffix in DOWNLOAD_TYPES else None


def download_label(path: Path, site_path: str) -> str | None:
    """ "PDF, 1,2 MB" for a download file, None otherwise."""
    kind = download_type(site_path)
    if kind is None:
        return None
    try:
        size = path.stat().st_size
    except OSError:
        return None
    return f"{kind}, {size_text(size)}"


def video_seconds(path: Path) -> int | None:
    """Whole seconds of an MP4 video, or None when its header cannot be read."""
    # Imported here: Markdown bodies need this module for their download labels, and
    # mutagen cost every edit build ~7 ms though only a page with a video needs it.
    from mutagen import MutagenError
    from mutagen.mp4 import MP4

    try:
        # mutagen ships no type hints for MP4's constructor.
        info = MP4(path).info  # type: ignore[no-untyped-call]
        length = float(info.length) if info is not None else 0.0
    except (MutagenError, OSError):
        return None
    return round(length) if length else None


def duration_text(seconds: int) -> str:
    """65 → "1 Minute 5 Sekunden"."""
    minutes, rest = divmod(seconds, 60)
    parts = []
    if minutes:
        parts.append(f"{minutes} Minute" + ("n" if minutes != 1 else ""))
    if rest or not minutes:
        parts.append(f"{rest} Sekunde" + ("n" if rest != 1 else ""))
    return " ".join(parts)


def iso_duration(seconds: int) -> str:
    """65 → "PT1M5S" (the datetime attribute of <time>)."""
    minutes, rest = divmod(seconds, 60)
    return "PT" + (f"{minutes}M" if minutes else "") + (f"{rest}S" if rest or not minutes else "")

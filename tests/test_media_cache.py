"""The media cache keeps what builds use and lets go of what none used for a month
(media/prune.py): a site that replaces photos for years, and a CI that saves its
cache on every run, do not keep every image they ever showed."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from kldigital_site.errors import BuildFailed
from kldigital_site.media.prune import KEEP_DAYS, RECORD
from tests.conftest import NOW, build_site_at
from tests.test_media import MakeSite, _release_site, jpeg

RELEASE = "content/presse/2024-05-02-erste-mitteilung.md"
PHOTO = "content/medien/presse/zwei.jpg"


def _entries(root: Path) -> set[str]:
    """The cache entries: variants by folder, originals and ZIPs by file (each with its
    info beside it, which goes with it)."""
    media = root / ".kldigital-cache" / "media"
    files = {
        p.relative_to(media).as_posix()
        for folder in ("variants", "originals", "zips")
        for p in (media / folder).iterdir()
    }
    for name in [f for f in files if not f.startswith("variants/") and not f.endswith(".json")]:
        assert f"{name}.json" in files
        files.remove(f"{name}.json")
    assert not [f for f in files if f.endswith(".json") and not f.startswith("variants/")]
    return files


def _append(root: Path, text: str) -> None:
    path = root / RELEASE
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def _days(n: int) -> dt.datetime:
    return NOW + dt.timedelta(days=n)


def test_a_replaced_photo_leaves_the_cache_a_month_after_its_last_use(
    make_site: MakeSite, tmp_path: Path
) -> None:
    root = _release_site(make_site)
    out = tmp_path / "out"
    build_site_at(root, output=out)
    first = _entries(root)
    (root / PHOTO).write_bytes(jpeg((600, 800), "#2288aa"))
    replaced = build_site_at(root, output=out, now=_days(1))
    assert replaced.decoded == {"medien/presse/zwei.jpg"}
    second = _entries(root)
    # The old photo's variants and original, and the ZIP that held it, are kept for now.
    assert first < second
    new = second - first
    assert sorted(e.split("/")[0] for e in new) == ["originals", "variants", "zips"]

    _append(root, "Ein Satz.\n")
    build_site_at(root, output=out, now=_days(KEEP_DAYS))
    assert _entries(root) == second  # not yet: a month to the day after its last use

    _append(root, "Noch ein Satz.\n")
    later = build_site_at(root, output=out, now=_days(1 + KEEP_DAYS))
    assert later.decoded == frozenset()  # nothing still used was made again
    left = _entries(root)
    stale = second - left
    assert sorted(e.split("/")[0] for e in stale) == ["originals", "variants", "zips"]
    assert new <= left
    record = json.loads((root / ".kldigital-cache/media" / RECORD).read_text("utf-8"))
    assert set(record) == left
    # The published site is the same as a clean build's.
    clean = tmp_path / "clean"
    build_site_at(root, output=clean, now=_days(1 + KEEP_DAYS), use_cache=False)
    assert _files(out) == _files(clean)


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_a_photo_put_back_within_the_month_is_not_processed_again(
    make_site: MakeSite, tmp_path: Path
) -> None:
    root = _release_site(make_site)
    out = tmp_path / "out"
    build_site_at(root, output=out)
    path = root / RELEASE
    text = path.read_text(encoding="utf-8")
    without = text.replace(
        "  - src: medien/presse/zwei.jpg\n    alt: Kinder auf dem Spielplatz\n"
        '    credit: "Foto: Max Muster"\n',
        "",
    )
    assert without != text
    path.write_text(without, encoding="utf-8")
    build_site_at(root, output=out, now=_days(10))
    path.write_text(text, encoding="utf-8")
    back = build_site_at(root, output=out, now=_days(20))
    assert back.decoded == frozenset()
    assert (out / "medien/presse/zwei.jpg").is_file()


def test_a_damaged_record_keeps_every_entry_for_another_month(
    make_site: MakeSite, tmp_path: Path
) -> None:
    root = _release_site(make_site)
    out = tmp_path / "out"
    build_site_at(root, output=out)
    first = _entries(root)
    (root / PHOTO).write_bytes(jpeg((600, 800), "#2288aa"))
    build_site_at(root, output=out, now=_days(1))
    (root / ".kldigital-cache" / "media" / RECORD).write_text("{kaputt", encoding="utf-8")
    _append(root, "Ein Satz.\n")
    build_site_at(root, output=out, now=_days(100))
    everything = _entries(root)
    assert first <= everything  # counted as used on day 100: never removed too early
    _append(root, "Noch ein Satz.\n")
    build_site_at(root, output=out, now=_days(101 + KEEP_DAYS))
    assert not first <= _entries(root)


def test_a_failed_build_removes_nothing(make_site: MakeSite, tmp_path: Path) -> None:
    root = _release_site(make_site)
    out = tmp_path / "out"
    build_site_at(root, output=out)
    first = _entries(root)
    (root / PHOTO).write_bytes(jpeg((600, 800), "#2288aa"))
    build_site_at(root, output=out, now=_days(1))
    _append(root, "\n![Ein Bild](../medien/presse/fehlt.jpg)\n")
    with pytest.raises(BuildFailed):
        build_site_at(root, output=out, now=_days(100))
    assert first <= _entries(root)

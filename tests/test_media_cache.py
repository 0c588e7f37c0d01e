"""The media cache keeps what builds use and lets go of what none used for a month
(media/prune.py): a site that replaces photos for years, and a CI that saves its
cache on every run, do not keep every image they ever showed."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from kldigital_site.build import BuildResult
from kldigital_site.errors import BuildFailed
from kldigital_site.media import prune
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


class Clock:
    """The computer's date as media/prune.py reads it: ``day`` days after ``NOW``'s."""

    day = 0

    def today(self) -> dt.date:
        return NOW.date() + dt.timedelta(days=self.day)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(prune, "_today", clock.today)
    return clock


def _build(root: Path, out: Path, clock: Clock, day: int) -> BuildResult:
    """A build on the ``day``-th day; the site's own "now" stays ``NOW``."""
    clock.day = day
    return build_site_at(root, output=out)


def _built(make_site: MakeSite, out: Path, clock: Clock) -> Path:
    """The site of a release with four photos, built on day 0 into ``out``."""
    root = _release_site(make_site)
    _build(root, out, clock, 0)
    return root


def _photo_replaced(
    make_site: MakeSite, out: Path, clock: Clock, day: int
) -> tuple[Path, set[str], BuildResult]:
    """The release site built on day 0, and again on ``day`` with one photo replaced:
    its root, the cache entries after the first build, the second build."""
    root = _built(make_site, out, clock)
    first = _entries(root)
    (root / PHOTO).write_bytes(jpeg((600, 800), "#2288aa"))
    return root, first, _build(root, out, clock, day)


def test_a_replaced_photo_leaves_the_cache_a_month_after_its_last_use(
    make_site: MakeSite, tmp_path: Path, clock: Clock
) -> None:
    out = tmp_path / "out"
    root, first, replaced = _photo_replaced(make_site, out, clock, 1)
    assert replaced.decoded == {"medien/presse/zwei.jpg"}
    second = _entries(root)
    # The old photo's variants and original, and the ZIP that held it, are kept for now.
    assert first < second
    new = second - first
    assert sorted(e.split("/")[0] for e in new) == ["originals", "variants", "zips"]

    _append(root, "Ein Satz.\n")
    _build(root, out, clock, KEEP_DAYS)
    assert _entries(root) == second  # not yet: a month to the day after its last use

    _append(root, "Noch ein Satz.\n")
    later = _build(root, out, clock, 1 + KEEP_DAYS)
    assert later.decoded == frozenset()  # nothing still used was made again
    left = _entries(root)
    stale = second - left
    assert sorted(e.split("/")[0] for e in stale) == ["originals", "variants", "zips"]
    assert new <= left
    record = json.loads((root / ".kldigital-cache/media" / RECORD).read_text("utf-8"))
    assert set(record) == left
    # The published site is the same as a clean build's.
    clean = tmp_path / "clean"
    build_site_at(root, output=clean, use_cache=False)
    assert _files(out) == _files(clean)


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_a_photo_put_back_within_the_month_is_not_processed_again(
    make_site: MakeSite, tmp_path: Path, clock: Clock
) -> None:
    out = tmp_path / "out"
    root = _built(make_site, out, clock)
    path = root / RELEASE
    text = path.read_text(encoding="utf-8")
    without = text.replace(
        "  - src: medien/presse/zwei.jpg\n    alt: Kinder auf dem Spielplatz\n"
        '    credit: "Foto: Max Muster"\n',
        "",
    )
    assert without != text
    path.write_text(without, encoding="utf-8")
    _build(root, out, clock, 10)
    path.write_text(text, encoding="utf-8")
    back = _build(root, out, clock, 20)
    assert back.decoded == frozenset()
    assert (out / "medien/presse/zwei.jpg").is_file()


def test_a_damaged_record_keeps_every_entry_for_another_month(
    make_site: MakeSite, tmp_path: Path, clock: Clock
) -> None:
    out = tmp_path / "out"
    root, first, _ = _photo_replaced(make_site, out, clock, 1)
    (root / ".kldigital-cache" / "media" / RECORD).write_text("{kaputt", encoding="utf-8")
    _append(root, "Ein Satz.\n")
    _build(root, out, clock, 100)
    everything = _entries(root)
    assert first <= everything  # counted as used on day 100: never removed too early
    _append(root, "Noch ein Satz.\n")
    _build(root, out, clock, 101 + KEEP_DAYS)
    assert not first <= _entries(root)


def test_a_failed_build_removes_nothing(make_site: MakeSite, tmp_path: Path, clock: Clock) -> None:
    out = tmp_path / "out"
    root, first, _ = _photo_replaced(make_site, out, clock, 1)
    _append(root, "\n![Ein Bild](../medien/presse/fehlt.jpg)\n")
    with pytest.raises(BuildFailed):
        _build(root, out, clock, 100)
    assert first <= _entries(root)


def test_the_site_s_now_does_not_count_as_time_passed(
    make_site: MakeSite, tmp_path: Path, clock: Clock
) -> None:
    # ``--now`` shows the site as it will be; the photos replaced today stay cached.
    out = tmp_path / "out"
    root, first, _ = _photo_replaced(make_site, out, clock, 0)
    _append(root, "Ein Satz.\n")
    build_site_at(root, output=out, now=NOW + dt.timedelta(days=365))
    assert first <= _entries(root)


def test_a_clock_set_back_does_not_move_a_last_use_back(
    make_site: MakeSite, tmp_path: Path, clock: Clock
) -> None:
    out = tmp_path / "out"
    root = _built(make_site, out, clock)
    _append(root, "Ein Satz.\n")
    _build(root, out, clock, 50)
    used = json.loads((root / ".kldigital-cache/media" / RECORD).read_text("utf-8"))
    _append(root, "Noch ein Satz.\n")
    _build(root, out, clock, 10)  # the clock set back
    again = json.loads((root / ".kldigital-cache/media" / RECORD).read_text("utf-8"))
    assert again == used
    assert set(used.values()) == {(NOW.date() + dt.timedelta(days=50)).isoformat()}

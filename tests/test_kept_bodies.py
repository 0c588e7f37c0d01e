"""An edit build takes the other bodies as the last build left them (markdown/kept.py),
but never where what they read of the model changed since (issue 15)."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from kldigital_site.cache import BuildCache
from kldigital_site.config import load_config
from kldigital_site.markdown.bodies import document_body_key
from tests.test_incremental import RELEASE, Site, tree

REPORT = "content/presse/2023-04-05-ergebnisse-der-umfrage.md"
REPORT_PAGE = "presse/ergebnisse-der-umfrage/index.html"
PDF = "content/medien/dokumente/umfrage-2023.pdf"


@pytest.fixture
def site(tmp_path: Path) -> Site:
    s = Site(tmp_path)
    s.build()
    return s


@pytest.fixture
def summaries_read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The body keys whose cached summaries a build asks for."""
    asked: list[str] = []
    original = BuildCache.body_summaries

    def counting(self: BuildCache, keys: Iterable[str]) -> dict[str, dict[str, object]]:
        wanted = list(keys)
        asked.extend(wanted)
        return original(self, wanted)

    monkeypatch.setattr(BuildCache, "body_summaries", counting)
    return asked


def _clean(site: Site, tmp_path: Path) -> dict[str, bytes]:
    clean = tmp_path / "clean"
    site.build(use_cache=False, output=clean)
    return tree(clean)


def _edited_keys(site: Site, change: Callable[[str], str], rel: str = RELEASE) -> tuple[str, str]:
    """Apply ``change`` to the file ``rel``: the keys of its body before and after."""
    config = load_config(site.root / "content", site.templates, site.output)
    before = hashlib.sha256((site.root / rel).read_bytes()).hexdigest()
    site.edit(rel, change)
    after = hashlib.sha256((site.root / rel).read_bytes()).hexdigest()
    return document_body_key(config, rel, before), document_body_key(config, rel, after)


def test_body_edit_reads_no_other_body_from_the_cache(
    site: Site, summaries_read: list[str], tmp_path: Path
) -> None:
    for n in range(2):  # the second time from what the first edit build kept
        old, new = _edited_keys(site, lambda t, n=n: t + f"\nEin neuer Absatz {n}.\n")
        result = site.build()
        assert result.bodies_rendered == {RELEASE.removeprefix("content/")}
        # Only the edited body's own key is new: the others come whole from the last build.
        # Its last one is read for the guess of its page's search text (search/guess.py).
        assert new in summaries_read
        assert set(summaries_read) <= {old, new}
        summaries_read.clear()
    assert tree(site.output) == _clean(site, tmp_path)


def test_title_change_keeps_the_other_bodies(site: Site, summaries_read: list[str]) -> None:
    # The edited file's body is rendered again (its key covers the whole file); its last
    # one is read for the guess of its page's search text. No other body is read.
    old, new = _edited_keys(site, lambda t: t.replace("title: ", "title: Neu ", 1))
    result = site.build()
    assert result.bodies_rendered == {RELEASE.removeprefix("content/")}
    assert new in summaries_read
    assert set(summaries_read) <= {old, new}


def test_a_grown_download_shows_its_new_size_in_the_linking_body(
    site: Site, summaries_read: list[str], tmp_path: Path
) -> None:
    before = (site.output / REPORT_PAGE).read_text(encoding="utf-8")
    assert "PDF, 614 Byte" in before
    pdf = site.root / PDF
    pdf.write_bytes(pdf.read_bytes() + b"%" * 2000)
    site.build()
    after = (site.output / REPORT_PAGE).read_text(encoding="utf-8")
    assert "PDF, 3 kB" in after
    assert summaries_read, "another download: the bodies are checked against it again"
    assert tree(site.output) == _clean(site, tmp_path)


def test_a_link_target_that_moves_is_followed(site: Site, tmp_path: Path) -> None:
    # "Über uns" links to this release in its body only: no card, no list.
    release = "content/presse/2023-01-17-neue-mitmachplattform.md"
    site.edit(release, lambda t: t.replace("slug: mitmachplattform", "slug: mitmachen-online"))
    site.build()
    about = (site.output / "ueber-uns/index.html").read_text(encoding="utf-8")
    assert "/presse/mitmachen-online/" in about
    assert tree(site.output) == _clean(site, tmp_path)


def test_each_edit_is_kept_for_the_next_build(site: Site, summaries_read: list[str]) -> None:
    # The first edit's body lies in a shard of its own that the build must store again:
    # otherwise the second build finds it nowhere and reads its summary.
    site.edit(RELEASE, lambda t: t + "\nEin neuer Absatz.\n")
    site.build()
    summaries_read.clear()
    old, new = _edited_keys(site, lambda t: t + "\nEin neuer Absatz.\n", REPORT)
    result = site.build()
    assert result.bodies_rendered == {REPORT.removeprefix("content/")}
    assert new in summaries_read
    assert set(summaries_read) <= {old, new}  # the last one: for the guess (search/guess.py)


def _shards(site: Site) -> list[str]:
    with sqlite3.connect(site.root / ".kldigital-cache" / "cache.sqlite") as db:
        rows = db.execute("SELECT name FROM blobs WHERE name LIKE 'bodies/%' ORDER BY name")
        return [name for (name,) in rows]


def test_a_body_edit_stores_only_the_shard_of_the_body(site: Site) -> None:
    def stored() -> dict[str, bytes]:
        with sqlite3.connect(site.root / ".kldigital-cache" / "cache.sqlite") as db:
            rows = db.execute("SELECT name, payload FROM blobs WHERE name LIKE 'bodies/%'")
            return dict(rows)

    before = stored()
    assert len(before) == 32
    site.edit(RELEASE, lambda t: t + "\nEin neuer Absatz.\n")
    site.build()
    after = stored()
    # The shard that held the body under its old key, and the one it lies in now.
    assert 1 <= len([name for name in after if after[name] != before[name]]) <= 2


@pytest.mark.parametrize("damage", [b"kaputt", b""])
def test_damaged_kept_bodies_are_made_again_not_trusted(
    site: Site, summaries_read: list[str], tmp_path: Path, damage: bytes
) -> None:
    with sqlite3.connect(site.root / ".kldigital-cache" / "cache.sqlite") as db:
        for name in _shards(site):
            (payload,) = db.execute("SELECT payload FROM blobs WHERE name = ?", (name,)).fetchone()
            db.execute("UPDATE blobs SET payload = ? WHERE name = ?", (damage + payload[9:], name))
    site.edit(RELEASE, lambda t: t + "\nEin neuer Absatz.\n")
    result = site.build()
    assert result.bodies_rendered == {RELEASE.removeprefix("content/")}
    assert summaries_read, "taken from each body's own cached summary instead"
    assert tree(site.output) == _clean(site, tmp_path)


def test_one_damaged_shard_costs_only_its_bodies(
    site: Site, summaries_read: list[str], tmp_path: Path
) -> None:
    with sqlite3.connect(site.root / ".kldigital-cache" / "cache.sqlite") as db:
        rows = db.execute("SELECT name, length(payload) FROM blobs WHERE name LIKE 'bodies/%'")
        fullest = max(rows, key=lambda row: row[1])[0]
        db.execute("UPDATE blobs SET payload = x'00' WHERE name = ?", (fullest,))
    site.edit(RELEASE, lambda t: t + "\nEin neuer Absatz.\n")
    site.build()
    assert len(summaries_read) > 1, "the damaged shard's bodies come from their summaries"
    body_count = len(site.build(use_cache=False, output=tmp_path / "clean").bodies_rendered)
    assert len(summaries_read) < body_count, "the other shards are used"
    assert tree(site.output) == _clean(site, tmp_path)


def test_kept_bodies_of_another_shape_are_not_used(
    site: Site, summaries_read: list[str], tmp_path: Path
) -> None:
    import marshal

    cache = BuildCache(site.root / ".kldigital-cache")
    cache.store_blobs({name: marshal.dumps((2, "x", ((1, 2),))) for name in _shards(site)})
    cache.close()
    site.edit(RELEASE, lambda t: t + "\nEin neuer Absatz.\n")
    site.build()
    assert summaries_read
    assert tree(site.output) == _clean(site, tmp_path)


def test_the_stored_shards_hold_each_body_of_the_last_build_once(site: Site) -> None:
    # An edit stores only the shards that changed (issue 15): the body under its new key
    # joins one, and its old key leaves the other, whose other bodies stay as stored.
    import marshal

    def stored_keys() -> list[str]:
        with sqlite3.connect(site.root / ".kldigital-cache" / "cache.sqlite") as db:
            rows = db.execute("SELECT payload FROM blobs WHERE name LIKE 'bodies/%'")
            return [row[0] for (payload,) in rows for row in marshal.loads(payload)[3]]

    before = stored_keys()
    for n in range(2):
        site.edit(RELEASE, lambda t, n=n: t + f"\nEin neuer Absatz {n}.\n")
        site.build()
        after = stored_keys()
        assert len(set(after)) == len(after) == len(before)
        assert len(set(after) - set(before)) == 1
        before = after

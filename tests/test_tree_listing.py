"""A tree's listing kept between builds and brought up to date (tree_listing.py)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from kldigital_site import tree_listing
from kldigital_site.tree_listing import Listing, files_with_inodes, list_tree, load, store
from tests.conftest import write_files

TREE = {
    "index.html": "<p>",
    "a/x.html": "x",
    "a/b/y.html": "y",
    "c/z.html": "z",
    "d/e/f/g.html": "g",
    "u/v/w.html": "w",
}


@pytest.fixture
def folders_listed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The folders ``list_tree`` listed (not taken from the earlier listing)."""
    listed: list[str] = []
    entries = tree_listing._entries

    def counted(path: str) -> tuple[str, bytes, str]:
        listed.append(path)
        return entries(path)

    monkeypatch.setattr(tree_listing, "_entries", counted)
    return listed


def _tree(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    write_files(out, TREE)
    (out / "a/link").symlink_to("x.html")
    # Past the clock tick of the folders' last change: a change after the listing
    # below then shows in their change time.
    time.sleep(0.02)
    return out


def _long_ago(listing: Listing) -> Listing:
    """As if taken well after every folder's last change: none racy."""
    return listing._replace(taken=listing.taken + 10 * tree_listing.RACY_NS)


def _walked(folder: Path) -> dict[str, int]:
    return {
        os.path.relpath(os.path.join(parent, name), folder): os.lstat(
            os.path.join(parent, name)
        ).st_ino
        for parent, folders, files in os.walk(folder)
        for name in files + [f for f in folders if os.path.islink(os.path.join(parent, f))]
    }


def test_a_listing_names_every_file_with_its_inode(tmp_path: Path) -> None:
    out = _tree(tmp_path)
    assert files_with_inodes(list_tree(out)) == _walked(out)
    assert sorted(_walked(out)) == sorted([*TREE, "a/link"])


def test_only_the_folders_changed_since_are_listed_again(
    tmp_path: Path, folders_listed: list[str]
) -> None:
    out = _tree(tmp_path)
    earlier = _long_ago(list_tree(out))
    write_files(out, {"a/b/neu.html": "neu", "n/m/k/tief.html": "tief"})
    (out / "c/z.html").unlink()
    (out / "a/x.html").rename(out / "a/umbenannt.html")
    (out / "d/e/f/g.html").unlink()
    (out / "d/e/f").rmdir()
    (out / "d/e/f").write_text("jetzt eine Datei", encoding="utf-8")
    # Same name, new file: only the inode tells.
    (out / "u/v/w.html").write_text("w", encoding="utf-8")
    os.replace(out / "u/v/w.html", out / "u/v/w.tmp")
    os.replace(out / "u/v/w.tmp", out / "u/v/w.html")
    folders_listed.clear()

    now = list_tree(out, earlier)

    assert files_with_inodes(now) == _walked(out)
    assert "n/m/k/tief.html" in files_with_inodes(now)
    assert "d/e/f/g.html" not in files_with_inodes(now)
    listed = sorted(os.path.relpath(path, out) for path in folders_listed)
    assert listed == [".", "a", "a/b", "c", "d/e", "n", "n/m", "n/m/k", "u/v"]


def test_a_folder_changed_in_the_tick_of_the_listing_is_listed_again(tmp_path: Path) -> None:
    # Git's racy clean entries: a folder changed in the clock tick of its stat may
    # change again without a new change time. As if that had happened, the listing's
    # stamp of ``c`` is its change time after the new file came.
    out = _tree(tmp_path)
    earlier = list_tree(out)
    write_files(out, {"c/neu.html": "neu"})
    at = earlier.folders.index("c")
    earlier.stamps[2 * at + 1] = os.lstat(out / "c").st_ctime_ns
    assert "c/neu.html" in files_with_inodes(list_tree(out, earlier))
    # Taken long after that change, the same stamp is trusted: the racy rule is what
    # found the file.
    assert "c/neu.html" not in files_with_inodes(list_tree(out, _long_ago(earlier)))


def test_a_stored_listing_is_read_back_whole(tmp_path: Path, folders_listed: list[str]) -> None:
    out = _tree(tmp_path)
    where = tmp_path / "cache/trees/out.listing"
    store(_long_ago(list_tree(out)), where)
    kept = load(where)
    assert kept is not None
    folders_listed.clear()
    assert files_with_inodes(list_tree(out, kept)) == _walked(out)
    assert folders_listed == [], "nothing changed: nothing listed"


@pytest.mark.parametrize(
    "damage",
    [
        lambda path: path.write_bytes(path.read_bytes()[:-9]),
        lambda path: path.write_bytes(b"kaputt"),
        lambda path: path.write_bytes(b""),
        lambda path: (path.unlink(), path.mkdir()),
    ],
    ids=["truncated", "garbled", "emptied", "a folder"],
)
def test_a_damaged_listing_is_not_used(tmp_path: Path, damage: object) -> None:
    out = _tree(tmp_path)
    where = tmp_path / "out.listing"
    store(list_tree(out), where)
    damage(where)  # type: ignore[operator]
    assert load(where) is None


def test_a_listing_of_the_wrong_shape_is_not_used(tmp_path: Path) -> None:
    out = _tree(tmp_path)
    where = tmp_path / "out.listing"
    listing = list_tree(out)
    at = listing.folders.index("a")
    for wrong in (
        listing._replace(inodes=[*listing.inodes[:at], b"", *listing.inodes[at + 1 :]]),
        listing._replace(stamps=listing.stamps[:-1]),
        listing._replace(names=[*listing.names[:at], 7, *listing.names[at + 1 :]]),
        listing._replace(folders=[]),
    ):
        store(wrong, where)
        assert load(where) is None, wrong
    store(listing, where)
    assert load(where) == listing


def test_a_listing_that_cannot_be_stored_costs_only_time(tmp_path: Path) -> None:
    out = _tree(tmp_path)
    blocked = tmp_path / "eine-datei"
    blocked.write_text("kein Ordner", encoding="utf-8")
    store(list_tree(out), blocked / "out.listing")
    assert load(blocked / "out.listing") is None

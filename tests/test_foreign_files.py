"""The user's files in output/, looked for early and brought up to date late (foreign_files.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kldigital_site import foreign_files
from kldigital_site.foreign_files import brought_up_to_date, look
from kldigital_site.tree_listing import list_tree
from tests.conftest import write_files

OURS = frozenset({"index.html", "presse/a/index.html", "presse/b/index.html"})


def _folder(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    write_files(out, dict.fromkeys(OURS, "<p>"))
    write_files(out, {"robots.txt": "User-agent: *", "presse/a/anhang.pdf": "%PDF"})
    return out


def _long_ago(seen: dict[str, Any]) -> None:
    """As if the look had been taken well after every folder's last change: none racy."""
    seen["taken"] += 10 * foreign_files.RACY_NS


def test_the_look_finds_what_a_walk_finds(tmp_path: Path) -> None:
    out = _folder(tmp_path)
    seen = look(list_tree(out), OURS, {"robots.txt"})
    assert sorted(seen["foreign"]) == ["presse/a/anhang.pdf"]
    _long_ago(seen)
    assert brought_up_to_date(out, seen, OURS, ()) == {"presse/a/anhang.pdf"}


def test_every_change_since_the_look_is_found(
    tmp_path: Path, folders_listed_again: list[str]
) -> None:
    out = _folder(tmp_path)
    seen = look(list_tree(out), OURS, ())
    _long_ago(seen)
    listed = folders_listed_again
    write_files(out, {"presse/b/neu.txt": "neu", "neu/tief/unten/x.txt": "x"})
    (out / "presse/a/anhang.pdf").unlink()
    (out / "presse/a/index.html").rename(out / "presse/a/umbenannt.html")
    found = brought_up_to_date(out, seen, OURS, ())
    assert found == {
        "robots.txt",
        "presse/b/neu.txt",
        "neu/tief/unten/x.txt",
        "presse/a/umbenannt.html",
    }
    # The folders unchanged since the look were not listed again.
    assert sorted(listed) == ["", "presse/a", "presse/b"]


def test_a_folder_replaced_or_removed_since_the_look_is_listed_anew(tmp_path: Path) -> None:
    out = _folder(tmp_path)
    seen = look(list_tree(out), OURS, ())
    _long_ago(seen)
    for rel in ("presse/a/anhang.pdf", "presse/a/index.html"):
        (out / rel).unlink()
    (out / "presse/a").rmdir()
    (out / "presse/a").write_text("jetzt eine Datei")
    os.rename(out / "presse/b", tmp_path / "weg")
    write_files(out, {"presse/b/index.html": "<p>", "presse/b/fremd.txt": "fremd"})
    assert brought_up_to_date(out, seen, OURS, ()) == {
        "robots.txt",
        "presse/a",
        "presse/b/fremd.txt",
    }


def test_a_folder_changed_in_the_tick_of_the_look_is_listed_again(tmp_path: Path) -> None:
    # Git's racy clean entries: a folder changed in the same clock tick as its stat may
    # change again without a new change time. As if that had happened: the look's stamp
    # of ``presse/b`` is its change time after the new file came. A folder changed that
    # shortly before the look counts as changed, whatever its stat says.
    out = _folder(tmp_path)
    seen = look(list_tree(out), OURS, ())
    write_files(out, {"presse/b/neu.txt": "neu"})
    at = seen["folders"].index("presse/b")
    seen["stamps"][2 * at + 1] = os.lstat(out / "presse/b").st_ctime_ns
    assert "presse/b/neu.txt" in brought_up_to_date(out, seen, OURS, ())

"""Pagefind's scratch folders: those of processes that no longer run are pruned, no others
(search/scratch.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kldigital_site.search import scratch
from kldigital_site.search.scratch import PREFIX, prune_stale, scratch_folder


@pytest.fixture
def other_process() -> Iterator[subprocess.Popen[bytes]]:
    """A process that runs until the test ends, as another build would."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def _dead_pid() -> int:
    """The id of a process that has ended (and been waited for)."""
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    return done.pid


def _folder(root: Path, name: str) -> Path:
    folder = root / name
    (folder / "fragment").mkdir(parents=True)
    (folder / "fragment" / "de_1.pf_fragment").write_bytes(b"x")
    return folder


def test_only_the_folders_of_ended_processes_go(
    tmp_path: Path, other_process: subprocess.Popen[bytes]
) -> None:
    stale = _folder(tmp_path, f"{PREFIX}{_dead_pid()}-abc123")
    own = _folder(tmp_path, f"{PREFIX}{os.getpid()}-def456")
    running = _folder(tmp_path, f"{PREFIX}{other_process.pid}-ghi789")
    old_form = _folder(tmp_path, f"{PREFIX}k2j4h5l6")  # nothing says who owns it
    unrelated = _folder(tmp_path, f"kldigital-woerter-{_dead_pid()}-x")

    assert prune_stale(str(tmp_path), os.geteuid()) == [stale.name]

    assert not stale.exists()
    for kept in (own, running, old_form, unrelated):
        assert (kept / "fragment" / "de_1.pf_fragment").is_file(), kept.name


def test_a_running_builds_folder_goes_once_it_has_ended(
    tmp_path: Path, other_process: subprocess.Popen[bytes]
) -> None:
    folder = _folder(tmp_path, f"{PREFIX}{other_process.pid}-abc123")
    assert prune_stale(str(tmp_path), os.geteuid()) == []
    other_process.kill()
    other_process.wait()
    assert prune_stale(str(tmp_path), os.geteuid()) == [folder.name]


def test_another_users_folders_and_links_stay(tmp_path: Path) -> None:
    dead = _dead_pid()
    theirs = _folder(tmp_path, f"{PREFIX}{dead}-abc123")
    target = _folder(tmp_path, "elsewhere")
    link = tmp_path / f"{PREFIX}{dead}-def456"
    link.symlink_to(target, target_is_directory=True)

    # Owned by another user as far as the pruning can tell.
    assert prune_stale(str(tmp_path), os.geteuid() + 1) == []
    assert prune_stale(str(tmp_path), os.geteuid()) == [theirs.name]
    assert link.is_symlink()
    assert (target / "fragment" / "de_1.pf_fragment").is_file()


def test_names_that_are_no_process_id_are_left_alone(tmp_path: Path) -> None:
    names = [f"{PREFIX}0-a", f"{PREFIX}-1-a", f"{PREFIX}{1 << 40}-a", f"{PREFIX}١٢-a"]
    for name in names:
        _folder(tmp_path, name)
    assert prune_stale(str(tmp_path), os.geteuid()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)


def test_the_first_scratch_folder_of_a_process_prunes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scratch, "ROOT", str(tmp_path))
    monkeypatch.setattr(scratch, "_pruned_in", -1)
    stale = _folder(tmp_path, f"{PREFIX}{_dead_pid()}-abc123")

    with scratch_folder() as first:
        assert Path(first).parent == tmp_path
        assert Path(first).name.startswith(f"{PREFIX}{os.getpid()}-")
        assert not stale.exists()
        # Only the first: later bundles of the same process do not look again.
        again = _folder(tmp_path, f"{PREFIX}{_dead_pid()}-def456")
        with scratch_folder() as second:
            assert second != first
            assert again.exists()
    assert not Path(first).exists()

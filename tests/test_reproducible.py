"""Issue 7: reproducible output. Same sources, same site: byte for byte.

Two copies of the full fixture site — one copied in order, one written file by
file in reverse order with modification times scattered over years — are built
in separate processes that differ in everything that must not matter: the day
(SOURCE_DATE_EPOCH, both before the next embargo ends), hash seed, time zone,
locale, umask, number of jobs, folder names (one with a space) and a cold or
warm cache. Every file of output/ must be identical: the tool's own bookkeeping
(sizes and times of the local files) lives in .kldigital-cache/, never in
output/. SOURCE_DATE_EPOCH must really be the clock, and ``--now`` must win
over it.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from kldigital_site.build import build
from kldigital_site.config import load_config
from tests.conftest import FIXTURES, TEMPLATES, copy_fixture_site

# The full fixture's next embargo ends on 2027-01-15; these days both lie before it.
DAY_ONE = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
DAY_TWO = dt.datetime(2026, 12, 20, 23, 30, tzinfo=dt.UTC)
AFTER_EMBARGO = dt.datetime(2027, 2, 1, 12, 0, tzinfo=dt.UTC)


def _copy_in_reverse(source: Path, target: Path, seed: int = 5) -> None:
    """The same files, created in the opposite order, with scattered times."""
    rng = random.Random(seed)
    paths = sorted(source.rglob("*"), key=lambda p: p.as_posix(), reverse=True)
    for path in paths:
        if path.is_dir():
            (target / path.relative_to(source)).mkdir(parents=True, exist_ok=True)
    for path in paths:
        if path.is_file():
            copy = target / path.relative_to(source)
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(path.read_bytes())
            moment = rng.uniform(1e9, 1.8e9)  # 2001 … 2027
            os.utime(copy, (moment, moment))


def _tree(out: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() or p.is_symlink()
    }


def _build(root: Path, out: Path, env: dict[str, str], *extra: str, umask: int = 0o022) -> None:
    command = [sys.executable, "-m", "kldigital_site", "build", "--templates", str(TEMPLATES)]
    done = subprocess.run(
        [*command, "--output", str(out), *extra],
        cwd=root,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), **env},
        capture_output=True,
        text=True,
        timeout=300,
        umask=umask,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def _epoch(moment: dt.datetime) -> str:
    return str(int(moment.timestamp()))


def _locale(preferred: str) -> str:
    available = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout.split()
    normalised = {name.lower().replace("-", "") for name in available}
    return preferred if preferred.lower().replace("-", "") in normalised else "C.UTF-8"


def test_two_builds_on_different_days_machines_and_orders_are_identical(
    tmp_path: Path,
) -> None:
    first_root = copy_fixture_site("full", tmp_path / "a" / "site")
    second_root = tmp_path / "zweiter ordner" / "site"
    _copy_in_reverse(FIXTURES / "sites" / "full", second_root)
    first_out, second_out = tmp_path / "out1", tmp_path / "ausgabe 2"
    _build(
        first_root,
        first_out,
        {
            "SOURCE_DATE_EPOCH": _epoch(DAY_ONE),
            "PYTHONHASHSEED": "0",
            "TZ": "UTC",
            "LC_ALL": "C.UTF-8",
        },
        "--jobs",
        "1",
    )
    second_env = {
        "SOURCE_DATE_EPOCH": _epoch(DAY_TWO),
        "PYTHONHASHSEED": "4242",
        "TZ": "Pacific/Kiritimati",  # UTC+14: already the next day
        "LC_ALL": _locale("de_DE.utf8"),
    }
    _build(second_root, second_out, second_env, "--jobs", "2", "--no-cache", umask=0o077)
    first, second = _tree(first_out), _tree(second_out)
    assert len(first) > 50
    assert sorted(first) == sorted(second)
    differing = [rel for rel in first if first[rel] != second[rel]]
    assert not differing, f"differ: {differing[:10]}"
    for data in first.values():
        assert str(tmp_path).encode() not in data, "no local path in the output"

    # Warm cache after every source file was touched: still the same bytes.
    for path in (second_root / "content").rglob("*"):
        if path.is_file():
            os.utime(path)
    _build(second_root, second_out, second_env, "--jobs", "2")
    assert _tree(second_out) == first


def test_the_api_clock_changes_nothing_but_publication(tmp_path: Path) -> None:
    root = copy_fixture_site("full", tmp_path / "site")
    trees = []
    for number, now in enumerate((DAY_ONE, DAY_TWO, AFTER_EMBARGO)):
        out = tmp_path / f"out{number}"
        config = load_config(root / "content", TEMPLATES, out)
        build(config, now=now, use_cache=False)
        trees.append(_tree(out))
    assert trees[0] == trees[1]
    page = "presse/sperrfrist-januar/index.html"
    assert page in trees[2] and page not in trees[0], "after the embargo it is published"


@pytest.mark.parametrize(
    ("epoch", "now", "published"),
    [
        (DAY_ONE, None, False),
        (AFTER_EMBARGO, None, True),
        (AFTER_EMBARGO, "2026-11-26", False),  # --now wins
        (DAY_ONE, "2027-02-01", True),
    ],
)
def test_source_date_epoch_is_the_clock_and_now_wins(
    tmp_path: Path, epoch: dt.datetime, now: str | None, published: bool
) -> None:
    root = copy_fixture_site("full", tmp_path / "site")
    out = tmp_path / "out"
    extra = ("--now", now) if now else ()
    _build(root, out, {"SOURCE_DATE_EPOCH": _epoch(epoch)}, *extra)
    released = sorted(p.parent.name for p in (out / "presse").glob("*/index.html"))
    assert ("sperrfrist-januar" in released) is published, released


@pytest.mark.parametrize("value", ["gestern", "1.5", "99999999999999999999"])
def test_a_malformed_source_date_epoch_is_a_usage_error(tmp_path: Path, value: str) -> None:
    root = copy_fixture_site("minimal", tmp_path / "site")
    done = subprocess.run(
        [sys.executable, "-m", "kldigital_site", "build", "--templates", str(TEMPLATES)],
        cwd=root,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "SOURCE_DATE_EPOCH": value},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "SOURCE_DATE_EPOCH" in done.stderr
    assert not (root / "output").exists()


def test_no_build_time_anywhere(tmp_path: Path) -> None:
    # Whatever the clock, no trace of it: the feed's <updated> is the newest release.
    root = copy_fixture_site("full", tmp_path / "site")
    out = tmp_path / "out"
    _build(root, out, {"SOURCE_DATE_EPOCH": _epoch(DAY_TWO)})
    for rel, data in _tree(out).items():
        for stamp in ("2026-12-20", "20.12.2026", "20. Dezember 2026"):
            assert stamp.encode() not in data, f"{rel} mentions the build day"

"""``make bench``'s CPU time: taken for every process of a command, even one it left
running, and shown beside the wall time (bench/run.py, bench/serve_latency.py,
bench/report.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

from bench.report import PREVIEW, Figures, write_results
from bench.roles import ROLES, CpuRoles
from bench.run import measure_command, profile_build
from bench.serve_latency import tree_cpu

from kldigital_site.forked import Forked
from tests.conftest import TEMPLATES, copy_fixture_site

# Spends ``seconds`` of CPU time, then exits.
_BURN = "import time\nt = time.process_time()\nwhile time.process_time() - t < {seconds}: pass\n"


def test_the_cpu_time_of_a_process_left_running_is_counted(tmp_path: Path) -> None:
    # The command starts a child that burns 0.4 s of CPU and exits before it: the
    # child is nobody's to wait for but the probe's (a subreaper).
    command = textwrap.dedent(
        f"""
        import subprocess, sys
        subprocess.Popen([sys.executable, "-c", {_BURN.format(seconds=0.4)!r}])
        """
    )
    measured, _ = measure_command([sys.executable, "-c", command], tmp_path)
    assert measured.left_running == 1
    assert measured.cpu >= 0.4
    assert measured.wall < 0.4 + 1.0  # the command itself did not wait


def test_the_cpu_time_of_a_process_tree_includes_ended_children() -> None:
    script = textwrap.dedent(
        f"""
        import subprocess, sys, time
        subprocess.run([sys.executable, "-c", {_BURN.format(seconds=0.3)!r}])  # waited for
        running = subprocess.Popen([sys.executable, "-c", {_BURN.format(seconds=0.3)!r}])
        running.wait()
        print("done", flush=True)
        time.sleep(30)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == b"done\n"
        cpu = tree_cpu(process.pid)
        assert cpu is not None and 0.6 <= cpu < 0.6 + 2.0
    finally:
        process.kill()
        process.wait()
    time.sleep(0.05)
    assert tree_cpu(process.pid) is None


def test_the_report_shows_cpu_beside_wall_time(tmp_path: Path) -> None:
    figures = Figures(1000, floor=1.0, floor_cpu=1.8)
    figures.times = {"kalt": 6.4, "Text geändert": 1.6, PREVIEW: 0.08}
    figures.cpu = {"kalt": 10.6, "Text geändert": 1.45}  # the preview's could not be read
    figures.walls = {"floor": [1.0, 0.9, 1.2], "Text geändert": [1.55, 1.6, 2.31, 1.62]}
    figures.profiles["kalt"] = {"total": 5.8, "cpu": 10.7}
    text = write_results([figures], 2, tmp_path / "RESULTS.md")

    lines = text.splitlines()
    head_line = "| items | figure | seconds | runs | CPU-s | × floor | target | |"
    assert head_line in lines
    assert "| 1000 | floor (Markdown only) | 1.00 | 3: 0.90–1.20 | 1.80 | 1.00 | | |" in lines
    assert (
        "| 1000 | kalt | 6.40 | – | 10.60 | 6.40 | ≤ 2.0× floor (2.00 s) | **verfehlt** |" in lines
    )
    # How many runs the median is of, and how far they lay apart.
    assert (
        "| 1000 | Text geändert | 1.60 | 4: 1.55–2.31 | 1.45 | 1.60 | ≤ 1.5 s | **verfehlt** |"
        in lines
    )
    assert f"| 1000 | {PREVIEW} | 0.08 | – | – | 0.08 | ≤ 0.3 s | erreicht |" in lines
    assert "### 1000 · kalt: 6.40 s (10.60 CPU-s), Ziel ≤ 2.0× floor (2.00 s)" in lines
    # Every row of the table has as many cells as its head.
    head = lines.index(head_line)
    table = lines[head : lines.index("", head)]
    assert len(table) == 7  # head, rule, floor, three figures, peak memory
    assert all(line.count("|") == 9 for line in table)


def test_the_profile_of_a_build_splits_its_cpu_time_by_role(tmp_path: Path) -> None:
    # What bounds an edit build (bench/roles.py): the probe of a missed figure counts its
    # main thread, the tree checker, the search head start's reader and Pagefind apart.
    root = copy_fixture_site("full", tmp_path / "site")
    out = tmp_path / "out"
    first = profile_build(root, TEMPLATES, out, 2)
    assert first["cpu_pagefind"] > 0, "a first build indexes every shard"
    release = sorted((root / "content/presse").glob("*.md"))[0]
    release.write_text(release.read_text(encoding="utf-8") + "\nNachtrag.\n", "utf-8")
    edit = profile_build(root, TEMPLATES, out, 2)
    assert edit["cpu_main_thread"] > 0
    # Built as the command line builds, with the collector off (cli.py).
    assert first["gc_collections"] == edit["gc_collections"] == 0
    for profile in (first, edit):
        assert all(profile[role] >= 0 for role in ROLES)
        by_role = sum(profile[role] for role in ROLES)
        assert abs(by_role - (profile["cpu_main"] + profile["cpu_children"])) < 0.05


def test_a_forked_childs_cpu_time_counts_for_its_role() -> None:
    # The fixture's children take less than a clock tick; this one takes 0.2 s.
    roles = CpuRoles()
    start, close = Forked.__dict__["start"], Forked.__dict__["close"]
    try:
        roles.install()

        def _check_trees() -> Iterator[object]:
            exec(_BURN.format(seconds=0.2))
            yield "fertig"

        child = Forked.start(_check_trees, nice=1)
        assert child is not None
        assert child.part() == ("fertig",)
        child.close()
    finally:
        Forked.start, Forked.close = start, close
    assert 0.15 <= roles.seconds["cpu_tree_check"] < 1.0
    assert roles.seconds["cpu_search_marking"] == 0

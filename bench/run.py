"""``make bench``: how fast the build is at 1,000 and 10,000 items, against a floor.

For each corpus size (bench/corpus.py, deterministic) it measures, as the
median of several runs, each in a fresh process: a cold build (no output, no
cache), a rebuild with nothing changed, a rebuild after editing one release's
body, after changing one release's title and after changing the base
template; and the peak memory of each build's main process and of its largest
other process (a worker or Pagefind), per kind of build. Then, in the
running preview server, the time from saving a release to the open tab being
told to reload, and the time the preview takes to start again when nothing
changed since it last built (bench/serve_latency.py; the server's own peak
memory after its first build and over the saves, resident state included,
counts towards the peak). In the same run
it measures the floor: rendering every Markdown body with plain
Python-Markdown over the same number of processes. It prints each figure's
ratio to the floor and writes a Markdown table to bench/RESULTS.md.

Every timed figure also has its CPU time (user+sys), the median of the same
runs: of the build and every process it started (workers, forked children,
Pagefind), taken one way for all (``_MEASURE``: the rusage of a probe's
waited-for children); of the floor's processes; of the preview server and its
processes (bench/serve_latency.py reads it from /proc). The wall time decides
a target; the CPU time, which leaves out waiting for a core while others run,
shows whether the code or the machine moved (bench/report.py says more).

    python bench/run.py --items 1000 --items 10000 --runs 3
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import Pool
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from bench.corpus import generate  # noqa: E402
from bench.report import FLOOR, PREVIEW, PREVIEW_START, Figures, write_results  # noqa: E402
from bench.serve_latency import run_measurement as measure_preview  # noqa: E402


def _render_one(body: str) -> int:
    import markdown

    return len(markdown.markdown(body))


def _bodies(content: Path) -> list[str]:
    bodies = []
    for path in sorted(content.glob("*/*.md")):
        text = path.read_text(encoding="utf-8")
        bodies.append(text.split("\n---\n", 1)[1] if text.startswith("---\n") else text)
    return bodies


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def measure_floor(content: Path, jobs: int) -> tuple[float, float]:
    """Wall and CPU seconds of the floor (the pool's workers are waited for as it closes,
    so their CPU time is this process's children's by then)."""
    bodies = _bodies(content)
    started = time.perf_counter()
    cpu_before = _cpu_seconds(resource.RUSAGE_SELF) + _cpu_seconds(resource.RUSAGE_CHILDREN)
    with Pool(jobs) as pool:
        pool.map(_render_one, bodies, chunksize=64)
    wall = time.perf_counter() - started
    cpu = _cpu_seconds(resource.RUSAGE_SELF) + _cpu_seconds(resource.RUSAGE_CHILDREN)
    return wall, cpu - cpu_before


# Runs the command line in this process and, as it exits, writes its own peak RSS and
# the largest of its waited-for children (workers, Pagefind) to the file named by
# KLDIGITAL_BENCH_PEAK: the report names which process had the peak (issue 15).
_PEAK_WRAPPER = textwrap.dedent(
    """
    import atexit, os, resource, runpy, sys
    def _peak():
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        with open(os.environ["KLDIGITAL_BENCH_PEAK"], "w") as out:
            out.write(f"{own} {children}")
    atexit.register(_peak)
    sys.argv[0] = "kldigital_site"
    runpy.run_module("kldigital_site", run_name="__main__", alter_sys=True)
    """
)


# Runs a command (the rest of its arguments) and writes, as JSON to the file named by its
# first, the command's wall time, and the CPU time (user+sys) and largest peak RSS of it
# and all its descendants. Both come from this probe's rusage of its waited-for children:
# a process is counted once its parent has waited for it, and this probe waits for the
# command. As a subreaper (Linux) it also adopts and waits for any process the command
# left running, so that its CPU time is not lost with it (none should be left).
_MEASURE = textwrap.dedent(
    """
    import ctypes, json, os, resource, subprocess, sys, time
    PR_SET_CHILD_SUBREAPER = 36
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    started = time.perf_counter()
    done = subprocess.run(sys.argv[2:], stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    left = 0
    deadline = time.monotonic() + 30.0
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            time.sleep(0.01)
        else:
            left += 1
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(sys.argv[1], "w") as out:
        json.dump({
            "wall": elapsed,
            "cpu": usage.ru_utime + usage.ru_stime,
            "peak_kb": usage.ru_maxrss,
            "left_running": left,
        }, out)
    if done.returncode != 0:
        sys.stderr.write(done.stderr.decode()[-2000:])
        sys.exit(done.returncode)
    """
)


@dataclass(frozen=True, slots=True)
class Measured:
    """One run of a command under ``_MEASURE``: wall and CPU seconds, peak RSS (KB) of
    its largest process, and how many processes it left running (adopted and waited for)."""

    wall: float
    cpu: float
    peak_kb: int
    left_running: int


def measure_command(
    command: list[str], cwd: Path, env: dict[str, str] | None = None
) -> tuple[Measured, str]:
    """Run ``command`` under ``_MEASURE``; its measurement and its standard output."""
    with tempfile.TemporaryDirectory(prefix="kldigital-bench-") as scratch:
        report = Path(scratch) / "measured"
        done = subprocess.run(
            [sys.executable, "-c", _MEASURE, str(report), *command],
            capture_output=True,
            text=True,
            check=True,
            cwd=cwd,
            env=env,
        )
        measured = Measured(**json.loads(report.read_text(encoding="utf-8")))
    if measured.left_running:
        print(f"   ({measured.left_running} Prozess(e) nach dem Build noch gelaufen)", flush=True)
    return measured, done.stdout


@dataclass(frozen=True, slots=True)
class Peak:
    """Peak RSS (MB) of one build: its main process, and the largest other process of it
    (a worker or Pagefind)."""

    main: float
    others: float


@dataclass(frozen=True, slots=True)
class Run:
    """One timed build: wall and CPU seconds (all its processes), and its peak memory."""

    wall: float
    cpu: float
    peak: Peak


def run_build(site: Path, templates: Path, output: Path, jobs: int) -> Run:
    """Wall time, CPU time and peak RSS of one build in a fresh process."""
    command = [
        sys.executable,
        "-c",
        _PEAK_WRAPPER,
        "build",
        "--content",
        str(site / "content"),
        "--templates",
        str(templates),
        "--output",
        str(output),
        "--jobs",
        str(jobs),
    ]
    with tempfile.TemporaryDirectory(prefix="kldigital-bench-") as scratch:
        report = Path(scratch) / "peak"
        env = {**os.environ, "KLDIGITAL_BENCH_PEAK": str(report)}
        measured, _ = measure_command(command, site, env)
        own_kb, children_kb = (int(n) for n in report.read_text(encoding="utf-8").split())
    # The largest of all (the probe's children) bounds the others too: a process the
    # main one did not wait for (none should be left) is counted there.
    others_kb = max(children_kb, measured.peak_kb) if measured.peak_kb > own_kb else children_kb
    return Run(measured.wall, measured.cpu, Peak(own_kb / 1024, others_kb / 1024))


_PROFILE_PROBE = textwrap.dedent(
    """
    import time
    started = time.perf_counter()
    import datetime as dt, gc, json, resource, sys
    from pathlib import Path
    from kldigital_site.build import build
    from kldigital_site.cli import _few_collections
    from kldigital_site.config import load_config
    imported = time.perf_counter()
    content, templates, output, jobs, repo = sys.argv[1:]
    sys.path.insert(0, repo)
    from bench.roles import CpuRoles
    roles = CpuRoles()
    roles.install()
    config = load_config(Path(content), Path(templates), Path(output))
    collections = sum(generation["collections"] for generation in gc.get_stats())
    # As the command line builds (cli.py): without it, the collector walked the 10,000
    # documents again and again, ~640 times in a body edit (+0.23 s, +0.46 CPU-s).
    with _few_collections():
        result = build(config, now=dt.datetime.now(dt.timezone.utc), jobs=int(jobs))
    collections = sum(generation["collections"] for generation in gc.get_stats()) - collections
    done = time.perf_counter()
    main = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({
        "imports": imported - started,
        **result.timings,
        "total": done - imported,
        "cpu_main": main.ru_utime + main.ru_stime,
        "cpu_children": children.ru_utime + children.ru_stime,
        **roles.result(),
        "gc_collections": collections,
    }))
    """
)


def profile_build(site: Path, templates: Path, output: Path, jobs: int) -> dict[str, float]:
    """Stage timings and CPU time of one build in a fresh process (as the command line
    does): the split between the main process and the others from within, the whole
    as for every timed figure (``measure_command``)."""
    command = [
        sys.executable,
        "-c",
        _PROFILE_PROBE,
        str(site / "content"),
        str(templates),
        str(output),
        str(jobs),
        str(REPO),
    ]
    measured, stdout = measure_command(command, site)
    profile: dict[str, float] = json.loads(stdout.strip().splitlines()[-1])
    profile["cpu"] = measured.cpu
    return profile


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# Profiled runs of a missed figure other than the cold build, of which the median is shown.
PROFILE_RUNS = 3
# Runs of the figures an editor waits for all day, a second or two each. Their median of
# three moved by up to 0.3 s from one whole run to the next at 10,000 items (a title
# change: 1.60 s, then 1.91 s, with a change between that was faster in an alternating
# comparison): from one side of a target to the other. The runs' range is reported too.
EDIT_RUNS = 7


# Where the trees of cold runs wait until the last figure is measured (``set_aside``).
SET_ASIDE = "beiseite"


def set_aside(tree: Path, workdir: Path) -> None:
    """Move ``tree`` out of the way of the next build; ``main`` deletes it at the end.

    Deleted at once, it would slow the cold build that follows on some machines, this
    benchmark's own among them: on ext4 without a journal the kernel passes over the
    inodes deleted in the last few minutes (``find_inode_bit`` → ``recently_deleted``)
    one by one each time it allocates a new one. Creating 67,000 small files took 33 to
    50 s of kernel time in four of six tries within minutes of deleting as many, 2.6 to
    6 s in a fresh folder; profiled (``perf``), a cold build of 10,000 items right after
    ``rm -rf`` of the last one's output spent a fifth of all its CPU samples there. That
    measures the file system, not the tool; CI builds in a fresh clone.
    """
    if tree.exists():
        folder = workdir / SET_ASIDE
        folder.mkdir(exist_ok=True)
        tree.rename(folder / f"{time.monotonic_ns()}-{tree.name}")


def settle() -> None:
    """Let the kernel write out what earlier builds left it to write, before a timed one.

    A cold build of 10,000 items writes ~800 MB that the kernel writes out over the
    next minute, and the edit figures are timed right after three of them. Alternating
    on the 10,000-item corpus, each time right after a cold build with 0.4–0.7 GB still
    to write: a body edit took 1.70 s (median of 6), after ``sync`` 1.59 s. In one
    whole run the body edits timed there took 2.13 s (3.65 CPU-s) and the same edit
    profiled minutes later 1.69 s (3.20 CPU-s); the next run, with this, 1.56 s (2.72
    CPU-s). The machine varies too, so that is no measure of this alone. An editor's
    build does not follow three cold builds: each figure measures its build alone.
    Not timed; the build's own writes are left to the kernel, as in use.
    """
    os.sync()


def bench_size(items: int, runs: int, jobs: int, workdir: Path) -> Figures:
    site = workdir / f"site-{items}"
    print(f"== {items} Einträge: Korpus erzeugen …", flush=True)
    generate(items, site)
    templates = workdir / f"templates-{items}"
    shutil.rmtree(templates, ignore_errors=True)
    shutil.copytree(REPO / "templates", templates)
    output = workdir / f"output-{items}"
    figures = Figures(items)

    floors = [measure_floor(site / "content", jobs) for _ in range(runs)]
    figures.walls[FLOOR] = [wall for wall, _ in floors]
    figures.floor = statistics.median(wall for wall, _ in floors)
    figures.floor_cpu = statistics.median(cpu for _, cpu in floors)
    print(
        f"   Untergrenze (nur Markdown, {jobs} Prozesse): {figures.floor:.2f} s, "
        f"{figures.floor_cpu:.2f} CPU-s",
        flush=True,
    )

    preparations: dict[str, Callable[[int], None]] = {}

    def timed(name: str, prepare: list[Callable[[int], None]], count: int) -> None:
        preparations[name] = prepare[0]
        runs_of_it = []
        for i in range(count):
            prepare[0](i)
            settle()
            run = run_build(site, templates, output, jobs)
            runs_of_it.append(run)
            figures.note_memory(name, run.peak.main, run.peak.others)
        figures.walls[name] = [run.wall for run in runs_of_it]
        figures.times[name] = statistics.median(run.wall for run in runs_of_it)
        figures.cpu[name] = statistics.median(run.cpu for run in runs_of_it)
        print(f"   {name}: {figures.times[name]:.2f} s, {figures.cpu[name]:.2f} CPU-s", flush=True)

    def cold(_: int) -> None:
        set_aside(output, workdir)
        set_aside(site / ".kldigital-cache", workdir)

    releases = sorted((site / "content" / "presse").glob("*.md"))

    def body_edit(i: int) -> None:
        path = releases[(i * 7919) % len(releases)]
        path.write_text(path.read_text(encoding="utf-8") + f"\nNachtrag {i}.\n", encoding="utf-8")

    def title_edit(i: int) -> None:
        path = releases[(i * 104729) % len(releases)]
        _edit(path, 'title: "', f'title: "Geändert {i} ')

    def template_edit(i: int) -> None:
        _edit(templates / "base.html", "</body>", f"<!-- bench {i} -->\n</body>")

    timed("kalt", [cold], runs)
    # Right after a cold build the staging folder does not exist yet, so the first
    # change links the whole tree into it once; every later build touches only what
    # changed. Reported on its own so that the steady-state figures below are the
    # ones an editor sees all day.
    timed("erste Änderung nach kaltem Build", [lambda i: body_edit(100 + i)], 1)
    timed("unverändert", [lambda i: None], max(runs, EDIT_RUNS))
    timed("Text geändert", [body_edit], max(runs, EDIT_RUNS))
    timed("Titel geändert", [title_edit], max(runs, EDIT_RUNS))
    timed("Basis-Template geändert", [template_edit], runs)
    # What an editor waits for in the preview: save → the open tab reloads
    # (bench/serve_latency.py; the server keeps running between saves).
    preview = measure_preview(items, max(runs, 3), jobs, workdir)
    figures.times[PREVIEW] = preview.median
    figures.walls[PREVIEW] = list(preview.samples)
    if preview.cpu_median is not None:
        figures.cpu[PREVIEW] = preview.cpu_median
    print(
        f"   {PREVIEW}: {figures.times[PREVIEW]:.2f} s, {_cpu_text(preview.cpu_median)}", flush=True
    )
    # The preview started again after it built the unchanged corpus: a no-op build.
    if preview.restart is not None:
        figures.times[PREVIEW_START] = preview.restart
        figures.walls[PREVIEW_START] = [preview.restart]
        if preview.restart_cpu is not None:
            figures.cpu[PREVIEW_START] = preview.restart_cpu
        print(
            f"   {PREVIEW_START}: {preview.restart:.2f} s, {_cpu_text(preview.restart_cpu)}",
            flush=True,
        )
    # The server process with its resident state counts like any build process: after
    # its first build, and at its highest over the saves and search index builds.
    figures.server_memory = (preview.start_rss_mb or 0.0, preview.peak_rss_mb or 0.0)
    where, peak = figures.largest_memory()
    print(f"   Spitzenspeicher (größter Prozess): {peak:.0f} MB, {where}", flush=True)
    # Why a figure missed its target: one more build of it, with stage timings.
    for n, name in enumerate(figures.missed()):
        prepare = preparations.get(name)
        if prepare is None:
            continue  # not a build (the preview): bench/serve_latency.py has its own log
        if name == "kalt":
            prepare(1000 + n)
            settle()
            figures.profiles[name] = profile_build(site, templates, output, jobs)
        else:
            # The state the figure was measured in: a warm cache and output, and a
            # staging folder an edit has brought up — a no-op after the cold profile
            # leaves none, and the edit profiled would be the first after a cold build.
            prepare(2000 + n)
            run_build(site, templates, output, jobs)
            # The median of three by wall time: one run of a 1.5 s build may be one
            # that the machine slowed down.
            runs = []
            for attempt in range(PROFILE_RUNS):
                prepare(1000 + 10 * n + attempt)
                settle()
                runs.append(profile_build(site, templates, output, jobs))
            runs.sort(key=lambda profile: profile["total"])
            figures.profiles[name] = runs[len(runs) // 2]
        stages = ", ".join(f"{k} {v:.2f}" for k, v in figures.profiles[name].items())
        print(f"   Profil {name}: {stages}", flush=True)
    return figures


def _cpu_text(seconds: float | None) -> str:
    return "CPU-Zeit unbekannt" if seconds is None else f"{seconds:.2f} CPU-s"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, action="append", help="corpus size (repeatable)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--workdir", type=Path, default=HERE / "work")
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args()
    sizes = args.items or [1000, 10000]
    args.workdir.mkdir(parents=True, exist_ok=True)
    # pip compiles every installed package to bytecode, but not an editable install;
    # without this, and with PYTHONDONTWRITEBYTECODE set (as on CI machines), every
    # measured build would first compile the tool's own source (~0.2 s).
    compileall.compile_dir(REPO / "src", quiet=1)
    # Left by a run that was stopped; deleted now, before anything is measured.
    shutil.rmtree(args.workdir / SET_ASIDE, ignore_errors=True)
    figures = [bench_size(n, args.runs, args.jobs, args.workdir) for n in sorted(sizes)]
    shutil.rmtree(args.workdir / SET_ASIDE, ignore_errors=True)
    print()
    print(write_results(figures, args.jobs, args.results))
    print(
        json.dumps(
            {
                f.items: {
                    "floor": f.floor,
                    **f.times,
                    "floor_cpu": f.floor_cpu,
                    "cpu": f.cpu,
                    "memory_mb": f.memory_mb,
                    "memory_by_build_mb": f.memory,
                    "server_memory_mb": f.server_memory,
                }
                for f in figures
            }
        )
    )


if __name__ == "__main__":
    main()

"""``make bench``: what the search index adds to a cold build of the sample site.

Issue 5 allows the Pagefind index at most 10 % of a cold build. This builds
the sample site (content/) cold — empty output folder, no cache, a fresh
process each time, as `make build` on a fresh checkout — alternately with the
index and with the indexer replaced by a no-op, and reports both, the
difference, and Pagefind's own share as the build measures it
(``BuildResult.timings["search"]``). Runs alternate so that a busy machine
slows both alike; the minimum is the least disturbed figure, the median the
typical one.

It also reports where the index's CPU time goes: in the Pagefind processes
(read from ``/proc/<pid>/stat`` just before each ends) and in the build's
indexer threads (extract, compound marks, protocol, canonical form), each
also per indexed page. ``--items N`` measures the benchmark corpus
(bench/corpus.py) of N items instead of the sample site (issue 15).

    python bench/search_overhead.py --runs 15
    python bench/search_overhead.py --items 1000 --runs 3 --jobs 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from bench.corpus import generate  # noqa: E402

LIMIT = 0.10

# One cold build in a fresh process; prints the search stage's time and CPU times.
_PROBE = textwrap.dedent(
    """
    import datetime as dt, json, os, resource, sys, time
    from pathlib import Path
    from kldigital_site.search import client
    from kldigital_site.search import indexer as search
    from kldigital_site.build import build
    from kldigital_site.config import load_config
    pagefind_cpu, thread_cpu, pages = [], [], []
    def process_cpu(pid):  # utime + stime of a process that has not ended yet
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    close = client.PagefindProcess.close
    def measured_close(self):
        if self._service is not None:
            pagefind_cpu.append(process_cpu(self._service.pid))
        close(self)
    client.PagefindProcess.close = measured_close
    work = search.SearchIndexer._work
    def measured_work(self, queue):  # each thread that drives a Pagefind process
        started = time.thread_time()
        try:
            work(self, queue)
        finally:
            thread_cpu.append(time.thread_time() - started)
    search.SearchIndexer._work = measured_work
    seal = search.SearchIndexer.seal
    def counted_seal(self):
        if self._thread is None:
            pages.append(len(self._seen))
        seal(self)
    search.SearchIndexer.seal = counted_seal
    class NoIndex:  # the same build without a search index
        indexed = ()
        def __init__(self, *args, **kwargs): pass
        def indexes(self, path): return False
        def expect(self, *args): return False
        def add(self, *args): pass
        def seal(self): pass
        def finish(self, *args): return []
        def abort(self): pass
    if sys.argv[1] == "without":
        search.SearchIndexer = NoIndex
    site = Path(sys.argv[2])
    config = load_config(site / "content", Path(sys.argv[3]), site / "output")
    result = build(config, now=dt.datetime.now(dt.UTC), jobs=int(sys.argv[4]) or None)
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    child_cpu = children.ru_utime + children.ru_stime
    print(json.dumps({"search": result.timings.get("search", 0.0), "child_cpu": child_cpu,
                      "cpu": me.ru_utime + me.ru_stime + child_cpu,
                      "pagefind_cpu": sum(pagefind_cpu), "thread_cpu": sum(thread_cpu),
                      "pages": sum(pages)}))
    """
)


def _cold(site: Path, mode: str, jobs: int) -> dict[str, float]:
    shutil.rmtree(site / "output", ignore_errors=True)
    shutil.rmtree(site / ".kldigital-cache", ignore_errors=True)
    shutil.rmtree(site / ".output.kldigital-staging", ignore_errors=True)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, mode, str(site), str(REPO / "templates"), str(jobs)],
        capture_output=True,
        text=True,
        check=False,
        cwd=site,
    )
    if done.returncode != 0:
        sys.exit(f"search_overhead: the {mode} build failed:\n{done.stderr[-3000:]}")
    wall = time.perf_counter() - started  # what a user waits for, interpreter start included
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return {"wall": wall, **figures}


def measure(runs: int, items: int, jobs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="kldigital-search-bench-") as work:
        site = Path(work) / "site"
        if items:
            generate(items, site)
        else:
            shutil.copytree(REPO / "content", site / "content")
        _cold(site, "with", jobs)  # warm the OS file cache once, not counted
        with_index, without, stage, child_cpu = [], [], [], []
        own: dict[str, list[float]] = {"pagefind_cpu": [], "thread_cpu": [], "pages": []}
        cpu: dict[str, list[float]] = {"with": [], "without": []}
        for _ in range(runs):
            for mode in ("with", "without"):
                figures = _cold(site, mode, jobs)
                (with_index if mode == "with" else without).append(figures["wall"])
                cpu[mode].append(figures["cpu"])
                if mode == "with":
                    stage.append(figures["search"])
                    child_cpu.append(figures["child_cpu"])
                    for name, values in own.items():
                        values.append(figures[name])
    return {
        "with_min": min(with_index),
        "with_median": statistics.median(with_index),
        "without_min": min(without),
        "without_median": statistics.median(without),
        "search_min": min(stage),
        "search_median": statistics.median(stage),
        "child_cpu_median": statistics.median(child_cpu),
        **{f"{name}_median": statistics.median(values) for name, values in own.items()},
        "cpu_with_median": statistics.median(cpu["with"]),
        "cpu_without_median": statistics.median(cpu["without"]),
        "load": os.getloadavg()[0],
    }


def report(figures: dict[str, float], runs: int, items: int, jobs: int) -> str:
    overhead_min = figures["with_min"] / figures["without_min"] - 1
    overhead_median = figures["with_median"] / figures["without_median"] - 1
    share = figures["search_median"] / figures["without_median"]
    cpu_overhead = figures["cpu_with_median"] / figures["cpu_without_median"] - 1
    verdict = "innerhalb" if overhead_median <= LIMIT else "ÜBER"
    pages = max(figures["pages_median"], 1)
    corpus = f"des Benchmark-Korpus ({items:,} Einträge)".replace(",", ".")
    site = corpus if items else "der Beispielseite"
    return "\n".join(
        [
            f"# Suchindex: Anteil am kalten Build {site}",
            "",
            f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
            f"--jobs {jobs or 'Standard'}; "
            f"{runs} Läufe je Variante, abwechselnd, jeder in einem neuen Prozess; "
            f"Systemlast danach {figures['load']:.1f}.",
            "",
            "| | Minimum | Median |",
            "|---|---:|---:|",
            f"| kalter Build ohne Index | {figures['without_min']:.3f} s "
            f"| {figures['without_median']:.3f} s |",
            f"| kalter Build mit Index | {figures['with_min']:.3f} s "
            f"| {figures['with_median']:.3f} s |",
            f"| Mehraufwand | {overhead_min:+.1%} | {overhead_median:+.1%} |",
            f"| Warten auf Pagefind nach dem Rendern (Stufe „search“) "
            f"| {figures['search_min']:.3f} s | {figures['search_median']:.3f} s ({share:.1%}) |",
            f"| CPU-Zeit der Pagefind-Prozesse ({figures['pages_median']:.0f} Seiten) | "
            f"| {figures['pagefind_cpu_median']:.3f} s "
            f"({figures['pagefind_cpu_median'] / pages * 1000:.2f} ms je Seite) |",
            f"| CPU-Zeit der Index-Threads im Build (Auszug, Komposita, Protokoll) | "
            f"| {figures['thread_cpu_median']:.3f} s "
            f"({figures['thread_cpu_median'] / pages * 1000:.2f} ms je Seite) |",
            f"| CPU-Zeit aller Kindprozesse (Worker und Pagefind) | "
            f"| {figures['child_cpu_median']:.3f} s |",
            f"| CPU-Zeit des ganzen Builds ohne / mit Index | "
            f"| {figures['cpu_without_median']:.3f} s / {figures['cpu_with_median']:.3f} s "
            f"({cpu_overhead:+.1%}) |",
            "",
            f"Grenze laut Issue 5: {LIMIT:.0%} – der Median liegt {verdict} der Grenze. "
            "Pagefind arbeitet in einem eigenen Prozess, während die Seiten rendern; "
            "auf einem ausgelasteten Rechner (Last ≥ CPUs) fehlt ihm der freie Kern, "
            "dann zählt eher der CPU-Anteil.",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--items", type=int, default=0, help="benchmark corpus size (0: content/)")
    parser.add_argument("--jobs", type=int, default=0, help="build processes (0: the default)")
    parser.add_argument("--results", type=Path, default=None)
    args = parser.parse_args()
    if args.results is None:
        name = f"RESULTS-search-{args.items}.md" if args.items else "RESULTS-search.md"
        args.results = HERE / name
    text = report(measure(args.runs, args.items, args.jobs), args.runs, args.items, args.jobs)
    args.results.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()

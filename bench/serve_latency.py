"""How long an editor waits in ``kldigital-site serve`` from saving a file to the tab reloading.

``bench/run.py`` times builds in fresh processes; an editor using the preview
never sees those. What they see is: save a press release, and some moment
later the browser tab shows the change. That interval is the watcher's
debounce, the incremental rebuild inside the long-running server, and the
long-poll answer that tells the tab to reload. This script measures exactly
that interval, without a browser, on the deterministic corpus of
``bench/corpus.py``:

1. start ``python -m kldigital_site serve`` on the corpus (a subprocess, as an
   editor would) and wait until its first build is served;
2. per run, do what an open tab does: load the release's page, read the build
   version the injected reload script carries (``data-site``), ask the
   long-poll for the current state and leave the next long-poll waiting;
3. append a line to that release's Markdown file, take the time, and wait
   until the long-poll answers with a different site version — the moment the
   real script calls ``location.reload()``;
4. load the page again and check that it contains the new line, so the figure
   belongs to a real rebuild and not to some unrelated one; a run in which
   the server also built someone else's change to the corpus (another
   benchmark, a profiler) is reported as disturbed and repeated;
5. wait until the server is idle again (it re-indexes the search a moment
   after every change) before the next run;
6. put the corpus back as generated, let the server build that, stop it and
   start it again on another port: with nothing changed since, that second
   start must be a no-op build (issue 15: ≤ 2 s at 10,000 items), the figure
   "Vorschau: Start ohne Änderung"; then one more save, which waits for the
   resident state the server fills while idle after such a start. The
   server's memory (peak RSS, resident state included) is read from /proc
   once the first build is served and before each stop.

Beside each time, the CPU time (user+sys) the server and its processes
(render workers, Pagefind) spent in it, read from /proc (``tree_cpu``): from
just before the save to the "reload" answer, and from the second start to its
first page. On a machine others use too, the wall time of a run grows with
their load; the CPU time, which leaves out waiting for a core, far less.

    python bench/serve_latency.py --items 1000 --runs 5

Prints every sample, a German summary line like the rest of ``bench/`` and a
JSON line. ``measure()`` returns the samples for ``bench/run.py``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from bench.corpus import generate  # noqa: E402

from kldigital_site.serve.assets import CALLBACK, POLL_URL, SCRIPT_URL  # noqa: E402

# A cold first build of 10,000 items takes minutes on a small machine.
STARTUP_TIMEOUT = 1800.0
# One save must be visible well within this, or something is broken.
RUN_TIMEOUT = 600.0
# The server answers a long-poll after 25 s at the latest; the client must outlast that.
POLL_SOCKET_TIMEOUT = 60.0
# How long to wait for the deferred search index rebuild after a save.
IDLE_TIMEOUT = 600.0
# After the last build ends: let its worker processes exit and the page cache
# settle, so that one run's leftovers do not slow down the next.
SETTLE = 2.0
# Lets the server park the long-poll in its wait before the file changes, as
# for a tab that has been open for a while.
POLL_HEAD_START = 0.2
STOP_GRACE = 10.0
# Server log lines other than build reports shown per run.
MAX_SHOWN_LINES = 3

_SITE_VERSION = re.compile(rf'<script src="{re.escape(SCRIPT_URL)}" data-site="(-?\d+)"'.encode())
_POLL_ANSWER = re.compile(rf"window\.{re.escape(CALLBACK)}\((.*)\);\s*$", re.DOTALL)
_DATE_PREFIX = re.compile(r"^\d{4}-\d{2}-\d{2}-")
# "[03:20:01] content/presse/x.md (Inhalt): 1.000 Seiten, 3 neu erzeugt, … (0,4 s)."
_BUILD_LINE = re.compile(r"^\[[\d:]+\] (?P<reason>.+?): [\d.]+ Seiten, .*\((?P<s>\d+,\d+) s\)\.$")


@dataclass
class Measurement:
    items: int
    jobs: int
    startup: float = 0.0  # server start until the first page is served
    restart: float | None = None  # the same, again, with nothing changed since
    start_rss_mb: float | None = None  # the server process once its first build is served
    peak_rss_mb: float | None = None  # the server process, over both sessions
    # The first save after the second start: it waits for the resident state to be
    # filled (the server does that while idle), and the memory that takes counts too.
    restart_save: float | None = None
    samples: list[float] = field(default_factory=list)  # save → "reload" answer
    # CPU seconds of the server's processes in each of those runs (None: no /proc)
    cpu_samples: list[float | None] = field(default_factory=list)
    restart_cpu: float | None = None  # the same for the second start, until its first page
    rebuilds: list[float | None] = field(default_factory=list)  # the server's own figure
    index_rebuilds: list[float | None] = field(default_factory=list)  # deferred "Suchindex"
    disturbed: list[float] = field(default_factory=list)  # other changes built in between

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def cpu_median(self) -> float | None:
        """The median CPU time of the runs in ``samples`` (None if one could not be read)."""
        known = [cpu for cpu in self.cpu_samples if cpu is not None]
        if not known or len(known) < len(self.samples):
            return None
        return statistics.median(known)


# --- the corpus ------------------------------------------------------------------------


def _sync_tree(source: Path, target: Path) -> None:
    """Make ``target`` hold exactly the files of ``source``, rewriting only what differs.

    Unchanged files keep their mtime, and the caches next to ``target`` survive;
    replacing the folder wholesale would make the server's first build cold.
    """
    wanted = {p.relative_to(source) for p in source.rglob("*") if p.is_file()}
    if target.exists():
        for path in sorted(target.rglob("*"), reverse=True):  # children before their folder
            rel = path.relative_to(target)
            if path.is_file() and rel not in wanted:
                path.unlink()
            elif path.is_dir() and not any(w.is_relative_to(rel) for w in wanted):
                path.rmdir()
    for rel in sorted(wanted):
        data = (source / rel).read_bytes()
        dest = target / rel
        if not dest.is_file() or dest.read_bytes() != data:
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)


def prepare_site(items: int, workdir: Path) -> tuple[Path, Path]:
    """The generated corpus in ``<workdir>/site-<items>``, templates in ``templates-<items>``.

    ``generate`` deletes its target folder, cache included; generating elsewhere
    and syncing keeps the same bytes as ``bench/run.py`` without that cost.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    site = workdir / f"site-{items}"
    with tempfile.TemporaryDirectory(dir=workdir, prefix=".serve-latency-") as tmp:
        fresh = generate(items, Path(tmp) / "site")
        _sync_tree(fresh / "content", site / "content")
    templates = workdir / f"templates-{items}"
    _sync_tree(REPO / "templates", templates)
    return site, templates


def _releases(site: Path) -> list[Path]:
    return sorted((site / "content" / "presse").glob("*.md"))


def _release_url(path: Path) -> str:
    # The corpus sets no "slug:", so the address comes from the file name.
    return f"/presse/{_DATE_PREFIX.sub('', path.stem)}/"


# --- HTTP, as a browser tab would talk to the preview -----------------------------------


def _get(port: int, target: str, timeout: float) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", target)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _poll_target(since: int) -> str:
    # The same query as LIVERELOAD_JS: the last state seen, and a cache buster.
    return f"{POLL_URL}?since={since}&t={time.time_ns() // 1_000_000}"


def _parse_poll(body: bytes) -> dict[str, object]:
    match = _POLL_ANSWER.search(body.decode())
    if match is None:
        raise RuntimeError(f"unexpected long-poll answer: {body[:200]!r}")
    data: dict[str, object] = json.loads(match.group(1))
    if data.get("problems"):
        raise RuntimeError(f"the preview reports build errors: {data['problems']}")
    return data


def _poll(port: int, since: int) -> dict[str, object]:
    status, body = _get(port, _poll_target(since), POLL_SOCKET_TIMEOUT)
    if status != 200:
        raise RuntimeError(f"long-poll answered HTTP {status}")
    return _parse_poll(body)


@dataclass
class _Tab:
    """What an open tab knows: the page and the site version its reload script carries."""

    html: bytes
    site: int
    state: int = -1


def _open_tab(port: int, url: str) -> _Tab:
    """Load a page and run the reload script's first poll, as a browser would."""
    while True:
        status, html = _get(port, url, POLL_SOCKET_TIMEOUT)
        if status != 200:
            raise RuntimeError(f"{url} answered HTTP {status}")
        match = _SITE_VERSION.search(html)
        if match is None:
            raise RuntimeError(f"{url} carries no reload script")
        tab = _Tab(html, int(match.group(1)))
        data = _poll(port, -1)  # since=-1 always answers at once
        if data["site"] == tab.site:
            tab.state = int(str(data["state"]))
            return tab
        # A build finished between the page and the poll: the script would reload.


def _send_poll(port: int, since: int) -> http.client.HTTPConnection:
    """Send a long-poll request and return without waiting for its answer."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=POLL_SOCKET_TIMEOUT)
    conn.request("GET", _poll_target(since))
    return conn


def _answer(conn: http.client.HTTPConnection) -> dict[str, object]:
    try:
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    if response.status != 200:
        raise RuntimeError(f"long-poll answered HTTP {response.status}")
    return _parse_poll(body)


@dataclass
class _Outcome:
    seconds: float  # save → the first "reload" answer
    site: int  # version of the first build whose page shows the edit
    exact: bool  # that first reload already showed the edit
    cpu: float | None  # CPU seconds of the server's processes in that interval


def _measure_one(port: int, server_pid: int, path: Path, marker: str) -> _Outcome:
    """One save → reload interval, driven like the reload script drives a tab."""
    url = _release_url(path)
    tab = _open_tab(port, url)
    if marker.encode() in tab.html:
        raise RuntimeError(f"{url} already contains {marker!r}")
    text = path.read_text(encoding="utf-8")
    conn = _send_poll(port, tab.state)
    time.sleep(POLL_HEAD_START)
    cpu_before = tree_cpu(server_pid)  # the server idles: read before, not in, the interval
    # A full rewrite, as bench/run.py's body_edit and editors that save in place do.
    path.write_text(f"{text}\n{marker}\n", encoding="utf-8")
    saved = time.perf_counter()
    first: float | None = None
    cpu: float | None = None
    exact = False
    while time.perf_counter() - saved < RUN_TIMEOUT:
        data = _answer(conn)
        if data["site"] != tab.site:  # exactly the script's test before location.reload()
            elapsed = time.perf_counter() - saved
            if first is None:
                # Before the page is loaded again: that is the tab's work, not the save's.
                cpu_after = tree_cpu(server_pid)
                if cpu_before is not None and cpu_after is not None:
                    cpu = cpu_after - cpu_before
            tab = _open_tab(port, url)
            shown = marker.encode() in tab.html
            if first is None:
                first = elapsed
                # A request waits while a build runs, so the page may come from a later
                # build than the answer; then the answer's build may not hold the edit.
                exact = shown and tab.site == data["site"]
            if shown:
                return _Outcome(first, tab.site, exact, cpu)
            # Some other change was built first: the tab reloads and goes on waiting.
            conn = _send_poll(port, tab.state)
        else:
            # A timed-out poll or a build that left the pages alone: the tab polls again.
            conn = _send_poll(port, int(str(data["state"])))
    raise RuntimeError(f"{url} does not show the edit {RUN_TIMEOUT:.0f} s after saving {path}")


def _wait_idle(port: int, since: int) -> bool:
    """Wait for the build after the one in state ``since``: the deferred search index.

    The server rebuilds the search index ``SEARCH_INDEX_DELAY`` after every
    successful rebuild for a change; until that is done it competes for the CPU
    with the next run. False if it did not come within ``IDLE_TIMEOUT``.
    """
    deadline = time.monotonic() + IDLE_TIMEOUT
    while time.monotonic() < deadline:
        if int(str(_poll(port, since)["state"])) > since:
            return True
    return False


# --- the server process ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _default_sigint() -> None:
    # A process started from a background shell inherits SIGINT as ignored, and
    # the server would then never hear the Ctrl-C that stops it cleanly.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start_server(
    site: Path, templates: Path, port: int, jobs: int, log: Path
) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "kldigital_site", "serve",
        "--content", str((site / "content").resolve()),
        "--templates", str(templates.resolve()),
        "--port", str(port), "--host", "127.0.0.1", "--jobs", str(jobs),
    ]  # fmt: skip
    # Unbuffered, so the log shows each build when it ends, not at exit.
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        return subprocess.Popen(
            command,
            cwd=site,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_default_sigint,
        )


def _log_tail(log: Path, lines: int = 30) -> str:
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def _wait_ready(server: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Until the first build is served. Connections made while it runs simply wait."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"the preview exited ({server.returncode}):\n{_log_tail(log)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the preview did not start:\n{_log_tail(log)}")
        try:
            # Long, so that a slow first build does not pile up abandoned connections.
            status, _ = _get(port, "/", timeout=120.0)
        except ConnectionRefusedError:  # not listening yet: Python is still importing
            time.sleep(0.2)
            continue
        except (OSError, http.client.HTTPException):
            continue
        if status != 200:
            raise RuntimeError(f"first build failed (HTTP {status}):\n{_log_tail(log)}")
        return


def _peak_rss_mb(server: subprocess.Popen[bytes]) -> float | None:
    """The server's peak resident memory so far (Linux; its forked workers are apart)."""
    try:
        status = Path(f"/proc/{server.pid}/status").read_text(encoding="utf-8")
    except OSError:
        return None
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else None


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def tree_cpu(pid: int) -> float | None:
    """CPU seconds (user+sys) so far of process ``pid`` and all its descendants, those
    that ended included (Linux: /proc; None elsewhere or if ``pid`` has ended).

    Fields 14 to 17 of a process's stat file are its own time and that of the children
    it has waited for; a child still running is counted by its own file, and moves into
    its parent's fields once waited for, so each second counts once. Resolution: a
    clock tick (10 ms) per process.
    """
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return None
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                line = stat.read()
        except OSError:  # ended meanwhile: its parent has counted it, or will
            continue
        fields = line[line.rindex(b")") + 2 :].split()  # the name may hold spaces
        parents[int(name)] = int(fields[1])  # field 4: the parent
        ticks[int(name)] = sum(int(n) for n in fields[11:15])  # fields 14-17
    if pid not in ticks:
        return None
    children: dict[int, list[int]] = {}
    for child, parent in parents.items():
        children.setdefault(parent, []).append(child)
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += ticks[current]
        todo += children.get(current, [])
    return total / _CLOCK_TICKS


def _stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGINT)
    try:
        server.wait(STOP_GRACE)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


class _LogReader:
    """The lines the server added to its log since the last call."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def read(self) -> list[str]:
        with self.path.open("rb") as log:
            log.seek(self.offset)
            data = log.read()
        complete = data[: data.rfind(b"\n") + 1]  # a line being written waits for next time
        self.offset += len(complete)
        return complete.decode("utf-8", errors="replace").splitlines()


INDEX_REASON = "Suchindex"  # what the server's log calls the deferred search build


def _builds(lines: list[str]) -> list[tuple[str, float]]:
    """Reason and seconds (0.1 s steps) of each build the server logged."""
    found = []
    for line in lines:
        match = _BUILD_LINE.match(line)
        if match:
            found.append((match["reason"], float(match["s"].replace(",", "."))))
    return found


def _is_own(reason: str, rel: str) -> bool:
    # describe() lists several files joined by ", ": a batch with another file is foreign.
    return reason == INDEX_REASON or (reason.startswith(f"{rel} (") and ", " not in reason)


# --- the measurement -----------------------------------------------------------------


def _german(seconds: float | None, digits: int = 2) -> str:
    return "?" if seconds is None else f"{seconds:.{digits}f}".replace(".", ",")


def _number(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def run_measurement(
    items: int, runs: int, jobs: int, workdir: Path, *, port: int = 0, restart: bool = True
) -> Measurement:
    """Everything ``main`` reports; ``port`` 0 picks a free one. ``restart``: also
    time a second start with nothing changed (step 6 of the module docstring)."""
    print(f"== {_number(items)} Einträge: Korpus vorbereiten …", flush=True)
    site, templates = prepare_site(items, workdir)
    releases = _releases(site)
    log = workdir / f"serve-latency-{items}.log"
    result = Measurement(items, jobs)
    originals: dict[Path, str] = {}
    port = port or _free_port()
    started = time.perf_counter()
    server = _start_server(site, templates, port, jobs, log)
    try:
        _wait_ready(server, port, log)
        result.startup = time.perf_counter() - started
        result.start_rss_mb = _peak_rss_mb(server)
        print(
            f"   Vorschau bereit nach {_german(result.startup, 1)} s "
            f"({_german(result.start_rss_mb, 0)} MB; Log: {log})",
            flush=True,
        )
        lines = _LogReader(log)
        lines.read()  # the first build is not part of any run
        attempt = 0
        # Someone else editing the same corpus (bench/run.py, a profiler) makes the
        # server build their change too; such runs are set aside and repeated.
        while len(result.samples) < runs and attempt < 2 * runs + 2:
            # Spread over the archive, away from the releases bench/run.py edits first.
            path = releases[(attempt * 7919 + 4099) % len(releases)]
            rel = path.relative_to(site).as_posix()
            originals.setdefault(path, path.read_text(encoding="utf-8"))
            marker = f"Nachtrag Vorschaumessung {attempt} {secrets.token_hex(4)}."
            attempt += 1
            outcome = _measure_one(port, server.pid, path, marker)
            if not _wait_idle(port, outcome.site):
                print(f"   ({INDEX_REASON} kam nicht; der nächste Lauf ist womöglich gestört)")
            time.sleep(SETTLE)
            new_lines = lines.read()
            builds = _builds(new_lines)
            # Warnings, a discarded cache, tracebacks: shown, but debug output must not flood.
            other = [line for line in new_lines if not _BUILD_LINE.match(line)]
            for line in other[:MAX_SHOWN_LINES]:
                print(f"   Server: {line}", flush=True)
            if len(other) > MAX_SHOWN_LINES:
                print(f"   Server: … {len(other) - MAX_SHOWN_LINES} weitere Zeilen im Log")
            foreign = [reason for reason, _ in builds if not _is_own(reason, rel)]
            own = [s for reason, s in builds if reason != INDEX_REASON and _is_own(reason, rel)]
            index = [s for reason, s in builds if reason == INDEX_REASON]
            if outcome.exact and not foreign:
                result.samples.append(outcome.seconds)
                result.cpu_samples.append(outcome.cpu)
                result.rebuilds.append(own[-1] if own else None)
                result.index_rebuilds.append(index[-1] if index else None)
                print(
                    f"   Lauf {attempt}: {_german(outcome.seconds)} s, "
                    f"{_german(outcome.cpu)} CPU-s "
                    f"(Server: Neuaufbau {_german(result.rebuilds[-1], 1)} s, "
                    f"danach {INDEX_REASON} {_german(result.index_rebuilds[-1], 1)} s)",
                    flush=True,
                )
            else:
                result.disturbed.append(outcome.seconds)
                why = f"fremde Builds: {'; '.join(foreign)}" if foreign else "fremder Build"
                print(
                    f"   Lauf {attempt}: {_german(outcome.seconds)} s – gestört, verworfen ({why})",
                    flush=True,
                )
        if not result.samples:
            raise RuntimeError("every run was disturbed by other changes to the corpus")
        if restart:
            # The corpus as generated, built and indexed by this session: then the next
            # start finds nothing changed since the last preview.
            since = int(str(_poll(port, -1)["state"]))
            for path, text in originals.items():
                path.write_text(text, encoding="utf-8")
            originals.clear()
            _wait_rebuilt_and_indexed(port, since, lines)
            result.peak_rss_mb = _peak_rss_mb(server)
            _stop_server(server)
            port = _free_port()  # another port, as a script or a busy 8000 gives
            started = time.perf_counter()
            server = _start_server(site, templates, port, jobs, log.with_suffix(".restart.log"))
            _wait_ready(server, port, log.with_suffix(".restart.log"))
            result.restart = time.perf_counter() - started
            result.restart_cpu = tree_cpu(server.pid)  # all of it: the process is new
            print(
                f"   Neustart ohne Änderung: bereit nach {_german(result.restart, 2)} s, "
                f"{_german(result.restart_cpu)} CPU-s",
                flush=True,
            )
            path = releases[4099 % len(releases)]
            originals.setdefault(path, path.read_text(encoding="utf-8"))
            marker = f"Nachtrag nach Neustart {secrets.token_hex(4)}."
            result.restart_save = _measure_one(port, server.pid, path, marker).seconds
            print(
                f"   Erste Speicherung nach dem Neustart: {_german(result.restart_save)} s",
                flush=True,
            )
        peak = _peak_rss_mb(server)
        if peak is not None:
            result.peak_rss_mb = max(peak, result.peak_rss_mb or 0.0)
    finally:
        _stop_server(server)
        # Leave the corpus as generated; bench/run.py's figures assume it.
        for path, text in originals.items():
            path.write_text(text, encoding="utf-8")
    return result


def _wait_rebuilt_and_indexed(port: int, since: int, lines: _LogReader) -> None:
    """Until the server has built the restored corpus and its search index after it."""
    deadline = time.monotonic() + IDLE_TIMEOUT
    seen: list[str] = []
    state = since
    while time.monotonic() < deadline:
        state = int(str(_poll(port, state)["state"]))
        seen += [reason for reason, _ in _builds(lines.read())]
        if INDEX_REASON in seen:
            return
    raise RuntimeError("the preview did not rebuild the restored corpus and its index")


def measure(items: int, runs: int, jobs: int, workdir: Path) -> list[float]:
    """Seconds from saving a release to the preview's "reload" answer, one per run."""
    return run_measurement(items, runs, jobs, workdir, restart=False).samples


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, required=True, help="corpus size")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--workdir", type=Path, default=HERE / "work")
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        help="preview port (default: a free one)",
    )
    args = parser.parse_args()
    if args.items < 5 or args.runs < 1:
        parser.error("--items must be at least 5 (one release) and --runs at least 1")
    result = run_measurement(args.items, args.runs, args.jobs, args.workdir, port=args.port)
    print(
        f"Vorschau: Speichern → Neuladen: {_german(result.median)} s, "
        f"{_german(result.cpu_median)} CPU-s "
        f"(Median von {len(result.samples)}, {_number(args.items)} Einträge)"
    )
    print(
        f"Vorschau: Start ohne Änderung: {_german(result.restart)} s; "
        f"Spitzenspeicher des Servers: nach dem Start {_german(result.start_rss_mb, 0)} MB, "
        f"insgesamt {_german(result.peak_rss_mb, 0)} MB"
    )
    print(
        json.dumps(
            {
                "items": result.items,
                "jobs": result.jobs,
                "save_to_reload_median_s": round(result.median, 4),
                "save_to_reload_s": [round(s, 4) for s in result.samples],
                "save_to_reload_cpu_s": result.cpu_samples,
                "server_rebuild_s": result.rebuilds,
                "search_index_rebuild_s": result.index_rebuilds,
                "disturbed_s": [round(s, 4) for s in result.disturbed],
                "startup_s": round(result.startup, 2),
                "restart_unchanged_s": None if result.restart is None else round(result.restart, 2),
                "restart_unchanged_cpu_s": result.restart_cpu,
                "restart_first_save_s": result.restart_save,
                "server_start_rss_mb": result.start_rss_mb,
                "server_peak_rss_mb": result.peak_rss_mb,
            }
        )
    )


if __name__ == "__main__":
    main()

"""Issue 14: two builds at once never break anything.

Several ``build`` commands of one site are started together, with edits in
between (two terminals, a git hook and a manual build): each waits for the one
before, none ends in a traceback, and the last one leaves the complete, current
site. A build that waits says for which process; a killed build leaves no lock.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from kldigital_site.cache import CACHE_DIR_NAME
from kldigital_site.lock import site_lock
from tests.conftest import TEMPLATES, copy_fixture_site

NOW = "2026-11-26T12:00"


def _command(out: Path, *extra: str) -> list[str]:
    return [
        *(sys.executable, "-m", "kldigital_site", "--now", NOW, "build"),
        *("--templates", str(TEMPLATES), "--output", str(out), *extra),
    ]


def _start(root: Path, out: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        _command(out, *extra),
        cwd=root,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _tree(out: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()
    }


def _without_search(tree: dict[str, bytes]) -> dict[str, bytes]:
    # Pagefind 1.5 names a few index files by a per-process random hash.
    return {rel: data for rel, data in tree.items() if not rel.startswith("pagefind/")}


def test_builds_started_together_run_one_after_the_other(tmp_path: Path) -> None:
    root = copy_fixture_site("full", tmp_path / "site")
    out = root / "output"
    page = root / "content/seiten/impressum.md"
    original = page.read_text(encoding="utf-8")
    started: list[subprocess.Popen[str]] = []
    for round_ in range(4):
        page.write_text(original.replace("title: ", f"title: Stand {round_} ", 1), encoding="utf-8")
        started.append(_start(root, out, *(("--no-cache",) if round_ == 2 else ())))
        time.sleep(0.15)
    results = []
    for process in started:
        stdout, stderr = process.communicate(timeout=300)
        results.append((process.returncode, stdout, stderr))

    for code, stdout, stderr in results:
        assert "Traceback" not in stderr and "Error" not in stderr, stderr
        if code != 0:
            # An edit that lands while a build reads the file: a clean refusal.
            assert code == 1 and "während des Erzeugens geändert" in stderr, stderr
        else:
            assert stdout.startswith("Fertig:"), stdout
    # The last one started after the last edit and read it after the others were done.
    assert results[-1][0] == 0, results[-1][2]
    assert any("Ein anderer Build dieser Website läuft gerade" in e for _, _, e in results)
    # The last edit is published, and the site is whole: what a clean build gives.
    assert "Stand 3" in (out / "impressum/index.html").read_text(encoding="utf-8")
    fresh = tmp_path / "fresh"
    done = subprocess.run(
        _command(fresh, "--no-cache"),
        cwd=root,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert _without_search(_tree(out)) == _without_search(_tree(fresh))
    # And a build after all of them finds everything in order.
    again = _start(root, out)
    assert again.communicate(timeout=300) and again.returncode == 0


def test_a_waiting_build_names_the_process_it_waits_for(tmp_path: Path) -> None:
    root = copy_fixture_site("minimal", tmp_path / "site")
    out = root / "output"
    with site_lock(root / CACHE_DIR_NAME):
        waiting = _start(root, out)
        assert waiting.stderr is not None
        told = waiting.stderr.readline()  # printed as soon as it starts to wait
        assert f"Ein anderer Build dieser Website läuft gerade (Prozess {os.getpid()})" in told
        time.sleep(0.5)
        assert waiting.poll() is None, "the second build must wait for the lock"
        assert not out.exists()
    _, stderr = waiting.communicate(timeout=300)
    assert waiting.returncode == 0, told + stderr
    assert (out / "index.html").is_file()


def test_a_killed_build_leaves_no_lock(tmp_path: Path) -> None:
    root = copy_fixture_site("minimal", tmp_path / "site")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path\n"
            "from kldigital_site.lock import site_lock\n"
            "with site_lock(Path(sys.argv[1])):\n    print('locked', flush=True); time.sleep(600)",
            str(root / CACHE_DIR_NAME),
        ],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)
    build = _start(root, root / "output")
    _, stderr = build.communicate(timeout=300)
    assert build.returncode == 0, stderr
    assert "wartet" not in stderr

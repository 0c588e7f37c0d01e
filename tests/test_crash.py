"""Issue 7: crashes mid-build lose nothing; a damaged cache is never trusted.

Kill test: a generated site of a few hundred items (a build takes one to two
seconds) is built into output/, then its content is switched between two
versions and ``python -m kldigital_site build`` is started and killed with
SIGKILL (the whole process group: forked workers and Pagefind too) after
delays spread over the length of a build, with and without the incremental
cache. After every kill output/ must be one whole build: exactly the old
site or exactly the new one (every file, every byte, nothing more), its
manifest must describe exactly what is there, and the next build must
succeed and produce the new site.

Cache tests: the cache database, the search index cache and the staging folder
under .kldigital-cache/ are truncated, garbled or replaced, after an edit
that a stale cache would hide; the next build must succeed and equal a build
without any cache.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from kldigital_site.cache import CACHE_DIR_NAME
from kldigital_site.output import Bookkeeping, read_manifest
from tests.conftest import TEMPLATES, build_cli, copy_fixture_site, run_cli

NOW = "2026-11-26T12:00"
Tree = dict[str, bytes]

pytestmark = pytest.mark.slow

# --- a site big enough that a build takes a while -------------------------------------

_WORDS = [
    *("Stadt", "Digitalisierung", "Bürgerinnen", "Verwaltung", "Daten", "Projekt"),
    *("Mobilität", "Energie", "Bildung", "Kultur", "Quartier", "Zukunft", "Beteiligung"),
    *("Netz", "Sensor", "Plattform"),
]


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words)) + "."


def _versions(seed: int = 7) -> tuple[dict[str, str], dict[str, str]]:
    """Two versions of a site of 100 projects and 300 press releases: (A, B).

    B retitles a tenth of the items, edits bodies, drops twenty releases and adds
    twenty others, so that nearly every kind of output file changes.
    """
    rng = random.Random(seed)
    a: dict[str, str] = {}
    for i in range(100):
        tags = f"[{rng.choice(_WORDS)}, {rng.choice(_WORDS)}]"
        a[f"content/projekte/projekt-{i:03d}.md"] = (
            f"---\ntitle: Projekt {i}\nsummary: {_text(rng, 12)}\ntags: {tags}\n---\n"
            f"## Ziel\n\n{_text(rng, 60)}\n\n- {_text(rng, 5)}\n- {_text(rng, 5)}\n\n"
            f"{_text(rng, 80)}\n"
        )
    start = dt.date(2020, 1, 1)
    for i in range(300):
        day = (start + dt.timedelta(days=5 * i)).isoformat()
        a[f"content/presse/{day}-mitteilung-{i:03d}.md"] = (
            f"---\ntitle: Mitteilung {i}\ndate: {day}\ntags: [{rng.choice(_WORDS)}]\n"
            f"projects: [projekt-{i % 100:03d}]\n---\n{_text(rng, 40)}\n\n## Mehr\n\n"
            f"{_text(rng, 120)}\n\n[Zum Projekt](/projekte/projekt-{i % 100:03d}/)\n"
        )
    b = dict(a)
    for rel in sorted(a)[::10]:
        b[rel] = a[rel].replace("title: ", "title: Neu – ", 1).replace("## ", "## Geändert ", 1)
    for rel in [r for r in sorted(a) if "/presse/" in r][5::15]:
        del b[rel]
    for i in range(20):
        day = (start + dt.timedelta(days=5 * i + 2)).isoformat()
        b[f"content/presse/{day}-nachtrag-{i:02d}.md"] = (
            f"---\ntitle: Nachtrag {i}\ndate: {day}\n---\n{_text(rng, 50)}\n"
        )
    return a, b


def _switch(root: Path, version: dict[str, str], other: dict[str, str]) -> None:
    for rel in set(other) - set(version):
        (root / rel).unlink()
    for rel, text in version.items():
        path = root / rel
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")


# --- building, killing, comparing -----------------------------------------------------


def _command(*extra: str) -> list[str]:
    return [sys.executable, "-m", "kldigital_site", "--now", NOW, "build", *_TEMPLATES, *extra]


_TEMPLATES = ("--templates", str(TEMPLATES))


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}


def _build(root: Path, *extra: str) -> None:
    done = subprocess.run(
        _command(*extra), cwd=root, env=_env(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]


def _tree(out: Path) -> Tree:
    return {
        p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()
    }


def _stable(tree: Tree) -> Tree:
    """Without the files Pagefind 1.5 names and orders by a per-process random hash."""
    return {
        rel: data
        for rel, data in tree.items()
        if not rel.startswith("pagefind/filter/")
        and not (rel.startswith("pagefind/pagefind") and rel.endswith((".pf_meta", "-entry.json")))
    }


def _assert_one_whole_build(out: Path, *candidates: Tree) -> int:
    """output/ is exactly one of ``candidates``; returns which."""
    tree = _tree(out)
    # Internally whole: the manifest written with the tree lists exactly its files.
    manifest = read_manifest(out) or {}
    assert sorted(manifest) == sorted(tree), "files and manifest disagree: a mix of builds"
    for rel, data in tree.items():
        assert hashlib.sha256(data).hexdigest() == manifest[rel], f"{rel} is not what was written"
    stable = _stable(tree)
    for index, candidate in enumerate(candidates):
        if stable == _stable(candidate) and len(tree) == len(candidate):
            return index
    closest = min(candidates, key=lambda c: len(set(_stable(c).items()) ^ set(stable.items())))
    differing = sorted(set(_stable(closest).items()) ^ set(stable.items()))
    pytest.fail(f"output/ is neither site; differs in {[rel for rel, _ in differing][:10]}")


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with_group = process.pid
    with contextlib.suppress(ProcessLookupError):  # it may have finished already
        os.killpg(with_group, signal.SIGKILL)
    process.wait(timeout=30)
    # Forked workers and Pagefind go with it; none may linger and write on.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.killpg(with_group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    pytest.fail("processes of the killed build are still running")


def test_killed_builds_leave_the_old_or_the_new_site(tmp_path: Path) -> None:
    root = copy_fixture_site("minimal", tmp_path / "site")
    a, b = _versions()
    out = root / "output"
    _switch(root, a, {})
    _build(root)
    site_a = _tree(out)
    _switch(root, b, a)
    started = time.perf_counter()
    _build(root, "--no-cache")
    full_build = time.perf_counter() - started
    site_b = _tree(out)
    assert len(site_a) > 800 and _stable(site_a) != _stable(site_b)

    rng = random.Random(11)
    versions = [(a, site_a, b), (b, site_b, a)]
    killed = 0
    iterations = 12
    # A busy machine can make the measured build slower than the later ones, so that
    # late kills come after the end: go on (up to twice as many tries) until half of
    # a round's worth hit a running build.
    for step in range(2 * iterations):
        if step >= iterations and killed >= iterations // 2:
            break
        # Spread over the whole build, from start-up to the final rename, jittered.
        delay = (step % iterations + rng.random()) / iterations * full_build * 1.15
        target, target_tree, other = versions[step % 2]
        before = versions[(step + 1) % 2][1]
        _switch(root, target, other)
        extra = ("--no-cache",) if step % 4 >= 2 else ()
        process = subprocess.Popen(
            _command(*extra),
            cwd=root,
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, workers included
        )
        time.sleep(delay)
        finished_before_kill = process.poll() is not None
        _kill_group(process)
        killed += not finished_before_kill
        _assert_one_whole_build(out, before, target_tree)
        # The next build repairs whatever the killed one left in staging and cache.
        _build(root)
        assert _assert_one_whole_build(out, before, target_tree) == 1
    assert killed >= iterations // 2, f"only {killed} kills hit a running build"


# --- a damaged cache ------------------------------------------------------------------


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _garble(path: Path) -> None:
    data = bytearray(path.read_bytes())
    rng = random.Random(3)
    for _ in range(max(16, len(data) // 50)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    path.write_bytes(bytes(data))


# The search index's cache of its one shard (search/indexer.py; the fixture is far below 500 pages).
SEARCH_CACHE = "search/teil-0.bin"


def _replace_with_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()
    (path / "x").write_text("kein Cache", encoding="utf-8")


def _staging(cache: Path) -> Path:
    folders = sorted(cache.glob("staging-*"))
    assert folders, "no staging folder to damage"
    return folders[0]


def _record(cache: Path, suffix: str) -> Path:
    """The manifest or journal of the staging folder (kept in .kldigital-cache/trees/)."""
    book = Bookkeeping(cache.parent.parent / "out", cache)
    path = book.manifest_file(_staging(cache)) if suffix == "json" else None
    path = path or book.journal_file(_staging(cache))
    assert path is not None
    return path


def _first_page(folder: Path) -> Path:
    return sorted(folder.glob("projekte/*/index.html"))[0]


DAMAGE: dict[str, Callable[[Path], None]] = {
    "database truncated": lambda c: _truncate(c / "cache.sqlite"),
    "database emptied": lambda c: (c / "cache.sqlite").write_bytes(b""),
    "database garbled": lambda c: _garble(c / "cache.sqlite"),
    "database replaced by text": lambda c: (c / "cache.sqlite").write_text("kaputt\n" * 99),
    "database replaced by a folder": lambda c: _replace_with_folder(c / "cache.sqlite"),
    "search cache truncated": lambda c: _truncate(c / SEARCH_CACHE),
    "search cache garbled": lambda c: _garble(c / SEARCH_CACHE),
    "search cache of wrong shape": lambda c: (c / SEARCH_CACHE).write_bytes(
        # The valid key line, then a file table that is not one.
        (c / SEARCH_CACHE).read_bytes().split(b"\n")[0] + b'\n{"files": 7, "sha256": []}\n'
    ),
    "staging manifest garbled": lambda c: _garble(_record(c, "json")),
    # Paths that lead out of the staging folder, to canaries beside the site (never to
    # real files: a journal once made the tool delete what such a line named).
    "staging journal naming paths outside": lambda c: _record(c, "journal").write_text(
        f"../../../canary\n{c.parent.parent / 'canary'}\n\x00\n"
    ),
    "staging manifest naming paths outside": lambda c: _record(c, "json").write_text(
        json.dumps(
            {"version": 4, "files": {"../../../canary": "0", str(c.parent.parent / "canary"): "0"}}
        )
    ),
    "staged page truncated": lambda c: _truncate(_first_page(_staging(c))),
    "staged stylesheet replaced": lambda c: (_staging(c) / "assets/css/site.css").write_text("x"),
}


def test_a_file_where_the_cache_folder_belongs_is_a_clear_error(tmp_path: Path) -> None:
    root = copy_fixture_site("minimal", tmp_path / "site")
    (root / CACHE_DIR_NAME).write_text("nicht von uns", encoding="utf-8")
    for extra in ((), ("--no-cache",)):
        result = build_cli(root, tmp_path / "out", "--now", NOW, *extra)
        assert result.exit_code == 1
        assert result.stderr.startswith(f"{CACHE_DIR_NAME}: ist eine Datei"), result.stderr
    assert (root / CACHE_DIR_NAME).read_text(encoding="utf-8") == "nicht von uns"


def _two_builds(root: Path, out: Path) -> None:
    """Build, edit, build: the staging folder then holds the previous site, hard-linked."""
    assert build_cli(root, out, "--now", NOW).exit_code == 0
    page = sorted((root / "content/seiten").glob("*.md"))[0]
    page.write_text(page.read_text(encoding="utf-8") + "\nNachtrag.\n", encoding="utf-8")
    assert build_cli(root, out, "--now", NOW).exit_code == 0


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_cache_is_rebuilt_never_trusted(damage: str, tmp_path: Path) -> None:
    root = copy_fixture_site("full", tmp_path / "site")
    out = tmp_path / "out"
    canary = tmp_path / "canary"
    canary.write_text("lebt", encoding="utf-8")
    _two_builds(root, out)
    project = sorted((root / "content/projekte").glob("*.md"))[0]
    text = project.read_text(encoding="utf-8")
    project.write_text(text.replace("title: ", "title: Frisch ", 1), encoding="utf-8")
    cache = root / CACHE_DIR_NAME
    DAMAGE[damage](cache)

    result = build_cli(root, out, "--now", NOW)
    assert result.exit_code == 0, result.stderr
    # Equal to a build that never saw a cache.
    reference = tmp_path / "reference"
    assert build_cli(root, reference, "--now", NOW, "--no-cache").exit_code == 0
    assert _stable(_tree(out)) == _stable(_tree(reference))
    assert "Frisch" in out.joinpath(_first_page(reference).relative_to(reference)).read_text(
        encoding="utf-8"
    )
    # And the build after that is whole and current too.
    assert build_cli(root, out, "--now", NOW).exit_code == 0
    assert _stable(_tree(out)) == _stable(_tree(reference))
    assert canary.read_text(encoding="utf-8") == "lebt"


@pytest.mark.parametrize(
    "manifest",
    [
        "{kaputt",
        '{"version": 3, "files": ["index.html"]}',
        '{"version": 3, "files": {"../canary": "0"}}',
        '{"version": 3, "files": {"/CANARY": "0"}, "foreign": []}',
        '{"version": 3, "files": {}, "foreign": ["sub/../../canary"]}',
        # Every unsafe part, wherever it is: last, between others, or a Windows separator.
        '{"version": 3, "files": {"index.html": "0", "sub/..": "0"}}',
        '{"version": 3, "files": {"a/b": "0", "a//b": "0", "a/./b": "0"}}',
        '{"version": 3, "files": {"sub\\\\..\\\\canary": "0"}}',
    ],
)
def test_a_damaged_output_manifest_stops_the_build_and_clean(manifest: str, tmp_path: Path) -> None:
    # Which files in output/ are the tool's is no longer known: nothing may be deleted
    # on its word, and nothing in output/ counted as a user's file and kept forever.
    root = copy_fixture_site("minimal", tmp_path / "site")
    out = tmp_path / "out"
    canary = tmp_path / "canary"
    canary.write_text("lebt", encoding="utf-8")
    assert build_cli(root, out, "--now", NOW).exit_code == 0
    record = Bookkeeping(out, root / CACHE_DIR_NAME).manifest_file(out)
    assert record is not None and record.is_file()
    record.write_text(manifest.replace("/CANARY", str(canary)), encoding="utf-8")
    before = _tree(out)
    result = build_cli(root, out, "--now", NOW)
    assert result.exit_code == 1
    assert f"{record}: Die Liste der erzeugten Dateien ist beschädigt" in result.stderr
    assert _tree(out) == before
    clean = run_cli("clean", "--content", root / "content", "--output", out)
    assert clean.exit_code in (0, 1)
    assert canary.read_text(encoding="utf-8") == "lebt"
    assert (out / "index.html").is_file(), "clean trusts no damaged list"


def test_no_cache_build_then_cached_build_of_older_content(tmp_path: Path) -> None:
    # The cache remembered "output/ holds version A" while a --no-cache build had put
    # version B there; going back to A then built nothing and left B published.
    root = copy_fixture_site("minimal", tmp_path / "site")
    out = tmp_path / "out"
    page = root / "content/seiten/impressum.md"
    version_a = page.read_text(encoding="utf-8")
    assert build_cli(root, out, "--now", NOW).exit_code == 0
    page.write_text(version_a.replace("title: ", "title: Neu ", 1), encoding="utf-8")
    assert build_cli(root, out, "--now", NOW, "--no-cache").exit_code == 0
    page.write_text(version_a, encoding="utf-8")
    assert build_cli(root, out, "--now", NOW).exit_code == 0
    assert "Neu " not in (out / "impressum/index.html").read_text(encoding="utf-8")


def test_a_page_edited_in_output_is_restored(tmp_path: Path) -> None:
    # Published and staged files are hard links; an edit by hand (or a disk error)
    # must not make the next builds keep a broken page as "unchanged".
    root = copy_fixture_site("full", tmp_path / "site")
    out = tmp_path / "out"
    _two_builds(root, out)
    good = _tree(out)
    page = _first_page(out)
    page.write_bytes(b"")
    (out / "index.html").write_text("<p>verändert</p>", encoding="utf-8")
    assert build_cli(root, out, "--now", NOW).exit_code == 0
    assert _stable(_tree(out)) == _stable(good)

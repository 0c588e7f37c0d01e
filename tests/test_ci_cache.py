"""A CI that keeps ``.kldigital-cache/`` between runs builds incrementally (issue 15).

A CI job starts from a fresh clone: another folder, other inode numbers, every
file's modification time the moment of the checkout, and no ``output/`` (it is
not cached). The cache restored into it must still be used: no document parsed
again, no Markdown body rendered again, no image decoded, no search shard
re-indexed — except what the new commit changed — and the site must be byte
for byte what a clean build without any cache gives (docs/deployment.md,
"Zwischenspeicher in der CI").
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from kldigital_site import cache as cache_module
from kldigital_site.build import BuildResult, build
from kldigital_site.config import load_config
from tests.conftest import NOW, TEMPLATES, copy_fixture_site

RELEASE = "content/presse/2025-08-26-digitale-sprechstunde.md"
DATA_FILES = frozenset({"content/daten/kontakte.yaml", "content/daten/presseabbinder.yaml"})

if shutil.which("git") is None:
    pytest.skip("git is not installed", allow_module_level=True)


def _git(*args: str | Path, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "user.name=CI", "-c", "user.email=ci@example.org", *map(str, args)],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def _build(checkout: Path, *, use_cache: bool = True) -> BuildResult:
    config = load_config(checkout / "content", checkout / "templates", checkout / "output")
    return build(config, now=NOW, jobs=1, use_cache=use_cache)


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def first_run(tmp_path: Path) -> Path:
    """The repository as the CI's first run checked it out and built it, cache and all."""
    checkout = tmp_path / "run-1"
    copy_fixture_site("full", checkout)
    shutil.copytree(TEMPLATES, checkout / "templates")
    (checkout / ".gitignore").write_text("output/\n.kldigital-cache/\n", encoding="utf-8")
    _git("init", "-q", "-b", "main", cwd=checkout)
    _git("add", "-A", cwd=checkout)
    _git("commit", "-q", "-m", "site", cwd=checkout)
    cold = _build(checkout)
    assert cold.parsed and cold.bodies_rendered and cold.search_indexed  # it did the work
    return checkout


def _next_run(first: Path, tmp_path: Path) -> Path:
    """A fresh clone (new paths, inodes and modification times) with the cache restored
    as a CI's cache step does: the folder's files copied in, times kept."""
    checkout = tmp_path / "run-2"
    _git("clone", "-q", "--no-hardlinks", first, checkout, cwd=tmp_path)
    shutil.copytree(first / ".kldigital-cache", checkout / ".kldigital-cache")
    assert not (checkout / "output").exists()
    before, after = (first / RELEASE).stat(), (checkout / RELEASE).stat()
    assert before.st_ino != after.st_ino and before.st_mtime_ns != after.st_mtime_ns
    return checkout


def _clean_build(checkout: Path, tmp_path: Path) -> dict[str, bytes]:
    clean = tmp_path / "clean"
    shutil.copytree(checkout, clean, ignore=shutil.ignore_patterns(".kldigital-cache", "output"))
    _build(clean, use_cache=False)
    return _files(clean / "output")


def test_a_restored_cache_from_another_checkout_is_used(first_run: Path, tmp_path: Path) -> None:
    checkout = _next_run(first_run, tmp_path)

    result = _build(checkout)

    # Data files are always parsed (model.py reads them whole); nothing else is.
    assert result.parsed == DATA_FILES
    assert result.bodies_rendered == frozenset()
    assert result.decoded == frozenset()
    assert result.search_indexed == ()
    # output/ is not cached, and the cache keeps no page bytes: every page is rendered.
    assert result.report is not None and not result.report.unchanged
    assert _files(checkout / "output") == _clean_build(checkout, tmp_path)


def test_a_restored_cache_redoes_only_what_the_new_commit_changed(
    first_run: Path, tmp_path: Path
) -> None:
    checkout = _next_run(first_run, tmp_path)
    release = checkout / RELEASE
    release.write_text(
        release.read_text(encoding="utf-8") + "\nNachtrag: Die Sprechstunde ist barrierefrei.\n",
        encoding="utf-8",
    )
    _git("commit", "-q", "-am", "Nachtrag", cwd=checkout)

    result = _build(checkout)

    assert result.parsed == DATA_FILES | {RELEASE}
    assert result.bodies_rendered == {RELEASE.removeprefix("content/")}
    assert result.decoded == frozenset()
    assert len(result.search_indexed) == 1  # the one shard that holds the release
    assert _files(checkout / "output") == _clean_build(checkout, tmp_path)


def test_a_cache_made_with_another_markdown_version_is_not_used(
    first_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CI's fresh install may bring a newer library within pyproject.toml's ranges: what
    the old one made is not taken for what the new one gives."""
    checkout = _next_run(first_run, tmp_path)
    real = cache_module.installed_versions
    monkeypatch.setattr(cache_module, "installed_versions", lambda: {**real(), "markdown": "99.0"})
    cache_module.tool_fingerprint.cache_clear()
    try:
        result = _build(checkout)
    finally:
        monkeypatch.undo()
        cache_module.tool_fingerprint.cache_clear()

    assert result.parsed == {str(p) for p in _sources(checkout)}
    # Every body again (boilerplates are named by a key that holds the fingerprint).
    everything = _build(first_run, use_cache=False).bodies_rendered
    assert len(result.bodies_rendered) == len(everything) > 0
    assert _files(checkout / "output") == _clean_build(checkout, tmp_path)


def _sources(checkout: Path) -> set[str]:
    """The site-relative paths of every document and data file (media are not parsed)."""
    content = checkout / "content"
    return {
        p.relative_to(checkout).as_posix()
        for p in content.rglob("*")
        if p.suffix in (".md", ".yaml") and p.name != "site.yaml"
    }

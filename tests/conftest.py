"""Shared fixtures and helpers: fixture sites, inline sites from dicts, the golden switch,
the command line run in-process, and the state of a folder a failed build must not change."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import queue
import shutil
import textwrap
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner, Result

from kldigital_site.build import BuildResult, build
from kldigital_site.cli import cli
from kldigital_site.config import load_config

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
TEMPLATES = REPO / "templates"
# A fixed clock: fixture sites contain future-dated releases relative to it.
NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden", action="store_true", help="rewrite tests/golden/ from the fixtures"
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def copy_fixture_site(name: str, target: Path) -> Path:
    """Copy tests/fixtures/sites/<name> into target; returns the site root."""
    shutil.copytree(FIXTURES / "sites" / name, target, dirs_exist_ok=True)
    return target


def write_files(root: Path, files: Mapping[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")


def build_site_at(
    root: Path,
    *,
    output: Path | None = None,
    base_url: str | None = None,
    drafts: bool = False,
    future: bool = False,
    write: bool = True,
    now: dt.datetime = NOW,
    minify: bool = False,
    use_cache: bool = True,
) -> BuildResult:
    """Build a fixture site in-process. Unminified by default (``build --no-minify``):
    tests read the pages as the templates write them; tests/test_minify.py shows that
    the minified pages render the same, and the gates check the published form."""
    config = load_config(
        root / "content",
        TEMPLATES,
        output or root / "output",
        base_url=base_url,
        drafts=drafts,
        future=future,
        minify=minify,
    )
    return build(config, now=now, write=write, use_cache=use_cache)


def run_cli(*args: str | Path) -> Result:
    """Run the command line in-process, as a user would type it."""
    return CliRunner().invoke(cli, [str(a) for a in args])


def build_cli(root: Path, output: Path, *extra: str | Path, templates: Path = TEMPLATES) -> Result:
    return run_cli(
        "build",
        "--content",
        root / "content",
        "--templates",
        templates,
        "--output",
        output,
        *extra,
    )


def tree_state(root: Path) -> dict[str, tuple[str, ...]]:
    """Everything about a folder a failed build must not change: entries, bytes, inodes, mtimes."""
    if not root.exists():
        return {}
    state: dict[str, tuple[str, ...]] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        info = path.lstat()
        if path.is_symlink():  # not followed: some tests plant dangling ones
            state[rel] = ("link", os.readlink(path))
        elif path.is_dir():
            state[rel] = ("dir", str(info.st_mtime_ns))
        else:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            state[rel] = ("file", digest, str(info.st_ino), str(info.st_mtime_ns))
    return state


@pytest.fixture
def minimal_site(tmp_path: Path) -> Path:
    return copy_fixture_site("minimal", tmp_path / "site")


@pytest.fixture
def make_site(tmp_path: Path) -> Callable[[Mapping[str, str | bytes]], Path]:
    """A copy of the minimal fixture site with some files added or replaced."""

    def make(files: Mapping[str, str | bytes]) -> Path:
        root = copy_fixture_site("minimal", tmp_path / "site")
        write_files(root, files)
        return root

    return make


# --- the browser tests -------------------------------------------------------------

if TYPE_CHECKING:
    from playwright.sync_api import Browser

# Debian's chromium (Playwright's own download does not work here); the last flag
# keeps its own look-ups of outside hosts off the network.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]


@pytest.fixture
def folders_listed_again(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The folders of output/ the build lists again after the forked child's look for the
    user's files (foreign_files.py), in the order it lists them."""
    from kldigital_site import foreign_files

    listed: list[str] = []
    listed_again = foreign_files._listed_again

    def counted(root: str, changed: Any, *rest: Any) -> set[str]:
        listed.extend(changed)
        return listed_again(root, changed, *rest)

    monkeypatch.setattr(foreign_files, "_listed_again", counted)
    return listed


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium per test module (Playwright is imported only here)."""
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} fehlt: apt-get install chromium (.ci/install-system-deps.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def pipe_lines(stream: object, lines: queue.Queue[str], sink: list[str]) -> None:
    """Hand a running preview's output line by line to a test (a reader thread's target)."""
    for line in stream:  # type: ignore[attr-defined]
        sink.append(line)
        lines.put(line)

"""Shared fixtures: whole fixture sites, inline sites from dicts, the golden switch."""

from __future__ import annotations

import datetime as dt
import shutil
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from kldigital_site.build import BuildResult, build
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
) -> BuildResult:
    config = load_config(
        root / "content",
        TEMPLATES,
        output or root / "output",
        base_url=base_url,
        drafts=drafts,
        future=future,
    )
    return build(config, now=now, write=write)


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

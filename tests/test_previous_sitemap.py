"""Issue 14: ``check --previous-sitemap`` names every address that would be lost."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from tests.conftest import TEMPLATES, build_cli, run_cli

MakeSite = Callable[[Mapping[str, str | bytes]], Path]

RELEASE = {
    "content/presse/2024-06-01-radwege.md": "---\ntitle: Radwege\ndate: 2024-06-01\n---\nText.\n"
}


def _check(root: Path, previous: str | Path) -> tuple[int, list[str]]:
    result = run_cli(
        "check",
        "--content",
        root / "content",
        "--templates",
        TEMPLATES,
        "--previous-sitemap",
        previous,
    )
    # Only the tool's own lines: the test's HTTP server logs to stderr too.
    lines = [line for line in result.stderr.splitlines() if not line.startswith("127.0.0.1 ")]
    return result.exit_code, lines


@pytest.fixture
def published(make_site: MakeSite, tmp_path: Path) -> tuple[Path, Path]:
    """A site, and the sitemap of what it published."""
    root = make_site(RELEASE)
    out = tmp_path / "online"
    assert build_cli(root, out).exit_code == 0
    sitemap = tmp_path / "sitemap.xml"
    shutil.copyfile(out / "sitemap.xml", sitemap)
    return root, sitemap


def test_nothing_lost_passes(published: tuple[Path, Path]) -> None:
    root, sitemap = published
    assert _check(root, sitemap) == (0, [])


def test_a_changed_slug_is_named_and_fails(published: tuple[Path, Path]) -> None:
    root, sitemap = published
    release = root / "content/presse/2024-06-01-radwege.md"
    release.rename(root / "content/presse/2024-06-01-neue-radwege.md")
    code, errors = _check(root, sitemap)
    assert code == 1
    assert errors == [
        "--previous-sitemap: „https://example.org/presse/radwege/“ war veröffentlicht und "
        "fehlt in der neuen Website. Wurde eine Datei umbenannt oder ein „slug“ geändert? "
        "Dann den alten Pfad unter „aliases:“ der Seite eintragen (aliases: "
        "[/presse/radwege/]), damit Links auf diese Adresse weiter funktionieren.",
        "Abgebrochen: 1 Fehler. Die Ausgabe wurde nicht verändert.",
    ]


@pytest.mark.parametrize("alias", ["/presse/radwege/", "/presse/radwege"])
def test_a_changed_slug_with_its_alias_passes(published: tuple[Path, Path], alias: str) -> None:
    root, sitemap = published
    release = root / "content/presse/2024-06-01-radwege.md"
    release.unlink()
    (root / "content/presse/2024-06-01-neue-radwege.md").write_text(
        f"---\ntitle: Radwege\ndate: 2024-06-01\naliases: [{alias}]\n---\nText.\n",
        encoding="utf-8",
    )
    assert _check(root, sitemap) == (0, [])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    folder = tmp_path / "live"
    folder.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1]), folder
    finally:
        server.shutdown()
        server.server_close()


def test_the_live_sitemap_by_url(published: tuple[Path, Path], served: tuple[int, Path]) -> None:
    root, sitemap = published
    port, folder = served
    shutil.copyfile(sitemap, folder / "sitemap.xml")
    (root / "content/presse/2024-06-01-radwege.md").unlink()
    code, errors = _check(root, f"http://127.0.0.1:{port}/sitemap.xml")
    assert code == 1
    assert errors[0].startswith("--previous-sitemap: „https://example.org/presse/radwege/“")
    code, errors = _check(root, f"http://127.0.0.1:{port}/gibt-es-nicht.xml")
    assert code == 1
    assert errors[0].startswith(f"--previous-sitemap: „http://127.0.0.1:{port}/gibt-es-nicht.xml“")

"""Issue 7: no escape from the site.

Slugs, image paths, links and medien/ entries cannot reach outside content/:
``..``, absolute paths and symlinks that lead out (or in circles) are errors at
their file, and no byte of a file outside content/ reaches the output. Builds,
failed or not, and ``clean`` write and delete nothing outside the output folder
(and the tool's own .kldigital-cache/): the folders around them are compared
entry by entry before and after. The dev server answers ``..`` in every
spelling with 404, over a real socket, and listens on 127.0.0.1 unless told
otherwise.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kldigital_site.cache import CACHE_DIR_NAME
from kldigital_site.cli import cli
from tests.conftest import TEMPLATES, build_cli, copy_fixture_site, run_cli, tree_state

NOW = "2026-11-26T12:00"
SECRET = "GEHEIM-7f3a9c: dieser Text darf nie in der Ausgabe stehen"


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(site root, output folder, secret file): the site and its output in separate
    folders, each with neighbours that must never change, and a secret beside them."""
    root = copy_fixture_site("minimal", tmp_path / "arbeit" / "site")
    (tmp_path / "arbeit" / "nachbar.txt").write_text("bleibt", encoding="utf-8")
    out_parent = tmp_path / "web"
    out_parent.mkdir()
    (out_parent / "andere-seite").mkdir()
    (out_parent / "andere-seite" / "index.html").write_text("<p>fremd</p>", encoding="utf-8")
    secret = tmp_path / "geheim.txt"
    secret.write_text(SECRET, encoding="utf-8")
    return root, out_parent / "out", secret


def _surroundings(root: Path, out: Path) -> dict[str, tuple[str, ...]]:
    """Every entry around the site and the output folder (bytes, inode and time of each
    file), except inside the tool's own folders. Folder times are left out: creating
    output/ or .kldigital-cache/ changes their parent's."""
    top = root.parent.parent
    assert out.parent.parent == top
    own = (f"{root.relative_to(top).as_posix()}/{CACHE_DIR_NAME}", out.relative_to(top).as_posix())
    return {
        rel: state[:1] if state[0] == "dir" else state
        for rel, state in tree_state(top).items()
        if not rel.startswith(own)
    }


def _build(root: Path, out: Path, *extra: str) -> tuple[int, str]:
    result = build_cli(root, out, "--now", NOW, *extra)
    return result.exit_code, result.stderr


def _no_secret_in(out: Path) -> None:
    if not out.exists():
        return
    for path in out.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), f"{path} holds the secret"


def _page(front_matter: str, body: str = "Text.\n") -> str:
    return f"---\ntitle: Probe\nsummary: Kurz.\n{front_matter}---\n{body}"


# --- paths in front matter and bodies ---------------------------------------------------


@pytest.mark.parametrize(
    ("front_matter", "line", "message"),
    [
        ("slug: ../../etc\n", 4, "„slug“"),
        ("slug: ..\n", 4, "„slug“"),
        ("slug: /etc/cron.d\n", 4, "„slug“"),
        ("slug: a/../../b\n", 4, "„slug“"),
        ("slug: '%2e%2e'\n", 4, "„slug“"),
        ("image: ../../etc/passwd\nimage_alt: x\n", 4, "„image“"),
        ("image: /etc/passwd\nimage_alt: x\n", 4, "„image“"),
        ("image: medien/../../../geheim.txt\nimage_alt: x\n", 4, "„image“"),
        ("image: medien/./x.png\nimage_alt: x\n", 4, "„image“"),
        ("image: 'medien\\..\\..\\geheim.txt'\nimage_alt: x\n", 4, "„image“"),
        ("image: medien/fehlt.png\nimage_alt: x\n", 4, "medien/fehlt.png"),
        ("image: file:///etc/passwd\nimage_alt: x\n", 4, "„image“"),
    ],
)
def test_paths_in_front_matter_stay_inside(
    world: tuple[Path, Path, Path], front_matter: str, line: int, message: str
) -> None:
    root, out, _ = world
    (root / "content/projekte/probe.md").write_text(_page(front_matter), encoding="utf-8")
    before = _surroundings(root, out)
    code, stderr = _build(root, out)
    assert code == 1
    assert f"content/projekte/probe.md:{line}: " in stderr and message in stderr, stderr
    assert not out.exists()
    assert _surroundings(root, out) == before


@pytest.mark.parametrize(
    "body",
    [
        "![x](../../../geheim.txt)\n",
        "![x](../../../../../../../etc/passwd)\n",
        "![x](/../../geheim.txt)\n",
        "[x](../../../geheim.txt)\n",
        "[x](/%2e%2e/%2e%2e/geheim.txt)\n",
        '<img src="../../../geheim.txt" alt="x">\n',
        '<a href="../../../geheim.txt">x</a>\n',
    ],
)
def test_links_in_bodies_cannot_reach_outside(world: tuple[Path, Path, Path], body: str) -> None:
    root, out, _ = world
    (root / "content/projekte/probe.md").write_text(_page("", body), encoding="utf-8")
    code, stderr = _build(root, out)
    assert code == 1
    assert "content/projekte/probe.md:5: " in stderr, stderr
    _no_secret_in(out)


# --- symlinks in content/ ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("link", "target"),
    [
        ("content/medien/bild.png", "SECRET"),  # absolute, to the secret
        ("content/medien/relativ.png", "../../../../geheim.txt"),
        ("content/medien/etc", "/etc"),  # a folder outside
        ("content/medien", "../.."),  # medien/ itself
        ("content/seiten/geheim.md", "SECRET"),
        ("content/daten/kontakte.yaml", "SECRET"),
        ("content/medien/kreis-a", "kreis-b"),  # a loop (kreis-b leads back)
    ],
)
def test_symlinks_leading_out_are_errors(
    world: tuple[Path, Path, Path], link: str, target: str
) -> None:
    root, out, secret = world
    path = root / link
    if path.is_dir():
        os.rename(path, root / "alt-medien")
    elif path.exists():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(str(secret) if target == "SECRET" else target)
    if link.endswith("kreis-a"):
        (root / "content/medien/kreis-b").symlink_to("kreis-a")
    before = _surroundings(root, out)
    code, stderr = _build(root, out)
    assert code == 1
    assert f"{link}: Verknüpfung (Symlink) zeigt aus dem Ordner content/ heraus." in stderr, stderr
    assert not out.exists()
    assert _surroundings(root, out) == before
    _no_secret_in(out)


def test_a_symlink_within_content_is_copied_as_its_file(world: tuple[Path, Path, Path]) -> None:
    root, out, _ = world
    medien = root / "content/medien"
    medien.mkdir(exist_ok=True)
    (medien / "echt.txt").write_text("innen", encoding="utf-8")
    (medien / "verweis.txt").symlink_to("echt.txt")
    code, stderr = _build(root, out)
    assert code == 0, stderr
    assert (out / "medien/verweis.txt").read_text(encoding="utf-8") == "innen"
    assert not (out / "medien/verweis.txt").is_symlink()


# --- the output folder -----------------------------------------------------------------


def test_builds_and_clean_touch_nothing_outside_the_output_folder(
    world: tuple[Path, Path, Path],
) -> None:
    root, out, _ = world
    medien = root / "content/medien"
    medien.mkdir(exist_ok=True)
    # Documents: copied verbatim (images are checked and re-written, media/).
    for name in ("a b ü.pdf", "-x.pdf", "x #1.pdf", "...", "..pdf"):
        (medien / name).write_bytes(b"%PDF-1.4" + name.encode())
    before = _surroundings(root, out)
    assert _build(root, out)[0] == 0
    assert (out / "medien" / "a b ü.pdf").read_bytes().endswith("a b ü.pdf".encode())
    assert (out / "medien" / "x #1.pdf").is_file()
    assert not (out / "medien" / "...").exists(), "hidden names are never content"
    # A failing build, an incremental one, one with a page removed, clean.
    (root / "content/seiten/kaputt.md").write_text("---\ntitle: [\n---\n", encoding="utf-8")
    assert _build(root, out)[0] == 1
    (root / "content/seiten/kaputt.md").unlink()
    assert _build(root, out)[0] == 0
    (root / "content/seiten/impressum.md").unlink()
    assert _build(root, out)[0] == 0
    assert _build(root, out, "--no-cache")[0] == 0
    after_builds = _surroundings(root, out)
    assert {k: v for k, v in after_builds.items() if "impressum" not in k} == {
        k: v for k, v in before.items() if "impressum" not in k
    }
    result = run_cli("clean", "--content", root / "content", "--output", out)
    assert result.exit_code == 0, result.stderr
    assert not out.exists()
    assert (out.parent / "andere-seite" / "index.html").read_text(encoding="utf-8") == (
        "<p>fremd</p>"
    )


@pytest.mark.parametrize("where", ["content", "content/medien", ".", "..", "/"])
def test_output_into_the_sources_or_a_foreign_folder_is_refused(
    world: tuple[Path, Path, Path], where: str
) -> None:
    root, _, _ = world
    (root / "content/medien").mkdir(exist_ok=True)
    (root / "content/medien/bild.png").write_bytes(b"\x89PNG")
    target = Path(where) if where == "/" else root / where
    before = tree_state(root)
    result = build_cli(root, target, "--now", NOW)
    assert result.exit_code == 1
    assert "nicht leer und wurde nicht von kldigital-site angelegt" in result.stderr
    assert {k: v for k, v in tree_state(root).items() if CACHE_DIR_NAME not in k} == {
        k: v for k, v in before.items() if CACHE_DIR_NAME not in k
    }


# --- the dev server ----------------------------------------------------------------------

SERVER = Path(__file__).resolve().parent.parent / "src/kldigital_site/serve/server.py"


def test_the_dev_server_listens_on_localhost_by_default() -> None:
    if not SERVER.is_file():
        pytest.skip("no dev server yet")
    from kldigital_site.serve.server import ServeOptions

    assert ServeOptions(Path("content"), Path("templates")).host == "127.0.0.1"
    serve = cli.commands["serve"]  # type: ignore[attr-defined]
    host = next(p for p in serve.params if p.name == "host")
    assert host.default == "127.0.0.1"


@pytest.fixture
def served(world: tuple[Path, Path, Path]) -> Iterator[tuple[int, Path]]:
    if not SERVER.is_file():
        pytest.skip("no dev server yet")
    from kldigital_site.serve.server import DevServer, ServeOptions

    root, _, secret = world
    options = ServeOptions(root / "content", TEMPLATES, port=0, use_cache=False)
    server = DevServer(options)
    try:
        assert server.httpd.server_address[0] == "127.0.0.1"
        server.rebuild("Start", initial=True)
        # A symlink planted in the served folder must not lead out either.
        (server.site_dir / "link.txt").symlink_to(secret)
        thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
        thread.start()
        yield server.port, secret
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


def _raw_get(port: int, target: str) -> tuple[int, bytes]:
    """One request exactly as written: no client normalises the path first."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(f"GET {target} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode("latin-1"))
        data = b""
        while chunk := connection.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data


@pytest.mark.parametrize(
    "target",
    [
        "/../geheim.txt",
        "/../../geheim.txt",
        "/%2e%2e/geheim.txt",
        "/%2e%2e/%2e%2e/geheim.txt",
        "/..%2fgeheim.txt",
        "/..%2f..%2fgeheim.txt",
        "/%2e%2e%2f",
        "/%2e%2e%2f%2e%2e%2fgeheim.txt",
        "/%2E%2E/%2E%2E/geheim.txt",
        "/..%5c..%5cgeheim.txt",
        "/..\\..\\geheim.txt",
        "/%252e%252e/geheim.txt",
        "/.%2e/.%2e/geheim.txt",
        "//../geheim.txt",
        "/presse/../../geheim.txt",
        "/%c0%ae%c0%ae/geheim.txt",
        "/%00../geheim.txt",
        "/link.txt",
        "/.kldigital-manifest.json",
        "http://127.0.0.1/../geheim.txt",
    ],
)
def test_the_dev_server_answers_traversal_with_404(served: tuple[int, Path], target: str) -> None:
    port, _ = served
    status, data = _raw_get(port, target)
    assert status in (400, 404), data[:200]
    assert SECRET.encode() not in data


def test_the_dev_server_still_serves_the_site(served: tuple[int, Path]) -> None:
    port, _ = served
    status, data = _raw_get(port, "/")
    assert status == 200 and b"<html" in data
    assert _raw_get(port, "/impressum/")[0] == 200

"""The output folder: atomic, exact, deterministic, keeps foreign files, right under a sub-path."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections import deque
from collections.abc import Callable, Mapping
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlsplit
from xml.etree import ElementTree

import pytest

from kldigital_site import output as output_module
from kldigital_site.cache import CACHE_DIR_NAME
from kldigital_site.errors import BuildFailed
from kldigital_site.output import read_manifest
from tests.conftest import (
    NOW,
    TEMPLATES,
    build_cli,
    build_site_at,
    copy_fixture_site,
    run_cli,
    tree_state,
    write_files,
)

MakeSite = Callable[[Mapping[str, str | bytes]], Path]


def file_tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


class LinkCollector(HTMLParser):
    """Every URL an HTML page refers to, with the tag and attribute it came from."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in ("href", "src", "action", "poster", "data"):
                self.urls.append((tag, name, value))
            elif name == "srcset":
                for candidate in value.split(","):
                    if candidate.strip():
                        self.urls.append((tag, name, candidate.split()[0]))


def page_urls(path: Path) -> list[tuple[str, str, str]]:
    collector = LinkCollector()
    collector.feed(path.read_text(encoding="utf-8"))
    collector.close()
    return collector.urls


def is_external(url: str) -> bool:
    return url.startswith(("http://", "https://", "mailto:", "tel:", "#", "data:"))


def target_file(out: Path, site_path: str) -> Path:
    """The file a server would answer with for a path below the site root."""
    site_path = urldefrag(site_path)[0].split("?")[0]
    candidate = out / site_path
    if site_path == "" or site_path.endswith("/"):
        candidate = candidate / "index.html"
    return candidate


# --- atomic and exact -------------------------------------------------------------------


def _press(slug: str, day: str, title: str, extra: str = "") -> dict[str, str]:
    return {
        f"content/presse/{day}-{slug}.md": f"---\ntitle: {title}\ndate: {day}\n{extra}---\n"
        f"Text von {title}.\n"
    }


def test_failed_build_leaves_output_exactly_as_it_was(make_site: MakeSite, tmp_path: Path) -> None:
    root = make_site({})
    out = tmp_path / "out"
    assert build_cli(root, out).exit_code == 0
    before = tree_state(out)
    assert "index.html" in before
    # A change that passes parsing and the model and fails only in the last stage,
    # the templates: the latest point at which a build can fail before writing.
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    page = templates / "page.html"
    source = page.read_text(encoding="utf-8")
    assert "{% block content %}" in source
    broken = source.replace("{% block content %}", "{% block content %}{{ gibt_es_nicht }}")
    page.write_text(broken, encoding="utf-8")
    write_files(root, _press("zweite", "2024-06-01", "Zweite Mitteilung"))

    result = build_cli(root, out, templates=templates)

    assert result.exit_code == 1
    assert "page.html:2: " in result.stderr and "gibt_es_nicht" in result.stderr
    assert tree_state(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "site", "templates"]


def test_build_interrupted_while_writing_leaves_old_output(
    make_site: MakeSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_site({})
    out = tmp_path / "out"
    build_site_at(root, output=out)
    before = tree_state(out)
    write_files(root, _press("zweite", "2024-06-01", "Zweite Mitteilung"))
    real_copy = shutil.copyfile
    calls = 0

    def failing_copy(src: Any, dst: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise OSError(28, "No space left on device")
        return real_copy(src, dst, **kwargs)

    monkeypatch.setattr(output_module.shutil, "copyfile", failing_copy)
    write_files(root, {"content/medien/a.txt": "a", "content/medien/b.txt": "b"})

    # A German message naming where, not a traceback (issue 14).
    with pytest.raises(BuildFailed, match="Der Datenträger ist voll"):
        build_site_at(root, output=out)

    assert tree_state(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "site"]

    # The next build must not trust anything the interrupted one left half done.
    monkeypatch.undo()
    build_site_at(root, output=out)
    build_site_at(root, output=tmp_path / "fresh")
    rebuilt, fresh = file_tree(out), file_tree(tmp_path / "fresh")
    assert sorted(rebuilt) == sorted(fresh)
    assert rebuilt == fresh


def test_deleted_press_release_leaves_no_trace(make_site: MakeSite, tmp_path: Path) -> None:
    root = make_site(
        {
            **_press(
                "abschied",
                "2023-03-14",
                "Abschiedsmeldung",
                "tags: [Ehrenamt]\nprojects: [beispielprojekt]\n",
            ),
        }
    )
    out = tmp_path / "out"
    build_site_at(root, output=out)
    built = file_tree(out)
    assert "presse/abschied/index.html" in built
    assert "presse/2023/index.html" in built
    assert "themen/ehrenamt/index.html" in built
    mentions = {rel for rel, data in built.items() if b"presse/abschied/" in data}
    # It is listed on the home page, the press list, the project page, the feed, the sitemap.
    assert {"index.html", "presse/index.html", "presse/feed.xml", "sitemap.xml"} <= mentions
    assert "projekte/beispielprojekt/index.html" in mentions

    (root / "content/presse/2023-03-14-abschied.md").unlink()
    result = build_site_at(root, output=out)

    after = file_tree(out)
    assert not (out / "presse/abschied").exists()
    assert not (out / "presse/2023").exists()  # its year had no other release
    assert not (out / "themen/ehrenamt").exists()  # nor its topic
    assert [rel for rel, data in after.items() if b"abschied" in data.lower()] == []
    assert result.report is not None and "presse/abschied/index.html" in result.report.removed
    assert (out / "presse/erste-mitteilung/index.html").is_file()
    leftover_dirs = [p for p in out.rglob("*") if p.is_dir() and not any(p.iterdir())]
    assert leftover_dirs == []


def test_foreign_non_empty_folder_is_refused(make_site: MakeSite, tmp_path: Path) -> None:
    root = make_site({})
    out = tmp_path / "meine-dateien"
    write_files(out, {"steuererklaerung.pdf": b"%PDF-1.4 wichtig", "fotos/urlaub.jpg": b"\xff\xd8"})
    before = tree_state(out)

    result = build_cli(root, out)

    assert result.exit_code == 1
    assert "nicht leer" in result.stderr and "nicht von kldigital-site angelegt" in result.stderr
    assert tree_state(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["meine-dateien", "site"]


def test_empty_existing_folder_is_accepted(make_site: MakeSite, tmp_path: Path) -> None:
    root = make_site({})
    out = tmp_path / "leer"
    out.mkdir()
    assert build_cli(root, out).exit_code == 0
    assert (out / "index.html").is_file()


def test_output_that_is_a_file_is_refused(make_site: MakeSite, tmp_path: Path) -> None:
    root = make_site({})
    out = tmp_path / "datei"
    out.write_text("keine Website")
    result = build_cli(root, out)
    assert result.exit_code == 1
    assert "Datei, kein Ordner" in result.stderr
    assert out.read_text() == "keine Website"


def test_files_placed_by_users_survive_rebuilds(make_site: MakeSite, tmp_path: Path) -> None:
    root = make_site({})
    out = tmp_path / "out"
    assert build_cli(root, out).exit_code == 0
    foreign = {
        "google1234abcd.html": b"google-site-verification: google1234abcd.html",
        ".htaccess": b"ErrorDocument 404 /404.html\n",
        "presse/pressemappe.zip": b"PK\x03\x04",
        "downloads/flyer.pdf": b"%PDF-1.7",
    }
    write_files(out, foreign)
    write_files(root, _press("zweite", "2024-06-01", "Zweite Mitteilung"))
    assert build_cli(root, out).exit_code == 0
    (root / "content/presse/2024-06-01-zweite.md").unlink()
    assert build_cli(root, out).exit_code == 0

    for rel, data in foreign.items():
        assert (out / rel).read_bytes() == data, rel
    assert not (out / "presse/zweite").exists()


def test_unchanged_files_are_not_rewritten(make_site: MakeSite, tmp_path: Path) -> None:
    root = make_site({})
    out = tmp_path / "out"
    write_files(root, {"content/medien/plan.pdf": b"%PDF-1.4 plan"})
    first = build_site_at(root, output=out)
    before = tree_state(out)
    before_bytes = file_tree(out)

    # Nothing changed: nothing is written at all.
    again = build_site_at(root, output=out)
    assert again.report is not None and again.report.written == ()
    assert sorted(again.report.unchanged) == sorted(first.report.written if first.report else ())
    assert tree_state(out) == before

    # One page's text changed: only files whose bytes changed are new.
    page = root / "content/seiten/impressum.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nNeue Telefonnummer.\n", encoding="utf-8")
    third = build_site_at(root, output=out)
    after = tree_state(out)
    after_bytes = file_tree(out)
    changed = {rel for rel in after_bytes if after_bytes[rel] != before_bytes.get(rel)}
    # The page itself changes; derived indexes (feed, search) may too, no other page does.
    assert {rel for rel in changed if rel.endswith(".html")} == {"impressum/index.html"}
    assert third.report is not None and set(third.report.written) == changed
    for rel, data in after_bytes.items():
        if rel not in changed:
            assert after[rel] == before[rel], f"{rel} was rewritten although unchanged"
            assert data == before_bytes[rel]


def test_same_input_gives_byte_identical_output(tmp_path: Path) -> None:
    # Two copies of the site in different places, built into different folders:
    # no absolute path, build time or random order may leak into the output.
    first_root = copy_fixture_site("full", tmp_path / "a" / "site")
    second_root = copy_fixture_site("full", tmp_path / "zweiter ordner" / "site")
    build_site_at(first_root, output=tmp_path / "out1")
    build_site_at(second_root, output=tmp_path / "ausgabe 2")
    first, second = file_tree(tmp_path / "out1"), file_tree(tmp_path / "ausgabe 2")
    assert len(first) > 40
    assert len(first) == len(second)
    assert any(rel.startswith("pagefind/filter/") for rel in first), "the search index too"
    # Every file of output/, the listing included: nothing but the site.
    assert first == second
    for data in first.values():
        assert str(tmp_path).encode() not in data
    hidden = [p for p in (tmp_path / "out1").rglob(".*")]
    assert hidden == [], "the tool's bookkeeping stays in .kldigital-cache/"


def test_output_of_an_older_version_is_taken_over(make_site: MakeSite, tmp_path: Path) -> None:
    # Versions before this one kept their manifest inside output/: the folder stays
    # the tool's, the old manifest leaves the site, and the user's own files stay.
    root = make_site({})
    out = tmp_path / "out"
    assert build_cli(root, out).exit_code == 0
    listed = read_manifest(out, root / CACHE_DIR_NAME)
    assert listed
    shutil.rmtree(root / CACHE_DIR_NAME)
    legacy = {"version": 3, "files": listed, "foreign": []}
    (out / ".kldigital-manifest.json").write_text(json.dumps(legacy), encoding="utf-8")
    write_files(out, {"google1234abcd.html": "verification"})
    os.removexattr(out, "user.kldigital-site")  # older versions did not mark their folder

    result = build_cli(root, out)

    assert result.exit_code == 0, result.output
    assert not (out / ".kldigital-manifest.json").exists()
    assert (out / "google1234abcd.html").read_text(encoding="utf-8") == "verification"
    assert set(file_tree(out)) == {*listed, "google1234abcd.html"}


def test_a_deleted_cache_folder_costs_a_full_build_not_the_output(
    make_site: MakeSite, tmp_path: Path
) -> None:
    root = make_site(_press("alt", "2026-01-05", "Alt"))
    out = tmp_path / "out"
    assert build_cli(root, out).exit_code == 0
    (root / "content/presse/2026-01-05-alt.md").unlink()
    shutil.rmtree(root / CACHE_DIR_NAME)

    result = build_cli(root, out)

    assert result.exit_code == 0, result.output
    assert not (out / "presse/alt").exists(), "pages of the old build are still known as ours"
    assert build_cli(root, tmp_path / "fresh").exit_code == 0
    assert file_tree(out) == file_tree(tmp_path / "fresh")


# --- sub-path: every internal URL resolves, every page is reachable ---------------------


@pytest.mark.parametrize(
    ("fixture", "base_url"),
    [
        ("minimal", "https://example.org/sub/"),
        ("full", "https://example.org/sub/"),
        ("full", "https://www.example.org/stadt/digital/"),
    ],
)
def test_internal_urls_resolve_under_a_sub_path(
    fixture: str, base_url: str, tmp_path: Path
) -> None:
    root = copy_fixture_site(fixture, tmp_path / "site")
    out = tmp_path / "out"
    result = build_cli(root, out, "--base-url", base_url)
    assert result.exit_code == 0, result.stderr
    base_path = urlsplit(base_url).path
    html_files = sorted(out.rglob("*.html"))
    assert html_files
    problems: list[str] = []
    checked = 0
    for page in html_files:
        rel = page.relative_to(out).as_posix()
        for tag, attr, url in page_urls(page):
            if url.startswith(base_url):
                site_path = url.removeprefix(base_url)  # canonical, og:url, ...
            elif is_external(url):
                continue
            elif not url.startswith(base_path):
                problems.append(f"{rel}: <{tag} {attr}={url!r}> is not under {base_path}")
                continue
            else:
                site_path = url.removeprefix(base_path)
            checked += 1
            if not target_file(out, site_path).is_file():
                problems.append(f"{rel}: <{tag} {attr}={url!r}> points at nothing")
    assert problems == []
    assert checked > 10 * len(html_files)

    for xml_name in ("sitemap.xml", "presse/feed.xml"):
        tree = ElementTree.parse(out / xml_name)
        locations = [e.text or "" for e in tree.iter() if e.tag.endswith("}loc")] + [
            e.get("href", "") for e in tree.iter() if e.tag.endswith("}link")
        ]
        assert locations
        for url in locations:
            assert url.startswith(base_url), (xml_name, url)
            assert target_file(out, url.removeprefix(base_url)).is_file(), (xml_name, url)
    robots = (out / "robots.txt").read_text(encoding="utf-8")
    assert f"Sitemap: {base_url}sitemap.xml" in robots


@pytest.mark.parametrize("fixture", ["minimal", "full"])
def test_every_page_is_reachable_from_the_home_page(fixture: str, tmp_path: Path) -> None:
    root = copy_fixture_site(fixture, tmp_path / "site")
    out = tmp_path / "out"
    base_url = "https://example.org/sub/"
    assert build_cli(root, out, "--base-url", base_url).exit_code == 0
    base_path = urlsplit(base_url).path
    seen = {"index.html"}
    queue = deque(["index.html"])
    while queue:
        current = out / queue.popleft()
        for tag, attr, url in page_urls(current):
            # Links, and forms that navigate with GET (the search box in the header).
            followed = (tag, attr) in (("a", "href"), ("form", "action"))
            if not followed or is_external(url) or not url.startswith(base_path):
                continue
            target = target_file(out, url.removeprefix(base_path))
            rel = target.relative_to(out).as_posix()
            if rel.endswith(".html") and target.is_file() and rel not in seen:
                seen.add(rel)
                queue.append(rel)
    # Not the redirect pages at old addresses (aliases:): nothing links to an old address.
    pages = {
        p.relative_to(out).as_posix()
        for p in out.rglob("*.html")
        if b'http-equiv="refresh"' not in p.read_bytes()
    }
    assert pages - seen == {"404.html"}


# --- clean ------------------------------------------------------------------------------


def test_clean_removes_output_and_cache_but_keeps_foreign_files(
    make_site: MakeSite, tmp_path: Path
) -> None:
    root = make_site({})
    out = root / "output"
    assert build_cli(root, out).exit_code == 0
    write_files(out, {"google1234abcd.html": "verification", "presse/notiz.txt": "meine Notiz"})
    cache = root / ".kldigital-cache"
    write_files(cache, {"cache.json": "{}"})
    generated = [p for p in out.rglob("*") if p.is_file()]
    assert len(generated) > 5

    result = run_cli("clean", "--content", root / "content", "--output", out)

    assert result.exit_code == 0, result.output
    remaining = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert remaining == ["google1234abcd.html", "presse/notiz.txt"]
    assert not cache.exists()
    assert (root / "content/site.yaml").is_file()


def test_clean_removes_the_folder_when_only_generated_files_are_in_it(
    make_site: MakeSite, tmp_path: Path
) -> None:
    root = make_site({})
    out = tmp_path / "out"
    assert build_cli(root, out).exit_code == 0
    assert run_cli("clean", "--content", root / "content", "--output", out).exit_code == 0
    assert not out.exists()


def test_clean_never_touches_a_folder_it_did_not_create(
    make_site: MakeSite, tmp_path: Path
) -> None:
    root = make_site({})
    out = tmp_path / "fremd"
    write_files(out, {"index.html": "<p>von Hand</p>", "bilder/a.png": b"\x89PNG"})
    before = tree_state(out)
    assert run_cli("clean", "--content", root / "content", "--output", out).exit_code == 0
    assert tree_state(out) == before


def test_build_after_clean_starts_afresh(make_site: MakeSite, tmp_path: Path) -> None:
    root = make_site({})
    out = tmp_path / "out"
    build_site_at(root, output=out, now=NOW)
    first = file_tree(out)
    assert run_cli("clean", "--content", root / "content", "--output", out).exit_code == 0
    build_site_at(root, output=out, now=NOW)
    again = file_tree(out)
    assert len(again) == len(first)
    assert again == first
    assert set(read_manifest(out, root / CACHE_DIR_NAME) or {}) == set(again)


def _shared_pages(staging: Path, out: Path, count: int) -> list[str]:
    """Pages that staging and output share as one inode (unchanged by the last build)."""
    shared = [
        rel
        for rel in sorted(file_tree(staging))
        if rel.endswith("/index.html")
        and (out / rel).is_file()
        and os.path.samefile(staging / rel, out / rel)
    ]
    assert len(shared) >= count, "the fixture has pages that an edit leaves alone"
    return shared[:count]


def _swap_in(path: Path, data: bytes) -> None:
    """Replace ``path`` by a new file (a new inode) of the same size and times, as an
    editor that saves by renaming does, when the new bytes happen to be as long."""
    assert len(data) == path.stat().st_size
    info = path.stat()
    fresh = path.with_name("neu.tmp")
    fresh.write_bytes(data)
    os.utime(fresh, ns=(info.st_atime_ns, info.st_mtime_ns))
    os.replace(fresh, path)


def _check_trees_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a system without ``fork``: the build checks both trees itself."""
    monkeypatch.setattr(output_module.Forked, "start", classmethod(lambda cls, parts, **_: None))


def _check_staging_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """The child tells the published part, then fails before the staging part."""
    check = output_module.TreeWriter._check_trees

    def failing(writer: output_module.TreeWriter) -> Any:
        parts = check(writer)
        yield next(parts)
        raise OSError("staging vanished")

    monkeypatch.setattr(output_module.TreeWriter, "_check_trees", failing)


@pytest.mark.parametrize(
    "checked",
    [None, _check_trees_in_process, _check_staging_in_process],
    ids=["by-the-child", "in-process", "staging-in-process"],
)
def test_files_changed_behind_the_tools_back_are_never_kept(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    checked: Callable[[pytest.MonkeyPatch], None] | None,
) -> None:
    # Issue 15: staged files are trusted through the published file they share an inode
    # with, without a stat of their own. Anything done to either tree by hand (a file
    # replaced with the same size and time, edited in place, deleted, or added) must
    # still show, whether a forked child checks the trees (forked.py) or the build does.
    if checked is not None:
        checked(monkeypatch)
    root = copy_fixture_site("full", tmp_path / "site")
    out = tmp_path / "out"
    page = root / "content/seiten/impressum.md"
    for n in (1, 2):
        page.write_text(page.read_text(encoding="utf-8") + f"\nNachtrag {n}.\n", "utf-8")
        assert build_cli(root, out, "--now", NOW).exit_code == 0
    staging = output_module.staging_dir_for(out, root / CACHE_DIR_NAME)
    shared = _shared_pages(staging, out, 4)
    replaced_staged, deleted_staged, replaced_published, edited_in_place = shared
    original = (out / replaced_staged).read_bytes()
    _swap_in(staging / replaced_staged, original.replace(b"<", b"[", 1))
    (staging / deleted_staged).unlink()
    write_files(staging, {"fremd/index.html": "<p>nicht von uns</p>"})
    published = (out / replaced_published).read_bytes()
    _swap_in(out / replaced_published, published.replace(b"<", b"[", 1))
    # One inode, two names: the published page and its staged copy both change.
    with (out / edited_in_place).open("r+b") as stream:
        stream.write(b"[")

    # Two more edits: the first publishes staging, the second the tree now in staging.
    for n in (3, 4):
        page.write_text(page.read_text(encoding="utf-8") + f"\nNachtrag {n}.\n", "utf-8")
        assert build_cli(root, out, "--now", NOW).exit_code == 0
        reference = tmp_path / f"reference-{n}"
        assert build_cli(root, reference, "--now", NOW, "--no-cache").exit_code == 0
        built, clean = file_tree(out), file_tree(reference)
        assert not (out / "fremd").exists()
        for rel in shared:
            assert built[rel] == clean[rel], rel


def test_an_edit_build_leaves_checking_both_trees_to_a_child(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 15: a command-line build does not stat the published and staged files itself
    # (67,000 at 10,000 items) while a forked child can, beside the parsing; without
    # ``fork`` it does, and the site comes out the same either way.
    root = copy_fixture_site("full", tmp_path / "site")
    out = tmp_path / "out"
    assert build_cli(root, out, "--now", NOW).exit_code == 0
    looked_at: list[str] = []
    untrusted = output_module._untrusted

    def counting(folder: Path, manifest: Any, *vouched: Any) -> list[str]:
        looked_at.extend(manifest.files)
        return untrusted(folder, manifest, *vouched)

    monkeypatch.setattr(output_module, "_untrusted", counting)
    # Its ~0.7 s of CPU at 10,000 items is needed only at the end: it runs at a lower
    # priority than the search's head start and Pagefind, whose end the build waits for.
    start = output_module.Forked.start
    niceness: dict[str, int] = {}

    def recording(parts: Any, *, nice: int = 0) -> Any:
        niceness[parts.__name__] = nice
        return start(parts, nice=nice)

    monkeypatch.setattr(output_module.Forked, "start", recording)
    page = root / "content/seiten/impressum.md"
    for n, forked in enumerate((True, False, True)):
        if not forked:
            _check_trees_in_process(monkeypatch)
        looked_at.clear()
        niceness.clear()
        published = read_manifest(out, root / CACHE_DIR_NAME) or {}
        page.write_text(page.read_text(encoding="utf-8") + f"\nNachtrag {n}.\n", "utf-8")
        assert build_cli(root, out, "--now", NOW).exit_code == 0
        if forked:
            assert looked_at == [], "the child checked them"
            assert niceness["_check_trees"] == output_module.CHECK_NICENESS > 0
            assert niceness["_marked_published"] == 0, "the search head start is waited for"
        else:
            assert set(published) <= set(looked_at), "checked here, without a child"
            monkeypatch.setattr(output_module.Forked, "start", recording)
        reference = tmp_path / f"reference-{n}"
        assert build_cli(root, reference, "--now", NOW, "--no-cache").exit_code == 0
        assert file_tree(out) == file_tree(reference)


def _records(root: Path, out: Path) -> tuple[list[Path], list[Path]]:
    """The records of the two trees of ``out`` and the bases they are stored against."""
    book = output_module.Bookkeeping(out, root / CACHE_DIR_NAME)
    bases = sorted(book.folder.glob(f"{book.prefix}-base-*"))
    return sorted(set(book.folder.glob(f"{book.prefix}-*.json")) - set(bases)), bases


def _edits_equal_clean_builds(root: Path, out: Path, tmp_path: Path, count: int) -> None:
    page = root / "content/seiten/impressum.md"
    release = sorted((root / "content/presse").glob("*.md"))[0]
    for n in range(count):
        edited = page if n % 2 else release
        edited.write_text(edited.read_text(encoding="utf-8") + f"\nNachtrag {n}.\n", "utf-8")
        assert build_cli(root, out, "--now", NOW).exit_code == 0
        reference = tmp_path / f"reference-{n}"
        assert build_cli(root, reference, "--now", NOW, "--no-cache").exit_code == 0
        built = file_tree(out)
        assert built == file_tree(reference)
        listed = read_manifest(out, root / CACHE_DIR_NAME) or {}
        assert set(listed) == set(built)
        assert all(hashlib.sha256(built[rel]).hexdigest() == listed[rel] for rel in built)
        # The key the commit worked out from the last tree's is the key of these files.
        book = output_module.Bookkeeping(out, root / CACHE_DIR_NAME)
        record = output_module._read_manifest(out, book)
        assert record is not None and record.tree == output_module.tree_key(listed)


def test_edit_builds_record_what_changed_against_one_shared_base(tmp_path: Path) -> None:
    # Issue 15: an edit build writes the difference from a base both trees share, not a
    # list of every file; what it reads back must still be exactly the tree published.
    root = copy_fixture_site("full", tmp_path / "site")
    out = tmp_path / "out"
    assert build_cli(root, out, "--now", NOW).exit_code == 0
    _edits_equal_clean_builds(root, out, tmp_path, 4)
    records, bases = _records(root, out)
    assert len(records) == 2 and len(bases) == 1, (records, bases)
    for record in records:
        stored = json.loads(record.read_text(encoding="utf-8"))
        assert stored["base"] in bases[0].name
        assert len(stored["changed"]) + len(stored["removed"]) < len(file_tree(out)) // 4


def test_a_build_that_publishes_nothing_keeps_staging_as_it_made_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 15: a change that publishes nothing (a draft's) still brings staging up to the
    # published site; its record must say so, or the next build undoes all of it. After
    # a cold build (no staging yet) every such change linked every file anew.
    root = copy_fixture_site("full", tmp_path / "site")
    out = tmp_path / "out"
    assert build_cli(root, out, "--now", NOW).exit_code == 0
    placed: list[str] = []
    place = output_module.TreeWriter._place

    def counted(writer: output_module.TreeWriter, rel: str, *args: Any) -> None:
        placed.append(rel)
        place(writer, rel, *args)

    monkeypatch.setattr(output_module.TreeWriter, "_place", counted)
    draft = root / "content/presse/2026-09-01-entwurf-haushalt.md"
    published = file_tree(out)
    for n in (1, 2):
        placed.clear()
        draft.write_text(draft.read_text(encoding="utf-8") + f"\nNachtrag {n}.\n", "utf-8")
        result = build_cli(root, out, "--now", NOW)
        assert result.exit_code == 0, result.stderr
        assert file_tree(out) == published
        # The first fills the new staging folder with the published site, once.
        assert (set(placed) == set(published)) if n == 1 else placed == [], (n, placed[:5])
    # Staging is what its record says: edits from here on equal clean builds.
    _edits_equal_clean_builds(root, out, tmp_path, 2)


def test_a_record_grown_past_its_limit_gets_a_new_base(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every build makes a new base and stores the published tree against it as well.
    monkeypatch.setattr(output_module, "_DELTA_FLOOR", 0)
    monkeypatch.setattr(output_module, "_DELTA_SHARE", 10**9)
    root = copy_fixture_site("full", tmp_path / "site")
    out = tmp_path / "out"
    assert build_cli(root, out, "--now", NOW).exit_code == 0
    seen: set[str] = set()
    for n in range(3):
        _edits_equal_clean_builds(root, out, tmp_path / str(n), 1)
        records, bases = _records(root, out)
        assert len(records) == 2 and len(bases) == 1, (records, bases)
        assert bases[0].name not in seen
        seen.add(bases[0].name)


def test_a_missing_base_stops_the_build_like_a_damaged_manifest(tmp_path: Path) -> None:
    root = copy_fixture_site("minimal", tmp_path / "site")
    out = tmp_path / "out"
    assert build_cli(root, out, "--now", NOW).exit_code == 0
    _records(root, out)[1][0].unlink()
    _refused_as_damaged(root, out)


def test_a_big_tree_record_is_written_as_it_reads_whole(tmp_path: Path) -> None:
    """A tree's record and its base are written a few thousand files at a time (a cold
    build's peak memory); the record is the very text ``json.dumps`` makes of it whole,
    and the base reads back as it was given: names with quotes, umlauts and newlines on
    either side of every piece's boundary included."""
    files = {
        f"seite-{n:05d}/index.html" + ('\n"ü' if n % 7 == 0 else ""): f"{n:064x}"
        for n in range(9000)
    }
    stats = {path: [n, n * 1000, n + 7] for n, path in enumerate(files)}
    out = tmp_path / "out"
    out.mkdir()
    book = output_module.Bookkeeping(out, tmp_path / "work")
    name = book.write_base(files, stats)
    base = book.base(name)
    assert base is not None
    assert (base.files, base.stats) == (files, stats)
    book.write_manifest(out, name, files, stats, ["weg.html"], ["fremd.txt"], "schlüssel")
    record = book.manifest_file(out)
    assert record is not None
    whole = {
        "version": output_module._MANIFEST_VERSION,
        "base": name,
        "changed": files,
        "changed_stats": stats,
        "removed": ["weg.html"],
        "foreign": ["fremd.txt"],
        "tree": "schlüssel",
    }
    assert record.read_text(encoding="utf-8") == json.dumps(whole)


@pytest.mark.parametrize("damage", ["cut short", "one byte changed", "empty"])
def test_a_damaged_base_stops_the_build_like_a_damaged_manifest(
    tmp_path: Path, damage: str
) -> None:
    # Issue 15: the base is marshal with a checksum; damaged, it is never read.
    root = copy_fixture_site("minimal", tmp_path / "site")
    out = tmp_path / "out"
    assert build_cli(root, out, "--now", NOW).exit_code == 0
    (base,) = _records(root, out)[1]
    data = base.read_bytes()
    if damage == "cut short":
        data = data[: len(data) // 2]
    elif damage == "one byte changed":
        middle = len(data) // 2
        data = data[:middle] + bytes([data[middle] ^ 1]) + data[middle + 1 :]
    else:
        data = b""
    base.write_bytes(data)
    _refused_as_damaged(root, out)


def test_a_base_an_older_version_wrote_as_json_is_read(tmp_path: Path) -> None:
    # Output and work folder of a version that wrote its bases as JSON: an edit build
    # takes them over and comes out as a clean build does.
    root = copy_fixture_site("full", tmp_path / "site")
    out = tmp_path / "out"
    assert build_cli(root, out, "--now", NOW).exit_code == 0
    (base,) = _records(root, out)[1]
    stored = output_module.manifest_base.read(base)
    assert stored is not None
    older = {"version": 6, "files": stored[0], "stats": stored[1]}
    base.with_suffix(".json").write_text(json.dumps(older), encoding="utf-8")
    base.unlink()
    book = output_module.Bookkeeping(out, root / CACHE_DIR_NAME)
    record = output_module._read_manifest(out, book)
    assert record is not None and not record.damaged
    assert record.files == stored[0]
    _edits_equal_clean_builds(root, out, tmp_path, 2)


def test_every_published_file_counts_in_the_tree_key() -> None:
    """The key of what output/ holds changes with any file's digest and with a file more
    or less, whatever the order it is listed in. Worked out from the last tree's key and
    the files changed since (issue 15: an edit build does not hash 67,000 files again),
    it is the whole tree's key; a key of another form (an older version's) is not used."""
    from kldigital_site.build import tree_key

    digests = {f"seite-{n:05d}/index.html": f"{n:064x}" for n in range(9000)}
    key = tree_key(digests)
    assert tree_key(dict(reversed(digests.items()))) == key
    others = [
        tree_key({**digests, "seite-04095/index.html": "0" * 64}),
        tree_key({**digests, "seite-04096/index.html": "0" * 64}),
        tree_key({**digests, "neu/index.html": "0" * 64}),
        tree_key({k: v for k, v in digests.items() if k != "seite-08999/index.html"}),
        tree_key({}),
    ]
    assert len({key, *others}) == len(others) + 1
    after = {**digests, "seite-04095/index.html": "0" * 64, "neu/index.html": "1" * 64}
    del after["seite-00000/index.html"]
    paths = ["seite-04095/index.html", "neu/index.html", "seite-00000/index.html"]
    assert output_module.changed_tree_key(key, digests, after, paths) == tree_key(after)
    assert output_module.changed_tree_key(tree_key({}), {}, after, after) == tree_key(after)
    older = hashlib.sha256(json.dumps(sorted(digests.items())).encode()).hexdigest()
    assert output_module.changed_tree_key(older, digests, after, paths) is None


def test_files_put_into_output_while_a_build_runs_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, folders_listed_again: list[str]
) -> None:
    # Issue 15: the forked child looks for the user's files while the build parses; the
    # build lists again only the folders changed since (foreign_files.py). A file put
    # into output/ after that look, into a folder it saw or a new one, must still be
    # carried over, and one removed since must not be asked for. No folder counts as
    # racy here, so that nothing is listed again but for a change.
    from kldigital_site import foreign_files

    monkeypatch.setattr(foreign_files, "RACY_NS", 0)
    root = copy_fixture_site("full", tmp_path / "site")
    out = tmp_path / "out"
    assert build_cli(root, out, "--now", NOW).exit_code == 0
    write_files(out, {"presse/alt.txt": "vorher", "fremd/tief/alt.txt": "vorher"})
    listed = folders_listed_again
    find_foreign = output_module.TreeWriter.find_foreign
    added: dict[str, str] = {}

    def meanwhile(writer: output_module.TreeWriter) -> frozenset[str]:
        if writer._foreign is None:
            write_files(out, added)
            (out / "presse/alt.txt").unlink(missing_ok=True)
        return find_foreign(writer)

    monkeypatch.setattr(output_module.TreeWriter, "find_foreign", meanwhile)
    page = root / "content/seiten/impressum.md"
    release = sorted((root / "content/presse").glob("*.md"))[0]
    edits = [
        (page, "\nNachtrag.\n", {"neu/unter/datei.txt": "neu", "presse/pressemappe.zip": "PK"}),
        (release, "", {"google1234.html": "google-site-verification", "presse/b.txt": "b"}),
    ]
    kept = {"fremd/tief/alt.txt": b"vorher"}
    for n, (edited, appended, files) in enumerate(edits):
        text = edited.read_text(encoding="utf-8")
        if not appended:  # a title change: the whole way
            text = text.replace("title: ", "title: Geändert ", 1)
        edited.write_text(text + appended, encoding="utf-8")
        listed.clear()
        added.clear()
        added.update(files)
        assert build_cli(root, out, "--now", NOW).exit_code == 0
        kept.update((rel, data.encode()) for rel, data in files.items())
        reference = tmp_path / f"reference-{n}"
        assert build_cli(root, reference, "--now", NOW, "--no-cache").exit_code == 0
        assert file_tree(out) == {**file_tree(reference), **kept}
        # The child's look was used: only the changed folders were listed again.
        assert set(listed) <= {"", "presse", "neu"}, listed
        assert listed, "the changes after the look were seen"


def test_files_put_into_either_tree_between_builds_are_seen_in_the_kept_listings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 15: each build keeps its listings of both trees, and the next lists again
    # only the folders changed since (tree_listing.py). A user's file put into a folder
    # of output/ that no build touched must still be carried over, and a file slipped
    # into staging must not be published with the next exchange.
    from kldigital_site import foreign_files, tree_listing

    # The builds here follow each other within a second: a shorter racy window, kept
    # well apart from the folders' last changes by a pause before each build. (The
    # same for the build's last look, which would otherwise list the changed folders
    # again whatever the child found.)
    monkeypatch.setattr(tree_listing, "RACY_NS", 50_000_000)
    monkeypatch.setattr(foreign_files, "RACY_NS", 50_000_000)
    log = tmp_path / "listed.log"
    entries = tree_listing._entries

    def logged(path: str) -> tuple[str, bytes, str]:
        # By file: the forked child does the listing.
        with log.open("a", encoding="utf-8") as stream:
            stream.write(f"{path}\n")
        return entries(path)

    monkeypatch.setattr(tree_listing, "_entries", logged)
    root = copy_fixture_site("full", tmp_path / "site")
    out = tmp_path / "out"
    page = root / "content/seiten/impressum.md"

    def edit_and_build(n: int) -> list[str]:
        page.write_text(page.read_text(encoding="utf-8") + f"\nNachtrag {n}.\n", "utf-8")
        time.sleep(0.1)
        log.unlink(missing_ok=True)
        assert build_cli(root, out, "--now", NOW).exit_code == 0
        return log.read_text(encoding="utf-8").splitlines() if log.exists() else []

    assert build_cli(root, out, "--now", NOW).exit_code == 0
    for n in range(2):  # then both trees have a listing kept
        edit_and_build(n)
    staging = next((root / CACHE_DIR_NAME).glob("staging-*"))
    project = sorted(path.parent for path in out.glob("projekte/*/index.html"))[0]
    folder = project.relative_to(out).as_posix()
    write_files(out, {f"{folder}/anhang.pdf": "%PDF"})
    write_files(staging, {f"{folder}/untergeschoben.html": "<p>fremd</p>"})

    listed = edit_and_build(2)

    reference = tmp_path / "reference"
    assert build_cli(root, reference, "--now", NOW, "--no-cache").exit_code == 0
    assert file_tree(out) == {**file_tree(reference), f"{folder}/anhang.pdf": b"%PDF"}
    assert f"{out}/{folder}" in listed and f"{staging}/{folder}" in listed
    folders = sum(1 for path in out.rglob("*") if path.is_dir())
    assert len(listed) < folders, "the kept listings were used, not both trees listed whole"
    # And the next build, with the trees swapped, keeps the user's file too.
    edit_and_build(3)
    assert (out / folder / "anhang.pdf").read_bytes() == b"%PDF"
    assert not (out / folder / "untergeschoben.html").exists()


def test_the_tree_key_of_a_record_stands_only_for_the_tree_it_was_written_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 15: a build that finds its inputs as last time takes the hash of what output/
    # holds from the tree's record instead of hashing 67,000 paths and digests again.
    # Output written since by a build without the cache has a record of its own: the
    # build after it must see that output/ is not what its cache says, and build.
    root = copy_fixture_site("full", tmp_path / "site")
    out = tmp_path / "out"
    hashed: list[int] = []
    tree_key = output_module.tree_key

    def counted(digests: Mapping[str, str]) -> str:
        hashed.append(len(digests))
        return tree_key(digests)

    monkeypatch.setattr(output_module, "tree_key", counted)
    assert build_cli(root, out, "--now", NOW).exit_code == 0
    clean = file_tree(out)
    hashed.clear()
    assert build_cli(root, out, "--now", NOW).exit_code == 0
    assert hashed == [], "nothing changed: the record's key stands"

    page = root / "content/seiten/impressum.md"
    before = page.read_text(encoding="utf-8")
    page.write_text(before + "\nOhne Cache.\n", encoding="utf-8")
    assert build_cli(root, out, "--now", NOW, "--no-cache").exit_code == 0
    assert file_tree(out) != clean
    page.write_text(before, encoding="utf-8")
    assert build_cli(root, out, "--now", NOW).exit_code == 0
    assert file_tree(out) == clean

    # A record of an older version has no key: the files are hashed, and still agree.
    (record,) = [
        path
        for path in _records(root, out)[0]
        if path.name.endswith(f"-{os.stat(out).st_ino}.json")
    ]
    stored = json.loads(record.read_text(encoding="utf-8"))
    del stored["tree"]
    record.write_text(json.dumps(stored), encoding="utf-8")
    hashed.clear()
    result = build_cli(root, out, "--now", NOW)
    assert result.exit_code == 0
    assert hashed == [len(clean)]
    assert file_tree(out) == clean


def _refused_as_damaged(root: Path, out: Path) -> None:
    """The next build stops with the damaged-record error and leaves output/ untouched."""
    before = tree_state(out)
    result = build_cli(root, out, "--now", NOW)
    assert result.exit_code == 1
    assert "Die Liste der erzeugten Dateien ist beschädigt" in result.stderr
    assert tree_state(out) == before


def test_an_edit_build_compares_only_what_it_added_and_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 15: once add_unchanged has carried the published files over, the commit
    # looks only at the paths added and those left out (and staging's difference from
    # the base it shares with the published tree): the same as comparing both trees whole.
    compared: list[str] = []
    changes = output_module.TreeWriter._changes
    unplanned = output_module.TreeWriter._staged_unplanned

    def checked_changes(writer: output_module.TreeWriter) -> tuple[set[str], set[str]]:
        planned, previous = writer._planned, writer.published.files
        whole = {r for r, _ in planned.items() - previous.items()}, previous.keys() - planned
        found = changes(writer)
        assert found == whole
        compared.append("changes" if writer._not_carried is not None else "whole")
        return found

    def checked_unplanned(writer: output_module.TreeWriter) -> set[str]:
        found = unplanned(writer)
        assert found == writer._staged.files.keys() - writer._planned.keys()
        return found

    monkeypatch.setattr(output_module.TreeWriter, "_changes", checked_changes)
    monkeypatch.setattr(output_module.TreeWriter, "_staged_unplanned", checked_unplanned)
    root = copy_fixture_site("full", tmp_path / "site")
    out = tmp_path / "out"
    assert build_cli(root, out, "--now", NOW).exit_code == 0
    _edits_equal_clean_builds(root, out, tmp_path, 4)
    assert "changes" in compared


@pytest.mark.parametrize(
    "unsafe",
    [
        *("..", "../x", "a/..", "a/../b", ".", "./a", "a/./b", "a/.", "", "/a", "a//b", "a/"),
        *("a\\b", "a\x00b", "a/..\n", "a/\n", "..\n"),
    ],
)
def test_every_unsafe_path_among_many_is_found(unsafe: str) -> None:
    # Issue 15: the searches for "." and ".." parts run only where a part starts with a
    # dot; "a/.b" and "..c" are plain paths, but they must not hide an unsafe one.
    plain = ["index.html", "a/b.html", "presse/x/index.html"]
    assert output_module._all_plain_paths(plain)
    assert output_module._all_plain_paths([*plain, "a/.well-known/x", "..c", "d/e."])
    assert not output_module._all_plain_paths([*plain, unsafe])
    assert not output_module._all_plain_paths([unsafe, *plain, ".well-known/x"])
    # A newline in a name is plain unless the path by path test says otherwise.
    assert output_module._all_plain_paths([*plain, "a\nb/c", "a\n/b"])


def _written(out: Path, work: Path, files: Mapping[str, bytes]) -> output_module.TreeWriter:
    """A writer with ``files`` added, not yet committed."""
    writer = output_module.TreeWriter(out, work)
    for rel, data in files.items():
        writer.add(rel, digest=hashlib.sha256(data).hexdigest(), data=data)
    return writer


def test_new_bytes_never_go_through_a_file_staging_shares_with_output(tmp_path: Path) -> None:
    # Issue 15: new bytes are written straight into a new file, not through a temporary
    # file and a rename. Staging may hold, at the same path, a hard link to the published
    # file (a page the last build kept): writing into that file would change the
    # published page while the build runs, and the tree staging holds after the next
    # exchange.
    out, work = tmp_path / "out", tmp_path / "work"
    _written(out, work, {"a.html": b"alt", "b.html": b"eins"}).commit()
    _written(out, work, {"a.html": b"alt", "b.html": b"zwei"}).commit()
    staging = output_module.staging_dir_for(out, work)
    assert os.path.samefile(staging / "a.html", out / "a.html")
    writer = _written(out, work, {"a.html": b"neu", "b.html": b"zwei", "c.html": b"dazu"})
    assert (out / "a.html").read_bytes() == b"alt"
    assert (staging / "a.html").read_bytes() == b"neu"
    writer.commit()
    assert file_tree(out) == {"a.html": b"neu", "b.html": b"zwei", "c.html": b"dazu"}
    assert file_tree(staging) == {"a.html": b"alt", "b.html": b"zwei"}
    assert not [name for name in os.listdir(out) if "kldigital-tmp" in name]

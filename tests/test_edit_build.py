"""The command line's short way for an edit of bodies (edit_build.py, issue 15).

A build after Markdown bodies changed, and nothing else, renders only the pages whose
records say they read those bodies, indexes only the search shards those pages lie
in and keeps every other file as published; anything else goes the whole way. After
each build the output is byte for byte a clean build's, and the warnings and errors
are those of the whole way.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from kldigital_site import build as build_module
from kldigital_site import edit_build as edit_build_module
from kldigital_site.build import BuildResult
from kldigital_site.cache import CACHE_DIR_NAME, BuildCache
from kldigital_site.errors import BuildFailed
from kldigital_site.model import Route
from kldigital_site.output import TreeWriter
from kldigital_site.render import pages as pages_module
from kldigital_site.search import head_start as head_starts
from kldigital_site.search import shards as shards_module
from kldigital_site.search.extract import search_digest
from tests.conftest import build_site_at, copy_fixture_site
from tests.test_incremental import RELEASE, RELEASE_PAGE, Site, _pages, tree
from tests.test_search import _bundle, indexed_pages, small_shards, words_of
from tests.test_search_head_start import (
    Fed,
    _clean_build,
    _edited_latest_in_its_shard,
    _shard_size,
    fed,
)

__all__ = ["fed", "small_shards"]  # the fixtures, used by name

RELEASE_KEY = "presse/2025-08-26-digitale-sprechstunde.md"
LEAD = "Ein neuer Einstieg."


class EditPath:
    """Which way each build went (True: the short way) and the work the whole way does
    that the short one must not: every page record decoded, files added one by one."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.taken: list[bool] = []
        self.all_records_read = 0
        self.added: list[str] = []
        publish_edit = edit_build_module.publish_edit
        pages = BuildCache.pages
        add = TreeWriter.add

        def watching(*args: Any, **kwargs: Any) -> Any:
            result = publish_edit(*args, **kwargs)
            self.taken.append(result is not None)
            return result

        def counting_pages(cache: BuildCache, target: str) -> Any:
            self.all_records_read += 1
            return pages(cache, target)

        def counting_add(writer: TreeWriter, rel: str, **kwargs: Any) -> None:
            self.added.append(rel)
            add(writer, rel, **kwargs)

        monkeypatch.setattr(edit_build_module, "publish_edit", watching)
        monkeypatch.setattr(BuildCache, "pages", counting_pages)
        monkeypatch.setattr(TreeWriter, "add", counting_add)

    def reset(self) -> None:
        self.taken, self.all_records_read, self.added = [], 0, []


@pytest.fixture
def site(tmp_path: Path) -> Site:
    built = Site(tmp_path)
    built.build()
    return built


def _same_as_clean(site: Site, tmp_path: Path, name: str = "clean") -> BuildResult:
    clean = tmp_path / name
    shutil.rmtree(clean, ignore_errors=True)
    result = site.build(use_cache=False, output=clean)
    assert tree(site.output) == tree(clean)
    return result


def _new_lead(text: str) -> str:
    return text.replace("\n---\n", f"\n---\n{LEAD}\n\n", 1)


def test_a_body_edit_renders_only_the_pages_that_read_it(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = EditPath(monkeypatch)
    site.edit(RELEASE, lambda text: text + "\nEin neuer letzter Absatz.\n")
    result = site.build()
    assert path.taken == [True]
    newsroom = site.newsroom_files_showing(result, RELEASE_KEY)
    assert result.rendered == result.examined == {RELEASE_PAGE, "presse/feed.xml"} | newsroom
    assert path.all_records_read == 0, "only the records of the pages that read the body"
    # Each with its .gz and .br, and the pages of its search shard read back from staging.
    rendered = {a.removesuffix(".gz").removesuffix(".br") for a in path.added}
    assert result.rendered <= rendered
    assert _pages(rendered - result.rendered) <= _search_pages(result)
    assert not any(p.startswith(("medien/", "assets/")) for p in rendered - result.rendered)
    assert result.report is not None
    html_written = {p for p in result.report.written if p.endswith(".html")}
    assert html_written == {RELEASE_PAGE}
    assert result.search_indexed == (0,)
    clean = _same_as_clean(site, tmp_path)
    assert result.pages == clean.pages and result.left_out == clean.left_out


def _search_pages(result: BuildResult) -> set[str]:
    assert result.site is not None
    return {page.output_path for page in shards_module.search_pages(result.site)}


def test_a_new_first_paragraph_updates_the_lists_and_feeds(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = EditPath(monkeypatch)
    site.edit(RELEASE, _new_lead)
    result = site.build()
    assert path.taken == [True]
    showing = site.pages_showing(result, RELEASE_KEY)
    assert len(showing) > 3  # the home page, press lists, year, topics
    assert _pages(result.examined) == _pages(result.rendered) == showing
    for page in showing:
        assert LEAD in (site.output / page).read_text(encoding="utf-8"), page
    feeds = site.newsroom_files_showing(result, RELEASE_KEY) | {"presse/feed.xml"}
    assert feeds <= result.rendered
    assert LEAD in (site.output / "presse/feed.xml").read_text(encoding="utf-8")
    _same_as_clean(site, tmp_path)
    # And back: the cards show the old paragraph again, as a clean build does.
    site.edit(RELEASE, lambda text: text.replace(f"{LEAD}\n\n", "", 1))
    result = site.build()
    assert path.taken == [True, True] and _pages(result.rendered) == showing
    _same_as_clean(site, tmp_path)


# Front-matter edits that change what pages show of an item, not where it stands (the
# structure digest is the last build's): the short way renders the pages whose records
# say they looked the item up, and every generated file. Each: the file, the text
# before and after, and the text a page shows of it then.
SHOWN_ONLY = {
    # On its page, .txt and .eml, the lists, topic and year pages that list it, its
    # project's page, the feeds that carry it, and the pages at its old addresses.
    "title with aliases": (
        "content/presse/2022-11-03-licht-nach-bedarf.md",
        "title: Licht nach Bedarf",
        "title: Leuchten nach Bedarf",
        "Leuchten nach Bedarf",
    ),
    # A teaser on its cards only: the lists, topic and project pages, not its text versions.
    "release subtitle": (
        "content/presse/2025-03-18-mobilitaetsdaten-offen.md",
        "title:",
        "subtitle: Eine neue Unterzeile\ntitle:",
        "Eine neue Unterzeile",
    ),
    # A project's teaser, shown on other items' pages: the cards of its releases' pages.
    "project summary": (
        "content/projekte/mobilitaetsdaten.md",
        "summary: Offene Verkehrsdaten",
        "summary: Freie Verkehrsdaten",
        "Freie Verkehrsdaten",
    ),
    # On the project's page, in a list the model keeps in its front matter.
    "project partners": (
        "content/projekte/mobilitaetsdaten.md",
        "partners: [Stadtwerke, Hochschule]",
        "partners: [Stadtwerke, Technische Universität]",
        "Technische Universität",
    ),
    # The press contact (a reference to daten/kontakte.yaml) on the release's page, in its
    # .txt and its .eml; both contacts have their vCard already.
    "release contact": (
        "content/presse/2024-12-02-jahresrueckblick-2024.md",
        "contacts: [projekte]",
        "contacts: [presse]",
        "Pressesprecherin",
    ),
    # Title and body in one go.
    "title and body": (
        RELEASE,
        "title: Digitale Sprechstunde jeden Dienstag",
        "title: Mittwochs",
        "Mittwochs",
    ),
}


def test_front_matter_edits_that_move_nothing_render_only_the_pages_that_show_them(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = EditPath(monkeypatch)
    for number, (rel, old, new, shown) in enumerate(SHOWN_ONLY.values()):
        before = (site.root / rel).read_text(encoding="utf-8")
        assert old in before and shown not in before, rel
        more = "\nNoch ein Absatz.\n" if rel == RELEASE else ""
        site.edit(rel, lambda t, old=old, new=new, more=more: t.replace(old, new, 1) + more)
        published = tree(site.output)
        path.reset()
        result = site.build()
        assert path.taken == [True], rel
        assert path.all_records_read == 0, "only the records of the pages that show it"
        _same_as_clean(site, tmp_path, f"clean-{number}")
        changed = {
            p: data
            for p, data in tree(site.output).items()
            if published.get(p) != data
            and not p.startswith("pagefind/")
            and not p.endswith((".gz", ".br"))
        }
        assert any(shown.encode() in data for data in changed.values()), rel
        assert changed.keys() <= result.rendered, (rel, changed.keys() - result.rendered)
        assert result.site is not None
        html = {r.output_path for r in result.site.routes if r.output_path.endswith(".html")}
        assert len(html) > 3 * len(_pages(result.examined)), rel


def test_a_title_change_updates_the_pages_at_the_old_addresses(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A redirect page names its item's title and has no page record: a generated file,
    # made again whenever front matter changed.
    path = EditPath(monkeypatch)
    rel, old, new, shown = SHOWN_ONLY["title with aliases"]
    site.edit(rel, lambda t: t.replace(old, new, 1))
    result = site.build()
    assert path.taken == [True]
    for alias in ("presse/test-der-strassenbeleuchtung/index.html", "presse/2022/licht.html"):
        assert alias in result.rendered
        assert shown in (site.output / alias).read_text(encoding="utf-8"), alias
    _same_as_clean(site, tmp_path)


def test_front_matter_edits_that_move_an_item_go_the_whole_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = Site(tmp_path)
    # Two releases of one day: the press lists order them by title.
    presse = site.root / "content/presse"
    sensors = presse / "2024-07-01-sensoren-fuer-die-luftqualitaet.md"
    text = sensors.read_text(encoding="utf-8").replace("date: 2024-07-01", "date: 2024-02-29")
    (presse / "2024-02-29-sensoren-fuer-die-luftqualitaet.md").write_text(text, "utf-8")
    sensors.unlink()
    site.build()
    path = EditPath(monkeypatch)
    hackathon = "content/presse/2024-02-29-hackathon-am-schalttag.md"
    moves = [
        # Another title that puts it after the other release of its day.
        (hackathon, lambda t: t.replace("title: ", "title: Zuletzt ", 1)),
        # A time of day that puts it first again.
        (hackathon, lambda t: t.replace("date: 2024-02-29", "date: 2024-02-29T18:00:00")),
        # Another weight: another place among the projects.
        ("content/projekte/mobilitaetsdaten.md", lambda t: t.replace("weight: 2", "weight: 20")),
        # Another topic: other topic pages and feeds.
        (RELEASE, lambda t: t.replace("tags: [Bürgerbeteiligung]", "tags: [Energie]")),
        # A page every page's menu shows: the part all pages share looked it up.
        ("content/seiten/ueber-uns.md", lambda t: t.replace("title: Über uns", "title: Wir")),
    ]
    for number, (rel, change) in enumerate(moves):
        site.edit(rel, change)
        path.reset()
        site.build()
        assert path.taken == [False], rel
        _same_as_clean(site, tmp_path, f"clean-{number}")


def test_a_body_edit_beside_another_kind_of_change_goes_the_whole_way(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A data file, a template, a new file: not what the last build recorded but for
    Markdown files, so not even the model is compared."""
    path = EditPath(monkeypatch)
    changes = [
        lambda: site.edit("partials/cards.html", lambda t: t + "\n{# Kommentar #}\n"),
        lambda: (site.root / "content/presse/2024-03-01-neu.md").write_text(
            "---\ntitle: Neu\ndate: 2024-03-01\n---\nText.\n", encoding="utf-8"
        ),
    ]
    for number, change in enumerate(changes):
        site.edit(RELEASE, lambda t, n=number: t + f"\nNachtrag {n}.\n")
        change()
        path.reset()
        site.build()
        assert path.taken == [] and path.all_records_read == 1, number
        _same_as_clean(site, tmp_path, f"clean-{number}")


def test_a_body_edit_with_an_error_or_a_new_picture_goes_the_whole_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = Site(tmp_path)
    # A picture no page shows yet.
    pictures = site.root / "content/medien/bilder"
    shutil.copy(pictures / "beteiligung.png", pictures / "neu.png")
    site.build()
    path = EditPath(monkeypatch)
    broken = "\nSiehe [dort](gibt-es-nicht.md).\n"
    site.edit(RELEASE, lambda t: t + broken)
    with pytest.raises(BuildFailed) as failed:
        site.build()
    with pytest.raises(BuildFailed) as clean_failed:
        site.build(use_cache=False, output=tmp_path / "clean-broken")
    lines = (site.root / RELEASE).read_text(encoding="utf-8").splitlines()
    line = next(n for n, text in enumerate(lines, 1) if "gibt-es-nicht" in text)
    assert f"{RELEASE}:{line}:" in str(failed.value)
    assert str(failed.value) == str(clean_failed.value)
    assert path.taken == []  # errors: nothing is rendered into the output
    # The cache holds the document of the failed build, not the last published one's.
    site.edit(RELEASE, lambda t: t.replace(broken, "\n"))
    site.build()
    assert path.taken == []
    _same_as_clean(site, tmp_path)
    # A picture no page showed before: its variants are new files of the site.
    site.edit(RELEASE, lambda t: t + '\n![Neu](../medien/bilder/neu.png){credit="Foto: Stadt"}\n')
    result = site.build()
    assert path.taken == [False]
    assert result.report is not None
    assert any(p.startswith("medien/bilder/neu") for p in result.report.written)
    _same_as_clean(site, tmp_path)
    # One that another page shows already: the same files, the short way.
    site.edit(RELEASE, lambda t: t + '\n![Alt](../medien/bilder/beteiligung.png){credit="Foto"}\n')
    site.build()
    assert path.taken == [False, True]
    _same_as_clean(site, tmp_path)


def test_a_body_edit_reports_the_warnings_of_the_whole_way(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    twin = Site(tmp_path / "twin")
    twin.build()
    marquee = "\n<marquee>Laufschrift</marquee>\n"
    path = EditPath(monkeypatch)
    site.edit(RELEASE, lambda t: t + marquee)
    short = site.build()
    assert path.taken == [True]
    monkeypatch.setattr(edit_build_module, "edit_candidate", lambda *args: None)
    twin.edit(RELEASE, lambda t: t + marquee)
    whole = twin.build()
    assert path.taken == [True] and whole.site is not None
    assert short.warnings == whole.warnings and any(RELEASE in str(w) for w in short.warnings)
    assert tree(site.output) == tree(twin.output)


def test_a_file_deleted_or_edited_in_the_output_goes_the_whole_way(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = EditPath(monkeypatch)
    (site.output / "projekte/index.html").unlink()
    site.edit(RELEASE, lambda t: t + "\nNachtrag.\n")
    site.build()
    assert path.taken == [False]
    assert (site.output / "projekte/index.html").is_file()
    _same_as_clean(site, tmp_path)
    # The search bundle too: what the short way carries over must be what was published.
    bundle = sorted((site.output / "pagefind").rglob("*.pf_fragment"))[0]
    bundle.write_bytes(b"kaputt")
    site.edit(RELEASE, lambda t: t + "\nNoch ein Nachtrag.\n")
    site.build()
    assert path.taken == [False, False]
    _same_as_clean(site, tmp_path)


def test_only_the_search_shard_of_the_edited_page_is_indexed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Shards of a few pages each: the fixture's 20 search pages in several.
    monkeypatch.setattr(shards_module, "SHARD_PAGES", 4)
    site = Site(tmp_path)
    first = site.build()
    assert first.site is not None
    count = shards_module.shard_count([p.url for p in shards_module.search_pages(first.site)])
    assert count >= 4
    url = "/" + first.site.items[RELEASE_KEY].url
    shard = shards_module.shard_of(url, count)
    path = EditPath(monkeypatch)
    for number, change in enumerate(
        [lambda t: t + "\nEin neuer letzter Absatz.\n", _new_lead, lambda t: t + "\nMehr.\n"]
    ):
        site.edit(RELEASE, change)
        result = site.build()
        assert path.taken[-1] is True
        assert result.search_indexed == (shard,), number
        _same_as_clean(site, tmp_path, f"clean-{number}")


def test_a_body_edit_the_short_way_feeds_its_shard_early(
    tmp_path: Path, small_shards: int, fed: Fed, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The search index's head start (search/head_start.py) serves the short way too: the
    # pages of the edited page's shard before it are fed to Pagefind while the build
    # parses, from the few columns of the page records it needs, not all the records;
    # the edited page as soon as it has rendered, and the pages after it.
    root, out, url, before = _edited_latest_in_its_shard(tmp_path, small_shards)
    assert before >= 2, "a shard with pages before the edited one"
    size = _shard_size(out, url, small_shards)
    path = EditPath(monkeypatch)

    result = build_site_at(root, output=out)
    assert path.taken == [True]
    assert path.all_records_read == 0
    shard = shards_module.shard_of(url, small_shards)
    assert fed == {shard: size} and fed.written == {shard}
    assert result.search_indexed == (shard,)
    assert "zitronenfalter" in words_of(indexed_pages(out)[url])
    clean = _clean_build(root, tmp_path)
    assert _bundle(out) == _bundle(clean)
    assert tree(out) == tree(clean)


def test_the_edited_page_is_rendered_first_and_once(
    tmp_path: Path, small_shards: int, fed: Fed, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The head start waits for the edited page: it renders as soon as the bodies are
    # known, before the short way works out what else changed, and is not rendered again.
    root, out, url, _ = _edited_latest_in_its_shard(tmp_path, small_shards)
    edited = url.removeprefix("/") + "index.html"
    events: list[str] = []
    changes, offer = edit_build_module._changes, head_starts.HeadStart.offer
    render_route = pages_module._render_route

    def noting_changes(*args: Any, **kwargs: Any) -> Any:
        events.append("changes")
        return changes(*args, **kwargs)

    def noting_offer(self: head_starts.HeadStart, path: str, *args: Any) -> None:
        events.append(f"offer {path}")
        offer(self, path, *args)

    def noting_render(state: Any, route: Route) -> Any:
        events.append(f"render {route.output_path}")
        return render_route(state, route)

    monkeypatch.setattr(edit_build_module, "_changes", noting_changes)
    monkeypatch.setattr(head_starts.HeadStart, "offer", noting_offer)
    monkeypatch.setattr(pages_module, "_render_route", noting_render)
    monkeypatch.setattr(build_module, "default_jobs", lambda: 1)  # the spies in this process
    path = EditPath(monkeypatch)

    build_site_at(root, output=out)
    assert path.taken == [True]
    # The first offer is the guess made once the edit is parsed (search/guess.py).
    assert events[:4] == [f"offer {edited}", f"render {edited}", f"offer {edited}", "changes"]
    assert events.count(f"render {edited}") == 1
    shard = shards_module.shard_of(url, small_shards)
    assert fed.written == {shard}, "the head start wrote the shard with the page offered"
    assert _bundle(out) == _bundle(_clean_build(root, tmp_path))


@pytest.mark.parametrize("jobs", [1, 2])
def test_edits_through_the_short_way_equal_clean_builds(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    path = EditPath(monkeypatch)
    releases = sorted((site.root / "content/presse").glob("202[345]-*.md"))[-4:]
    for number, release in enumerate(releases):
        text = release.read_text(encoding="utf-8")
        body = text if number % 2 else _new_lead(text)
        release.write_text(body + f"\nNachtrag {number}.\n", encoding="utf-8")
        site.build(jobs=jobs)
        _same_as_clean(site, tmp_path, f"clean-{number}")
    assert path.taken == [True] * 4


def test_a_page_without_its_record_goes_the_whole_way(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page whose record the cache lost may read the edited body: it cannot say so."""
    listing = "themen/buergerbeteiligung/index.html"
    with sqlite3.connect(site.root / CACHE_DIR_NAME / "cache.sqlite") as db:
        assert db.execute("DELETE FROM pages WHERE path = ?", (listing,)).rowcount == 1
    path = EditPath(monkeypatch)
    site.edit(RELEASE, _new_lead)
    result = site.build()
    assert path.taken == [False]
    assert listing in result.rendered
    assert LEAD in (site.output / listing).read_text(encoding="utf-8")
    _same_as_clean(site, tmp_path)


class Offers:
    """What the search's head start was handed, in order: ("model",) when the model was
    built, (output path, search digest) for each page offered."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.events: list[tuple[str, ...]] = []
        offer, model = head_starts.HeadStart.offer, build_module._resident_model

        def noting_offer(self_: head_starts.HeadStart, path: str, digest: str, html: Any) -> None:
            self.events.append((path, digest))
            offer(self_, path, digest, html)

        def noting_model(*args: Any, **kwargs: Any) -> Any:
            self.events.append(("model",))
            return model(*args, **kwargs)

        monkeypatch.setattr(head_starts.HeadStart, "offer", noting_offer)
        monkeypatch.setattr(build_module, "_resident_model", noting_model)

    def before_model(self) -> dict[str, str]:
        """The pages offered before the model was built: the guesses (search/guess.py)."""
        return dict(self.events[: self.events.index(("model",))])  # type: ignore[arg-type]


def _new_paragraph(text: str) -> str:
    return text + "\nEin Zitronenfalter flog vorbei.\n"


def _new_title(title: str) -> Any:
    return lambda text: re.sub(r"(?m)^title: .*$", lambda _: f"title: {title}", text, count=1)


@pytest.mark.parametrize(
    ("release", "change"),
    [
        ("2025-08-26-digitale-sprechstunde.md", _new_paragraph),  # no links
        ("2023-04-05-ergebnisse-der-umfrage.md", _new_paragraph),  # a download and its size
        ("2023-09-12-mobilitaetstag.md", _new_paragraph),  # site addresses
        ("2022-02-10-start-der-online-beteiligung.md", _new_paragraph),  # a content file
        ("2025-08-26-digitale-sprechstunde.md", _new_title("Sprechstunde am Dienstag")),
        # Typography, escaping and the minifier's way with them.
        (
            "2023-09-12-mobilitaetstag.md",
            _new_title(r""""'Rad & Bus' -- der \"Mobilitätstag\" <2023>..." """),
        ),
    ],
    ids=["body", "body-download", "body-addresses", "body-link", "title", "title-typography"],
)
def test_an_edit_hands_the_search_its_page_guessed_before_the_model(
    tmp_path: Path,
    small_shards: int,
    fed: Fed,
    monkeypatch: pytest.MonkeyPatch,
    release: str,
    change: Any,
) -> None:
    # search/guess.py: the edited page's search text, the published one with the new body
    # (or title) in place of the old, so that the head start writes the shard while the
    # model is built. Right, it is what the page's search text turns out to be.
    site = Site(tmp_path)
    site.build()
    offers = Offers(monkeypatch)
    site.edit(f"content/presse/{release}", change)
    result = site.build()
    assert result.site is not None
    page = result.site.items[f"presse/{release}"].url + "index.html"
    guessed = offers.before_model()
    assert list(guessed) == [page]
    assert guessed[page] == search_digest((site.output / page).read_bytes())
    assert fed.written, "the head start wrote the shard"
    _same_as_clean(site, tmp_path)


@pytest.mark.parametrize(
    ("change", "fails"),
    [
        (lambda t: t.replace("date: ", "subtitle: Neu\ndate: ", 1) + "\nMehr.\n", False),
        (lambda t: t + "\n[Umfrage](2023-04-05-ergebnisse-der-umfrage.md)\n", False),  # new link
        (lambda t: t + "\n[Kaputt](gibt-es-nicht.md)\n", True),  # an error
    ],
    ids=["subtitle", "new-link", "broken-link"],
)
def test_no_guess_where_it_would_be_a_gamble(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: Any, fails: bool
) -> None:
    site = Site(tmp_path)
    site.build()
    offers = Offers(monkeypatch)
    site.edit(RELEASE, change)
    if fails:
        with pytest.raises(BuildFailed):
            site.build()
    else:
        site.build()
        _same_as_clean(site, tmp_path)
    assert ("model",) in offers.events
    assert offers.before_model() == {}


def test_a_wrong_guess_costs_time_not_a_wrong_index(
    tmp_path: Path, small_shards: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The head start feeds the guess as the page; once the page has rendered, the indexer
    # finds the digests differ and indexes the shard afresh.
    from kldigital_site.search import guess as guess_module

    site = Site(tmp_path)
    site.build()
    guess_pages = guess_module.guess_pages

    def wrong(*args: Any, **kwargs: Any) -> list[guess_module.GuessedPage]:
        pages = guess_pages(*args, **kwargs)
        assert pages, "a guess to spoil"
        spoilt = [page.text.replace(b"Zitronenfalter", b"Kohlweisling") for page in pages]
        return [
            guess_module.GuessedPage(page.path, hashlib.sha256(text).hexdigest(), text)
            for page, text in zip(pages, spoilt, strict=True)
        ]

    monkeypatch.setattr(guess_module, "guess_pages", wrong)
    site.edit(RELEASE, lambda t: t + "\nEin Zitronenfalter flog vorbei.\n")
    site.build()
    assert "zitronenfalter" in words_of(indexed_pages(site.output)["/" + RELEASE_PAGE[:-10]])
    assert "kohlweisling" not in words_of(indexed_pages(site.output)["/" + RELEASE_PAGE[:-10]])
    _same_as_clean(site, tmp_path)


def test_after_a_guess_the_shard_goes_to_pagefind_as_the_child_reads_it(
    tmp_path: Path, small_shards: int, fed: Fed, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Once the edited page is handed over as a guess, the head start does not read every
    # other page of the shard first: Pagefind gets them a few at a time as they come.
    monkeypatch.setattr(head_starts, "STREAM", 1)
    parts: list[int] = []
    feed_marked = head_starts.HeadStart._feed_marked

    def noting_parts(self: head_starts.HeadStart, started: Any, batch: list[Any]) -> None:
        parts.append(len(batch))
        feed_marked(self, started, batch)

    monkeypatch.setattr(head_starts.HeadStart, "_feed_marked", noting_parts)
    feed = head_starts.HeadStart._feed

    def after_the_guess(self: head_starts.HeadStart) -> None:
        # On a slow machine the guess can come after the child has read the shard.
        with self._offers:
            self._offers.wait_for(lambda: bool(self._offered), timeout=10)
        feed(self)

    monkeypatch.setattr(head_starts.HeadStart, "_feed", after_the_guess)
    site = Site(tmp_path)
    first = site.build()
    assert first.site is not None
    releases = sorted(first.site.items[k].url for k in first.site.items if k.startswith("presse/"))
    # The first release in URL order has pages after it in its shard.
    key = next(k for k, item in first.site.items.items() if item.url == releases[0])
    site.edit(f"content/{key}", _new_paragraph)
    site.build()
    assert fed.written, "the head start wrote the shard"
    assert len([n for n in parts if n]) >= 2, parts
    _same_as_clean(site, tmp_path)


def test_the_guess_holds_for_pages_not_minified(
    tmp_path: Path, small_shards: int, fed: Fed, monkeypatch: pytest.MonkeyPatch
) -> None:
    # build --no-minify: the bodies stand in the page as the renderer wrote them.
    root = copy_fixture_site("full", tmp_path / "site")
    out = tmp_path / "out"
    build_site_at(root, output=out, minify=False)
    offers = Offers(monkeypatch)
    release = root / "content/presse/2023-09-12-mobilitaetstag.md"
    release.write_text(_new_paragraph(release.read_text(encoding="utf-8")), encoding="utf-8")
    result = build_site_at(root, output=out, minify=False)
    assert result.site is not None
    page = result.site.items["presse/2023-09-12-mobilitaetstag.md"].url + "index.html"
    assert offers.before_model() == {page: search_digest((out / page).read_bytes())}
    assert fed.written
    assert tree(out) == tree(_clean_build(root, tmp_path))

"""Incremental builds, proven by counting work (Hugo ``AssertRenderCountPage``).

After each kind of edit, exactly the pages that show what changed are rendered
again, only changed files are rewritten, and the result is byte-for-byte what a
clean build of the same input gives.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from kldigital_site.build import BuildResult, build
from kldigital_site.config import load_config
from tests.conftest import NOW, TEMPLATES, copy_fixture_site

RELEASE = "content/presse/2025-08-26-digitale-sprechstunde.md"
RELEASE_PAGE = "presse/digitale-sprechstunde/index.html"


class Site:
    """A copy of the full fixture site with its own templates, built with the cache."""

    def __init__(self, tmp_path: Path) -> None:
        self.root = copy_fixture_site("full", tmp_path / "site")
        self.templates = tmp_path / "templates"
        shutil.copytree(TEMPLATES, self.templates)
        self.output = tmp_path / "out"

    def build(
        self, *, use_cache: bool = True, output: Path | None = None, jobs: int = 1
    ) -> BuildResult:
        config = load_config(self.root / "content", self.templates, output or self.output)
        return build(config, now=NOW, jobs=jobs, use_cache=use_cache)

    def edit(self, rel: str, change: Callable[[str], str]) -> None:
        path = self.root / rel if rel.startswith("content/") else self.templates / rel
        path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")

    def pages_showing(self, result: BuildResult, item_key: str) -> set[str]:
        """Every HTML page whose view lists the item (from the model, not hard-coded)."""
        site = result.site
        item = site.items[item_key]
        config = site.config
        pages = {item.url + "index.html"}
        if (
            item_key in site.releases[: config.home_releases]
            or item_key in site.smart_city_projects
        ):
            pages.add("index.html")
        for number in range(1, site.press_page_count() + 1):
            if item_key in site.press_page(number):
                pages.add(site.press_page_url(number) + "index.html")
        for year, keys in site.years.items():
            if item_key in keys:
                pages.add(f"{config.sections.press}/{year}/index.html")
        for slug in item.tag_slugs:
            pages.add(f"{config.sections.topics}/{slug}/index.html")
        for project in site.release_projects.get(item_key, ()):
            pages.add(site.items[project].url + "index.html")
        return pages

    def newsroom_files_showing(self, result: BuildResult, release_key: str) -> set[str]:
        """The release's text and e-mail, and every topic and project feed that carries it
        (from the model, not hard-coded)."""
        site = result.site
        item = site.items[release_key]
        files = {item.url + "pressemitteilung.txt", item.url + "pressemitteilung.eml"}
        entries = site.config.feed_entries
        for slug in item.tag_slugs:
            members = set(site.tags[slug].item_keys)
            if release_key in [k for k in site.releases if k in members][:entries]:
                files.add(f"{site.config.sections.topics}/{slug}/feed.xml")
        for project in site.release_projects.get(release_key, ()):
            if release_key in site.project_releases[project][:entries]:
                files.add(site.items[project].url + "feed.xml")
        return files


def tree(folder: Path, *, search_index: bool = True) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
        and not p.name.startswith(".kldigital")
        and (search_index or p.relative_to(folder).parts[0] != "pagefind")
    }


def same_as_clean(site: Site, tmp_path: Path, name: str) -> dict[str, bytes]:
    """The output of ``site`` after its last build; fails naming the files a clean build
    of the same sources makes otherwise."""
    clean = tmp_path / f"clean-{name}"
    site.build(use_cache=False, output=clean)
    built, expected = tree(site.output), tree(clean)
    assert built == expected, sorted(
        p for p in expected.keys() | built if built.get(p) != expected.get(p)
    )
    return built


@pytest.fixture
def site(tmp_path: Path) -> Site:
    s = Site(tmp_path)
    first = s.build()
    assert first.report is not None and first.report.written
    return s


def test_nothing_changed_renders_and_writes_nothing(site: Site) -> None:
    before = {p: p.stat().st_mtime_ns for p in site.output.rglob("*") if p.is_file()}
    result = site.build()
    assert result.site is None  # not even parsed: every source byte for byte the same
    assert result.rendered == frozenset()
    assert result.report is not None
    assert result.report.written == () and result.report.removed == ()
    assert {p: p.stat().st_mtime_ns for p in site.output.rglob("*") if p.is_file()} == before


def test_nothing_changed_reports_the_pages_the_build_made(site: Site) -> None:
    # The fixture's old addresses (aliases) are HTML files too, but redirects, not
    # pages: the tree alone would count them, and the report said one more each time.
    made = site.build(use_cache=False, output=site.root.parent / "clean").pages
    redirects = sum(
        'http-equiv="refresh"' in p.read_text(encoding="utf-8") for p in site.output.rglob("*.html")
    )
    assert redirects > 0
    again = site.build()
    assert again.site is None, "nothing changed"
    assert again.pages == made


def test_nothing_changed_loads_no_rendering_library(site: Site) -> None:
    # A command line build that changes nothing ends before parsing; loading Jinja,
    # Markdown, Pagefind, minify_html and brotli was a third of its time (issue 15).
    probe = (
        "import sys\n"
        "from kldigital_site.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as done:\n"
        "    assert not done.code, done.code\n"
        "heavy = ('jinja2', 'markdown', 'pagefind', 'minify_html', 'brotli', 'PIL')\n"
        "print(sorted(n for n in heavy if n in sys.modules))\n"
    )
    arguments = ["build", "--content", site.root / "content", "--templates", site.templates]
    arguments += ["--output", site.output, "--now", NOW.isoformat()]
    done = subprocess.run(
        [sys.executable, "-c", probe, *map(str, arguments)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.splitlines()[-1] == "[]", done.stderr
    # An edit still builds, and in the same kind of process.
    site.edit(RELEASE, lambda t: t + "\nNoch ein Satz.\n")
    again = subprocess.run(
        [sys.executable, "-c", probe, *map(str, arguments)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "jinja2" in again.stdout
    page = (site.output / RELEASE_PAGE).read_text(encoding="utf-8")
    assert "Noch ein Satz." in page


def test_an_embargo_ending_publishes_the_release_without_any_source_change(
    site: Site,
) -> None:
    page = site.output / "presse/sperrfrist-januar/index.html"
    assert not page.exists()
    config = load_config(site.root / "content", site.templates, site.output)
    still_embargoed = NOW + dt.timedelta(days=30)  # 2026-12-26: before 2027-01-15
    assert build(config, now=still_embargoed, jobs=1).site is None
    assert not page.exists()
    after = dt.datetime(2027, 1, 15, 8, 0, tzinfo=dt.UTC)  # 09:00 in Kaiserslautern
    result = build(config, now=after, jobs=1)
    assert result.site is not None
    assert page.is_file()
    assert "presse/sperrfrist-januar/index.html" in result.rendered


def test_body_edit_renders_only_that_release(site: Site) -> None:
    site.edit(RELEASE, lambda text: text + "\nEin neuer letzter Absatz.\n")
    result = site.build()
    key = "presse/2025-08-26-digitale-sprechstunde.md"
    # The feeds carry the body, the text and e-mail versions are it: new bytes too.
    newsroom = site.newsroom_files_showing(result, key)
    assert len(newsroom) >= 3  # .txt, .eml and at least one topic feed
    assert result.rendered == {RELEASE_PAGE, "presse/feed.xml"} | newsroom
    assert result.report is not None
    html_written = {p for p in result.report.written if p.endswith(".html")}
    assert html_written == {RELEASE_PAGE}


def test_body_edit_makes_only_the_views_that_read_that_body(site: Site) -> None:
    # Text only, first paragraph unchanged: no other page shows any of it, so no
    # other page's view is even made (the shortcut in render/pages.py).
    site.edit(RELEASE, lambda text: text + "\nEin neuer letzter Absatz.\n")
    assert _pages(site.build().examined) == {RELEASE_PAGE}
    # A new first paragraph is the summary on every card of the release.
    site.edit(RELEASE, lambda t: t.replace("\n---\n", "\n---\nEin neuer Einstieg.\n\n", 1))
    result = site.build()
    key = "presse/2025-08-26-digitale-sprechstunde.md"
    assert _pages(result.examined) == site.pages_showing(result, key)
    listing = (site.output / "themen/buergerbeteiligung/index.html").read_text(encoding="utf-8")
    assert "Ein neuer Einstieg." in listing


def _retitle_release(site: Site) -> None:
    site.edit(
        RELEASE,
        lambda t: t.replace(
            "title: Digitale Sprechstunde jeden Dienstag",
            "title: Sprechstunde jetzt auch mittwochs",
        ),
    )


def test_title_change_renders_the_release_and_every_page_that_lists_it(site: Site) -> None:
    _retitle_release(site)
    result = site.build()
    key = "presse/2025-08-26-digitale-sprechstunde.md"
    expected = site.pages_showing(result, key) | site.newsroom_files_showing(result, key)
    assert result.rendered - {"presse/feed.xml", "sitemap.xml"} == expected
    page = (site.output / RELEASE_PAGE).read_text(encoding="utf-8")
    assert "Sprechstunde jetzt auch mittwochs" in page
    listing = (site.output / "themen/buergerbeteiligung/index.html").read_text(encoding="utf-8")
    assert "Sprechstunde jetzt auch mittwochs" in listing


def test_title_change_makes_the_views_of_only_the_pages_that_show_the_release(
    site: Site, tmp_path: Path
) -> None:
    # The model changed, its frame did not: each page records the items its view looked
    # up, and only those that looked this one up are examined (render/pages.py).
    _retitle_release(site)
    result = site.build()
    key = "presse/2025-08-26-digitale-sprechstunde.md"
    showing = _pages(frozenset(site.pages_showing(result, key)))
    everything = {r.output_path for r in result.site.routes if r.output_path.endswith(".html")}
    assert _pages(result.examined) == showing
    assert len(everything) > 3 * len(showing)
    clean = tmp_path / "clean"
    build(load_config(site.root / "content", site.templates, clean), now=NOW, use_cache=False)
    assert tree(site.output) == tree(clean)


def test_title_change_of_a_menu_page_renders_every_page(site: Site, tmp_path: Path) -> None:
    # The navigation of every page shows it: read once for the site-wide part, which
    # every page's view uses (``Views.recording``).
    site.edit("content/seiten/ueber-uns.md", lambda t: t.replace("title: Über uns", "title: Wir"))
    result = site.build()
    clean = tmp_path / "clean"
    build(load_config(site.root / "content", site.templates, clean), now=NOW, use_cache=False)
    assert tree(site.output) == tree(clean)
    navigating = {
        path
        for path, data in tree(clean).items()
        if path.endswith(".html") and b"ueber-uns/>Wir<" in data
    }
    assert len(navigating) > 10
    assert navigating <= result.rendered


# Front-matter edits that change what pages show of an item but not where it stands:
# each examines only the pages that looked the item up (render/pages.py
# ``_changed_reads``), and must still give what a clean build gives.
SHOWN_ONLY_EDITS = {
    # On its page, its .txt and .eml, the topic, year and press lists, the home page,
    # its project's page and every feed that carries it.
    "release title": (
        RELEASE,
        "title: Digitale Sprechstunde jeden Dienstag",
        "title: Sprechstunde jetzt auch mittwochs",
        "Sprechstunde jetzt auch mittwochs",
    ),
    # On its cards only: the lists, topic and project pages, not its text versions.
    "release subtitle": (
        "content/presse/2025-03-18-mobilitaetsdaten-offen.md",
        "title:",
        "subtitle: Eine neue Unterzeile\ntitle:",
        "Eine neue Unterzeile",
    ),
    # In the title of the project's feed, on the cards of its releases' pages.
    "project title": (
        "content/projekte/buergerbeteiligung-online.md",
        "title: Bürgerbeteiligung online",
        "title: Beteiligung im Netz",
        "Beteiligung im Netz",
    ),
    # On the project cards of its releases' pages and of the lists.
    "project summary": (
        "content/projekte/mobilitaetsdaten.md",
        "summary: Offene Verkehrsdaten",
        "summary: Freie Verkehrsdaten",
        "Freie Verkehrsdaten",
    ),
    # "Barriere melden" on every page writes to the statement's feedback contact: the
    # part every page shows looked the statement up (``Views.site_reads``).
    "feedback contact": (
        "content/seiten/barrierefreiheit.md",
        "weight: 92",
        "weight: 92\nfeedback_contact: projekte",
        "mailto:projekte@example.org",
    ),
}


@pytest.mark.parametrize("edit", sorted(SHOWN_ONLY_EDITS))
def test_front_matter_edit_that_moves_nothing_equals_a_clean_build(
    site: Site, tmp_path: Path, edit: str
) -> None:
    rel, old, new, shown = SHOWN_ONLY_EDITS[edit]
    site.edit(rel, lambda t: t.replace(old, new, 1))
    result = site.build()
    clean = tmp_path / "clean"
    build(load_config(site.root / "content", site.templates, clean), now=NOW, use_cache=False)
    built, expected = tree(site.output), tree(clean)
    assert built == expected, sorted(p for p in expected if built.get(p) != expected[p])
    showing = {path for path, data in expected.items() if shown.encode() in data}
    assert showing and showing <= result.examined | {"sitemap.xml", "presse/feed.xml"}
    html = {p for p in expected if p.endswith(".html")}
    if edit == "feedback contact":
        assert len(showing) > 10 and _pages(result.examined) == html - _redirect_pages(site)
    else:
        # Only the pages that show the item, not all of them.
        assert len(html) > 3 * len(_pages(result.examined))


def _redirect_pages(site: Site) -> set[str]:
    """The pages at old addresses (``aliases:``): made from the model alone, no view."""
    return {
        p.relative_to(site.output).as_posix()
        for p in site.output.rglob("*.html")
        if 'http-equiv="refresh"' in p.read_text("utf-8")
    }


def test_template_change_renders_exactly_the_pages_that_use_it(site: Site) -> None:
    releases = {site_url + "index.html" for site_url in _urls(site, "press_release")}
    site.edit("press_release.html", lambda t: t.replace("</article>", "</article>\n", 1))
    result = site.build()
    assert result.rendered == releases


def test_base_template_change_renders_every_page(site: Site) -> None:
    site.edit("base.html", lambda t: t.replace("</body>", "<!-- neu -->\n</body>", 1))
    result = site.build()
    html = {p.relative_to(site.output).as_posix() for p in site.output.rglob("*.html")}
    # The redirect pages at old addresses (aliases:) are no template's: they stay.
    redirects = {p for p in html if 'http-equiv="refresh"' in (site.output / p).read_text("utf-8")}
    assert redirects and result.rendered == html - redirects


def test_deleted_release_disappears_from_every_list_and_its_files_are_removed(site: Site) -> None:
    (site.root / RELEASE).unlink()
    result = site.build()
    assert result.report is not None
    assert RELEASE_PAGE in result.report.removed
    assert not (site.output / RELEASE_PAGE).exists()
    for page in site.output.rglob("*"):
        if page.is_file() and page.suffix in (".html", ".xml"):
            assert "digitale-sprechstunde" not in page.read_text(encoding="utf-8"), page


def test_incremental_build_equals_clean_build_after_each_edit(site: Site, tmp_path: Path) -> None:
    rng = random.Random(4711)
    edits = _edit_kinds(site, rng)
    for step in range(24):
        name, edit = rng.choice(edits)
        edit()
        site.build()
        clean = tmp_path / f"clean-{step}"
        site.build(use_cache=False, output=clean)
        # The search index too: a shard must follow every page it indexes.
        assert tree(site.output) == tree(clean), f"after edit {step}: {name}"


def test_damaged_cached_html_is_rendered_again_not_trusted(site: Site, tmp_path: Path) -> None:
    import sqlite3

    site.build()
    # The summaries stay intact, so the build takes them from the cache; the HTML of
    # every body is garbled, as a damaged disk block would leave it.
    with sqlite3.connect(site.root / ".kldigital-cache" / "cache.sqlite") as db:
        db.execute("UPDATE bodies SET html = 'kaputt' || html")
    site.edit("base.html", lambda t: t.replace("</body>", "<!-- neu -->\n</body>", 1))
    result = site.build()
    assert "kaputt" not in (site.output / RELEASE_PAGE).read_text(encoding="utf-8")
    assert RELEASE_PAGE in result.rendered
    clean = tmp_path / "clean"
    site.build(use_cache=False, output=clean)
    assert tree(site.output) == tree(clean)


def test_parallel_build_is_byte_identical_to_one_process(tmp_path: Path) -> None:
    from bench.corpus import generate

    root = generate(120, tmp_path / "corpus")
    outputs = []
    for jobs in (1, 2):
        out = tmp_path / f"out-{jobs}"
        config = load_config(root / "content", TEMPLATES, out)
        build(config, now=NOW, jobs=jobs, use_cache=False)
        outputs.append(tree(out))
    assert outputs[0] == outputs[1]
    assert len(outputs[0]) > 150
    # With the cache, forked workers read rendered bodies back from it (their own
    # connection); a template change renders every page from there.
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    cached = tmp_path / "out-cached"
    config = load_config(root / "content", templates, cached)
    build(config, now=NOW, jobs=2)
    base = templates / "base.html"
    base.write_text(base.read_text(encoding="utf-8").replace("</body>", "</body>\n"), "utf-8")
    result = build(config, now=NOW, jobs=2)
    assert len(result.rendered) > 100
    clean = tmp_path / "out-clean"
    build(load_config(root / "content", templates, clean), now=NOW, jobs=1, use_cache=False)
    assert tree(cached) == tree(clean)


def _pages(paths: frozenset[str]) -> set[str]:
    """HTML pages only: feed, sitemap and robots.txt are made on every build."""
    return {p for p in paths if p.endswith(".html")}


def _urls(site: Site, kind: str) -> set[str]:
    config = load_config(site.root / "content", site.templates, site.output)
    from kldigital_site.build import build as run

    result = run(config, now=NOW, write=False, jobs=1, use_cache=False)
    return {route.url for route in result.site.routes if route.kind == kind}


def _edit_kinds(site: Site, rng: random.Random) -> list[tuple[str, Callable[[], None]]]:
    presse = site.root / "content/presse"
    counter = iter(range(1000))

    def files() -> list[Path]:
        return sorted(p for p in presse.glob("*.md") if not p.name.startswith("2027"))

    def retitle() -> None:
        path = rng.choice(files())
        text = path.read_text(encoding="utf-8")
        path.write_text(
            re.sub(
                r"^title: .*$", f"title: Neuer Titel {next(counter)}", text, count=1, flags=re.M
            ),
            encoding="utf-8",
        )

    def append_body() -> None:
        path = rng.choice(files())
        path.write_text(
            path.read_text(encoding="utf-8") + f"\nNachtrag {next(counter)}.\n", encoding="utf-8"
        )

    def new_lead() -> None:
        # A new first paragraph: the summary on every card of the release changes.
        path = rng.choice(files())
        head, separator, body = path.read_text(encoding="utf-8").partition("\n---\n")
        path.write_text(
            f"{head}{separator}Neuer Einstieg {next(counter)}.\n\n{body}", encoding="utf-8"
        )

    def delete() -> None:
        # Not the ones other files link to: a link to nothing is an error.
        linked = ("sprechstunde", "mitmachplattform")
        candidates = [p for p in files() if not any(name in p.name for name in linked)]
        if len(candidates) > 4:
            rng.choice(candidates).unlink()

    def add() -> None:
        n = next(counter)
        (presse / f"2024-03-{1 + n % 28:02d}-neu-{n}.md").write_text(
            f"---\ntitle: Neue Mitteilung {n}\ndate: 2024-03-{1 + n % 28:02d}\n"
            f"tags: [Thema {n % 3}]\n---\nText {n} mit Link zur [Sprechstunde]"
            "(2025-08-26-digitale-sprechstunde.md).\n",
            encoding="utf-8",
        )

    def retag() -> None:
        path = rng.choice(files())
        text = path.read_text(encoding="utf-8")
        path.write_text(
            text.replace("---\n", f"---\ntags: [Neu {next(counter) % 2}]\n", 1)
            if "\ntags:" not in text
            else re.sub(r"^tags: .*$", "tags: [Umgestellt]", text, count=1, flags=re.M),
            encoding="utf-8",
        )

    def reslug() -> None:
        # Moves a page: lists, cards and every body that links to it must follow.
        path = rng.choice(files())
        text = path.read_text(encoding="utf-8")
        slug = f"slug: verschoben-{next(counter)}"
        path.write_text(
            re.sub(r"^slug: .*$", slug, text, count=1, flags=re.M)
            if "\nslug:" in text
            else text.replace("---\n", f"---\n{slug}\n", 1),
            encoding="utf-8",
        )

    def template() -> None:
        site.edit("partials/cards.html", lambda t: t + f"\n{{# {next(counter)} #}}\n")

    def subtitle() -> None:
        # Shown on its cards and page only: examined where it was looked up.
        path = rng.choice(files())
        text = re.sub(r"^subtitle: .*\n", "", path.read_text(encoding="utf-8"), flags=re.M)
        path.write_text(
            text.replace("---\n", f"---\nsubtitle: Unterzeile {next(counter)}\n", 1),
            encoding="utf-8",
        )

    def project_front_matter() -> None:
        # Its title (in the order of the lists too), summary or Smart-City mark.
        path = rng.choice(sorted((site.root / "content/projekte").glob("*.md")))
        text = path.read_text(encoding="utf-8")
        n = next(counter)
        text = rng.choice(
            [
                lambda: re.sub(r"^title: .*$", f"title: Projekt {n}", text, count=1, flags=re.M),
                lambda: re.sub(r"^summary: .*$", f"summary: Kurz {n}.", text, count=1, flags=re.M),
                lambda: re.sub(r"^smart_city: .*\n", "", text, flags=re.M).replace(
                    "---\n", f"---\nsmart_city: {str(n % 2 == 0).lower()}\n", 1
                ),
            ]
        )()
        path.write_text(text, encoding="utf-8")

    return [
        ("retitle", retitle),
        ("append", append_body),
        ("lead", new_lead),
        ("delete", delete),
        ("add", add),
        ("retag", retag),
        ("reslug", reslug),
        ("template", template),
        ("subtitle", subtitle),
        ("project", project_front_matter),
    ]


def test_moved_link_target_renders_the_linking_page_again(site: Site) -> None:
    # "Über uns" links to this release in its body only: no card, no list.
    release = "content/presse/2023-01-17-neue-mitmachplattform.md"
    site.build()
    site.edit(release, lambda t: t.replace("slug: mitmachplattform", "slug: mitmachen-online"))
    result = site.build()
    about = (site.output / "ueber-uns/index.html").read_text(encoding="utf-8")
    assert "/presse/mitmachen-online/" in about
    assert "ueber-uns/index.html" in result.rendered


def test_file_saved_again_during_the_build_fails_it_and_is_not_cached(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kldigital_site.errors import BuildFailed
    from kldigital_site.markdown import bodies as bodies_module

    real = bodies_module.render_bodies

    def save_meanwhile(*args: object, **kwargs: object) -> object:
        # The editor saves again after the file was parsed, before its text is rendered.
        site.edit(RELEASE, lambda t: t + "\nNoch ein Satz.\n")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    site.edit(RELEASE, lambda t: t + "\nErster Satz.\n")
    monkeypatch.setattr(bodies_module, "render_bodies", save_meanwhile)
    with pytest.raises(BuildFailed) as failed:
        site.build()
    assert [(p.path, p.message) for p in failed.value.problems] == [
        (RELEASE, "Die Datei wurde während des Erzeugens geändert; bitte erneut erzeugen.")
    ]
    monkeypatch.setattr(bodies_module, "render_bodies", real)
    site.build()
    page = (site.output / RELEASE_PAGE).read_text(encoding="utf-8")
    assert "Erster Satz." in page and "Noch ein Satz." in page


def test_an_edit_that_keeps_size_and_modification_time_is_still_seen(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from kldigital_site import build as build_module

    # Remember every file's stat at once (normally only files older than 2 s).
    monkeypatch.setattr(build_module, "_RACY_NS", -(10**18))
    site.build()
    path = site.root / RELEASE
    before = path.stat()
    text = path.read_text(encoding="utf-8")
    assert "Dienstag" in text
    # Same length, same modification time: only the change time tells.
    path.write_text(text.replace("Dienstag", "Mittwoch", 1), encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size
    result = site.build()
    assert RELEASE_PAGE in result.rendered
    page = (site.output / RELEASE_PAGE).read_text(encoding="utf-8")
    assert "Mittwoch" in page

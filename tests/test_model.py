"""What readers see of the model: publication rules, order, topics, relations, badges, dates.

Most checks build the ``full`` fixture once and look at both the model and the
generated pages, so that a correct model rendered wrongly fails too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path

import lxml.html
import pytest

from kldigital_site.build import BuildResult
from kldigital_site.errors import BuildFailed
from kldigital_site.model import Site, collation_key
from kldigital_site.slugs import slugify
from tests.conftest import NOW, build_site_at, copy_fixture_site

MakeSite = Callable[[Mapping[str, str | bytes]], Path]
BASE = "/sub/"  # the full fixture's base path

DRAFTS = {
    "projekte/entwurf-projekt.md",
    "presse/2026-09-01-entwurf-haushalt.md",
    "seiten/entwurf-seite.md",
}
FUTURE = {"presse/2027-01-15-sperrfrist-januar.md", "presse/2028-05-02-ferne-zukunft.md"}


class Built:
    def __init__(self, result: BuildResult, out: Path) -> None:
        self.result = result
        self.site: Site = result.site
        self.out = out

    def page(self, url: str) -> lxml.html.HtmlElement:
        path = self.out / url / "index.html" if url.endswith("/") or not url else self.out / url
        return lxml.html.fromstring(path.read_bytes())

    def text(self, url: str) -> str:
        return " ".join(self.page(url).text_content().split())

    def url_of(self, key: str) -> str:
        return self.site.items[key].url

    def hrefs(self, url: str) -> list[str]:
        return [a.get("href", "") for a in self.page(url).iter("a")]

    def listed(self, url: str, keys: tuple[str, ...] | list[str] | set[str]) -> list[str]:
        """The items among ``keys`` that the page links to, in the order of their first link."""
        by_href = {BASE + self.url_of(k): k for k in keys}
        seen: list[str] = []
        for href in self.hrefs(url):
            if href in by_href and by_href[href] not in seen:
                seen.append(by_href[href])
        return seen


def _build(tmp: Path, **options: bool) -> Built:
    root = copy_fixture_site("full", tmp / "site")
    result = build_site_at(root, output=tmp / "out", **options)
    return Built(result, tmp / "out")


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return _build(tmp_path_factory.mktemp("full"))


@pytest.fixture(scope="module")
def preview(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return _build(tmp_path_factory.mktemp("preview"), drafts=True, future=True)


# --- drafts and future releases ------------------------------------------------------------


@pytest.mark.parametrize(
    ("drafts", "future", "hidden"),
    [
        (False, False, DRAFTS | FUTURE),
        (True, False, FUTURE),
        (False, True, DRAFTS),
        (True, True, set()),
    ],
)
def test_drafts_and_future_only_with_their_flags(
    drafts: bool, future: bool, hidden: set[str], tmp_path: Path
) -> None:
    root = copy_fixture_site("full", tmp_path / "site")
    result = build_site_at(root, output=tmp_path / "out", drafts=drafts, future=future)
    keys = set(result.site.items)
    assert keys.isdisjoint(hidden)
    assert (DRAFTS | FUTURE) - hidden <= keys
    written = {p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*")}
    everything = "\n".join(
        p.read_text(encoding="utf-8")
        for p in (tmp_path / "out").rglob("*")
        if p.suffix in (".html", ".xml")
    )
    for title, url in [
        ("Geheimes Entwurfsprojekt", "projekte/entwurf-projekt"),
        ("Entwurf einer Mitteilung", "presse/entwurf-haushalt"),
        ("Entwurfsseite", "entwurf-seite"),
        ("Mitteilung mit Sperrfrist", "presse/sperrfrist-januar"),
        ("Mitteilung aus der Zukunft", "presse/ferne-zukunft"),
    ]:
        shown = any(url.endswith(result.site.items[k].url.rstrip("/")) for k in keys)
        assert (url in written) is shown, url
        assert (title in everything) is shown, title
    # A year that only a future release has, appears with it.
    assert ("presse/2028" in written) is future


def test_preview_pages_carry_a_banner(preview: Built) -> None:
    assert "Entwurf – diese Seite ist nicht veröffentlicht." in preview.text("entwurf-seite/")
    assert "Sperrfrist bis 15. Januar 2027, 09:00 Uhr" in preview.text("presse/sperrfrist-januar/")
    assert "nicht veröffentlicht" not in preview.text("impressum/")


@pytest.mark.parametrize(
    ("date_line", "published"),
    [
        ("date: 2026-11-26", True),  # today, midnight local time
        ("date: 2026-11-26T12:59:00+01:00", True),  # 11:59 UTC, a minute before NOW
        ("date: 2026-11-26T13:01:00+01:00", False),
        ("date: 2026-11-27", False),
    ],
)
def test_future_is_measured_against_now(
    make_site: MakeSite, tmp_path: Path, date_line: str, published: bool
) -> None:
    name = f"presse/{date_line[6:16]}-heute.md"
    root = make_site({f"content/{name}": f"---\ntitle: Heute\n{date_line}\n---\nText.\n"})
    result = build_site_at(root, output=tmp_path / "out", now=NOW)
    assert (name in result.site.items) is published


def test_published_release_naming_a_draft_project_does_not_link_it(
    make_site: MakeSite, tmp_path: Path
) -> None:
    root = make_site(
        {
            "content/projekte/geheim.md": "---\ntitle: Geheim\nsummary: S.\ndraft: true\n---\nT.\n",
            "content/presse/2024-05-02-erste-mitteilung.md": (
                "---\ntitle: Erste\ndate: 2024-05-02\n"
                "projects: [geheim, beispielprojekt]\n---\nT.\n"
            ),
        }
    )
    result = build_site_at(root, output=tmp_path / "out")
    assert result.site.release_projects["presse/2024-05-02-erste-mitteilung.md"] == (
        "projekte/beispielprojekt.md",
    )
    page = (tmp_path / "out/presse/erste-mitteilung/index.html").read_text(encoding="utf-8")
    assert "/projekte/geheim/" not in page and "/projekte/beispielprojekt/" in page


# --- press releases: newest first, paginated, by year ------------------------------------------


def test_press_releases_newest_first(full: Built) -> None:
    dates = [full.site.items[k].date for k in full.site.releases]
    assert len(dates) == 13
    assert all(d is not None for d in dates)
    assert dates == sorted(dates, reverse=True)  # type: ignore[type-var]
    assert full.site.releases[0] == "presse/2026-06-19-digitaltag-2026.md"
    assert full.site.releases[-1] == "presse/2022-02-10-start-der-online-beteiligung.md"


def test_press_list_is_paginated_in_order(full: Built) -> None:
    per_page = full.site.config.press_per_page
    assert per_page == 3
    pages = ["presse/"] + [f"presse/seite/{n}/" for n in range(2, 6)]
    shown: list[str] = []
    for number, url in enumerate(pages, start=1):
        listed = full.listed(url, full.site.releases)
        assert 1 <= len(listed) <= per_page, url
        shown += listed
        hrefs = full.hrefs(url)
        if number > 1:
            assert BASE + full.site.press_page_url(number - 1) in hrefs, url
        if number < len(pages):
            assert BASE + full.site.press_page_url(number + 1) in hrefs, url
    assert shown == list(full.site.releases)
    assert not (full.out / "presse/seite/6").exists()
    assert not (full.out / "presse/seite/1").exists()  # page 1 is /presse/ itself


def test_home_page_shows_the_latest_releases(full: Built) -> None:
    count = full.site.config.home_releases
    assert full.listed("", full.site.releases) == list(full.site.releases[:count])


def test_year_archives(full: Built) -> None:
    assert list(full.site.years) == [2026, 2025, 2024, 2023, 2022]
    for year, keys in full.site.years.items():
        assert full.listed(f"presse/{year}/", full.site.releases) == list(keys)
        assert BASE + f"presse/{year}/" in full.hrefs("presse/")
    # 00:30 on 1 January in Kaiserslautern is still 2025 in UTC; the local year counts.
    assert "presse/2026-01-01-jahresauftakt.md" in full.site.years[2026]
    assert "1. Januar 2026" in full.text("presse/jahresauftakt/")


def test_same_day_releases_are_ordered_by_title(make_site: MakeSite, tmp_path: Path) -> None:
    root = make_site(
        {
            f"content/presse/2024-05-02-{slug}.md": (
                f"---\ntitle: {title}\ndate: 2024-05-02\n---\nT.\n"
            )
            for slug, title in [("b", "Über Daten"), ("c", "Zukunft"), ("d", "Apfel")]
        }
    )
    site = build_site_at(root, output=tmp_path / "out").site
    titles = [site.items[k].title for k in site.releases]
    assert titles == ["Apfel", "Erste Mitteilung", "Über Daten", "Zukunft"]


# --- topics ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Mobilität", "mobilitaet"),
        ("Bürgerbeteiligung", "buergerbeteiligung"),
        ("Straße & Verkehr", "strasse-verkehr"),
        ("Öffentliche Übungen", "oeffentliche-uebungen"),
        ("ÄRZTE", "aerzte"),
        ("Café crème", "cafe-creme"),
        ("  Digitaltag 2026!  ", "digitaltag-2026"),
    ],
)
def test_german_slugs(name: str, slug: str) -> None:
    assert slugify(name) == slug


def test_topics_with_umlauts(full: Built) -> None:
    tags = full.site.tags
    assert tags["mobilitaet"].name == "Mobilität"
    assert tags["buergerbeteiligung"].name == "Bürgerbeteiligung"
    assert tags["strasse-verkehr"].name == "Straße & Verkehr"
    names = [tag.name for tag in tags.values()]
    assert names == sorted(names, key=collation_key)  # Bürgerbeteiligung before Daten
    topics = full.hrefs("themen/")
    for slug in tags:
        assert BASE + f"themen/{slug}/" in topics


def test_topic_page_lists_projects_and_releases(full: Built) -> None:
    members = set(full.site.tags["mobilitaet"].item_keys)
    assert members == {
        "projekte/mobilitaetsdaten.md",
        "presse/2023-09-12-mobilitaetstag.md",
        "presse/2025-03-18-mobilitaetsdaten-offen.md",
        "presse/2026-01-01-jahresauftakt.md",
    }
    pages = [full.site.topic_page_url("mobilitaet", n) for n in (1, 2)]
    assert pages == ["themen/mobilitaet/", "themen/mobilitaet/seite/2/"]
    listed = [key for page in pages for key in full.listed(page, members)]
    assert sorted(listed) == sorted(members)  # every item once, across the topic's pages
    assert "Mobilität" in full.text("themen/mobilitaet/")
    # A release shows its topics as links.
    assert BASE + "themen/mobilitaet/" in full.hrefs("presse/mobilitaetstag/")


def test_spellings_of_one_topic_are_one_topic(make_site: MakeSite, tmp_path: Path) -> None:
    root = make_site(
        {
            "content/projekte/a.md": "---\ntitle: A\nsummary: S.\ntags: [Mobilität]\n---\nT.\n",
            "content/projekte/b.md": "---\ntitle: B\nsummary: S.\ntags: [mobilität]\n---\nT.\n",
        }
    )
    site = build_site_at(root, output=tmp_path / "out").site
    assert list(site.tags) == ["mobilitaet"]
    assert site.tags["mobilitaet"].name == "Mobilität"
    assert set(site.tags["mobilitaet"].item_keys) == {"projekte/a.md", "projekte/b.md"}


# --- projects and press releases, both ways -------------------------------------------------


def test_projects_and_releases_link_both_ways(full: Built) -> None:
    beteiligung = "projekte/buergerbeteiligung-online.md"
    expected = (
        "presse/2025-03-18-mobilitaetsdaten-offen.md",
        "presse/2023-01-17-neue-mitmachplattform.md",
        "presse/2022-02-10-start-der-online-beteiligung.md",
    )
    assert full.site.project_releases[beteiligung] == expected  # newest first, published only
    project_url = full.url_of(beteiligung)
    assert full.listed(project_url, full.site.releases) == list(expected)
    for release in expected:
        assert beteiligung in full.site.release_projects[release]
        assert full.listed(full.url_of(release), [beteiligung]) == [beteiligung]
    offen = "presse/2025-03-18-mobilitaetsdaten-offen.md"
    assert full.site.release_projects[offen] == (
        "projekte/mobilitaetsdaten.md",
        beteiligung,
    )
    # A project no release names lists none.
    assert full.site.project_releases["projekte/verwaltung-digital.md"] == ()
    assert full.listed("projekte/verwaltung-digital/", full.site.releases) == []


def test_slug_override_changes_the_address(full: Built) -> None:
    assert full.url_of("projekte/strassenbeleuchtung.md") == (
        "projekte/intelligente-strassenbeleuchtung/"
    )
    assert full.url_of("presse/2023-01-17-neue-mitmachplattform.md") == "presse/mitmachplattform/"
    assert full.url_of("seiten/datenschutzerklaerung.md") == "datenschutz/"
    assert (full.out / "datenschutz/index.html").is_file()


def test_projects_by_weight_then_title(full: Built) -> None:
    titles = [full.site.items[k].title for k in full.site.projects]
    assert titles == [
        "Verwaltung digital",  # weight 0
        "Bürgerbeteiligung online",  # 1
        "Mobilitätsdaten & Verkehr",  # 2
        "Intelligente Straßenbeleuchtung",  # 10
    ]
    assert full.listed("projekte/", full.site.projects) == list(full.site.projects)


# --- the Smart-City badge -------------------------------------------------------------------


def _cards(page: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    return page.xpath("//*[contains(concat(' ', normalize-space(@class), ' '), ' card ')]")


def _has_badge(element: lxml.html.HtmlElement) -> bool:
    return bool(element.xpath(".//*[contains(@class, 'badge-smart-city')]"))


def test_smart_city_badge_on_every_card_and_page(full: Built) -> None:
    smart = {BASE + full.url_of(k) for k in full.site.smart_city_projects}
    other = {BASE + full.url_of(k) for k in full.site.projects} - smart
    assert len(smart) == 2 and other
    pages = ["", "projekte/", "smart-city/", "themen/mobilitaet/", "themen/buergerbeteiligung/"]
    pages += [full.url_of(k) for k in (*full.site.projects, *full.site.releases)]
    smart_cards_seen = {url: 0 for url in ["", "projekte/", "smart-city/", "themen/mobilitaet/"]}
    for url in pages:
        for card in _cards(full.page(url)):
            links = {a.get("href") for a in card.iter("a")}
            if links & smart:
                assert _has_badge(card), f"{url}: Smart-City card without badge"
                smart_cards_seen[url] = smart_cards_seen.get(url, 0) + 1
            elif links & other:
                assert not _has_badge(card), f"{url}: badge on a card of a normal project"
    assert all(smart_cards_seen.values()), smart_cards_seen
    for key in full.site.projects:
        article = full.page(full.url_of(key)).xpath("//main")[0]
        is_smart = key in full.site.smart_city_projects
        assert _has_badge(article) is is_smart, key


def test_smart_city_page_lists_exactly_the_smart_city_projects(full: Built) -> None:
    assert full.site.smart_city_projects == (
        "projekte/buergerbeteiligung-online.md",
        "projekte/mobilitaetsdaten.md",
    )
    assert full.listed("smart-city/", full.site.projects) == list(full.site.smart_city_projects)
    assert full.listed("", full.site.projects) == list(full.site.smart_city_projects)


# --- press release details ------------------------------------------------------------------


def test_dateline_contacts_and_boilerplate(make_site: MakeSite, tmp_path: Path) -> None:
    root = make_site(
        {
            "content/presse/2021-06-25-sommerfest.md": (
                "---\ntitle: Sommerfest\ndate: 2021-06-25\n---\nDas Fest beginnt um 15 Uhr.\n"
            ),
            "content/presse/2021-06-26-berlin.md": (
                "---\ntitle: In Berlin\ndate: 2021-06-26T10:00:00+02:00\nlocation: Berlin\n"
                "boilerplate: false\ncontacts: []\n---\nText.\n"
            ),
        }
    )
    build_site_at(root, output=tmp_path / "out")
    fest = (tmp_path / "out/presse/sommerfest/index.html").read_text(encoding="utf-8")
    text = " ".join(lxml.html.fromstring(fest).text_content().split())
    assert "Kaiserslautern, 25. Juni 2021 – Das Fest beginnt um 15 Uhr." in text
    assert "Pressekontakt" in text and "Erika Mustermann" in text
    assert "Presseabbinder" in text and "Digitalagentur der Stadt Kaiserslautern" in text
    berlin = (tmp_path / "out/presse/berlin/index.html").read_text(encoding="utf-8")
    text = " ".join(lxml.html.fromstring(berlin).text_content().split())
    assert "Berlin, 26. Juni 2021 –" in text
    assert "Presseabbinder" not in text and "Pressekontakt" not in text


def test_location_override_in_the_full_fixture(full: Built) -> None:
    assert "Berlin, 20. Juni 2022 –" in full.text("presse/digitaltag-2022/")
    assert "Kaiserslautern, 29. Februar 2024 –" in full.text("presse/hackathon-am-schalttag/")


def test_collisions_between_kinds_are_errors(make_site: MakeSite) -> None:
    root = make_site({"content/seiten/presse.md": "---\ntitle: Presse\n---\nText.\n"})
    with pytest.raises(BuildFailed) as info:
        build_site_at(root)
    assert [str(p) for p in info.value.problems] == [
        "content/seiten/presse.md:1: Die Adresse /presse/ wird auch erzeugt von: "
        "Liste der Pressemitteilungen."
    ]


def test_same_slug_in_different_kinds_is_fine(make_site: MakeSite, tmp_path: Path) -> None:
    root = make_site(
        {
            "content/seiten/beispielprojekt.md": "---\ntitle: Seite\n---\nText.\n",
            "content/presse/2024-06-01-beispielprojekt.md": (
                "---\ntitle: Meldung\ndate: 2024-06-01\n---\nText.\n"
            ),
        }
    )
    build_site_at(root, output=tmp_path / "out")
    for url in ("beispielprojekt", "projekte/beispielprojekt", "presse/beispielprojekt"):
        assert (tmp_path / "out" / url / "index.html").is_file()


def test_now_is_injected_not_read_from_the_clock(tmp_path: Path) -> None:
    root = copy_fixture_site("full", tmp_path / "site")
    later = build_site_at(root, output=tmp_path / "a", now=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    assert set(later.site.items) >= FUTURE


def test_preview_pages_of_drafts_are_noindex_and_left_out_of_the_sitemap(tmp_path: Path) -> None:
    from tests.conftest import build_site_at, copy_fixture_site

    root = copy_fixture_site("full", tmp_path / "site")
    out = tmp_path / "out"
    result = build_site_at(root, output=out, drafts=True, future=True)
    sitemap = (out / "sitemap.xml").read_text(encoding="utf-8")
    previews = [i for i in result.site.items.values() if i.is_draft or i.is_future]
    assert previews
    for item in previews:
        page = (out / item.url / "index.html").read_text(encoding="utf-8")
        assert '<meta name="robots" content="noindex">' in page
        assert item.url not in sitemap
    published = next(i for i in result.site.items.values() if not (i.is_draft or i.is_future))
    assert 'name="robots"' not in (out / published.url / "index.html").read_text(encoding="utf-8")
    assert published.url in sitemap


# --- the structure a front-matter edit may leave as it was (render/pages.py) ----------------


@pytest.mark.parametrize(
    ("rel", "old", "new", "moves"),
    [
        # What is shown of an item: its pages are found by what their views looked up.
        ("presse/2025-08-26-digitale-sprechstunde.md", "title: Digitale", "title: Neue", False),
        ("projekte/mobilitaetsdaten.md", "summary: Offene", "summary: Freie", False),
        # Where it stands: every page is examined.
        (
            "presse/2025-08-26-digitale-sprechstunde.md",
            "date: 2025-08-26",
            "date: 2025-08-26 18:00",
            True,
        ),
        ("presse/2025-08-26-digitale-sprechstunde.md", "tags: [", "tags: [Neu, ", True),
        ("projekte/mobilitaetsdaten.md", "weight: 2", "weight: 0", True),
        ("projekte/strassenbeleuchtung.md", "aliases: [", "aliases: [/alt/licht, ", True),
        ("projekte/mobilitaetsdaten.md", "smart_city: true", "smart_city: false", True),
    ],
)
def test_the_structure_digest_follows_where_items_stand_not_what_they_show(
    tmp_path: Path, rel: str, old: str, new: str, moves: bool
) -> None:
    from kldigital_site.model import structure_digest

    def digest(root: Path) -> str:
        result = build_site_at(root, write=False, use_cache=False)
        assert result.site is not None
        return structure_digest(result.site)

    first = copy_fixture_site("full", tmp_path / "a")
    # Another checkout of the same site: the same structure (a CI cache, docs/deployment.md).
    assert digest(first) == digest(copy_fixture_site("full", tmp_path / "b"))
    path = first / "content" / rel
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    assert (digest(first) != digest(tmp_path / "b")) is moves

"""Issue 18: what a press officer trips over.

German periods by the current date ("ab" before a project starts, "seit" after),
draft and embargo labels on the preview's cards (never in a normal build), the
approval preview (``build --preview``) and the brand theme's contrast check.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from kldigital_site.build import build
from kldigital_site.cli import cli
from kldigital_site.config import load_config
from kldigital_site.search.shards import search_pages
from kldigital_site.theme import Theme, contrast_problems, parse_colour
from tests.conftest import NOW, TEMPLATES, build_site_at, copy_fixture_site

MakeSite = Callable[[Mapping[str, str | bytes]], Path]
BERLIN = ZoneInfo("Europe/Berlin")

STARTING = {
    "content/projekte/start-2027.md": """\
    ---
    title: Startet im Januar
    summary: Ein Projekt, das noch nicht begonnen hat.
    start: 2027-01
    ---
    Text.
    """
}


def test_a_project_reads_ab_until_it_starts_then_seit(make_site: MakeSite) -> None:
    root = make_site(STARTING)
    listing = root / "output/projekte/index.html"
    before = build_site_at(root, now=dt.datetime(2026, 12, 31, 22, 0, tzinfo=BERLIN))
    assert "ab Januar 2027" in listing.read_text(encoding="utf-8")
    # The start is a change of the site like an embargo's end: the unchanged-input
    # shortcut must not keep "ab" after it.
    assert before.next_change == dt.datetime(2027, 1, 1, tzinfo=BERLIN)
    build_site_at(root, now=dt.datetime(2027, 1, 1, 0, 0, tzinfo=BERLIN))
    html = listing.read_text(encoding="utf-8")
    assert "seit Januar 2027" in html and "ab Januar 2027" not in html


# --- what is not public is labelled in the preview, never on the published site ----------


def _html_pages(out: Path) -> dict[str, str]:
    """The pages; not the redirect pages at old addresses (aliases:), which are noindex on
    every site and send the visitor on before any banner could be read."""
    files = sorted(out.rglob("*.html"))
    pages = {p.relative_to(out).as_posix(): p.read_text(encoding="utf-8") for p in files}
    return {path: html for path, html in pages.items() if 'http-equiv="refresh"' not in html}


@pytest.fixture(scope="module")
def full_builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """The full fixture built three ways: published, served (preview), and build --preview."""
    work = tmp_path_factory.mktemp("issue18")
    root = copy_fixture_site("full", work / "site")
    normal, served, staging = work / "normal", work / "served", work / "staging"
    for out, options in (
        (normal, {}),
        (served, {"preview": True}),
        (staging, {"preview_banner": True}),
    ):
        config = load_config(root / "content", TEMPLATES, out, minify=False, **options)
        build(config, now=NOW, use_cache=False)
    return normal, served, staging


def test_cards_in_the_preview_mark_drafts_and_embargoes(
    full_builds: tuple[Path, Path, Path],
) -> None:
    _, served, _ = full_builds
    home = (served / "index.html").read_text(encoding="utf-8")
    press = (served / "presse/index.html").read_text(encoding="utf-8")
    topic = (served / "themen/buergerbeteiligung/index.html").read_text(encoding="utf-8")
    embargo = "Nicht veröffentlicht: </span>Sperrfrist bis 15. Januar 2027, 09:00 Uhr</span>"
    draft = "Nicht veröffentlicht: </span>Entwurf</span>"
    assert embargo in home and embargo in press and embargo in topic
    assert draft in home and draft in press
    # Published items carry no label.
    published_year = (served / "presse/2025/index.html").read_text(encoding="utf-8")
    assert "card-press" in published_year and "badge-notice" not in published_year


def test_a_normal_build_labels_nothing(full_builds: tuple[Path, Path, Path]) -> None:
    normal, _, _ = full_builds
    for path, html in _html_pages(normal).items():
        assert "badge-notice" not in html, path
        assert "Sperrfrist" not in html and "Entwurf" not in html, path
        assert 'name="robots" content="noindex"' not in html, path
    assert (normal / "robots.txt").read_text().startswith("User-agent: *\nAllow: /\n")


def test_the_preview_search_finds_what_is_not_public(
    full_builds: tuple[Path, Path, Path],
) -> None:
    normal, served, _ = full_builds
    result = build(
        load_config(served.parent / "site/content", TEMPLATES, served, preview=True, minify=False),
        now=NOW,
    )
    assert result.site is not None
    indexed = {page.origin for page in search_pages(result.site)}
    assert "content/presse/2026-09-01-entwurf-haushalt.md" in indexed
    page = (served / "presse/entwurf-haushalt/index.html").read_text(encoding="utf-8")
    assert '<span data-pagefind-meta="hinweis">Entwurf</span>' in page
    assert not (normal / "presse/entwurf-haushalt").exists()


def test_build_preview_marks_every_page_and_forbids_robots(
    full_builds: tuple[Path, Path, Path],
) -> None:
    _, _, staging = full_builds
    pages = _html_pages(staging)
    assert "presse/entwurf-haushalt/index.html" in pages  # drafts are in
    assert "presse/sperrfrist-januar/index.html" in pages  # and embargoed releases
    for path, html in pages.items():
        assert '<p class="preview-banner">Vorschau – nicht veröffentlicht</p>' in html, path
        assert '<meta name="robots" content="noindex">' in html, path
    assert (staging / "robots.txt").read_text() == "User-agent: *\nDisallow: /\n"


def test_build_preview_never_writes_into_output(
    make_site: MakeSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_site({})
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        cli,
        ["build", "--preview", "--content", str(root / "content"), "--templates", str(TEMPLATES)],
    )
    assert result.exit_code == 0, result.output
    # Relative to the working folder, like output/, which stays as it is.
    assert (tmp_path / "output-vorschau/index.html").is_file()
    assert not (tmp_path / "output").exists()


# --- a brand theme that stays accessible ---------------------------------------------------


def test_a_theme_recolours_the_site_and_shows_its_logo(
    full_builds: tuple[Path, Path, Path],
) -> None:
    normal, _, _ = full_builds  # the full fixture has theme: in its site.yaml
    (marke,) = (normal / "assets/css").glob("marke.*.css")  # its name has its hash
    css = marke.read_text(encoding="utf-8")
    assert "--brand: #1d4f91;" in css and "--smart: #6a2c91;" in css
    assert "--brand-dark: #19437b;" in css  # derived, and checked: white on it is AA
    home = (normal / "index.html").read_text(encoding="utf-8")
    # After site.css, so its values win; the logo from medien/ instead of the default.
    assert home.index("css/site.") < home.index(f'href="/sub/assets/css/{marke.name}"')
    assert 'src="/sub/medien/marke/logo.svg"' in home
    assert (normal / "medien/marke/logo.svg").is_file()


def test_without_a_theme_the_default_colours_stay(make_site: MakeSite) -> None:
    root = make_site({})
    build_site_at(root)
    assert not list((root / "output/assets/css").glob("marke*"))
    assert "marke.css" not in (root / "output/index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("brand", "accent", "problems"),
    [
        ("#a3092b", "#0b6b50", []),  # the default theme passes its own check
        # 4.54:1 on white passes there, but links on the grey tiles fall short.
        ("#767676", "#0b6b50", ["Links (#767676) auf hellgrauen Flächen (#f4f3f1) ergibt nur"]),
        ("#1d4f91", "rebeccapurple", []),
        ("#777777", "#0b6b50", ["Links (#777777) auf Weiß (#ffffff) ergibt nur 4,47:1"]),
        ("#a3092b", "#3a9d5d", ["weiße Schrift (#ffffff) im Smart-City-Kennzeichen"]),
    ],
)
def test_each_pair_below_aa_is_named_with_its_ratio(
    brand: str, accent: str, problems: list[str]
) -> None:
    found = contrast_problems(Theme(parse_colour(brand), parse_colour(accent)))
    for expected in problems:
        assert any(expected in p.message for p in found), [p.message for p in found]
    if not problems:
        assert found == []

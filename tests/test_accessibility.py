"""BITV 2.0 built in (issue 13): what a visitor, an editor and an auditor notice.

Every page links Impressum, Datenschutz, Barrierefreiheit, Leichte Sprache,
Gebärdensprache and a prepared "Barriere melden" e-mail naming the page; the
Gebärdensprache page plays self-hosted videos with their size and duration;
downloads announce type and size; foreign-language passages keep their ``lang``;
a site that lacks what the law asks is told so, naming the paragraph.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import lxml.html
import pytest

from kldigital_site.accessibility.headings import heading_anchors
from kldigital_site.markdown.renderer import MarkdownRenderer
from tests.conftest import REPO, build_cli, build_site_at, copy_fixture_site

MakeSite = Callable[[Mapping[str, str | bytes]], Path]

REQUIRED = (
    "impressum/",
    "datenschutz/",
    "barrierefreiheit/",
    "leichte-sprache/",
    "gebaerdensprache/",
)


def _pages(output: Path) -> list[Path]:
    """The site's pages: not the search bundle, nor the redirect pages at old addresses
    (``aliases:``), which send the visitor on at once and show no content of their own."""
    return sorted(
        p
        for p in output.rglob("*.html")
        if "pagefind" not in p.parts and b'http-equiv="refresh"' not in p.read_bytes()
    )


def _report_link(page: lxml.html.HtmlElement) -> tuple[str, dict[str, list[str]]]:
    links = page.xpath("//footer//a[normalize-space()='Barriere melden']/@href")
    assert len(links) == 1
    parts = urlsplit(links[0])
    assert parts.scheme == "mailto"
    return parts.path, parse_qs(parts.query)


@pytest.fixture(scope="module")
def sample_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sample")
    shutil.copytree(REPO / "content", root / "content")
    result = build_cli(root, root / "output", "--strict")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""  # the sample site fulfils everything the law asks
    return root / "output"


def test_every_page_of_the_sample_site_links_the_six_required_targets(
    sample_output: Path,
) -> None:
    pages = _pages(sample_output)
    assert len(pages) > 25
    for path in pages:
        page = lxml.html.fromstring(path.read_bytes())
        hrefs = set(page.xpath("//a/@href"))
        for target in REQUIRED:
            assert f"/{target}" in hrefs, f"{path}: no link to /{target}"
        header = page.xpath("//header[@class='site-header']//a")
        labels = {" ".join(a.text_content().split()): a for a in header}
        for label, target in (
            ("Leichte Sprache", "leichte-sprache/"),
            ("Gebärdensprache", "gebaerdensprache/"),
        ):
            link = labels[label]
            assert link.get("href") == f"/{target}"
            assert link.xpath("./img[@alt='']"), f"{path}: {label} without its symbol"
        address, _ = _report_link(page)
        assert address == "k.fechner@kl.digital"


def test_the_feedback_mail_names_the_page_it_was_sent_from(sample_output: Path) -> None:
    page = lxml.html.fromstring((sample_output / "projekte/dritte-orte/index.html").read_bytes())
    _, query = _report_link(page)
    title = page.xpath("string(//h1)")
    assert query["subject"] == [f"Barriere melden: {title}"]
    body = query["body"][0]
    assert "Adresse: https://www.herzlich-digital.de/projekte/dritte-orte/\r\n" in body
    assert f"Seite: {title}\r\n" in body


def test_the_feedback_mail_carries_the_full_url_under_a_sub_path(minimal_site: Path) -> None:
    build_site_at(minimal_site, base_url="https://example.org/sub/")
    output = minimal_site / "output"
    for rel, url in (
        ("index.html", "https://example.org/sub/"),
        (
            "projekte/beispielprojekt/index.html",
            "https://example.org/sub/projekte/beispielprojekt/",
        ),
        ("presse/erste-mitteilung/index.html", "https://example.org/sub/presse/erste-mitteilung/"),
    ):
        page = lxml.html.fromstring((output / rel).read_bytes())
        address, query = _report_link(page)
        assert address == "presse@example.org"
        assert f"Adresse: {url}\r\n" in query["body"][0]
        assert page.xpath("//header//a[normalize-space()='Leichte Sprache']/@href") == [
            "/sub/leichte-sprache/"
        ]


def test_a_pdf_link_announces_type_and_size_and_follows_the_file(make_site: MakeSite) -> None:
    root = make_site(
        {
            "content/medien/flyer.pdf": b"%PDF-1.4\n" + b"0" * 1_234_558,
            "content/seiten/ueber-uns.md": """\
                ---
                title: Über uns
                ---
                Unser [Flyer](../medien/flyer.pdf) und das [Logo](/medien/flyer.pdf#seite=2).
                """,
        }
    )
    build_site_at(root)
    page = root / "output/ueber-uns/index.html"
    links = lxml.html.fromstring(page.read_bytes()).xpath("//div[@class='prose']//a")
    assert [" ".join(a.text_content().split()) for a in links] == [
        "Flyer (PDF, 1,2 MB)",
        "Logo (PDF, 1,2 MB)",
    ]
    # A new version of the file: the next build shows its size, the cache notwithstanding.
    (root / "content/medien/flyer.pdf").write_bytes(b"%PDF-1.4\n" + b"0" * 4_991)
    build_site_at(root)
    text = lxml.html.fromstring(page.read_bytes()).xpath("string(//div[@class='prose'])")
    assert "Flyer (PDF, 5 kB)" in text


def test_foreign_language_passages_keep_their_lang(make_site: MakeSite) -> None:
    root = make_site(
        {
            "content/seiten/ueber-uns.md": """\
                ---
                title: Über uns
                ---
                Ein *Living Lab*{: lang="en" } und ein [Think Tank]{lang=en-GB}.

                Bienvenue à Kaiserslautern !
                {: lang="fr" }
                """,
        }
    )
    build_site_at(root)
    page = lxml.html.fromstring((root / "output/ueber-uns/index.html").read_bytes())
    assert page.xpath("//em[@lang='en']/text()") == ["Living Lab"]
    assert page.xpath("//span[@lang='en-GB']/text()") == ["Think Tank"]
    assert "Bienvenue" in page.xpath("string(//p[@lang='fr'])")


def test_the_sign_language_page_plays_its_own_videos_with_size_and_duration(
    sample_output: Path,
) -> None:
    page = lxml.html.fromstring((sample_output / "gebaerdensprache/index.html").read_bytes())
    (video,) = page.xpath("//video")
    assert video.get("controls") is not None
    assert video.get("poster") == "/medien/gebaerdensprache/willkommen.svg"
    assert video.xpath("./source/@src") == ["/medien/gebaerdensprache/willkommen.mp4"]
    assert not page.xpath("//iframe")
    facts = " ".join(page.xpath("string(//p[@class='video-info'])").split())
    assert facts.startswith("Dauer: 6 Sekunden MP4, 6 kB Video herunterladen")
    assert page.xpath("//time[@datetime='PT6S']")
    assert page.xpath("//a[@download]/@href") == ["/medien/gebaerdensprache/willkommen.mp4"]
    assert "Willkommen bei herzlich digital" in page.xpath("string(//details)")
    assert (sample_output / "medien/gebaerdensprache/willkommen.mp4").is_file()


def test_the_statement_follows_the_model_statement(sample_output: Path) -> None:
    page = lxml.html.fromstring((sample_output / "barrierefreiheit/index.html").read_bytes())
    headings = [" ".join(h.text_content().split()) for h in page.xpath("//article//h2")]
    assert headings == [
        "Stand der Vereinbarkeit mit den Anforderungen",
        "Nicht barrierefreie Inhalte",
        "Erstellung dieser Erklärung",
        "Barriere melden: Feedback und Kontakt",
        "Durchsetzungsverfahren",
    ]
    # Text nodes joined by a space: the published page is minified, no line break
    # stands between a <dt> and its <dd>.
    text = " ".join(" ".join(page.xpath("//article//text()")).split())
    assert "teilweise vereinbar" in text
    assert "zuletzt am 26. November 2026 überprüft" in text
    assert "Grund Die Suche läuft vollständig in Ihrem Browser" in text
    assert "durchsetzungsstelle@mastd.rlp.de" in text


def test_the_impressum_page_shows_the_settings(sample_output: Path) -> None:
    page = lxml.html.fromstring((sample_output / "impressum/index.html").read_bytes())
    facts = {
        " ".join(dt.text_content().split()): " ".join(dt.getnext().text_content().split())
        for dt in page.xpath("//dl[@class='impressum-facts']/dt")
    }
    assert facts["Registereintrag"] == "Amtsgericht Kaiserslautern, HRB 31234"
    assert facts["Vertreten durch"] == "Dr. Martin Verlage (Geschäftsführer)"
    assert facts["Verantwortlich für den Inhalt nach § 18 Abs. 2 MStV"].startswith(
        "Dr. Martin Verlage"
    )


def test_the_new_pages_are_in_search_and_sitemap(sample_output: Path) -> None:
    sitemap = (sample_output / "sitemap.xml").read_text(encoding="utf-8")
    for target in REQUIRED:
        assert f"<loc>https://www.herzlich-digital.de/{target}</loc>" in sitemap
    easy = (sample_output / "leichte-sprache/index.html").read_text(encoding="utf-8")
    assert "data-pagefind-body" in easy and 'class="content-page easy-language"' in easy


def test_a_site_without_the_required_pages_is_warned_naming_the_law(
    tmp_path: Path,
) -> None:
    root = copy_fixture_site("minimal", tmp_path / "site")
    for name in ("leichte-sprache", "gebaerdensprache", "barrierefreiheit", "datenschutz"):
        (root / f"content/seiten/{name}.md").unlink()
    settings = root / "content/site.yaml"
    settings.write_text(settings.read_text(encoding="utf-8").split("enforcement:")[0])
    lenient = build_cli(root, root / "output")
    assert lenient.exit_code == 0, lenient.stderr
    warnings = lenient.stderr.splitlines()
    assert warnings == [
        "content/seiten/barrierefreiheit.md: Warnung: Die Seite „Erklärung zur "
        "Barrierefreiheit“ fehlt (BITV 2.0 § 7 verlangt sie, verlinkt von jeder Seite).",
        "content/seiten/barrierefreiheit.md: Warnung: „Barriere melden“ fehlt: Ohne Erklärung "
        "zur Barrierefreiheit mit „feedback_contact“ gibt es keinen Feedback-Mechanismus "
        "(BITV 2.0 § 7).",
        "content/seiten/datenschutz.md: Warnung: Die Seite „Datenschutzerklärung“ fehlt "
        "(Art. 13 DSGVO verlangt sie, verlinkt von jeder Seite).",
        "content/seiten/gebaerdensprache.md: Warnung: Die Seite „Deutsche Gebärdensprache“ "
        "fehlt (BITV 2.0 § 4 verlangt sie, verlinkt von jeder Seite).",
        "content/seiten/leichte-sprache.md: Warnung: Die Seite „Leichte Sprache“ fehlt "
        "(BITV 2.0 § 4 verlangt sie, verlinkt von jeder Seite).",
        "content/site.yaml:1: Warnung: „enforcement“ fehlt: Die Erklärung zur "
        "Barrierefreiheit muss die Schlichtungs- oder Durchsetzungsstelle nennen "
        "(BITV 2.0 § 7, Durchsetzungsverfahren).",
        "content/site.yaml:1: Warnung: „impressum“ fehlt: Anbieterkennzeichnung nach § 5 DDG "
        "und § 18 Abs. 2 MStV (Name, Rechtsform, Anschrift, Vertretung, E-Mail, Register, "
        "Verantwortliche).",
    ]
    page = lxml.html.fromstring((root / "output/index.html").read_bytes())
    assert not page.xpath("//a[normalize-space()='Barriere melden']")
    # Built again unchanged (the no-change shortcut): the same warnings, and --strict fails.
    assert build_cli(root, root / "output").stderr.splitlines() == warnings
    assert build_cli(root, root / "output", "--strict").exit_code == 1


def test_an_old_review_is_a_warning_without_strict(make_site: MakeSite) -> None:
    root = make_site({})
    path = root / "content/seiten/barrierefreiheit.md"
    text = path.read_text(encoding="utf-8").replace("2026-06-01", "2025-11-25")
    path.write_text(text.replace("2026-01-15", "2025-01-15"), encoding="utf-8")
    result = build_cli(root, root / "output")
    assert result.exit_code == 0
    assert result.stderr.startswith(
        "content/seiten/barrierefreiheit.md:9: Warnung: Die Erklärung zur Barrierefreiheit "
        "wurde zuletzt am 2025-11-25 überprüft, vor mehr als einem Jahr;"
    )


@pytest.mark.parametrize(
    "body",
    [
        "# Straße und Plätze\n\n## Wie geht *das*?\n\ntext\n\n## Wie geht das?\n",
        "Titel\n=====\n\nUnter\n-----\n\n## Eigen {: #mein-anker }\n\n    # kein Titel\n",
    ],
)
def test_explains_anchors_are_the_ids_the_renderer_gives(body: str) -> None:
    html = MarkdownRenderer().render(body, path="x.md", first_line=1, resolve_link=lambda _: None)
    ids = lxml.html.fragment_fromstring(html.html, create_parent="div").xpath(
        "//*[self::h2 or self::h3]/@id"
    )
    assert heading_anchors(body) == ids


def test_a_mail_link_is_percent_encoded_not_plus_encoded(sample_output: Path) -> None:
    page = (sample_output / "ueber-uns/index.html").read_text(encoding="utf-8")
    start = page.index('href="mailto:k.fechner@kl.digital?subject=')
    href = page[start : page.index('"', start + 6)]
    assert "+" not in href and "%20" in href
    assert unquote(href).count("\r\n") >= 3


def test_an_unknown_feedback_contact_is_an_error_at_its_line(make_site: MakeSite) -> None:
    root = make_site({})
    path = root / "content/seiten/barrierefreiheit.md"
    path.write_text(
        path.read_text(encoding="utf-8").replace("feedback_contact: presse", "feedback_contact: x"),
        encoding="utf-8",
    )
    result = build_cli(root, root / "output")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "content/seiten/barrierefreiheit.md:11: Unbekannter Kontakt „x“ "
        "(nicht in content/daten/kontakte.yaml; vorhanden: presse)."
    )

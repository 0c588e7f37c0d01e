"""The newsroom for journalists (issue 16): what they download, copy and subscribe to.

The text and e-mail versions of every release, contact cards, feeds per topic
and project, paginated topic pages; each checked with the tool a journalist's
software would use (Python's e-mail parser, a vCard library, feedparser), and
re-made exactly when what it shows changes.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from email.message import EmailMessage, MIMEPart
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

import feedparser
import lxml.etree
import lxml.html
import pytest
import vobject
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kldigital_site.build import BuildResult, build
from kldigital_site.config import load_config
from kldigital_site.model import RouteKind
from kldigital_site.render import newsroom
from tests.conftest import NOW, REPO, TEMPLATES, build_site_at, copy_fixture_site

MakeSite = Callable[[Mapping[str, str | bytes]], Path]
BASE_URL = "https://example.org/sub/"  # the full fixture's
RICH = "presse/ergebnisse-der-umfrage/"  # table, footnote, link to a PDF


class Built:
    def __init__(self, result: BuildResult, out: Path) -> None:
        assert result.site is not None
        self.result = result
        self.site = result.site
        self.out = out

    def routes(self, kind: RouteKind) -> list[str]:
        return [r.output_path for r in self.site.routes if r.kind is kind]

    def read(self, path: str) -> str:
        return (self.out / path).read_text(encoding="utf-8")

    def page(self, url: str) -> lxml.html.HtmlElement:
        return lxml.html.fromstring((self.out / url / "index.html").read_bytes())


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Built:
    tmp = tmp_path_factory.mktemp("newsroom")
    root = copy_fixture_site("full", tmp / "site")
    return Built(build_site_at(root, output=tmp / "out"), tmp / "out")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The repository's own sample content (content/)."""
    tmp = tmp_path_factory.mktemp("sample")
    config = load_config(REPO / "content", TEMPLATES, tmp / "out")
    return Built(build(config, now=NOW, use_cache=False), tmp / "out")


# --- text version ----------------------------------------------------------------------


def _body_links(built: Built, url: str) -> list[str]:
    """Every link of a release's body and boilerplate, as a browser resolves it."""
    page = built.page(url)
    links = []
    for block in page.xpath(
        '//div[contains(@class, "release-body")] | //section[@class="release-boilerplate"]'
    ):
        for a in block.iter("a"):
            href = a.get("href", "")
            if not href.startswith("#"):
                links.append(urljoin(built.site.config.base_url + url, href))
    return links


def test_every_release_has_a_text_version_with_every_body_link_written_out(
    full: Built, sample: Built
) -> None:
    for built in (full, sample):
        releases = [built.site.items[k] for k in built.site.releases]
        assert releases
        for item in releases:
            text = built.read(item.url + "pressemitteilung.txt")
            links = _body_links(built, item.url)
            for link in links:
                target = link.removeprefix("mailto:").removeprefix("tel:")
                assert target in text, (item.url, link)
            # Written out after its text, not instead of it.
            assert text.startswith(item.title + "\n")
            assert text.endswith(f"{built.site.config.base_url}{item.url}\n")
    # The sample has links of every kind: external, to a project, to a list.
    assert len(_body_links(sample, "presse/herzlich-digitales-miteinander/")) >= 6


def test_text_version_keeps_typography_and_leaves_no_markup(sample: Built, full: Built) -> None:
    text = sample.read("presse/herzlich-digitales-miteinander/pressemitteilung.txt")
    assert "„Die Menschen in Kaiserslautern wollen mitreden" in text
    assert "Kaiserslautern, 25. Juni 2021 – Zum bundesweiten Digitaltag" in text
    assert (
        "Aktionen zum Digitaltag (https://digitaltag.eu/aktionen) zeigt" in text
    )  # link written out where it stood
    for built in (sample, full):
        for path in built.routes(RouteKind.PRESS_TEXT):
            text = built.read(path)
            for markup in ("<", ">", "**", "](", "&amp;", "&#", "## ", "\r"):
                assert markup not in text, (path, markup)


def test_text_version_has_boilerplate_contacts_and_the_release_address(full: Built) -> None:
    text = full.read(RICH + "pressemitteilung.txt")
    blocks = text.split("\n\n")
    assert blocks[0] == "Ergebnisse der Umfrage zur Innenstadt"
    assert blocks[1].startswith("Kaiserslautern, 5. April 2023 – An der Umfrage nahmen 512")
    # A table keeps its rows together, a footnote its number.
    assert "Wunsch | Anteil\nMehr Grün | 61 %\nMehr Sitzplätze | 24 %" in text
    assert "teil.[1]" in text and "\n[1] Online-Umfrage vom 1. bis 31. März 2023.\n" in text
    assert "Presseabbinder" in blocks and "Pressekontakt" in blocks
    contact = blocks[blocks.index("Pressekontakt") + 1]
    assert contact.splitlines()[0] == "Erika Mustermann"
    assert "E-Mail: presse@example.org" in contact.splitlines()
    assert blocks[-1] == f"Diese Pressemitteilung im Netz:\n{BASE_URL}{RICH}\n"


def test_release_page_links_the_text_and_email_and_offers_a_hidden_copy_button(
    full: Built,
) -> None:
    page = full.page(RICH)
    hrefs = {a.get("href") for a in page.iter("a")}
    assert f"/sub/{RICH}pressemitteilung.txt" in hrefs
    assert f"/sub/{RICH}pressemitteilung.eml" in hrefs
    (button,) = page.xpath("//button[@data-copy-source]")
    assert button.get("data-copy-source") == f"/sub/{RICH}pressemitteilung.txt"
    assert button.get("hidden") is not None  # shown by assets/js/copy.js only
    scripts = [s.get("src") for s in page.iter("script") if s.get("src")]
    assert [s for s in scripts if re.fullmatch(r"/sub/assets/js/copy\.[0-9a-f]{8}\.js", s)]


def test_text_version_credits_the_press_photos_and_offers_their_zip(
    make_site: MakeSite, tmp_path: Path
) -> None:
    from tests.test_media import _release_site

    out = tmp_path / "out"
    build_site_at(_release_site(make_site), output=out)
    release = out / "presse/erste-mitteilung"
    blocks = (release / "pressemitteilung.txt").read_text(encoding="utf-8").split("\n\n")
    credits = blocks[blocks.index("Fotos") + 1].splitlines()
    base = "https://example.org/"  # the minimal fixture's base URL
    assert credits == [
        "Foto: Stadt Kaiserslautern / Jana Beispiel",  # lead image and first photo: once
        "Foto: Max Muster",
        "Grafik: Stadtplanung",
        f"Alle Pressefotos (ZIP): {base}presse/erste-mitteilung/pressefotos.zip",
    ]
    assert (release / "pressefotos.zip").is_file()
    message = email.message_from_bytes(
        (release / "pressemitteilung.eml").read_bytes(), policy=email.policy.default
    )
    html = message.get_body(("html",))
    assert html is not None and "Foto: Max Muster" in html.get_content()


# --- e-mail ----------------------------------------------------------------------------


def test_email_parses_into_text_and_html_parts_without_recipients(full: Built) -> None:
    for path in full.routes(RouteKind.PRESS_EMAIL):
        raw = (full.out / path).read_bytes()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert message.get_content_type() == "multipart/alternative"
        assert not message.defects
        for header in ("To", "Cc", "Bcc"):
            assert message[header] is None
        plain, html = message.iter_parts()
        assert plain.get_content_type() == "text/plain"
        assert html.get_content_type() == "text/html"
        txt = full.read(path.replace(".eml", ".txt"))
        assert plain.get_content().replace("\r\n", "\n") == txt
        document = lxml.html.document_fromstring(html.get_content())
        # Mail programs have no site to resolve links against: all are absolute.
        for a in document.iter("a"):
            href = a.get("href", "")
            assert href.startswith(("https://", "mailto:", "tel:", "#")), (path, href)
        assert not list(document.iter("script"))

    message = email.message_from_bytes(
        (full.out / RICH / "pressemitteilung.eml").read_bytes(), policy=email.policy.default
    )
    assert message["Subject"] == "Ergebnisse der Umfrage zur Innenstadt"
    assert message["Date"] == "Wed, 05 Apr 2023 00:00:00 +0200"  # the release's, not the build's
    assert message["From"] == "Erika Mustermann <presse@example.org>"
    assert message["X-Unsent"] == "1"  # Outlook opens it as a draft


def _release(title: str, sender: str) -> dict[str, Any]:
    return {
        "title": title,
        "date": dt.datetime(2023, 4, 5, tzinfo=ZoneInfo("Europe/Berlin")),
        "contacts": [{"name": sender, "email": "presse@example.org"}],
        "base_url": BASE_URL,
        "body_html": "",
        "boilerplate_html": None,
        "language": "de",
    }


def _as_email_package_writes_it(release: Mapping[str, Any], text: str, html: str) -> bytes:
    """The same message built with the e-mail package's classes, its parts encoded in
    lines of at most 76 characters."""
    message = EmailMessage(policy=SMTP)
    sender = release["contacts"][0]
    message["From"] = formataddr((" ".join(sender["name"].split()), sender["email"]))
    message["Subject"] = " ".join(release["title"].split())
    message["Date"] = format_datetime(release["date"])
    message["X-Unsent"] = "1"
    message["MIME-Version"] = "1.0"
    message["Content-Type"] = "multipart/alternative"
    message["Content-Language"] = release["language"]
    message.set_boundary(newsroom.EMAIL_BOUNDARY)
    for subtype, content in (("plain", text), ("html", html)):
        part = MIMEPart(policy=SMTP.clone(max_line_length=76))
        part.set_content(content, subtype=subtype, cte="quoted-printable")
        message.attach(part)
    return message.as_bytes()


def _texts(pieces: str, *runs: str, max_size: int) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from([*pieces, *runs]), max_size=max_size).map("".join)


# Umlauts, "=" and spaces where the quoted-printable lines break, lines longer than one.
_TEXT = _texts("aZ äöüßÄ€–„“=.:\t\n\r 😀", "===", "     ", "x" * 40, max_size=200)


@settings(max_examples=150, deadline=None)
@given(
    title=_texts('Aa äöüß–„“,;:.()@<>"=?_ ', "x" * 30, max_size=60),
    sender=_texts('Erika Müller,."() ', "Dr.", max_size=12),
    text=_TEXT,
    html=_TEXT,
)
def test_email_is_what_the_email_package_writes_and_reads_back(
    title: str, sender: str, text: str, html: str
) -> None:
    title, sender = title.strip() or "T", sender.strip() or "S"
    release = _release(title, sender)
    raw = newsroom.press_email(release, lambda name, variables: html, text)
    assert raw == _as_email_package_writes_it(release, text, html)
    # RFC 5322 2.1.1: header lines of at most 78 characters; RFC 2045 6.7: 76 in the parts.
    head, parts = raw.split(b"\r\n\r\n", 1)
    assert max(len(line) for line in head.split(b"\r\n")) <= 78
    assert max(len(line) for line in parts.split(b"\r\n")) <= 76
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert not message.defects
    assert message["Subject"] == " ".join(title.split())
    plain, html_part = message.iter_parts()
    for part, sent in ((plain, text), (html_part, html)):
        assert not part.defects
        expected = "\n".join(sent.splitlines()) + "\n" if sent else "\n"
        assert part.get_content().replace("\r\n", "\n") == expected.replace("\r", "\n")


# Printable ASCII (written as it is where it fits) next to what needs the e-mail package:
# encoded-words, non-ASCII, control characters, lines too long for one header line.
_SUBJECT = _texts(
    "Aa1 .,:;()<>@\"'=?_-\\ä\t\x00\x1b\x7f", "=?", "?=", "=?utf-8?q?=C3=A4?=", "x" * 30, max_size=12
)


@settings(max_examples=300, deadline=None)
@given(_SUBJECT)
@example("x" * 68)
@example("x" * 69)
@example("x" * 70)
@example("x y " * 17 + "x")
@example("Neues =?utf-8?q?=C3=A4?= Angebot")
@example('(Kommentar) "zitiert" <a@b.de>')
def test_subject_header_is_what_the_email_package_writes(subject: str) -> None:
    value = " ".join(subject.split())
    expected = newsroom._header.__wrapped__("Subject", value)
    assert newsroom._unstructured_header("Subject", value) == expected


_ZONES = (
    st.none()
    | st.sampled_from([ZoneInfo("Europe/Berlin"), dt.UTC])
    | st.builds(
        dt.timezone,
        st.timedeltas(-dt.timedelta(hours=23, minutes=59), dt.timedelta(hours=23, minutes=59)),
    )
)


@settings(max_examples=300, deadline=None)
@given(st.datetimes(timezones=_ZONES))
@example(dt.datetime(50, 6, 1))  # read back as 2050 by the e-mail package
@example(dt.datetime(99, 6, 1, tzinfo=dt.UTC))
@example(dt.datetime(100, 6, 1, tzinfo=dt.UTC))
@example(dt.datetime(1800, 6, 1, tzinfo=ZoneInfo("Europe/Berlin")))  # offset +00:53:28
@example(dt.datetime(2023, 4, 5, tzinfo=dt.timezone(dt.timedelta(seconds=-3601))))
@example(dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC))
def test_date_header_is_what_the_email_package_writes(date: dt.datetime) -> None:
    expected = newsroom._header.__wrapped__("Date", format_datetime(date))
    assert newsroom._date_header(date) == expected


# Attribute names and values, quotes and spaces of every kind: a link's value that holds
# what looks like another ("a href=" in a title), one right after another, in-page jumps.
_LINKY = _texts(
    ' \t\u2003"#=<>/a', ' href="', ' src="', 'href="', 'xsrc="', '="', "../p/", max_size=30
)


@settings(max_examples=400, deadline=None)
@given(_LINKY)
@example(' title="a href="b" href="c" src="#d" src="e"')
@example(' href="a"href="b" src="/c/"')
def test_absolute_links_are_what_the_whole_text_substitution_gives(html: str) -> None:
    def absolute(match: re.Match[str]) -> str:
        return match[1] + urljoin(BASE_URL, match[2]) + match[3]

    expected = re.sub(r'(\s(?:href|src)=")([^"#][^"]*)(")', absolute, html)
    assert newsroom.absolute_links(html, BASE_URL) == expected


def test_email_html_part_is_valid_html(full: Built) -> None:
    from gates import tools
    from gates.html import email_html, run_vnu

    try:
        tools.find_all()
    except tools.MissingTool as exc:
        pytest.fail(f"the gates' tools are not installed: {exc}")
    html = email_html(full.out / RICH / "pressemitteilung.eml")
    assert "<h1" in html and "Erika Mustermann" in html
    part = full.out.parent / "email-part.html"
    part.write_text(html, encoding="utf-8")
    messages = run_vnu([part])
    assert [m for m in messages if m.get("type") == "error"] == []


# --- vCards ----------------------------------------------------------------------------


def test_every_shown_contact_has_a_vcard_that_a_vcard_library_reads(full: Built) -> None:
    cards = full.routes(RouteKind.CONTACT_CARD)
    assert cards == ["kontakt/presse.vcf", "kontakt/projekte.vcf"]
    card = vobject.readOne(full.read("kontakt/presse.vcf"))
    assert card.version.value == "3.0"
    assert card.fn.value == "Erika Mustermann"
    assert (card.n.value.family, card.n.value.given) == ("Mustermann", "Erika")
    assert card.org.value == ["KL.digital GmbH"]
    assert card.title.value == "Pressesprecherin"
    assert card.email.value == "presse@example.org"
    assert card.tel.value == "+49 631 000 00 10"
    assert card.adr.value.code == "67655" and card.adr.value.city == "Kaiserslautern"
    for path in cards:
        raw = (full.out / path).read_bytes()
        assert all(len(line) <= 75 for line in raw.split(b"\r\n"))
        vobject.readOne(raw.decode("utf-8"))


def test_contact_blocks_link_their_vcard(full: Built) -> None:
    release = full.page(RICH)
    links = [a.get("href") for a in release.xpath('//address[@class="contact"]//a')]
    assert "/sub/kontakt/presse.vcf" in links
    project = full.page("projekte/mobilitaetsdaten/")
    links = [a.get("href") for a in project.xpath('//address[@class="contact"]//a')]
    assert any(link.endswith(".vcf") for link in links)


def test_a_contact_no_page_shows_gets_no_vcard(make_site: MakeSite, tmp_path: Path) -> None:
    root = make_site({})
    contacts = root / "content/daten/kontakte.yaml"
    contacts.write_text(
        contacts.read_text(encoding="utf-8")
        + "\nintern:\n  name: Nur Intern\n  email: intern@example.org\n",
        encoding="utf-8",
    )
    result = build_site_at(root, output=tmp_path / "out")
    assert result.site is not None
    assert "intern" in result.site.contacts
    assert not (tmp_path / "out/kontakt/intern.vcf").exists()
    assert list((tmp_path / "out/kontakt").glob("*.vcf"))


# --- feeds per topic and project -------------------------------------------------------


def test_every_topic_and_project_feed_is_valid_and_announced(full: Built) -> None:
    site = full.site
    feeds = full.routes(RouteKind.TOPIC_FEED) + full.routes(RouteKind.PROJECT_FEED)
    assert len(feeds) == len(site.tags) + len(site.projects)
    for path in feeds:
        parsed = feedparser.parse((full.out / path).read_bytes())
        assert not parsed.bozo, (path, parsed.get("bozo_exception"))
        assert parsed.version == "atom10"
        page_url = path.removesuffix("feed.xml")
        assert parsed.feed.link == BASE_URL + page_url
        alternates = full.page(page_url).xpath(
            '//head/link[@rel="alternate"][@type="application/atom+xml"]/@href'
        )
        assert "/sub/" + path in alternates
        for entry in parsed.entries:
            assert entry.link.startswith(BASE_URL + "presse/")


def test_topic_feed_carries_the_topics_releases_newest_first(full: Built) -> None:
    site = full.site
    members = set(site.tags["mobilitaet"].item_keys)
    expected = [BASE_URL + site.items[k].url for k in site.releases if k in members]
    parsed = feedparser.parse((full.out / "themen/mobilitaet/feed.xml").read_bytes())
    assert [e.link for e in parsed.entries] == expected
    assert len(expected) >= 2


def test_project_feed_carries_its_releases_and_the_profile_offers_it(full: Built) -> None:
    site = full.site
    key = "projekte/mobilitaetsdaten.md"
    expected = [BASE_URL + site.items[k].url for k in site.project_releases[key]]
    parsed = feedparser.parse((full.out / "projekte/mobilitaetsdaten/feed.xml").read_bytes())
    assert [e.link for e in parsed.entries] == expected and expected
    page = full.page("projekte/mobilitaetsdaten/")
    (link,) = page.xpath('//a[text()="Neuigkeiten zu diesem Projekt abonnieren"]')
    assert link.get("href") == "/sub/projekte/mobilitaetsdaten/feed.xml"


# --- topic pages -----------------------------------------------------------------------


def test_a_topic_with_more_items_than_a_page_is_paginated_and_every_item_reachable(
    full: Built,
) -> None:
    site = full.site
    slug = "buergerbeteiligung"
    members = set(site.tags[slug].item_keys)
    assert len(members) > site.config.topic_per_page
    by_href = {"/sub/" + site.items[k].url: k for k in members}
    seen: list[str] = []
    url: str | None = "/sub/themen/buergerbeteiligung/"
    pages = 0
    while url is not None:  # follow "Nächste Seite" as a visitor would
        pages += 1
        page = full.page(url.removeprefix("/sub/"))
        cards = [a.get("href") for a in page.xpath('//main//*[contains(@class, "card")]//a')]
        seen += [by_href[href] for href in cards if href in by_href]
        nexts = page.xpath('//a[@rel="next"]/@href')
        url = nexts[0] if nexts else None
    assert pages == site.topic_page_count(slug) > 1
    assert sorted(set(seen)) == sorted(members)


def test_sitemap_lists_topic_pages_but_no_newsroom_files(full: Built) -> None:
    sitemap = lxml.etree.parse(str(full.out / "sitemap.xml"))
    locs = {loc.text for loc in sitemap.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")}
    assert BASE_URL + "themen/buergerbeteiligung/seite/2/" in locs
    for loc in locs:
        assert loc.endswith("/"), loc  # pages only: no .txt, .eml, .vcf, feed.xml


# --- incremental and reproducible ------------------------------------------------------


class Site:
    def __init__(self, tmp_path: Path) -> None:
        self.root = copy_fixture_site("full", tmp_path / "site")
        self.templates = tmp_path / "templates"
        shutil.copytree(TEMPLATES, self.templates)
        self.output = tmp_path / "out"

    def build(self) -> BuildResult:
        config = load_config(self.root / "content", self.templates, self.output)
        return build(config, now=NOW, jobs=1)

    def edit(self, rel: str, old: str, new: str) -> None:
        path = self.root / rel
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _newsroom(paths: frozenset[str]) -> set[str]:
    return {
        p for p in paths if not p.endswith(".html") and p not in ("presse/feed.xml", "sitemap.xml")
    }


@pytest.fixture
def cached(tmp_path: Path) -> Site:
    site = Site(tmp_path)
    site.build()
    return site


def test_contact_edit_remakes_its_vcard_and_the_releases_that_show_it(cached: Site) -> None:
    cached.edit("content/daten/kontakte.yaml", "+49 631 000 00 20", "+49 631 000 00 21")
    result = cached.build()
    site = result.site
    assert site is not None
    with_contact = {
        site.items[k].url + name
        for k in site.releases
        if "projekte" in site.release_contacts(k)
        for name in ("pressemitteilung.txt", "pressemitteilung.eml")
    }
    assert with_contact
    assert _newsroom(result.rendered) == {"kontakt/projekte.vcf"} | with_contact
    assert "+49 631 000 00 21" in (cached.output / "kontakt/projekte.vcf").read_text("utf-8")


def test_changes_elsewhere_remake_no_newsroom_file(cached: Site) -> None:
    # A menu page's title is on every HTML page, in no newsroom file.
    cached.edit("content/seiten/ueber-uns.md", "title: Über uns", "title: Über das Team")
    result = cached.build()
    assert any(p.endswith(".html") for p in result.rendered)
    assert _newsroom(result.rendered) == set()
    # A project's summary is on its cards, not in its feed or any release's text.
    cached.edit("content/projekte/mobilitaetsdaten.md", "summary: Offene", "summary: Neue, offene")
    result = cached.build()
    assert _newsroom(result.rendered) == set()


def test_project_title_remakes_its_feed_only(cached: Site) -> None:
    cached.edit("content/projekte/mobilitaetsdaten.md", "title: ", "title: Offene ")
    result = cached.build()
    assert _newsroom(result.rendered) == {"projekte/mobilitaetsdaten/feed.xml"}


def test_newsroom_files_are_byte_identical_across_builds(full: Built, tmp_path: Path) -> None:
    root = copy_fixture_site("full", tmp_path / "site")
    build_site_at(root, output=tmp_path / "again")
    for kind in (RouteKind.PRESS_TEXT, RouteKind.PRESS_EMAIL, RouteKind.CONTACT_CARD):
        for path in full.routes(kind):
            assert (tmp_path / "again" / path).read_bytes() == (full.out / path).read_bytes()
    for path in full.routes(RouteKind.TOPIC_FEED) + full.routes(RouteKind.PROJECT_FEED):
        assert (tmp_path / "again" / path).read_bytes() == (full.out / path).read_bytes()


def test_the_email_package_is_imported_only_where_an_email_is_written() -> None:
    # Issue 15: an edit of a project or a page writes no e-mail and need not import the
    # e-mail package (render/newsroom.py); the folding limit is the one it uses.
    from kldigital_site.render.newsroom import HEADER_LINE_LIMIT

    assert SMTP.max_line_length == HEADER_LINE_LIMIT
    code = (
        "import sys\nimport kldigital_site.render.pages\n"
        "print(sorted(m for m in sys.modules if m.startswith('email')))"
    )
    imported = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert imported.strip() == "[]"

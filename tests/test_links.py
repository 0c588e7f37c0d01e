"""Links in Markdown bodies: content files by relative path and site URLs, under any base URL.

A link that points at nothing is an error at the line of the link; everything
else comes out as a path under the base path, so the site works on a sub-path.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from pathlib import Path
from xml.etree import ElementTree

import lxml.html
import pytest
from PIL import Image

from kldigital_site.errors import BuildFailed
from tests.conftest import build_site_at

MakeSite = Callable[[Mapping[str, str | bytes]], Path]


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "#a3092b").save(buffer, "PNG")
    return buffer.getvalue()


PNG = _png()

LINKING_RELEASE = """\
---
title: Verlinkte Mitteilung
date: 2024-06-01
---
Ein [Steckbrief](../projekte/beispielprojekt.md) und eine
[frühere Mitteilung](2024-05-02-erste-mitteilung.md) im selben Ordner.

- [Projekt per Adresse](/projekte/beispielprojekt/)
- [Impressum ohne Schrägstrich](/impressum)
- [Impressum als Datei](../seiten/impressum.md)
- [mit index.html](/projekte/beispielprojekt/index.html)
- [Abschnitt](../projekte/beispielprojekt.md#ziele)
- [Liste mit Abfrage](/presse/?jahr=2024)
- [Feed](/presse/feed.xml)
- [Startseite](/)
- [Plan](../medien/dokumente/plan.pdf) und [noch einmal](/medien/dokumente/plan.pdf)
- [Stadt](https://www.kaiserslautern.de/), [Mail](mailto:presse@example.org),
  [Telefon](tel:+49631000010)
- [nach unten](#unten)

![Lageplan](../medien/bilder/plan.png){credit="Grafik: Stadtplanung"}

## Unten {#unten}

Ende.
"""


def _anchors(path: Path) -> dict[str, str]:
    """Link text → href of the body's links (the article's prose only)."""
    page = lxml.html.fromstring(path.read_bytes())
    prose = page.xpath("//*[contains(@class, 'release-body')]")[0]
    return {" ".join(a.text_content().split()): a.get("href") for a in prose.iter("a")}


@pytest.mark.parametrize("base_url", ["https://example.org/sub/", "https://example.org/"])
def test_links_resolve_under_the_base_path(
    make_site: MakeSite, tmp_path: Path, base_url: str
) -> None:
    root = make_site(
        {
            "content/presse/2024-06-01-verlinkt.md": LINKING_RELEASE,
            "content/medien/dokumente/plan.pdf": b"%PDF-1.4",
            "content/medien/bilder/plan.png": PNG,
        }
    )
    out = tmp_path / "out"
    build_site_at(root, output=out, base_url=base_url)
    base = "/sub/" if "sub" in base_url else "/"
    links = _anchors(out / "presse/verlinkt/index.html")
    assert links == {
        "Steckbrief": f"{base}projekte/beispielprojekt/",
        "frühere Mitteilung": f"{base}presse/erste-mitteilung/",
        "Projekt per Adresse": f"{base}projekte/beispielprojekt/",
        "Impressum ohne Schrägstrich": f"{base}impressum/",
        "Impressum als Datei": f"{base}impressum/",
        "mit index.html": f"{base}projekte/beispielprojekt/",
        "Abschnitt": f"{base}projekte/beispielprojekt/#ziele",
        "Liste mit Abfrage": f"{base}presse/?jahr=2024",
        "Feed": f"{base}presse/feed.xml",
        "Startseite": base,
        "Plan (PDF, 8 Byte)": f"{base}medien/dokumente/plan.pdf",
        "noch einmal (PDF, 8 Byte)": f"{base}medien/dokumente/plan.pdf",
        "Stadt": "https://www.kaiserslautern.de/",
        "Mail": "mailto:presse@example.org",
        "Telefon": "tel:+49631000010",
        "nach unten": "#unten",
    }
    page = lxml.html.fromstring((out / "presse/verlinkt/index.html").read_bytes())
    (image,) = (img.get("src") for img in page.iter("img") if "plan" in img.get("src", ""))
    assert image.startswith(f"{base}medien/bilder/plan-40.")
    assert (out / image.removeprefix(base)).is_file()
    for href in links.values():
        if href.startswith(base):
            target = out / href.removeprefix(base).split("?")[0].split("#")[0]
            assert target.is_file() or (target / "index.html").is_file(), href


def test_a_slug_override_is_followed(make_site: MakeSite, tmp_path: Path) -> None:
    root = make_site(
        {
            "content/projekte/beispielprojekt.md": (
                "---\ntitle: Beispielprojekt\nsummary: S.\nslug: neuer-name\n---\nText.\n"
            ),
            "content/seiten/impressum.md": (
                "---\ntitle: Impressum\n---\nSiehe [Projekt](../projekte/beispielprojekt.md).\n"
            ),
        }
    )
    out = tmp_path / "out"
    build_site_at(root, output=out, base_url="https://example.org/sub/")
    html = (out / "impressum/index.html").read_text(encoding="utf-8")
    assert 'href="/sub/projekte/neuer-name/"' in html


def test_links_in_the_feed_work_from_feed_readers(make_site: MakeSite, tmp_path: Path) -> None:
    root = make_site(
        {
            "content/presse/2024-06-01-verlinkt.md": (
                "---\ntitle: V\ndate: 2024-06-01\n---\n[Projekt](../projekte/beispielprojekt.md)\n"
            )
        }
    )
    out = tmp_path / "out"
    build_site_at(root, output=out, base_url="https://example.org/sub/")
    atom = "{http://www.w3.org/2005/Atom}"
    feed = ElementTree.parse(out / "presse/feed.xml").getroot()
    contents = {
        entry.findtext(f"{atom}title"): entry.find(f"{atom}content")
        for entry in feed.iter(f"{atom}entry")
    }
    content = contents["V"]
    assert content is not None
    assert content.get("{http://www.w3.org/XML/1998/namespace}base") == "https://example.org/sub/"
    assert 'href="/sub/projekte/beispielprojekt/"' in (content.text or "")


def test_links_in_boilerplates_resolve(make_site: MakeSite, tmp_path: Path) -> None:
    root = make_site(
        {
            "content/daten/presseabbinder.yaml": (
                "standard: Die KL.digital GmbH betreut die [Projekte](/projekte/) "
                "der [Stadt](../seiten/impressum.md).\n"
            )
        }
    )
    out = tmp_path / "out"
    build_site_at(root, output=out, base_url="https://example.org/sub/")
    html = (out / "presse/erste-mitteilung/index.html").read_text(encoding="utf-8")
    assert 'href="/sub/projekte/"' in html
    assert 'href="/sub/impressum/"' in html


# --- links that point at nothing --------------------------------------------------------------


def _problems(root: Path) -> list[str]:
    with pytest.raises(BuildFailed) as info:
        build_site_at(root)
    return [str(p) for p in info.value.problems]


def test_every_broken_link_is_reported_at_its_line(make_site: MakeSite) -> None:
    root = make_site(
        {
            "content/projekte/beispielprojekt.md": """\
            ---
            title: Beispielprojekt
            summary: Ein Projekt.
            ---
            Ein [gültiger Link](/impressum/).

            Ein [Tippfehler](../projekte/beispielprojek.md) und
            ein [zweiter](/projekte/gibt-es-nicht/).

            > Im Zitat: [aus dem Ordner](../../README.md)

            | Tabelle | Link |
            |---|---|
            | A | [Datei fehlt](/medien/fehlt.pdf) |

            ![Bild fehlt](../medien/fehlt.png)

            [Sprung ins Leere](#nirgends)
            """,
            "content/seiten/impressum.md": """\
            ---
            title: Impressum
            ---
            Zurück zum [Projekt](/projekte/beispielprojekt).
            Zur [alten Seite](/kontakt/).
            """,
        }
    )
    assert _problems(root) == [
        "content/projekte/beispielprojekt.md:7: Link „../projekte/beispielprojek.md“ zeigt "
        "auf nichts (keine Datei, keine Seite mit dieser Adresse). "
        "Meinten Sie „../projekte/beispielprojekt.md“?",
        "content/projekte/beispielprojekt.md:8: Link „/projekte/gibt-es-nicht/“ zeigt auf "
        "nichts (keine Datei, keine Seite mit dieser Adresse)",
        "content/projekte/beispielprojekt.md:10: Link „../../README.md“ zeigt auf nichts "
        "(keine Datei, keine Seite mit dieser Adresse)",
        "content/projekte/beispielprojekt.md:14: Link „/medien/fehlt.pdf“ zeigt auf nichts "
        "(keine Datei, keine Seite mit dieser Adresse)",
        "content/projekte/beispielprojekt.md:16: Bild „../medien/fehlt.png“ nicht gefunden",
        "content/projekte/beispielprojekt.md:18: Sprungmarke „#nirgends“ gibt es auf dieser "
        "Seite nicht",
        "content/seiten/impressum.md:5: Link „/kontakt/“ zeigt auf nichts (keine Datei, "
        "keine Seite mit dieser Adresse)",
    ]


def test_a_link_to_an_unpublished_draft_is_broken(make_site: MakeSite, tmp_path: Path) -> None:
    files = {
        "content/projekte/entwurf.md": "---\ntitle: E\nsummary: S.\ndraft: true\n---\nT.\n",
        "content/seiten/impressum.md": "---\ntitle: I\n---\n\nSiehe [E](../projekte/entwurf.md).\n",
    }
    root = make_site(files)
    assert _problems(root) == [
        "content/seiten/impressum.md:5: Link „../projekte/entwurf.md“ zeigt auf nichts "
        "(keine Datei, keine Seite mit dieser Adresse)"
    ]
    # With --drafts the draft is published and the link works.
    build_site_at(root, output=tmp_path / "out", drafts=True)
    html = (tmp_path / "out/impressum/index.html").read_text(encoding="utf-8")
    assert 'href="/projekte/entwurf/"' in html


def test_line_numbers_of_links_in_a_bom_crlf_file(make_site: MakeSite) -> None:
    text = "\ufeff---\r\ntitle: I\r\n---\r\nZeile 4\r\n\r\n[kaputt](/nirgends/)\r\n"
    root = make_site({"content/seiten/impressum.md": text.encode("utf-8")})
    assert _problems(root) == [
        "content/seiten/impressum.md:6: Link „/nirgends/“ zeigt auf nichts (keine Datei, "
        "keine Seite mit dieser Adresse)"
    ]


def test_a_broken_link_in_a_boilerplate_is_reported_at_its_line(make_site: MakeSite) -> None:
    root = make_site(
        {
            "content/daten/presseabbinder.yaml": (
                "standard: Die KL.digital GmbH ist die Digitalagentur der Stadt.\n"
                "lang: |\n"
                "  Die KL.digital GmbH ist die Digitalagentur der Stadt.\n"
                "\n"
                "  Mehr unter [Über uns](/ueber-uns/).\n"
            )
        }
    )
    assert _problems(root) == [
        "content/daten/presseabbinder.yaml:5: Link „/ueber-uns/“ zeigt auf nichts "
        "(keine Datei, keine Seite mit dieser Adresse)"
    ]


def test_the_suggestion_follows_the_pages_there_are(make_site: MakeSite) -> None:
    """A broken link's "Meinten Sie …?" names the page that exists now: the body of the
    linking file is unchanged and cached, but a page added since is suggested."""
    link = "content/seiten/impressum.md:4: Link „/projekte/smart-parkin/“ zeigt auf nichts "
    link += "(keine Datei, keine Seite mit dieser Adresse)"
    impressum = "---\ntitle: I\n---\nZum [Projekt](/projekte/smart-parkin/).\n"
    root = make_site({"content/seiten/impressum.md": impressum})
    assert _problems(root) == [link]
    (root / "content/projekte/smart-parking.md").write_text(
        "---\ntitle: Smart Parking\nsummary: Freie Plätze.\n---\nText.\n", encoding="utf-8"
    )
    assert _problems(root) == [f"{link}. Meinten Sie „/projekte/smart-parking/“?"]

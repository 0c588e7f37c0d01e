"""What BITV 2.0, the DDG and the MStV require of the site as a whole, checked on the model.

Input: ``Site``. Output: ``SiteError``s: errors for references that point at
nothing (a video, poster or transcript file, the feedback contact), warnings —
errors under ``--strict`` — for what the law asks and the site lacks, each naming
its paragraph: a required page, the Impressum entries, the enforcement body,
a statement not reviewed for more than a year, a Gebärdensprache page without
video. Whether every page *links* them is the templates' part (base.html) and
is tested on the sample site.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from kldigital_site.accessibility.fields import (
    EASY_LANGUAGE_PAGE,
    IMPRESSUM_PAGE,
    PRIVACY_PAGE,
    SIGN_LANGUAGE_PAGE,
    STATEMENT_PAGE,
)
from kldigital_site.errors import SiteError, warning
from kldigital_site.model import Item, Site

VIDEO_TYPES = {".mp4": "video/mp4", ".m4v": "video/mp4", ".webm": "video/webm"}


@dataclass(frozen=True, slots=True)
class RequiredPage:
    content_path: str
    slug: str  # a page with this slug counts too (e.g. seiten/datenschutzerklaerung.md)
    name: str
    law: str


REQUIRED_PAGES = (
    RequiredPage(IMPRESSUM_PAGE, "impressum", "Impressum", "§ 5 DDG"),
    RequiredPage(PRIVACY_PAGE, "datenschutz", "Datenschutzerklärung", "Art. 13 DSGVO"),
    RequiredPage(
        STATEMENT_PAGE, "barrierefreiheit", "Erklärung zur Barrierefreiheit", "BITV 2.0 § 7"
    ),
    RequiredPage(EASY_LANGUAGE_PAGE, "leichte-sprache", "Leichte Sprache", "BITV 2.0 § 4"),
    RequiredPage(
        SIGN_LANGUAGE_PAGE, "gebaerdensprache", "Deutsche Gebärdensprache", "BITV 2.0 § 4"
    ),
)

# What § 5 Abs. 1 DDG and § 18 Abs. 2 MStV require of a GmbH publishing press content.
IMPRESSUM_ENTRIES = {
    "name": ("Name", "§ 5 Abs. 1 Nr. 1 DDG"),
    "legal_form": ("Rechtsform", "§ 5 Abs. 1 Nr. 1 DDG"),
    "address": ("Anschrift", "§ 5 Abs. 1 Nr. 1 DDG"),
    "representatives": ("Vertretungsberechtigte", "§ 5 Abs. 1 Nr. 1 DDG"),
    "email": ("E-Mail-Adresse", "§ 5 Abs. 1 Nr. 2 DDG"),
    "register_court": ("Registergericht", "§ 5 Abs. 1 Nr. 4 DDG"),
    "register_number": ("Registernummer", "§ 5 Abs. 1 Nr. 4 DDG"),
    "responsible_for_content": ("Verantwortliche für den Inhalt", "§ 18 Abs. 2 MStV"),
}


# The statement's entries the EU model statement (2018/1523) cannot do without.
STATEMENT_ENTRIES = {
    "conformance": "den Stand der Vereinbarkeit (vollständig, teilweise, nicht)",
    "prepared": "das Datum ihrer Erstellung",
    "reviewed": "das Datum ihrer letzten Überprüfung",
    "review_method": "die Methode der Überprüfung",
    "feedback_contact": "den Kontakt für „Barriere melden“",
}


def find_page(site: Site, required: RequiredPage) -> Item | None:
    """The published page that fulfils ``required``, by file name or by slug."""
    item = site.items.get(required.content_path)
    if item is not None:
        return item
    for key in site.pages:
        if site.items[key].doc.slug == required.slug:
            return site.items[key]
    return None


def feedback_email(site: Site) -> str | None:
    """The address "Barriere melden" writes to: the statement's feedback contact's."""
    statement = site.items.get(STATEMENT_PAGE)
    ident = statement.meta.get("feedback_contact") if statement else None
    contact = site.contacts.get(ident) if ident else None
    email = contact.get("email") if contact else None
    return str(email) if email else None


def check_requirements(site: Site) -> list[SiteError]:
    problems = list(_required_pages(site))
    problems.extend(_statement(site))
    problems.extend(_easy_language(site))
    problems.extend(_videos(site))
    problems.extend(_impressum(site))
    return problems


def _rel(site: Site, content_path: str) -> str:
    return site.config.rel(site.config.content_dir / content_path)


def _required_pages(site: Site) -> Iterator[SiteError]:
    for required in REQUIRED_PAGES:
        if find_page(site, required) is None:
            yield warning(
                _rel(site, required.content_path),
                0,
                f"Die Seite „{required.name}“ fehlt ({required.law} verlangt sie, "
                "verlinkt von jeder Seite).",
            )


def _statement(site: Site) -> Iterator[SiteError]:
    item = site.items.get(STATEMENT_PAGE)
    settings = site.config.settings_path
    if site.config.enforcement is None:
        yield warning(
            settings,
            1,
            "„enforcement“ fehlt: Die Erklärung zur Barrierefreiheit muss die Schlichtungs- "
            "oder Durchsetzungsstelle nennen (BITV 2.0 § 7, Durchsetzungsverfahren).",
        )
    if item is None:
        yield warning(
            _rel(site, STATEMENT_PAGE),
            0,
            "„Barriere melden“ fehlt: Ohne Erklärung zur Barrierefreiheit mit "
            "„feedback_contact“ gibt es keinen Feedback-Mechanismus (BITV 2.0 § 7).",
        )
        return
    doc, meta = item.doc, item.meta
    for key, what in STATEMENT_ENTRIES.items():
        if meta.get(key) is None:
            yield warning(
                doc.rel_path,
                1,
                f"„{key}“ fehlt: Die Erklärung zur Barrierefreiheit nennt {what} "
                "(BITV 2.0 § 7, Mustererklärung der EU 2018/1523).",
            )
    # An unknown contact is an error of the model's reference check (model.py).
    contact_id = meta.get("feedback_contact")
    contact: Mapping[str, Any] | None = site.contacts.get(contact_id) if contact_id else None
    if contact is not None and not contact.get("email"):
        yield warning(
            doc.rel_path,
            doc.line_of("feedback_contact"),
            f"Der Kontakt „{contact_id}“ hat keine E-Mail-Adresse: „Barriere melden“ braucht "
            "eine (BITV 2.0 § 7, Feedback-Mechanismus).",
        )
    reviewed: dt.date | None = meta.get("reviewed")
    prepared: dt.date | None = meta.get("prepared")
    today = site.now.astimezone(ZoneInfo(site.config.timezone)).date()
    if reviewed is not None and reviewed > today:
        yield SiteError(doc.rel_path, doc.line_of("reviewed"), "„reviewed“ liegt in der Zukunft.")
    elif reviewed is not None and reviewed < _one_year_before(today):
        yield warning(
            doc.rel_path,
            doc.line_of("reviewed"),
            f"Die Erklärung zur Barrierefreiheit wurde zuletzt am {reviewed.isoformat()} "
            "überprüft, vor mehr als einem Jahr; sie ist mindestens jährlich zu überprüfen "
            "(Durchführungsbeschluss (EU) 2018/1523).",
        )
    if prepared is not None and reviewed is not None and prepared > reviewed:
        yield SiteError(doc.rel_path, doc.line_of("reviewed"), "„reviewed“ liegt vor „prepared“.")


def _one_year_before(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def _easy_language(site: Site) -> Iterator[SiteError]:
    item = site.items.get(EASY_LANGUAGE_PAGE)
    if item is not None and not item.meta.get("explains"):
        yield warning(
            item.doc.rel_path,
            1,
            "„explains“ fehlt: Welcher Abschnitt erklärt den Inhalt, die Navigation und die "
            "Erklärung zur Barrierefreiheit? (BITV 2.0 § 4)",
        )


def _videos(site: Site) -> Iterator[SiteError]:
    item = site.items.get(SIGN_LANGUAGE_PAGE)
    if item is None:
        return
    doc = item.doc
    media = {m.content_path for m in site.media}
    if not item.meta.get("videos"):
        yield warning(
            doc.rel_path,
            doc.line_of("videos"),
            "Die Seite in Gebärdensprache zeigt kein Video („videos“); BITV 2.0 § 4 verlangt "
            "Erläuterungen in Deutscher Gebärdensprache.",
        )
    for video in item.meta.get("videos") or ():
        line = video["line"]
        file = video["file"]
        if not any(file.lower().endswith(suffix) for suffix in VIDEO_TYPES):
            yield SiteError(
                doc.rel_path,
                line,
                f"Video „{file}“: erlaubt sind " + ", ".join(sorted(VIDEO_TYPES)) + "-Dateien.",
            )
        for key, what in (("file", "Videodatei"), ("poster", "Vorschaubild")):
            path = video.get(key)
            if path and path not in media:
                yield SiteError(doc.rel_path, line, f"{what} „content/{path}“ gibt es nicht.")
        transcript = video.get("transcript")
        if transcript and transcript.startswith("medien/") and transcript not in media:
            yield SiteError(doc.rel_path, line, f"Abschrift „content/{transcript}“ gibt es nicht.")


def _impressum(site: Site) -> Iterator[SiteError]:
    config = site.config
    settings = config.settings_path
    if config.impressum is None:
        yield warning(
            settings,
            1,
            "„impressum“ fehlt: Anbieterkennzeichnung nach § 5 DDG und § 18 Abs. 2 MStV "
            "(Name, Rechtsform, Anschrift, Vertretung, E-Mail, Register, Verantwortliche).",
        )
        return
    line = config.settings_lines.get("impressum", 1)
    for key, (label, law) in IMPRESSUM_ENTRIES.items():
        if not config.impressum.get(key):
            yield warning(
                settings,
                line,
                f"„impressum“: „{key}“ ({label}) fehlt – Pflichtangabe nach {law}.",
            )

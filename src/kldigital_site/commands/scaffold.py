"""``kldigital-site new``: a new content file with every front matter field.

Input: the content folder, the kind (press, project, page), the title the
editor typed and the current time. Output: the path of the file written —
``presse/<date>-<slug>.md``, ``projekte/<slug>.md`` or ``seiten/<slug>.md`` —
or ``ScaffoldError`` with a German message; an existing file is never
overwritten.

Every field of the kind's schema is in the file: required ones filled in,
optional ones commented out, each under a comment line of German explanation
(never a comment after a value: YAML would drop it, and the build refuses a
`` #`` after a text, see content/yamlpos.py), so editors uncomment instead of
looking names up. New files start as drafts (as Hugo's
archetypes do): the placeholder text cannot go live by accident, while
``serve`` shows the file at once with its "Entwurf" banner.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from kldigital_site.accessibility.fields import (
    EASY_LANGUAGE_PAGE,
    SIGN_LANGUAGE_PAGE,
    STATEMENT_PAGE,
    page_fields,
)
from kldigital_site.content import placeholders
from kldigital_site.content.parse import BOILERPLATES_FILE, CONTACTS_FILE
from kldigital_site.content.schema import PAGE_FIELDS, PRESS_FIELDS, PROJECT_FIELDS, Field
from kldigital_site.model import RESERVED_PAGE_SLUGS
from kldigital_site.slugs import slugify

# Long titles make long addresses; cut at a word boundary (the editor may
# rename the file or set slug: at any time).
MAX_SLUG_LENGTH = 60


class ScaffoldKind(StrEnum):
    PRESS = "press"
    PROJECT = "project"
    PAGE = "page"


class ScaffoldError(Exception):
    """The file cannot be created; the message is German, for editors."""


@dataclass(frozen=True, slots=True)
class SiteHints:
    """Real ids from the site, so the commented examples are ones that work."""

    contacts: Sequence[str] = ()
    boilerplates: Sequence[str] = ()
    projects: Sequence[str] = ()
    location: str | None = None


_FOLDERS = {
    ScaffoldKind.PRESS: "presse",
    ScaffoldKind.PROJECT: "projekte",
    ScaffoldKind.PAGE: "seiten",
}
_SCHEMAS: dict[ScaffoldKind, tuple[Field, ...]] = {
    ScaffoldKind.PRESS: PRESS_FIELDS,
    ScaffoldKind.PROJECT: PROJECT_FIELDS,
    ScaffoldKind.PAGE: PAGE_FIELDS,
}


def make_slug(title: str) -> str:
    slug = slugify(title)
    if len(slug) > MAX_SLUG_LENGTH:
        cut = slug[: MAX_SLUG_LENGTH + 1]
        slug = cut.rsplit("-", 1)[0] if "-" in cut else cut[:MAX_SLUG_LENGTH]
    return slug.strip("-")


def target_path(content_dir: Path, kind: ScaffoldKind, title: str, today: dt.date) -> Path:
    slug = make_slug(title)
    if not slug:
        raise ScaffoldError(
            f"Aus dem Titel „{title}“ lässt sich kein Dateiname bilden; "
            "bitte Buchstaben oder Ziffern verwenden."
        )
    if kind is ScaffoldKind.PAGE and slug in RESERVED_PAGE_SLUGS:
        raise ScaffoldError(
            f"Die Adresse „{slug}“ ist für die Website reserviert; "
            "bitte einen anderen Titel wählen."
        )
    name = f"{today.isoformat()}-{slug}.md" if kind is ScaffoldKind.PRESS else f"{slug}.md"
    return content_dir / _FOLDERS[kind] / name


def create(content_dir: Path, kind: ScaffoldKind, title: str, now: dt.datetime) -> Path:
    """Write the new file and return its path; refuses to overwrite anything."""
    title = " ".join(title.split())
    if not title:
        raise ScaffoldError('Bitte einen Titel angeben, z. B. kldigital-site new press "Titel".')
    if not content_dir.is_dir():
        raise ScaffoldError(f"Der Inhaltsordner {content_dir} existiert nicht.")
    today = now.astimezone(ZoneInfo("Europe/Berlin")).date()
    path = target_path(content_dir, kind, title, today)
    if path.exists():
        raise ScaffoldError(f"{path} gibt es schon; die Datei bleibt unverändert.")
    if kind is ScaffoldKind.PRESS:
        _refuse_same_slug(path)
    text = render(kind, title, today, read_hints(content_dir))
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8", newline="\n") as stream:  # "x": never overwrite
            stream.write(text)
    except FileExistsError:
        raise ScaffoldError(f"{path} gibt es schon; die Datei bleibt unverändert.") from None
    return path


def _refuse_same_slug(path: Path) -> None:
    # presse/2025-01-01-x.md and presse/2026-11-26-x.md would both claim /presse/x/.
    suffix = path.name[len("2026-11-26") :]
    for other in sorted(path.parent.glob(f"????-??-??{suffix}")):
        raise ScaffoldError(
            f"{other} hat schon dieselbe Adresse; bitte einen anderen Titel wählen "
            "(oder in der neuen Datei slug: setzen)."
        )


def read_hints(content_dir: Path) -> SiteHints:
    """Ids from site.yaml and daten/; anything unreadable just gives no hint."""
    contacts = _keys(content_dir / CONTACTS_FILE)
    boilerplates = _keys(content_dir / BOILERPLATES_FILE)
    projects = sorted(p.stem for p in (content_dir / "projekte").glob("*.md"))
    location = None
    settings = _load(content_dir / "site.yaml")
    if isinstance(settings, dict) and isinstance(settings.get("defaults"), dict):
        value = settings["defaults"].get("location")
        location = value if isinstance(value, str) else None
    return SiteHints(contacts, boilerplates, projects, location)


def _load(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None


def _keys(path: Path) -> list[str]:
    data = _load(path)
    return sorted(str(k) for k in data) if isinstance(data, dict) else []


# --- the file text --------------------------------------------------------------------


def yaml_text(value: str) -> str:
    """A YAML scalar for ``value``: plain when that reads back the same, else quoted."""
    try:
        if yaml.safe_load(f"key: {value}") == {"key": value} and "#" not in value:
            return value
    except yaml.YAMLError:
        pass
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML string


def _flow(values: Sequence[str], fallback: str) -> str:
    return "[" + ", ".join(values[:2]) + "]" if values else fallback


def _examples(kind: ScaffoldKind, hints: SiteHints, today: dt.date) -> dict[str, tuple[str, str]]:
    """Per optional field: (example value, one-line explanation)."""
    contacts = _flow(hints.contacts, "[kennung]")
    contact = hints.contacts[0] if hints.contacts else "kennung"
    boilerplate = hints.boilerplates[0] if hints.boilerplates else "kennung"
    project = _flow(hints.projects[:1], "[projekt-slug]")
    default_location = f"; ohne Angabe: {hints.location}" if hints.location else ""
    month = today.strftime("%Y-%m")
    return {
        "subtitle": (placeholders.SUBTITLE_EXAMPLE, "Unterzeile unter der Überschrift"),
        "location": ("Kaiserslautern", f"Ort in der Datumszeile{default_location}"),
        "summary": (
            placeholders.SUMMARY_EXAMPLE,
            "Kurzfassung für Übersichten und Suchmaschinen"
            + ("; ohne Angabe: der erste Absatz" if kind is ScaffoldKind.PRESS else ""),
        ),
        "projects": (project, "Projekte (Dateinamen in content/projekte/ ohne .md)"),
        "tags": ("[Beteiligung, Mobilität]", "Themen, frei wählbar"),
        "contacts": (contacts, "Pressekontakte aus content/daten/kontakte.yaml"),
        "boilerplate": (boilerplate, "Presseabbinder aus daten/presseabbinder.yaml; false: keiner"),
        "image": (
            f"medien/{_FOLDERS[kind]}/bild.jpg",
            "Bild: Pfad in content/medien/ (die Datei muss dort liegen)",
        ),
        "image_alt": (
            placeholders.IMAGE_ALT_EXAMPLE,
            "Bildbeschreibung; Pflicht, wenn image gesetzt",
        ),
        "image_caption": ("Was das Bild zeigt, in einem Satz", "Bildunterschrift unter dem Bild"),
        "image_credit": (
            '"Foto: Stadt Kaiserslautern / Jana Beispiel"',
            "Bildnachweis (Pflicht bei Fotos, außer er steht schon in der Bilddatei)",
        ),
        "images": (
            f'[{{src: medien/{_FOLDERS[kind]}/foto-1.jpg, alt: "Was zu sehen ist", '
            'caption: "Bildunterschrift", credit: "Foto: Name"}]',
            "Pressefotos zum Herunterladen (Pressemitteilung) oder Bildergalerie (Projekt); "
            "mehrere Bilder untereinander, siehe docs/redaktion.md",
        ),
        "slug": ("kurzer-name", "Adresse der Seite; ohne Angabe: aus dem Dateinamen"),
        "aliases": (
            f"[/{_FOLDERS[kind]}/alter-name/]"
            if kind is not ScaffoldKind.PAGE
            else "[/alter-name/]",
            "frühere Adressen, die hierher weiterleiten (nach einer Umbenennung)",
        ),
        "smart_city": ("true", "Modellprojekt Smart Cities: Kennzeichnung und Liste /smart-city/"),
        "status": ("laufend", "geplant, laufend oder abgeschlossen; ohne Angabe: laufend"),
        "start": (month, "Beginn: JJJJ-MM oder JJJJ-MM-TT"),
        "end": (f"{today.year + 1}-12", "Ende: JJJJ-MM oder JJJJ-MM-TT, nicht vor start"),
        "partners": ("[Stadtverwaltung Kaiserslautern]", "Partner"),
        "funding": ("Modellprojekte Smart Cities", "Förderung, z. B. das Förderprogramm"),
        "contact": (contact, "Ansprechperson aus content/daten/kontakte.yaml"),
        "website": ("https://www.example.org/", "Webseite des Projekts (vollständige Adresse)"),
        "weight": ("10", "Reihenfolge in Listen: kleinere Zahl zuerst; ohne Angabe: 0"),
        "menu": ("true", "in der Hauptnavigation zeigen"),
    }


def _line(key: str, value: str, note: str, *, commented: bool) -> str:
    """The note on a line of its own above the field: uncommenting the field never
    makes the note part of its value."""
    return f"# {note}\n{'# ' if commented else ''}{key}: {value}"


def render(kind: ScaffoldKind, title: str, today: dt.date, hints: SiteHints) -> str:
    examples = _examples(kind, hints, today)
    lines = ["---", _line("title", yaml_text(title), "Pflicht: Überschrift", commented=False)]
    # The pages BITV 2.0 asks for have fields of their own (accessibility/fields.py).
    page = f"{_FOLDERS[kind]}/{make_slug(title)}.md"
    fields = page_fields(page) if kind is ScaffoldKind.PAGE else _SCHEMAS[kind]
    accessibility = _accessibility_fields(hints, today)
    for spec in fields:
        name = spec.name
        if name in ("title", "draft"):
            continue
        if name in accessibility:
            lines.extend(accessibility[name])
            continue
        if name == "date":
            day = today.isoformat()
            lines.append(
                f"# Pflicht: muss zum Dateinamen passen; mit Sperrfrist stattdessen: "
                f"date: {day} 10:00:00\ndate: {day}"
            )
        elif spec.required:  # the project summary
            lines.append(
                _line(
                    name,
                    yaml_text(placeholders.PROJECT_SUMMARY),
                    "Pflicht: für Karten",
                    commented=False,
                )
            )
        else:
            value, note = examples.get(name, ("", spec.doc))
            lines.append(_line(name, value, note or spec.doc, commented=True))
    # Last, where it is seen: the placeholder text must not go live by accident.
    lines.append(
        _line("draft", "true", "Entwurf: Zeile löschen zum Veröffentlichen", commented=False)
    )
    lines.append("---")
    return "\n".join(lines) + "\n" + _SPECIAL_BODIES.get(page, _BODIES[kind])


def _accessibility_fields(hints: SiteHints, today: dt.date) -> dict[str, list[str]]:
    """The lines of the accessibility pages' own fields: filled in where the page needs
    them to say anything, commented out where they are examples."""
    day = today.isoformat()
    contact = hints.contacts[0] if hints.contacts else "kennung"
    return {
        "explains": [
            _line(
                "explains", "", "Pflicht: welcher Abschnitt erklärt was", commented=False
            ).rstrip(),
            *(f"  {topic}: {anchor}" for topic, anchor in _EXPLAINED.items()),
        ],
        "videos": [
            _line(
                "videos", "", "Videos in Gebärdensprache (MP4 in medien/)", commented=True
            ).rstrip(),
            "#   - file: medien/gebaerdensprache/willkommen.mp4",
            "#     title: Willkommen",
            "#     poster: medien/gebaerdensprache/willkommen.jpg",
            "#     transcript: Der Text des Videos.",
        ],
        "conformance": [
            _line("conformance", "teilweise", "vollständig, teilweise oder nicht", commented=False)
        ],
        "known_issues": [
            _line("known_issues", "", "was nicht barrierefrei ist", commented=True).rstrip(),
            "#   - what: Was nicht barrierefrei ist",
            "#     why: Warum",
            "#     alternative: Wie man die Inhalte trotzdem bekommt",
        ],
        "prepared": [_line("prepared", day, "Datum der Erstellung", commented=False)],
        "reviewed": [
            _line("reviewed", day, "letzte Überprüfung (jährlich erneuern)", commented=False)
        ],
        "review_method": [
            _line("review_method", "Selbstbewertung", "wie geprüft wurde", commented=False)
        ],
        "feedback_contact": [
            _line("feedback_contact", contact, "Empfänger von „Barriere melden“", commented=False)
        ],
    }


# The three topics BITV 2.0 § 4 names, with the headings of the Leichte Sprache body below.
_EXPLAINED = {
    "inhalt": "was-steht-auf-dieser-website",
    "navigation": "wie-finde-ich-mich-zurecht",
    "barrierefreiheit": "was-ist-noch-schwer",
}

_SPECIAL_BODIES = {
    EASY_LANGUAGE_PAGE: placeholders.EASY_LANGUAGE_BODY,
    SIGN_LANGUAGE_PAGE: placeholders.SIGN_LANGUAGE_BODY,
    STATEMENT_PAGE: placeholders.STATEMENT_BODY,
}


_BODIES = {
    ScaffoldKind.PRESS: placeholders.PRESS_BODY,
    ScaffoldKind.PROJECT: placeholders.PROJECT_BODY,
    ScaffoldKind.PAGE: placeholders.PAGE_BODY,
}

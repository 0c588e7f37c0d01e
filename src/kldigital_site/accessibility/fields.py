"""The front matter and settings of the accessibility pages (content model, "Accessibility").

Input: nothing at run time; these are field declarations for ``content/schema.py``'s
machinery. Output: the extra fields of the three pages BITV 2.0 asks for
(Leichte Sprache, Gebärdensprache, the accessibility statement), picked by file
name (``page_fields``), and the ``enforcement:`` and ``impressum:`` blocks of
``site.yaml``. Keys are checked for form here; whether files and contacts exist
is checked against the whole site in ``accessibility/requirements.py``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from kldigital_site.content.schema import (
    PAGE_FIELDS,
    Field,
    Invalid,
    absolute_url,
    choice,
    identifier,
    media_path,
    text,
    text_list,
    validate_mapping,
)
from kldigital_site.content.yamlpos import Located

EASY_LANGUAGE_PAGE = "seiten/leichte-sprache.md"
SIGN_LANGUAGE_PAGE = "seiten/gebaerdensprache.md"
STATEMENT_PAGE = "seiten/barrierefreiheit.md"
IMPRESSUM_PAGE = "seiten/impressum.md"
PRIVACY_PAGE = "seiten/datenschutz.md"

# What BITV 2.0 § 4 says the explanations must cover, with the words editors read.
EXPLAINED_TOPICS = {
    "inhalt": "den Inhalt der Website",
    "navigation": "die Navigation",
    "barrierefreiheit": "die Erklärung zur Barrierefreiheit",
}


def _date(node: Located) -> dt.date:
    value = node.value
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise Invalid(f"„{value}“ ist kein gültiges Datum (JJJJ-MM-TT)")
    return value


def _anchor(node: Located) -> str:
    return text(node).removeprefix("#")


def _explains(node: Located) -> dict[str, str]:
    if not node.is_mapping:
        raise Invalid(
            "muss jedem Thema (inhalt, navigation, barrierefreiheit) die Sprungmarke "
            "der Überschrift zuordnen, die es erklärt"
        )
    result: dict[str, str] = {}
    for key, entry in node.entries.items():
        if key not in EXPLAINED_TOPICS:
            raise Invalid(f"kennt „{key}“ nicht; erlaubt sind: " + ", ".join(EXPLAINED_TOPICS))
        result[key] = _anchor(entry)
    missing = [key for key in EXPLAINED_TOPICS if key not in result]
    if missing:
        what = " und ".join(EXPLAINED_TOPICS[key] for key in missing)
        raise Invalid(
            f"nennt keinen Abschnitt für „{'“, „'.join(missing)}“: Die Seite in Leichter "
            f"Sprache muss auch {what} erklären (BITV 2.0 § 4)"
        )
    return result


@dataclass(frozen=True, slots=True)
class _Entries:
    """A list of mappings, each checked by ``fields``; each entry keeps its line.
    ``fields`` also give the CMS the entry's form (cms/forms.py)."""

    fields: tuple[Field, ...]
    what: str

    def __call__(self, node: Located) -> tuple[dict[str, Any], ...]:
        if not isinstance(node.value, list) or not node.items:
            raise Invalid(f"muss eine Liste von {self.what} sein (jeder Eintrag mit „- “)")
        result = []
        for number, item in enumerate(node.items, 1):
            checked = validate_mapping(item, self.fields, path="")
            if checked.errors:
                raise Invalid(f"Eintrag {number}: {checked.errors[0].message}")
            result.append({**checked.validated.values, "line": item.line})
        return tuple(result)


VIDEO_FIELDS = (
    Field("file", media_path, required=True, doc="Videodatei (MP4) in medien/"),
    Field("title", text, required=True, doc="Titel des Videos"),
    Field("poster", media_path, doc="Vorschaubild in medien/"),
    Field("transcript", text, doc="Text des Videos, oder eine Datei in medien/"),
)
KNOWN_ISSUE_FIELDS = (
    Field("what", text, required=True, doc="was nicht barrierefrei ist"),
    Field("why", text, required=True, doc="warum"),
    Field("alternative", text, doc="wie man die Inhalte trotzdem bekommt"),
)

EASY_LANGUAGE_FIELDS = (
    Field(
        "explains",
        _explains,
        doc="Abschnitt (Sprungmarke) je Thema: inhalt, navigation, barrierefreiheit",
    ),
)
SIGN_LANGUAGE_FIELDS = (
    Field(
        "videos",
        _Entries(VIDEO_FIELDS, "Videos"),
        default=(),
        doc="Videos: file, title, poster, transcript",
    ),
)
STATEMENT_FIELDS = (
    Field(
        "conformance",
        choice("vollständig", "teilweise", "nicht"),
        doc="Vereinbarkeit mit BITV 2.0: vollständig, teilweise, nicht",
    ),
    Field(
        "known_issues",
        _Entries(KNOWN_ISSUE_FIELDS, "Einschränkungen"),
        default=(),
        doc="nicht barrierefreie Inhalte: what, why, alternative",
    ),
    Field("prepared", _date, doc="Datum der Erstellung der Erklärung"),
    Field("reviewed", _date, doc="Datum der letzten Überprüfung"),
    Field("review_method", text, doc="z. B. Selbstbewertung"),
    Field(
        "feedback_contact",
        identifier,
        doc="Kontakt aus daten/kontakte.yaml für „Barriere melden“",
    ),
)

_PAGE_EXTRAS = {
    EASY_LANGUAGE_PAGE: EASY_LANGUAGE_FIELDS,
    SIGN_LANGUAGE_PAGE: SIGN_LANGUAGE_FIELDS,
    STATEMENT_PAGE: STATEMENT_FIELDS,
}


def page_fields(content_path: str) -> tuple[Field, ...]:
    """The fields of a plain page: those of every page plus its own, by file name."""
    return PAGE_FIELDS + _PAGE_EXTRAS.get(content_path, ())


# --- site.yaml -------------------------------------------------------------------

ENFORCEMENT_FIELDS = (
    Field("name", text, required=True, doc="Schlichtungs- oder Durchsetzungsstelle"),
    Field("url", absolute_url, doc="ihre Website"),
    Field("email", text, doc="ihre E-Mail-Adresse"),
)

_RESPONSIBLE_FIELDS = (
    Field("name", text, required=True),
    Field("address", text_list, required=True),
)


def _responsible(node: Located) -> dict[str, Any]:
    checked = validate_mapping(node, _RESPONSIBLE_FIELDS, path="")
    if checked.errors:
        raise Invalid(checked.errors[0].message.replace("Pflichtfeld", "Angabe"))
    return checked.validated.values


# § 5 DDG and § 18 Abs. 2 MStV; none is required by the schema: a missing entry is a
# warning with the paragraph (requirements.py), so a site can be built while it is asked for.
IMPRESSUM_FIELDS = (
    Field("name", text, doc="Name des Anbieters"),
    Field("legal_form", text, doc="Rechtsform, z. B. GmbH"),
    Field("address", text_list, default=(), doc="Anschrift, eine Zeile je Eintrag"),
    Field("representatives", text_list, default=(), doc="Vertretungsberechtigte"),
    Field("register_court", text, doc="Registergericht"),
    Field("register_number", text, doc="Registernummer, z. B. HRB 31234"),
    Field("vat_id", text, doc="Umsatzsteuer-Identifikationsnummer"),
    Field("email", text, doc="E-Mail-Adresse"),
    Field("phone", text, doc="Telefon"),
    Field(
        "responsible_for_content",
        _responsible,
        doc="verantwortlich nach § 18 Abs. 2 MStV: name, address",
    ),
)

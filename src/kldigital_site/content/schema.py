"""Declarative front-matter and settings schemas.

Input: a ``Located`` mapping from ``yamlpos``. Output: a dict of validated,
typed values (defaults filled in) plus the line of every key, or a list of
``SiteError``s — every independent problem of the mapping, not just the first.
Unknown keys are errors, as in Zola's ``deny_unknown_fields``: a typo such as
``smartcity:`` must not pass silently. Cross-references (project slugs, contact
ids, image files) are only checked for form here; ``model.py`` resolves them.

Nothing is coerced silently; each mismatch between YAML's types and a field's
is decided here, and every message names the value it refuses:

* text ← an unquoted number or date (``phone: 0631365``, ``title: 1.10``): the
  text exactly as written (YAML would make 211701 and 1.1 of them);
* text ← yes/no/on/off/true/false: an error with the quoted form (YAML reads
  them as a truth value, "no" would publish as "False");
* text ← a list or a mapping, one id ← a list: an error;
* list ← a single text (``tags: Mobilität, Verkehr``): an error showing the
  list form (it used to become one topic "Mobilität, Verkehr");
* truth value ← anything but true/false (``draft: nein``, ``0``): an error;
* whole number ← text or a decimal (``weight: "3"``, ``1.5``): an error;
* choice ← any other value: an error naming the allowed ones and the closest.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from kldigital_site.content.yamlpos import Located
from kldigital_site.errors import SiteError
from kldigital_site.slugs import is_plain_slug


class Invalid(ValueError):
    """A value does not fit its field; the message is German, for editors.

    ``line``: where inside a nested value the problem is (an entry of ``images:``);
    without it the error points at the field's key.
    """

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


Validator = Callable[[Located], Any]


@dataclass(frozen=True, slots=True)
class PartialDate:
    """A date given as YYYY-MM or YYYY-MM-DD (project start and end)."""

    year: int
    month: int
    day: int | None = None

    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, self.day or 1)


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    validate: Validator
    required: bool = False
    default: Any = None
    doc: str = ""
    label: str = ""  # German name of the field in forms (the CMS); default: the key


@dataclass(frozen=True, slots=True)
class Validated:
    values: dict[str, Any]
    lines: dict[str, int]


# --- field types -------------------------------------------------------------


def shown(node: Located) -> str:
    """A value as the editor wrote it, for messages."""
    if node.source is not None:
        return node.source
    if node.value is None:
        return "(leer)"
    if isinstance(node.value, bool):
        return "true" if node.value else "false"
    if isinstance(node.value, list):
        return "[" + ", ".join(shown(item) for item in node.items) + "]"
    return str(node.value)


def text(node: Located) -> str:
    value = node.value
    if isinstance(value, bool):
        written = shown(node)
        raise Invalid(
            f"„{written}“ liest YAML als Wahrheitswert ({str(value).lower()}), nicht als Text; "
            f'als Text bitte in Anführungszeichen setzen: "{written}"'
        )
    if isinstance(value, list):
        raise Invalid("muss ein einzelner Text sein, keine Liste")
    if isinstance(value, dict):
        raise Invalid("muss ein Text sein, keine Zuordnung (schlüssel: wert)")
    if value is None:
        raise Invalid("darf nicht leer sein")
    if isinstance(value, int | float | dt.date):
        # As written: YAML makes 211701 of the phone number 0631365, 1.1 of "1.10".
        result = (node.source if node.source is not None else str(value)).strip()
    elif isinstance(value, str):
        result = value.strip()
    else:
        raise Invalid("muss ein Text sein")
    if not result:
        raise Invalid("darf nicht leer sein")
    return result


def boolean(node: Located) -> bool:
    value = node.value
    if isinstance(value, str) and value.strip().lower() in _QUOTED_TRUTH:
        raise Invalid(
            "ist in Anführungszeichen ein Text, kein Wahrheitswert; bitte ohne "
            f"Anführungszeichen schreiben: {value.strip().lower()}"
        )
    if not isinstance(value, bool):
        raise Invalid(f"„{shown(node)}“ ist kein Wahrheitswert; bitte true oder false schreiben")
    return value


_QUOTED_TRUTH = frozenset({"true", "false"})


# Parametrised field types are objects, not closures, so that what they accept
# (the options of a choice, the bounds of a number, the fields of a mapping) can
# be read back: the CMS forms are generated from them (kldigital_site.cms).


@dataclass(frozen=True, slots=True)
class Integer:
    minimum: int | None = None
    maximum: int | None = None

    def __call__(self, node: Located) -> int:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(f"„{shown(node)}“ ist keine ganze Zahl (z. B. 3, ohne Anführungszeichen)")
        if self.minimum is not None and value < self.minimum:
            raise Invalid(f"muss mindestens {self.minimum} sein")
        if self.maximum is not None and value > self.maximum:
            raise Invalid(f"darf höchstens {self.maximum} sein")
        return value


def integer(minimum: int | None = None, maximum: int | None = None) -> Validator:
    return Integer(minimum, maximum)


@dataclass(frozen=True, slots=True)
class Choice:
    options: tuple[str, ...]

    def __call__(self, node: Located) -> str:
        value = node.value
        if not isinstance(value, str) or value not in self.options:
            written = shown(node)
            message = f"„{written}“ ist kein erlaubter Wert (erlaubt: {', '.join(self.options)})"
            close = difflib.get_close_matches(written.strip().lower(), self.options, n=1)
            raise Invalid(message + (f". Meinten Sie „{close[0]}“?" if close else ""))
        return value


def choice(*options: str) -> Validator:
    return Choice(options)


def text_list(node: Located) -> tuple[str, ...]:
    value = node.value
    if isinstance(value, dict):
        raise Invalid("muss eine Liste sein (z. B. [eins, zwei]), keine Zuordnung")
    if not isinstance(value, list):
        # "tags: Mobilität, Verkehr" was one topic named "Mobilität, Verkehr".
        written = shown(node).strip()
        entries = [part.strip() for part in written.split(",") if part.strip()]
        raise Invalid(
            f"muss eine Liste sein; „{written}“ wäre ein einziger Eintrag. "
            f"Als Liste: [{', '.join(entries) or written}]"
        )
    result: list[str] = []
    for item in node.items:
        try:
            entry = text(item)
        except Invalid as exc:
            written = f"„{shown(item)}“"
            problem = str(exc)
            # "Eintrag „off“ liest YAML als …", not "Eintrag „off“: „off“ liest …".
            problem = (
                problem.removeprefix(written).lstrip() if problem.startswith(written) else problem
            )
            raise Invalid(f"Eintrag {written} {problem}") from exc
        if entry not in result:
            result.append(entry)
    return tuple(result)


@dataclass(frozen=True, slots=True)
class AliasList:
    """``aliases:``: old paths of a document (redirects.py), each entry with the line it
    is on, so that every wrong one is reported where it stands (content/parse.py checks
    their form, model.py what they clash with). An object, so the CMS can tell it apart."""

    def __call__(self, node: Located) -> tuple[dict[str, Any], ...]:
        text_list(node)  # a single text, a mapping or a wrong entry: the list's messages
        return tuple({"path": text(item), "line": item.line} for item in node.items)


alias_list = AliasList()


def identifier(node: Located) -> str:
    if isinstance(node.value, list):
        first = shown(node.items[0]) if node.items else "kennung"
        raise Invalid(f"erwartet eine einzige Kennung, keine Liste, z. B. {first}")
    value = text(node)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", value):
        raise Invalid(f"„{value}“ ist keine gültige Kennung (Buchstaben, Ziffern, - und _)")
    return value


def identifier_list(node: Located) -> tuple[str, ...]:
    values = text_list(node)
    for value in values:
        identifier(Located(value, node.line, node.key_line))
    return values


def slug(node: Located) -> str:
    value = text(node)
    if not is_plain_slug(value):
        raise Invalid(
            f"„{value}“ ist kein einfacher Name: nur Kleinbuchstaben a–z, Ziffern und "
            "Bindestriche, z. B. dritte-orte"
        )
    return value


def absolute_url(node: Located) -> str:
    value = text(node)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Invalid(f"„{value}“ ist keine vollständige Webadresse (http:// oder https://)")
    return value


def partial_date(node: Located) -> PartialDate:
    value = node.value
    if isinstance(value, dt.datetime):
        raise Invalid("muss ein Datum ohne Uhrzeit sein (JJJJ-MM-TT oder JJJJ-MM)")
    if isinstance(value, dt.date):
        return PartialDate(value.year, value.month, value.day)
    match = re.fullmatch(r"(\d{4})-(\d{2})", str(value)) if isinstance(value, str) else None
    if match is None or not 1 <= int(match[2]) <= 12:
        raise Invalid(f"„{value}“ ist kein gültiges Datum (JJJJ-MM-TT oder JJJJ-MM)")
    return PartialDate(int(match[1]), int(match[2]))


# YAML only recognises a time with seconds; editors write "2027-03-01 10:00".
_SHORT_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\s*(Z|[+-]\d{2}:?\d{2})?"
)


def date_or_datetime(node: Located) -> dt.date | dt.datetime:
    value = node.value
    if isinstance(value, dt.date):
        return value
    match = _SHORT_DATETIME.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is not None:
        try:
            year, month, day, hour, minute = (int(g) for g in match.groups()[:5])
            parsed = dt.datetime(year, month, day, hour, minute, int(match[6] or 0))
        except ValueError:
            raise Invalid(f"„{value}“ ist kein gültiges Datum") from None
        if match[7]:
            offset = dt.datetime.strptime(match[7].replace("Z", "+0000").replace(":", ""), "%z")
            parsed = parsed.replace(tzinfo=offset.tzinfo)
        return parsed
    raise Invalid(f"„{value}“ ist kein gültiges Datum (JJJJ-MM-TT, optional mit Uhrzeit)")


def media_path(node: Located) -> str:
    value = text(node)
    parts = value.split("/")
    if (
        value.startswith("/")
        or "\\" in value
        or parts[0] != "medien"
        or len(parts) < 2
        or any(part in ("", ".", "..") for part in parts)
    ):
        raise Invalid(
            f"„{value}“ muss ein Pfad innerhalb von medien/ sein, z. B. medien/projekte/bild.jpg"
        )
    return value


def boilerplate_ref(node: Located) -> str | bool:
    if node.value is False:
        return False
    if node.value is True:
        raise Invalid(
            f"„{shown(node)}“ geht hier nicht: eine Kennung aus daten/presseabbinder.yaml "
            "oder false (kein Presseabbinder)"
        )
    return identifier(node)


@dataclass(frozen=True, slots=True)
class MappingOf:
    """A nested mapping (e.g. ``defaults:`` in site.yaml) validated by its own fields."""

    fields: tuple[Field, ...]

    def __call__(self, node: Located) -> dict[str, Any]:
        result = validate_mapping(node, self.fields, path="")
        if result.errors:
            raise Invalid(result.errors[0].message)
        return result.validated.values


# --- validating a mapping ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class MappingResult:
    validated: Validated
    errors: list[SiteError]


def validate_mapping(node: Located, fields: Sequence[Field], *, path: str) -> MappingResult:
    """Check every key; collect every problem; fill in defaults."""
    errors: list[SiteError] = []
    values: dict[str, Any] = {}
    lines: dict[str, int] = {}
    if not node.is_mapping:
        errors.append(
            SiteError(path, node.line, "Hier wird eine Zuordnung (schlüssel: wert) erwartet.")
        )
        return MappingResult(Validated(values, lines), errors)
    by_name = {f.name: f for f in fields}
    for key, entry in node.entries.items():
        spec = by_name.get(key)
        if spec is None:
            errors.append(SiteError(path, entry.key_line, _unknown_key_message(key, by_name)))
            continue
        lines[key] = entry.key_line
        if entry.value is None and not spec.required:
            values[key] = spec.default
            continue
        try:
            values[key] = spec.validate(entry)
        except Invalid as exc:
            line = exc.line or entry.key_line
            errors.append(SiteError(path, line, _field_message(key, str(exc))))
    for spec in fields:
        if spec.name in values or spec.name in lines:
            continue
        if spec.required:
            errors.append(
                SiteError(path, max(node.key_line, 1), f"Pflichtfeld „{spec.name}“ fehlt.")
            )
        else:
            values[spec.name] = spec.default
    return MappingResult(Validated(values, lines), errors)


def _field_message(key: str, problem: str) -> str:
    # "„status“ muss …" reads as a sentence; a problem that starts with the quoted value
    # needs a colon, or the key and the value run together: "„slug“: „Dritte Orte“ ist …".
    return f"„{key}“: {problem}" if problem.startswith("„") else f"„{key}“ {problem}"


def _unknown_key_message(key: str, known: Mapping[str, Field]) -> str:
    message = f"Unbekannter Schlüssel „{key}“."
    close = difflib.get_close_matches(key.lower(), list(known), n=1, cutoff=0.6)
    if close:
        message += f" Meinten Sie „{close[0]}“?"
    else:
        message += " Erlaubt sind: " + ", ".join(sorted(known)) + "."
    return message


# --- the per-kind schemas ------------------------------------------------------

IMAGE_ENTRY_FIELDS: tuple[Field, ...] = (
    Field("src", media_path, required=True, label="Bild", doc="Bilddatei innerhalb von medien/"),
    Field("alt", text, required=True, label="Alternativtext", doc="Alternativtext"),
    Field("caption", text, label="Bildunterschrift", doc="Bildunterschrift"),
    Field(
        "credit",
        text,
        label="Bildnachweis",
        doc="Bildnachweis, z. B. „Foto: Stadt Kaiserslautern / Jana Beispiel“",
    ),
)


@dataclass(frozen=True, slots=True)
class MappingList:
    """``images:``: press photos or a gallery; each entry keeps the line of its ``src``
    (media/ reports a missing credit or a broken file there). ``fields`` also tell the
    CMS the entry's form (cms/forms.py)."""

    fields: tuple[Field, ...]

    def __call__(self, node: Located) -> tuple[dict[str, Any], ...]:
        return _image_entries(node, self.fields)


def _image_entries(node: Located, fields: tuple[Field, ...]) -> tuple[dict[str, Any], ...]:
    if not isinstance(node.value, list):
        raise Invalid("muss eine Liste von Bildern sein (- src: …, alt: …)")
    entries: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, item in enumerate(node.items, start=1):
        result = validate_mapping(item, fields, path="")
        if result.errors:
            first = result.errors[0]
            raise Invalid(f"Bild {number}: {first.message}", first.line or item.line)
        values = dict(result.validated.values)
        if values["src"] in seen:
            raise Invalid(f"Bild {number}: „{values['src']}“ steht schon in der Liste", item.line)
        seen.add(values["src"])
        values["line"] = result.validated.lines.get("src", item.line)
        entries.append(values)
    return tuple(entries)


image_list = MappingList(IMAGE_ENTRY_FIELDS)

_IMAGE_FIELDS = (
    Field(
        "image",
        media_path,
        label="Bild",
        doc="Bild, Pfad relativ zu content/, z. B. medien/projekte/x.jpg",
    ),
    Field(
        "image_alt",
        text,
        label="Alternativtext",
        doc="Alternativtext des Bildes (Pflicht, wenn image gesetzt ist)",
    ),
    Field("image_caption", text, label="Bildunterschrift", doc="Bildunterschrift"),
    Field(
        "image_credit",
        text,
        label="Bildnachweis",
        doc="Bildnachweis, z. B. „Foto: Stadt Kaiserslautern / Jana Beispiel“ "
        "(Pflicht für Fotos, außer er steht in der Bilddatei)",
    ),
)

_DRAFT = Field(
    "draft", boolean, default=False, label="Entwurf", doc="Entwurf: wird nicht veröffentlicht"
)
ALIASES = Field(
    "aliases",
    alias_list,
    default=(),
    label="Frühere Adressen",
    doc="Frühere Adressen dieser Seite, z. B. /presse/alter-name/: sie leiten hierher weiter",
)

PROJECT_FIELDS: tuple[Field, ...] = (
    Field("title", text, required=True, label="Titel", doc="Titel des Projekts"),
    Field(
        "summary",
        text,
        required=True,
        label="Kurzbeschreibung",
        doc="Ein bis zwei Sätze für Karten und Suchmaschinen",
    ),
    Field(
        "smart_city", boolean, default=False, label="Smart City", doc="Modellprojekt Smart Cities"
    ),
    Field(
        "status",
        choice("geplant", "laufend", "abgeschlossen"),
        default="laufend",
        label="Status",
        doc="Stand des Projekts",
    ),
    Field("tags", text_list, default=(), label="Themen", doc="Themen"),
    Field("start", partial_date, label="Beginn", doc="Beginn, JJJJ-MM-TT oder JJJJ-MM"),
    Field("end", partial_date, label="Ende", doc="Ende, JJJJ-MM-TT oder JJJJ-MM"),
    Field("partners", text_list, default=(), label="Partner", doc="Partner"),
    Field("funding", text, label="Förderung", doc="Förderung, z. B. das Förderprogramm"),
    Field("contact", identifier, label="Kontakt", doc="Kennung aus daten/kontakte.yaml"),
    Field("website", absolute_url, label="Webseite", doc="Webseite des Projekts"),
    *_IMAGE_FIELDS,
    Field("images", image_list, default=(), label="Bildergalerie", doc="Bildergalerie"),
    Field(
        "weight",
        integer(),
        default=0,
        label="Gewicht",
        doc="Reihenfolge in Listen (kleiner zuerst)",
    ),
    _DRAFT,
    Field("slug", slug, label="Adresse (Slug)", doc="Adresse; Standard: der Dateiname"),
    ALIASES,
)

PRESS_FIELDS: tuple[Field, ...] = (
    Field("title", text, required=True, label="Überschrift", doc="Überschrift"),
    Field("subtitle", text, label="Unterzeile", doc="Unterzeile"),
    Field(
        "date",
        date_or_datetime,
        required=True,
        label="Datum",
        doc="Datum, optional mit Uhrzeit (Sperrfrist)",
    ),
    Field("location", text, label="Ort", doc="Ort der Datumszeile; Standard aus site.yaml"),
    Field("summary", text, label="Kurzfassung", doc="Kurzfassung; Standard: der erste Absatz"),
    Field(
        "projects",
        identifier_list,
        default=(),
        label="Projekte",
        doc="Kennungen (Slugs) der Projekte",
    ),
    Field("tags", text_list, default=(), label="Themen", doc="Themen"),
    Field(
        "contacts",
        identifier_list,
        label="Pressekontakte",
        doc="Pressekontakte aus daten/kontakte.yaml",
    ),
    Field(
        "boilerplate",
        boilerplate_ref,
        label="Presseabbinder",
        doc="Presseabbinder aus daten/presseabbinder.yaml",
    ),
    *_IMAGE_FIELDS,
    Field(
        "images", image_list, default=(), label="Pressefotos", doc="Pressefotos zum Herunterladen"
    ),
    _DRAFT,
    Field("slug", slug, label="Adresse (Slug)", doc="Adresse; Standard: der Dateiname ohne Datum"),
    ALIASES,
)

PAGE_FIELDS: tuple[Field, ...] = (
    Field("title", text, required=True, label="Titel", doc="Titel der Seite"),
    Field("summary", text, label="Kurzbeschreibung", doc="Kurzbeschreibung für Suchmaschinen"),
    Field("slug", slug, label="Adresse (Slug)", doc="Adresse; Standard: der Dateiname"),
    _DRAFT,
    Field("menu", boolean, default=False, label="Im Menü", doc="in der Hauptnavigation zeigen"),
    Field("weight", integer(), default=0, label="Gewicht", doc="Reihenfolge in Menü und Listen"),
    ALIASES,
)

CONTACT_FIELDS: tuple[Field, ...] = (
    Field("name", text, required=True, label="Name"),
    Field("organisation", text, label="Organisation"),
    Field("role", text, label="Funktion"),
    Field("email", text, label="E-Mail"),
    Field("phone", text, label="Telefon"),
    Field("address", text_list, default=(), label="Anschrift", doc="eine Zeile je Eintrag"),
)

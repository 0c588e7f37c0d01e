"""One source file → one validated ``Document`` (or ``DataFile``), or its errors.

Input: a ``SourceFile`` and its bytes. Output: ``Staged`` with a ``Document``
for a Markdown file or a ``DataFile`` for ``daten/*.yaml`` and the file's
``SiteError``s; with errors, what could still be read of it. Each file is
parsed on its own, so every file's problems are reported in the same run and the
result can be cached by the file's content hash. Checks that need other files
(references, duplicate slugs) belong to ``model.py``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kldigital_site.accessibility.fields import page_fields
from kldigital_site.accessibility.headings import check_explains
from kldigital_site.content.discover import SourceFile, SourceKind
from kldigital_site.content.frontmatter import (
    FrontMatterMissing,
    normalise_text,
    split_front_matter,
)
from kldigital_site.content.placeholders import find_placeholders
from kldigital_site.content.schema import (
    CONTACT_FIELDS,
    PAGE_FIELDS,
    PRESS_FIELDS,
    PROJECT_FIELDS,
    Field,
    PartialDate,
    validate_mapping,
)
from kldigital_site.content.yamlpos import (
    CONTROL_CHARACTERS,
    Located,
    YamlProblem,
    control_character_message,
    load_located,
)
from kldigital_site.errors import SiteError, Staged
from kldigital_site.redirects import form_problem
from kldigital_site.slugs import slugify

_FIELDS: Mapping[SourceKind, tuple[Field, ...]] = {
    SourceKind.PROJECT: PROJECT_FIELDS,
    SourceKind.PRESS: PRESS_FIELDS,
    SourceKind.PAGE: PAGE_FIELDS,
}
_PRESS_FILE_NAME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})-(.+)\.md$")

CONTACTS_FILE = "daten/kontakte.yaml"
BOILERPLATES_FILE = "daten/presseabbinder.yaml"


@dataclass(frozen=True, slots=True)
class Document:
    """A validated Markdown file: typed front matter, key lines, body."""

    rel_path: str
    content_path: str
    kind: SourceKind
    slug: str
    meta: Mapping[str, Any]
    lines: Mapping[str, int]
    body: str | None  # None: not loaded (a document from the cache); see load_body()
    body_line: int
    digest: str
    # Of the path and everything before the body: every field but ``body`` follows from
    # these, so an edit that leaves it alone changed the body only (render/pages.py).
    head_digest: str

    def line_of(self, key: str) -> int:
        return self.lines.get(key, 1)


@dataclass(frozen=True, slots=True)
class DataFile:
    """A validated ``daten/`` file: its entries and the line of each top-level key."""

    rel_path: str
    content_path: str
    entries: Mapping[str, Any]
    lines: Mapping[str, int]
    digest: str


def load_body(doc: Document, raw: bytes) -> str:
    """The Markdown body of ``doc``, re-read from the file's bytes when it was not kept."""
    if doc.body is not None:
        return doc.body
    return split_front_matter(normalise_text(raw)).body


# A source whose bytes differ from those it was parsed from when it is read again.
CHANGED_DURING_BUILD = "Die Datei wurde während des Erzeugens geändert; bitte erneut erzeugen."


def digest_of(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def parse_source(source: SourceFile, raw: bytes) -> Staged[Document | DataFile | None]:
    """The file's document or data, or, with errors, what could still be read of it.

    A Markdown file with errors still yields a flawed ``Document`` when it has an
    address: its slug, the front matter fields that passed, its body. A data file
    with errors yields its valid entries and the line of every key (so its ids
    still exist), or nothing in it if it is no mapping. Neither is published; they let the
    model count the file as existing, so other files' references to it are not
    reported as errors too (model.py).
    """
    digest = digest_of(raw)
    try:
        text = normalise_text(raw)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        message = "Die Datei ist nicht UTF-8-kodiert (bitte als UTF-8 speichern)."
        return _unreadable(source, digest, SiteError(source.rel_path, line, message))
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        message = "Die Datei enthält ein Nullzeichen (Binärdaten?)."
        return _unreadable(source, digest, SiteError(source.rel_path, line, message))
    if (control := CONTROL_CHARACTERS.search(text)) is not None:
        line = text.count("\n", 0, control.start()) + 1
        message = control_character_message(control.group()) or ""
        return _unreadable(source, digest, SiteError(source.rel_path, line, message))
    if source.kind is SourceKind.DATA:
        return _parse_data(source, text, digest)
    return _parse_markdown(source, text, digest)


def _unreadable(
    source: SourceFile, digest: str, error: SiteError
) -> Staged[Document | DataFile | None]:
    """A file whose text cannot be read at all: it exists, with the address of its name."""
    if source.kind is SourceKind.DATA:
        return Staged(DataFile(source.rel_path, source.content_path, {}, {}, digest), (error,))
    slug, _ = _slug_of_name(source)
    return Staged(_document(source, slug, {}, {}, "", 1, digest, ""), (error,))


def _slug_of_name(source: SourceFile) -> tuple[str, re.Match[str] | None]:
    file_name = source.content_path.split("/", 1)[1]
    if source.kind is not SourceKind.PRESS:
        return slugify(file_name.removesuffix(".md")), None
    match = _PRESS_FILE_NAME.match(file_name)
    return (slugify(match[4]) if match else ""), match


def _document(
    source: SourceFile,
    slug: str,
    meta: Mapping[str, Any],
    lines: Mapping[str, int],
    body: str,
    body_line: int,
    digest: str,
    head: str,
) -> Document:
    return Document(
        rel_path=source.rel_path,
        content_path=source.content_path,
        kind=source.kind,
        slug=slug,
        meta=meta,
        lines=lines,
        body=body,
        body_line=body_line,
        digest=digest,
        head_digest=digest_of(f"{source.rel_path}\0{head}".encode()),
    )


def _parse_markdown(source: SourceFile, text: str, digest: str) -> Staged[Document | None]:
    path = source.rel_path
    name_slug, name_match = _slug_of_name(source)
    try:
        split = split_front_matter(text)
    except FrontMatterMissing as problem:
        error = SiteError(path, problem.line, str(problem))
        return Staged(_document(source, name_slug, {}, {}, "", 1, digest, text), (error,))
    try:
        located = load_located(split.yaml_text, split.yaml_first_line)
    except YamlProblem as problem:
        error = SiteError(path, problem.line, str(problem))
        head = text[: len(text) - len(split.body)]
        flawed = _document(
            source, name_slug, {}, {}, split.body, split.body_first_line, digest, head
        )
        return Staged(flawed, (error,))
    fields = (
        page_fields(source.content_path) if source.kind is SourceKind.PAGE else _FIELDS[source.kind]
    )
    result = validate_mapping(located, fields, path=path)
    errors = list(result.errors)
    meta = result.validated.values
    lines = result.validated.lines

    if meta.get("image") and not meta.get("image_alt"):
        errors.append(
            SiteError(path, lines["image"], "Zum Bild fehlt der Alternativtext „image_alt“.")
        )
    for key in ("image_alt", "image_caption", "image_credit"):
        if meta.get(key) and not meta.get("image"):
            errors.append(SiteError(path, lines[key], f"„{key}“ ohne „image“."))
    if source.kind is SourceKind.PRESS:
        errors.extend(_check_press_file_name(path, name_match, meta, lines))
    if source.kind is SourceKind.PROJECT:
        errors.extend(_check_period(path, meta, lines))
    for alias in meta.get("aliases") or ():
        wrong = form_problem(alias["path"])
        if wrong is not None:
            errors.append(SiteError(path, alias["line"], f"„aliases“: {wrong}"))
    if not meta.get("draft"):
        # Not a draft: about to be published, now or when its embargo ends.
        errors.extend(find_placeholders(path, meta, lines, split.body, split.body_first_line))
    if meta.get("explains"):
        errors.extend(check_explains(path, meta["explains"], lines["explains"], split.body))
    slug = meta.get("slug") or name_slug
    if not slug:
        if not errors:
            message = "Aus dem Dateinamen entsteht keine Adresse; bitte „slug“ setzen."
            errors.append(SiteError(path, 1, message))
        return Staged(None, tuple(errors))
    head = text[: len(text) - len(split.body)]
    document = _document(source, slug, meta, lines, split.body, split.body_first_line, digest, head)
    return Staged(document, tuple(errors))


def _check_press_file_name(
    path: str, match: re.Match[str] | None, meta: Mapping[str, Any], lines: Mapping[str, int]
) -> list[SiteError]:
    if match is None:
        return [
            SiteError(path, 0, "Der Dateiname muss mit dem Datum beginnen: JJJJ-MM-TT-titel.md")
        ]
    try:
        file_date = dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return [SiteError(path, 0, "Das Datum im Dateinamen gibt es nicht.")]
    date = meta.get("date")
    if isinstance(date, dt.date):
        day = date.date() if isinstance(date, dt.datetime) else date
        if day != file_date:
            return [
                SiteError(
                    path,
                    lines["date"],
                    f"„date“ ({day.isoformat()}) passt nicht zum Datum im Dateinamen "
                    f"({file_date.isoformat()}).",
                )
            ]
    return []


def _check_period(path: str, meta: Mapping[str, Any], lines: Mapping[str, int]) -> list[SiteError]:
    start, end = meta.get("start"), meta.get("end")
    if isinstance(start, PartialDate) and isinstance(end, PartialDate):
        start_key = (start.year, start.month, start.day or 1)
        end_key = (end.year, end.month, end.day or 31)
        if end_key < start_key:
            return [SiteError(path, lines["end"], "„end“ liegt vor „start“.")]
    return []


def _parse_data(source: SourceFile, text: str, digest: str) -> Staged[DataFile]:
    """With errors: the valid entries, and the line of every key (which ids exist);
    none at all when the file is no mapping."""
    path = source.rel_path
    unusable = DataFile(path, source.content_path, {}, {}, digest)
    try:
        located = load_located(text, 1)
    except YamlProblem as problem:
        return Staged(unusable, (SiteError(path, problem.line, str(problem)),))
    if located.value in (None, {}):
        return Staged(unusable)
    if not located.is_mapping:
        message = "Erwartet wird eine Zuordnung: kennung: …"
        return Staged(unusable, (SiteError(path, located.line, message),))
    errors: list[SiteError] = []
    entries: dict[str, Any] = {}
    lines = {key: node.key_line for key, node in located.entries.items()}
    for key, node in located.entries.items():
        entry = _data_entry(source.content_path, path, key, node, errors)
        if entry is not None:
            entries[key] = entry
    return Staged(DataFile(path, source.content_path, entries, lines, digest), tuple(errors))


def _data_entry(
    content_path: str, path: str, key: str, node: Located, errors: list[SiteError]
) -> Any:
    if content_path == CONTACTS_FILE:
        result = validate_mapping(node, CONTACT_FIELDS, path=path)
        if not node.is_mapping:
            errors.append(
                SiteError(path, node.key_line, f"Kontakt „{key}“: erwartet werden name, email, …")
            )
            return None
        errors.extend(result.errors)
        return result.validated.values
    if content_path == BOILERPLATES_FILE:
        if not isinstance(node.value, str) or not node.value.strip():
            errors.append(
                SiteError(path, node.key_line, f"Presseabbinder „{key}“ muss ein Text sein.")
            )
            return None
        return node.value
    return node.value

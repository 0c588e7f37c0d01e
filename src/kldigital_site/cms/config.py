"""The Decap CMS configuration, generated from the schema: never written by hand.

Input: the content folder (for the ids of the data files, offered as selects),
the backend (the preview's local backend, or the Git backend of ``cms:`` in
site.yaml). Output: the configuration as a mapping, and as ``config.yml``
text (deterministic: the same input gives the same bytes).

One folder collection per kind of document (press releases, projects, pages),
with the file names of the contract, one field per front matter key and the
body; one file collection for the pages BITV 2.0 requires (Leichte Sprache,
Gebärdensprache, the accessibility statement), whose front matter has fields
of its own; one file collection per data file, with one entry per id. Paths are
relative to the site root (the repository), where ``content/`` lies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kldigital_site.accessibility.fields import (
    EASY_LANGUAGE_PAGE,
    SIGN_LANGUAGE_PAGE,
    STATEMENT_PAGE,
    page_fields,
)
from kldigital_site.cms.forms import FieldSpec, References, form_fields
from kldigital_site.content import schema
from kldigital_site.content.discover import SourceKind
from kldigital_site.content.parse import BOILERPLATES_FILE, CONTACTS_FILE

CONTENT = "content"


@dataclass(frozen=True, slots=True)
class Kind:
    """A folder collection: one kind of Markdown document."""

    kind: SourceKind
    label: str
    label_singular: str
    fields_name: str  # the schema's tuple, looked up at each call: it may grow
    file_name: str  # Decap's slug template: the file name without ".md"
    description: str


KINDS: tuple[Kind, ...] = (
    Kind(
        SourceKind.PRESS,
        "Pressemitteilungen",
        "Pressemitteilung",
        "PRESS_FIELDS",
        # The contract's file name, YYYY-MM-DD-slug. Not Decap's {{year}}-{{month}}-
        # {{day}}: those are the day the entry is created, and a release prepared
        # for a later embargo would get a name its date contradicts.
        "{{fields.date | date('YYYY-MM-DD')}}-{{slug}}",
        "Der Dateiname beginnt mit dem Datum der Pressemitteilung.",
    ),
    Kind(
        SourceKind.PROJECT,
        "Projekte",
        "Projekt",
        "PROJECT_FIELDS",
        "{{slug}}",
        "Projektsteckbriefe",
    ),
    Kind(
        SourceKind.PAGE,
        "Seiten",
        "Seite",
        "PAGE_FIELDS",
        "{{slug}}",
        "Einfache Seiten wie Impressum und Datenschutz",
    ),
)

BODY_FIELD: FieldSpec = {
    "name": "body",
    "label": "Text",
    "widget": "markdown",
    "hint": "Der Text in Markdown; Links auf andere Seiten z. B. /projekte/dritte-orte/",
}


@dataclass(frozen=True, slots=True)
class LocalBackend:
    """The preview's own backend (``serve``): Decap's proxy protocol at ``url``."""

    url: str


@dataclass(frozen=True, slots=True)
class GitBackend:
    """``cms:`` in site.yaml: the Git host the built site's /admin/ commits to."""

    name: str  # gitlab, github or gitea
    repo: str
    branch: str = "main"
    base_url: str | None = None
    app_id: str | None = None
    api_root: str | None = None


def references(content_dir: Path) -> dict[str, dict[str, str]]:
    """Ids of the data files, each with the label a select shows."""
    found: dict[str, dict[str, str]] = {}
    for rel in (CONTACTS_FILE, BOILERPLATES_FILE):
        data = _load(content_dir / rel)
        ids: dict[str, str] = {}
        for key, value in data.items():
            name = value.get("name") if isinstance(value, Mapping) else None
            ids[str(key)] = f"{name} ({key})" if isinstance(name, str) else str(key)
        found[rel] = ids
    return found


def cms_config(
    content_dir: Path, backend: LocalBackend | GitBackend, *, site_url: str | None = None
) -> dict[str, Any]:
    refs = references(content_dir)
    config: dict[str, Any] = {"backend": _backend(backend)}
    if isinstance(backend, LocalBackend):
        config["local_backend"] = {"url": backend.url}
    if site_url:
        config["site_url"] = site_url
        config["display_url"] = site_url
    config.update(
        {
            "locale": "de",
            "media_folder": f"{CONTENT}/medien",
            "public_folder": "medien",
            # Empty optional fields are left out of the file; the validator
            # refuses "subtitle: ''" (an empty text), as it would from an editor.
            "omit_empty_optional_fields": True,
            "slug": {"encoding": "ascii", "clean_accents": True, "sanitize_replacement": "-"},
            "collections": [*(_folder_collection(kind, refs) for kind in KINDS)],
        }
    )
    config["collections"].append(_accessibility_pages(refs))
    config["collections"].extend(_data_collections(refs))
    return config


def config_yaml(config: Mapping[str, Any]) -> str:
    header = (
        "# Erzeugt von kldigital-site aus dem Schema (content/schema.py): nicht von Hand ändern.\n"
    )
    return header + yaml.safe_dump(
        dict(config), allow_unicode=True, sort_keys=False, default_flow_style=False, width=100
    )


def _backend(backend: LocalBackend | GitBackend) -> dict[str, Any]:
    if isinstance(backend, LocalBackend):
        return {"name": "proxy", "proxy_url": backend.url, "branch": "main"}
    result: dict[str, Any] = {"name": backend.name, "repo": backend.repo, "branch": backend.branch}
    if backend.base_url:
        result["base_url"] = backend.base_url
    if backend.api_root:
        result["api_root"] = backend.api_root
    if backend.app_id:
        result["app_id"] = backend.app_id
        if backend.name in ("gitlab", "gitea"):
            # PKCE: the browser logs in with the Git host itself, no server of ours.
            result["auth_type"] = "pkce"
    return result


def _folder_collection(kind: Kind, refs: References) -> dict[str, Any]:
    return {
        "name": kind.kind.value,
        "label": kind.label,
        "label_singular": kind.label_singular,
        "description": kind.description,
        "folder": f"{CONTENT}/{kind.kind.value}",
        # Images of a kind lie in medien/<kind>/; Decap finds a file from its
        # value by replacing public_folder with media_folder.
        "media_folder": f"/{CONTENT}/medien/{kind.kind.value}",
        "public_folder": f"medien/{kind.kind.value}",
        "extension": "md",
        "format": "frontmatter",
        "create": True,
        "delete": True,
        "slug": kind.file_name,
        # The file name comes from "slug", which the admin page fills from the
        # title with German transliteration before the first save (page.py).
        "identifier_field": "slug",
        "summary": "{{title}}",
        "fields": [*form_fields(getattr(schema, kind.fields_name), refs), BODY_FIELD],
    }


# The pages with fields of their own (accessibility/fields.py), by file and title.
ACCESSIBILITY_PAGES = (
    (EASY_LANGUAGE_PAGE, "Leichte Sprache"),
    (SIGN_LANGUAGE_PAGE, "Gebärdensprache"),
    (STATEMENT_PAGE, "Erklärung zur Barrierefreiheit"),
)


def _accessibility_pages(refs: References) -> dict[str, Any]:
    """The pages BITV 2.0 requires, each with its own fields (``explains``, ``videos``,
    ``conformance``, ``known_issues`` …), which the general "Seiten" form lacks."""
    return {
        "name": "barrierefreiheit",
        "label": "Barrierefreiheit",
        "description": "Die Seiten, die BITV 2.0 verlangt, mit ihren eigenen Feldern.",
        "delete": False,
        "files": [
            {
                "name": Path(path).stem,
                "label": label,
                "file": f"{CONTENT}/{path}",
                "media_folder": f"/{CONTENT}/medien/seiten",
                "public_folder": "medien/seiten",
                "fields": [*form_fields(page_fields(path), refs), BODY_FIELD],
            }
            for path, label in ACCESSIBILITY_PAGES
        ],
    }


def _data_collections(refs: References) -> list[dict[str, Any]]:
    """A collection per data file; the files are mappings id → data, so each id
    is one part of the form (Decap cannot add keys to a mapping: new ids are
    added in the file itself)."""
    collections: list[dict[str, Any]] = []
    contacts = refs.get(CONTACTS_FILE, {})
    if contacts:
        contact_fields = form_fields(schema.CONTACT_FIELDS, {})
        collections.append(
            _data_file(
                "kontakte",
                "Kontakte",
                CONTACTS_FILE,
                [
                    {"name": key, "label": label, "widget": "object", "fields": contact_fields}
                    for key, label in contacts.items()
                ],
            )
        )
    boilerplates = refs.get(BOILERPLATES_FILE, {})
    if boilerplates:
        collections.append(
            _data_file(
                "presseabbinder",
                "Presseabbinder",
                BOILERPLATES_FILE,
                [
                    {"name": key, "label": label, "widget": "markdown"}
                    for key, label in boilerplates.items()
                ],
            )
        )
    return collections


def _data_file(name: str, label: str, rel: str, fields: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "description": f"content/{rel}; neue Kennungen bitte in der Datei selbst anlegen.",
        "editor": {"preview": False},
        "delete": False,
        "files": [{"name": name, "label": label, "file": f"{CONTENT}/{rel}", "fields": fields}],
    }


def _load(path: Path) -> Mapping[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}  # the build reports what is wrong with the file
    return data if isinstance(data, Mapping) else {}

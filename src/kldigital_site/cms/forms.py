"""Schema fields → Decap CMS form fields.

Input: a ``content.schema.Field`` and what references may point at (the ids of
the data files). Output: the Decap field mapping (``name``, ``label``,
``widget`` and the widget's options). Nothing here names a front matter key:
the widget follows from the field's type, the label and hint from its German
``label`` and ``doc``, so a field added to the schema appears in the forms
without a change here. A field of a type this module does not know becomes a
plain text field rather than disappearing.

References: a field whose ``doc`` names a data file (``daten/kontakte.yaml``)
offers that file's ids as a select; an id list whose ``doc`` names projects
("Projekte") is a relation to the project collection.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from kldigital_site.content import schema
from kldigital_site.content.schema import Field

FieldSpec = dict[str, Any]
# Ids per data file (content path, e.g. "daten/kontakte.yaml") → label per id.
References = Mapping[str, Mapping[str, str]]

PROJECTS_COLLECTION = "projekte"

_SLUG_PATTERN = ["^[a-z0-9]+(-[a-z0-9]+)*$", "Nur Kleinbuchstaben a–z, Ziffern und Bindestriche"]
_URL_PATTERN = ["^https?://[^\\s/]+", "Eine vollständige Webadresse mit http:// oder https://"]
_PARTIAL_DATE_PATTERN = [
    "^\\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\\d|3[01]))?$",
    "Datum als JJJJ-MM-TT oder JJJJ-MM, z. B. 2024-03",
]
_DATA_FILE = re.compile(r"daten/[a-z0-9_-]+\.ya?ml")


def form_field(spec: Field, references: References) -> FieldSpec:
    """One Decap field for one schema field."""
    result: FieldSpec = {"name": spec.name, "label": spec.label or spec.name}
    result.update(_widget(spec, references))
    if not spec.required:
        # Decap's fields are required unless told otherwise.
        result["required"] = False
    if spec.doc and spec.doc != spec.label:
        result["hint"] = spec.doc
    default = spec.default
    if isinstance(default, bool | int | str) and "default" not in result:
        result["default"] = default
    return result


def form_fields(fields: Sequence[Field], references: References) -> list[FieldSpec]:
    return [form_field(spec, references) for spec in fields]


def _widget(spec: Field, references: References) -> FieldSpec:
    validate = spec.validate
    if validate is schema.boolean:
        return {"widget": "boolean"}
    if isinstance(validate, schema.Choice):
        return {"widget": "select", "options": list(validate.options)}
    if isinstance(validate, schema.Integer):
        number: FieldSpec = {"widget": "number", "value_type": "int"}
        if validate.minimum is not None:
            number["min"] = validate.minimum
        if validate.maximum is not None:
            number["max"] = validate.maximum
        return number
    if isinstance(validate, schema.MappingOf):
        return {"widget": "object", "fields": form_fields(validate.fields, references)}
    nested = getattr(validate, "fields", None)
    if isinstance(nested, tuple) and all(isinstance(f, Field) for f in nested):
        # A list of mappings (e.g. images: src, alt, caption, credit).
        return {"widget": "list", "fields": form_fields(nested, references)}
    if validate is schema.date_or_datetime:
        return {
            "widget": "datetime",
            "format": "YYYY-MM-DD HH:mm",
            "date_format": "DD.MM.YYYY",
            "time_format": "HH:mm",
        }
    if validate is schema.partial_date:
        return {"widget": "string", "pattern": _PARTIAL_DATE_PATTERN}
    if validate is schema.media_path:
        # No pattern: Decap checks it against the resolved asset URL, not the value.
        return {"widget": "image", "choose_url": False}
    if validate is schema.slug:
        return {"widget": "string", "pattern": _SLUG_PATTERN}
    if validate is schema.absolute_url:
        return {"widget": "string", "pattern": _URL_PATTERN}
    if validate in (schema.identifier, schema.identifier_list, schema.boilerplate_ref):
        return _reference(spec, references, multiple=validate is schema.identifier_list)
    if validate is schema.text_list or isinstance(validate, schema.AliasList):
        return {"widget": "list"}
    return {"widget": "string"}


def _reference(spec: Field, references: References, *, multiple: bool) -> FieldSpec:
    data_file = _DATA_FILE.search(spec.doc)
    if data_file is not None:
        ids = references.get(data_file[0], {})
        if not ids:  # Decap refuses a select without options
            return {"widget": "list"} if multiple else {"widget": "string"}
        options = [{"label": label, "value": key} for key, label in ids.items()]
        select: FieldSpec = {"widget": "select", "options": options}
        if multiple:
            select["multiple"] = True
        return select
    if "Projekt" in spec.doc:
        relation: FieldSpec = {
            "widget": "relation",
            "collection": PROJECTS_COLLECTION,
            "value_field": "{{slug}}",
            "search_fields": ["title"],
            "display_fields": ["title"],
        }
        if multiple:
            relation["multiple"] = True
        return relation
    return {"widget": "list"} if multiple else {"widget": "string"}

"""The anchors of a Markdown body's headings, and the check of ``explains:`` against them.

Input: the Markdown body of the Leichte Sprache page and its ``explains:`` mapping.
Output: ``SiteError``s for topics whose anchor names no heading of the page. The
anchors are made as the renderer makes them (Python-Markdown's toc with
``slugify``, a ``{#id}`` attribute list winning), read from the source so the
check runs with parsing, once per file version, cached with it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from kldigital_site.accessibility.fields import EXPLAINED_TOPICS
from kldigital_site.errors import SiteError
from kldigital_site.slugs import slugify

_ATX = re.compile(r"^ {0,3}(#{1,6})(.*?)#*\s*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)\s*$")
_ATTR_LIST = re.compile(r"\s*\{:?([^}]*)\}\s*$")
_ID = re.compile(r"#([\w-]+)")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")


def heading_anchors(body: str) -> list[str]:
    """Every heading's anchor, in order, made unique as the toc extension does (x, x_1)."""
    anchors: list[str] = []
    lines = body.splitlines()
    for index, line in enumerate(lines):
        if line.startswith(("    ", "\t")):  # indented code (the renderer has no fences)
            continue
        atx = _ATX.match(line)
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if atx is not None:
            title = atx.group(2)
        elif line.strip() and _SETEXT.match(following) and not _SETEXT.match(line):
            title = line
        else:
            continue
        anchors.append(_unique(_anchor(title), anchors))
    return anchors


def _anchor(title: str) -> str:
    attributes = _ATTR_LIST.search(title)
    if attributes is not None:
        explicit = _ID.search(attributes.group(1))
        if explicit is not None:
            return explicit.group(1)
        title = title[: attributes.start()]
    return slugify(_LINK.sub(r"\1", title).replace("*", "").replace("`", ""))


def _unique(anchor: str, taken: list[str]) -> str:
    candidate, number = anchor, 0
    while candidate in taken:
        number += 1
        candidate = f"{anchor}_{number}"
    return candidate


def check_explains(path: str, explains: Mapping[str, str], line: int, body: str) -> list[SiteError]:
    anchors = heading_anchors(body)
    errors = []
    for topic, anchor in explains.items():
        if anchor not in anchors:
            listed = ", ".join(f"#{a}" for a in anchors) or "keine"
            errors.append(
                SiteError(
                    path,
                    line,
                    f"„explains“: Für „{topic}“ ({EXPLAINED_TOPICS[topic]}) gibt es keine "
                    f"Überschrift mit der Sprungmarke „#{anchor}“ (vorhanden: {listed}).",
                )
            )
    return errors

"""SVG files under ``medien/``: refused when they could run code or load other files.

Input: the bytes of an SVG file and its path for messages. Output: the list of
``SiteError``s, each at the line of the SVG where the problem is. An SVG opened on
its own (its address typed into the browser, or a link to it) runs its scripts
with the site's own origin, so scripts, event handlers (``onload`` …),
``foreignObject`` (HTML inside the picture) and references to other files or
servers are errors, not warnings: the editor removes them in the drawing program
or with a clean export ("SVG 1.1, ohne Skripte").
"""

from __future__ import annotations

import re
from xml.parsers import expat

from kldigital_site.errors import SiteError

_LINK_ATTRIBUTES = frozenset({"href", "xlink:href", "src"})
_CSS_URL = re.compile(r"url\(\s*['\"]?\s*(?!#)([^'\")\s]*)|@import", re.IGNORECASE)
_FIX = "Bitte in der Grafiksoftware entfernen oder als einfaches SVG ohne Skripte exportieren."


def check_svg(data: bytes, path: str) -> list[SiteError]:
    problems: list[SiteError] = []
    parser = expat.ParserCreate(namespace_separator=None)

    def add(message: str) -> None:
        problems.append(SiteError(path, parser.CurrentLineNumber, f"{message}. {_FIX}"))

    def refuse_entities(*_: object) -> None:
        add("SVG mit eigenen Entitäten (<!ENTITY>) wird nicht angenommen")

    def start(name: str, attributes: dict[str, str]) -> None:
        local = name.rsplit(":", 1)[-1]
        if local.lower() == "script":
            add("SVG enthält ein Skript (<script>)")
        elif local == "foreignObject":
            add("SVG enthält <foreignObject> (eingebettetes HTML)")
        for attribute, value in attributes.items():
            lower = attribute.lower()
            if lower.startswith("on"):
                add(f"SVG enthält einen Ereignis-Handler ({attribute}=…)")
            elif lower in _LINK_ATTRIBUTES or lower.endswith(":href"):
                target = value.strip()
                if local == "a":
                    if target.lower().startswith(("javascript:", "data:")):
                        add(f"SVG enthält einen Skript-Link ({attribute}=„{target[:40]}“)")
                elif not target.startswith("#") and not target.lower().startswith("data:image/"):
                    add(f"SVG lädt eine andere Datei oder Adresse („{target[:60]}“)")
            elif lower == "style":
                _check_css(value, add)

    def text(data: str) -> None:
        if current and current[-1] == "style":
            _check_css(data, add)

    current: list[str] = []

    def start_element(name: str, attributes: dict[str, str]) -> None:
        current.append(name.rsplit(":", 1)[-1].lower())
        start(name, attributes)

    def end_element(name: str) -> None:
        if current:
            current.pop()

    parser.StartElementHandler = start_element
    parser.EndElementHandler = end_element
    parser.CharacterDataHandler = text
    parser.EntityDeclHandler = refuse_entities
    parser.ExternalEntityRefHandler = lambda *_: 1
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        problems.append(
            SiteError(
                path, exc.lineno, f"SVG ist kein gültiges XML ({expat.ErrorString(exc.code)})"
            )
        )
    return problems


def _check_css(css: str, add: object) -> None:
    assert callable(add)
    for match in _CSS_URL.finditer(css):
        if match.group(0).lower() == "@import":
            add("SVG lädt ein Stylesheet (@import)")
        elif not match.group(1).lower().startswith("data:image/"):
            add(f"SVG lädt eine andere Datei oder Adresse („{match.group(1)[:60]}“)")


_ROOT = re.compile(rb"<svg\b[^>]*>", re.IGNORECASE)
_LENGTH = re.compile(r"^\s*([0-9.]+)\s*(px)?\s*$")


def svg_size(data: bytes) -> tuple[int, int] | None:
    """The drawing's size from the root's width and height, else its viewBox."""
    root = _ROOT.search(data[:4096])
    if root is None:
        return None
    tag = root.group().decode("utf-8", "replace")
    attributes = dict(re.findall(r'\s([\w:-]+)\s*=\s*"([^"]*)"', tag))
    width, height = (_LENGTH.match(attributes.get(n, "")) for n in ("width", "height"))
    if width and height:
        return round(float(width[1])), round(float(height[1]))
    box = attributes.get("viewBox", "").replace(",", " ").split()
    if len(box) == 4:
        try:
            return round(float(box[2])), round(float(box[3]))
        except ValueError:
            return None
    return None

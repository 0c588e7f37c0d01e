"""Sanitised body HTML → clean plain text for journalists (render/newsroom.py).

Input: HTML as markdown/renderer.py leaves it (nh3's allow-list, well-formed)
and the site's base URL. Output: text with one line per paragraph (no hard
wraps: copied into an editorial system, wrapped lines would break), a blank
line between blocks, list items as "• " or "1. ", table rows as cells joined
by " | ", and every link written out as ``Text (https://…)`` with an absolute
address. Typography („…“, –) is the body's own and stays; no markup survives.

Hand-written rather than with html2text (which writes Markdown) or inscriptis
(which cannot write links as "Text (URL)"): the input is the small, known
allow-list of the renderer, serialised by nh3 (html5ever). One regular
expression splits it into tags and text; the standard library's ``HTMLParser``
read it the same way (tests/test_plaintext.py holds the two to the same result)
at five times the cost: 1 ms a release, the largest part of its .txt.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from html import unescape
from urllib.parse import urljoin

# Elements that start a block of their own; everything else continues the text.
_BLOCKS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "dt", "dd", "blockquote", "pre"}
    | {"figure", "figcaption", "table", "tr", "caption", "details", "summary", "div"}
    | {"section", "hr", "iframe", "ul", "ol", "dl", "thead", "tbody", "tfoot"}
)
_CELLS = frozenset({"td", "th"})
# The elements the converter acts on; any other (strong, em, span…) only passes its text
# on, its tags not looked at: a third of a body's tokens.
_ACTIVE = _BLOCKS | _CELLS | {"a", "br", "img"}
# The elements whose attributes the converter reads; the others' are not parsed.
_READ_ATTRIBUTES = frozenset({"a", "div", "ol", "ul", "img", "iframe"})

# A start or end tag (attribute values quoted or not, ">" allowed inside quotes), a
# comment or declaration (left out), or text up to the next tag. A "<" that starts
# none of these is text, as in HTMLParser.
_TOKEN = re.compile(
    r"""<(/?)([a-zA-Z][^\s/>]*)((?:[^>"']+|"[^"]*"|'[^']*')*)>"""
    r"|<!--.*?-->|<![^>]*>|<\?[^>]*>|([^<]+|<)",
    re.DOTALL,
)
_ATTRIBUTE = re.compile(r"""([^\s"'>/=][^\s"'>/=]*)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]*))?""")


@dataclass(slots=True)
class _Link:
    href: str
    start: int  # where the link's text begins in the current block


@dataclass(slots=True)
class _List:
    ordered: bool
    number: int = 0


class TextConverter:
    """Builds the blocks from start tags, end tags and text, in document order."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.blocks: list[str] = []
        self.text: list[str] = []
        self.links: list[_Link] = []
        self.lists: list[_List] = []
        self.prefix = ""  # the bullet or number of the list item now open
        self.row: list[str] | None = None
        self.rows: list[str] | None = None  # the lines of the table now open
        self.divs: list[bool] = []  # open <div>s: is it the footnotes' one?
        self.skip = 0  # inside a footnote's back link (↩): left out
        self.preformatted = 0

    # --- blocks --------------------------------------------------------------------

    def _current(self) -> str:
        text = "".join(self.text)
        return text if self.preformatted else " ".join(text.split())

    def _flush(self) -> None:
        if not self.text:  # at the start of most blocks
            return
        text = self._current()
        self.text = []
        if self.row is not None:
            return
        if text:
            (self.blocks if self.rows is None else self.rows).append(self.prefix + text)
            self.prefix = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        css = values.get("class") or ""
        if self.skip or (tag == "a" and "footnote-backref" in css):
            self.skip += tag == "a"
            return
        if tag == "div":
            footnotes = "footnote" in css.split()
            self.divs.append(footnotes)
            if footnotes:
                self._flush()
                self.blocks.append("Anmerkungen")
                return
        if tag in _CELLS:
            self.text = []
            return
        if tag in _BLOCKS:
            self._flush()
        if tag == "table":
            self.rows = []
        elif tag == "tr":
            self.row = []
        elif tag in ("ul", "ol"):
            start = values.get("start")
            number = int(start) - 1 if start and start.isdigit() else 0
            self.lists.append(_List(tag == "ol", number))
        elif tag == "li" and self.lists:
            current = self.lists[-1]
            current.number += 1
            indent = "  " * (len(self.lists) - 1)
            if any(self.divs):
                self.prefix = f"[{current.number}] "
            else:
                self.prefix = indent + (f"{current.number}. " if current.ordered else "• ")
        elif tag == "pre":
            self.preformatted += 1
        elif tag == "br":
            self.text.append("\n" if self.preformatted else " ")
        elif tag == "a":
            href = values.get("href") or ""
            if "footnote-ref" in css:
                self.text.append("[")
                self.links.append(_Link("", len(self.text)))
            else:
                self.links.append(_Link(href, len(self.text)))
        elif tag == "img":
            alt = (values.get("alt") or "").strip()
            if alt:
                self.text.append(f"[Bild: {alt}]")
        elif tag == "iframe":
            title = (values.get("title") or "Eingebetteter Inhalt").strip()
            self.blocks.append(f"{title} ({values.get('src') or ''})")

    def handle_endtag(self, tag: str) -> None:
        if self.skip:
            self.skip -= tag == "a"
            return
        if tag == "div" and self.divs:
            self.divs.pop()
        if tag in _CELLS:
            if self.row is not None:
                self.row.append(self._current())
            self.text = []
            return
        if tag == "a" and self.links:
            self._close_link(self.links.pop())
            return
        if tag == "tr" and self.row is not None:
            row, self.row = self.row, None
            if any(row):
                (self.blocks if self.rows is None else self.rows).append(" | ".join(row))
            return
        if tag == "table" and self.rows is not None:
            self._flush()
            rows, self.rows = self.rows, None
            if rows:
                self.blocks.append("\n".join(rows))  # one block: the rows belong together
            return
        if tag in ("ul", "ol") and self.lists:
            self._flush()
            self.lists.pop()
            return
        if tag in _BLOCKS:
            self._flush()
        if tag == "pre":
            self.preformatted -= 1

    def finish(self) -> None:
        self._flush()

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.text.append(data)

    def _close_link(self, link: _Link) -> None:
        if not link.href:  # a footnote reference: "[1]"
            self.text.append("]")
            return
        if link.href.startswith("#"):
            return  # a jump within the page: the text says enough
        label = " ".join("".join(self.text[link.start :]).split())
        target = _written_out(link.href, self.base_url)
        if label != target:
            self.text.append(f" ({target})" if label else target)


@functools.lru_cache(maxsize=4096)
def _written_out(href: str, base_url: str) -> str:
    # Memoised: bodies link the same pages (projects, the city's site) again and again.
    for scheme in ("mailto:", "tel:"):
        if href.startswith(scheme):
            return href[len(scheme) :]
    return urljoin(base_url, href)


def html_to_text(html: str, base_url: str) -> list[str]:
    """The blocks of ``html`` as plain-text lines (join them with blank lines)."""
    converter = TextConverter(base_url)
    for end, tag, attributes, text in _TOKEN.findall(html):
        if not tag:
            if text and not converter.skip:
                converter.text.append(unescape(text))
            continue
        tag = tag.lower()
        if tag not in _ACTIVE:
            continue
        if end:
            converter.handle_endtag(tag)
        else:
            if tag in _READ_ATTRIBUTES:
                values, rest = _attributes(attributes)
            else:
                values, rest = [], attributes.rsplit(maxsplit=1)[-1] if attributes else ""
            converter.handle_starttag(tag, values)
            if rest.strip() == "/":  # <br/>, not <a href=/x/>: HTMLParser ends it at once
                converter.handle_endtag(tag)
    converter.finish()
    return converter.blocks


def _attributes(text: str) -> tuple[list[tuple[str, str | None]], str]:
    """The attributes in a start tag's text, and what follows the last of them."""
    found: list[tuple[str, str | None]] = []
    end = 0
    for match in _ATTRIBUTE.finditer(text):
        name, value = match.groups()
        if value is not None:
            if value[:1] in ("'", '"'):
                value = value[1:-1]
            value = unescape(value)
        found.append((name.lower(), value))
        end = match.end()
    return found, text[end:]

"""What Pagefind reads of a page: its ``data-pagefind-body`` element, without the rest.

Input: the bytes of a rendered page. Output: a small HTML document holding the
page's ``<html>`` tag and the one element the theme marks
``data-pagefind-body``, verbatim but for the elements inside it marked
``data-pagefind-ignore="all"`` (``search_extract``), or the whole page when
that would not give Pagefind exactly the same index; and the digest of it
(``search_digest``), which the search cache keys a shard on.

Why: the search index of a page depends only on what Pagefind reads of it.
With a ``data-pagefind-body`` element, Pagefind indexes only that element's
text; outside it, only ``data-pagefind-*`` attributes (filters, metadata)
and, for its automatic metadata, the first ``<h1>`` and the first ``<img>``
following it count. So when none of those are outside the element, the
element alone gives the same bundle, byte for byte (tests/test_search.py
compares the two). Keying the cache on it means that a change of the frame
every page shares — the base template, the navigation, the footer — changes
no page's search text and re-indexes nothing, nor does a new title on the
pages that only list it in an ignored section; and Pagefind and the compound
splitter read about half the bytes per page.

When in doubt the whole page is taken: no marked element or several, an
element whose end cannot be found by counting its tag, or any of the above
outside it.

Why not less (issue 15, measured on the 1,000-item corpus): Pagefind takes
about 2.1 ms of CPU per page, 1.3 ms reading it and 0.8 ms writing its share
of the bundle, and what it reads is nearly all text already (stripping the
attributes it never reads would make the pages 5 % smaller). Its
``add_custom_record`` takes plain text instead of HTML and saves about 0.4 ms
a page, but it indexes that text at one weight and without anchors, so titles
and headings would no longer rank first; and the text would first have to be
made in Python the way Pagefind's parser makes it.
"""

from __future__ import annotations

import hashlib
import re

_BODY = b"data-pagefind-body"
# Quoted as the templates write it, or bare as minified pages have it (render/minify.py).
_IGNORED = re.compile(rb"""data-pagefind-ignore=(?:"all"|'all'|all(?=[\s/>]))""")
# What Pagefind may read outside the body element (see the module docstring).
_READ_OUTSIDE = (b"data-pagefind-", b"<h1")
_READ_AFTER = (b"<img",)
_TAG_NAME = re.compile(rb"<([A-Za-z][A-Za-z0-9-]*)")
_HTML_TAG = re.compile(rb"<html\b[^>]*>", re.IGNORECASE)


def search_extract(page: bytes) -> bytes:
    """``page`` reduced to what Pagefind indexes of it, or ``page`` itself (module docstring)."""
    found = page.find(_BODY)
    if found < 0 or page.find(_BODY, found + len(_BODY)) >= 0:
        return page
    start = page.rfind(b"<", 0, found)
    name = _TAG_NAME.match(page, start) if start >= 0 else None
    if name is None or page.find(b">", start, found) >= 0:
        return page  # the attribute is not inside the tag it seems to belong to
    end = _element_end(page, start, name.group(1))
    if end is None:
        return page
    before, after = page[:start], page[end:]
    if any(marker in before or marker in after for marker in _READ_OUTSIDE) or any(
        marker in after for marker in _READ_AFTER
    ):
        return page
    html = _HTML_TAG.search(before)
    opening = html.group(0) if html is not None else b"<html>"
    body = _without_ignored(page[start:end])
    return b"<!DOCTYPE html>\n" + opening + b"<body>" + body + b"</body></html>\n"


def search_digest(page: bytes) -> str:
    """The sha256 of ``search_extract(page)``: what the search cache keys a page on."""
    return hashlib.sha256(search_extract(page)).hexdigest()


def _without_ignored(body: bytes) -> bytes:
    """``body`` without the elements marked ``data-pagefind-ignore="all"``: Pagefind reads
    nothing of them, not even filters or metadata, so what they show (a release's
    title in a project's list of releases, the press contacts) changes no page's
    search key."""
    pieces = []
    position = 0
    while (match := _IGNORED.search(body, position)) is not None:
        found = match.start()
        start = body.rfind(b"<", position, found)
        name = _TAG_NAME.match(body, start) if start >= 0 else None
        end = _element_end(body, start, name.group(1)) if name is not None else None
        if name is None or end is None or body.find(b">", start, found) >= 0:
            return body  # not what it seems: keep everything
        if b"<img" in body[start:end]:
            # Kept: whether Pagefind's automatic image skips ignored elements is not
            # tested here, so they stay where they could count.
            pieces.append(body[position:end])
        else:
            pieces.append(body[position:start])
        position = end
    pieces.append(body[position:])
    return b"".join(pieces)


def _element_end(page: bytes, start: int, name: bytes) -> int | None:
    """The offset after the end tag matching the element opened at ``start``."""
    tags = re.compile(rb"<(/?)" + re.escape(name) + rb"[\s/>]", re.IGNORECASE)
    depth = 0
    for tag in tags.finditer(page, start):
        depth += -1 if tag.group(1) else 1
        if depth == 0:
            close = page.find(b">", tag.start())
            return None if close < 0 else close + 1
    return None

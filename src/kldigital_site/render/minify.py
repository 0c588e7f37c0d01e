"""Smaller pages, stylesheets and scripts, showing exactly what they showed before.

Input: a rendered page (``str``), or a theme file's name and bytes. Output: the
same, minified. ``SiteConfig.minify`` (``build --no-minify``) switches it off.

Pages go through minify-html (a Rust HTML parser): comments and the whitespace
that does not render go, and attribute quotes where the value allows. What a
page shows stays: text in ``<pre>`` and ``<textarea>`` is kept as it is, one
space between inline elements stays, and characters such as the narrow
no-break space of German typography are text, never whitespace, to it. Closing
tags and the ``<html>``/``<head>`` tags stay although HTML lets them go: the
search indexer (Pagefind) reads every page, and tests and tools that parse
pages element by element need them. Inline CSS and scripts are left alone: the
Content-Security-Policy allows none but JSON-LD, which is data, already
compact.

Stylesheets and scripts go through rcssmin and rjsmin (both from one
maintainer, C-accelerated, in use for 15 years): comments and whitespace only,
no renaming or rewriting, so nothing a browser runs can change. minify-html's
own CSS and JS minifiers work on ``<style>`` and ``<script>`` inside HTML only.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import minify_html
import rcssmin
import rjsmin

# Their versions are part of the cache key with every other requirement's
# (cache.installed_versions): a new minifier may write other bytes.

# Leichte Sprache puts one statement on each line as the editor wrote it, kept by
# the stylesheet (white-space: pre-line on .easy-language paragraphs and items).
# A minifier cannot see CSS: it would join the lines. Such a page stays as written.
_LINES_AS_WRITTEN = re.compile(r"""<[a-z]+\s[^>]*class=["']?[^"'>]*\beasy-language\b""")


def minify_page(html: str) -> str:
    # The plain search first: the expression tries every tag of the page, a sixth of the
    # minifier's own time, and only the Leichte Sprache page has the class at all.
    if "easy-language" in html and _LINES_AS_WRITTEN.search(html):
        return html
    return minify_html.minify(
        html,
        keep_closing_tags=True,
        keep_html_and_head_opening_tags=True,
        minify_css=False,
        minify_js=False,
    )


def minify_asset(name: str, data: bytes) -> bytes:
    """A theme file's bytes, minified when it is a stylesheet or a script."""
    if name.endswith(".css"):
        return _text(rcssmin.cssmin, data)
    if name.endswith((".js", ".mjs")):
        return _text(rjsmin.jsmin, data)
    return data


def _text(minify: Callable[[str], str], data: bytes) -> bytes:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data  # not UTF-8: published as it is rather than guessed at
    return minify(text).encode("utf-8")

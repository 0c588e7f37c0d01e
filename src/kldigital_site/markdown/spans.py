"""``[Living Lab]{lang=en}``: a foreign-language phrase without further markup.

Input: inline Markdown. Output: ``<span lang="en">Living Lab</span>``. Python-Markdown's
attribute lists need an element to attach to (``*Living Lab*{: lang="en" }`` makes
it italic); this is Pandoc's bracketed-span syntax, for the ``lang`` attribute only,
so editors can mark a word in running text as it is. The tag is checked with the
other attributes (renderer ``_Document.inspect``).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as etree

from markdown import Markdown
from markdown.inlinepatterns import InlineProcessor

# After "[text]" comes "{lang=xx}" (quotes and a leading colon allowed), nothing else.
LANG_SPAN = r"\[([^\[\]\n]+)\]\{:?[ \t]*lang=(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'}]+))[ \t]*\}"


class _LangSpan(InlineProcessor):
    def handleMatch(  # type: ignore[override]  # Python-Markdown's signature is looser
        self, m: re.Match[str], data: str
    ) -> tuple[etree.Element, int, int]:
        span = etree.Element("span")
        span.set("lang", m.group(2) or m.group(3) or m.group(4) or "")
        span.text = m.group(1)
        return span, m.start(0), m.end(0)


def register(md: Markdown) -> None:
    # Before links (160): "[text]" would otherwise be tried as a reference link.
    md.inlinePatterns.register(_LangSpan(LANG_SPAN, md), "kldigital-lang-span", 175)

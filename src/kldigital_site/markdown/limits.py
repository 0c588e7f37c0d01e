"""Bounded scans for Python-Markdown: hostile bodies must not take quadratic time.

Input: a configured ``markdown.Markdown``. Output: the same instance, with the
processors that scan forward from every candidate position replaced by versions
whose scan is bounded. Upstream Python-Markdown scans from each ``[``, ``(`` or
backtick to the end of the paragraph in a Python loop (Python-Markdown #798,
"someday-maybe"), so 10 KB of ``[`` took 25 s and 40 KB seven minutes; the
same family made ``![``, ``[a](``, ``\\``\\``, ``<![CDATA[`` and repeated
footnote references slow, and every level of nested lists re-parses all of its
content. The bounded versions give the same result for every
construct an editor writes and treat the absurd remainder (link text with more
than ``MAX_BRACKETS`` brackets, a link target with more than ``MAX_SPECIALS``
parentheses or quotes, a code span closed only after ``MAX_TICK_RUNS`` other
backtick runs, lists or quotes nested beyond ``MAX_NESTING``) as plain text.

Still quadratic, in C and so only for much larger junk: Python-Markdown's
inline engine rebuilds a paragraph's string for each match (tens of thousands
of emphasis marks in one paragraph: about 3 s per 80 KB), block processors that
peel one line off a long block (``---`` lines without blank lines: about 3 s per
40 KB), and the standard library's HTML parser before CPython gh-135462 on
unclosed start tags ("<a " repeated: about 2 s per 20 KB).

The processors are switched to a subclass in place (``__class__``), so their
registration, priority and state stay exactly as the extensions made them.
"""

from __future__ import annotations

import re
from typing import Any

import markdown
from markdown.blockprocessors import BlockProcessor
from markdown.extensions.footnotes import RE_REF_ID, FootnoteExtension
from markdown.extensions.tables import TableProcessor
from markdown.inlinepatterns import BacktickInlineProcessor, LinkInlineProcessor

MAX_BRACKETS = 16  # "[" and "]" inside one link text
MAX_SPECIALS = 16  # "(", ")", quotes inside one link target and title
MAX_TICK_RUNS = 32  # backtick runs between a code span's opening and closing ticks
MAX_NESTING = 100  # parser states (about two per level of lists or quotes)

_BRACKET = re.compile(r"[\[\]]")
_LINK_SPECIAL = re.compile(r"[()'\"]")
_TICKS = re.compile(r"`+")
_SEPARATOR_CHARS = frozenset("|:- ")

# Every link-like processor of the Python-Markdown core.
_LINK_PROCESSORS = (
    "reference",
    "link",
    "image_link",
    "image_reference",
    "short_reference",
    "short_image_ref",
)


class _BoundedLinks:
    """Mixin for ``LinkInlineProcessor`` and its subclasses."""

    _last_close: tuple[str, int] = ("", -1)

    def getText(self, data: str, index: int) -> tuple[str, int, bool]:
        # Same result as upstream (text up to the matching "]"), but the characters in
        # between are skipped by the regex engine and the nesting search is bounded.
        if self._last_close[0] is not data:  # one lookup per paragraph version
            self._last_close = (data, data.rfind("]"))
        if index > self._last_close[1]:
            return data[index:], len(data), False
        depth = 1
        for seen, match in enumerate(_BRACKET.finditer(data, index)):
            if seen >= MAX_BRACKETS:
                break
            depth += 1 if match.group() == "[" else -1
            if depth == 0:
                return data[index : match.start()], match.end(), True
        return data[index:], len(data), False

    def getLink(self, data: str, index: int) -> tuple[str, str | None, int, bool]:
        # Upstream's loop walks every character to the end of the paragraph when the
        # link never closes; hand it only the stretch a real link target can occupy.
        # Upstream reads nothing before ``index``, so the stretch is passed on its own
        # (slicing from 0 would copy the whole paragraph for every candidate).
        if not data.startswith("(", index):
            return "", None, index, False  # upstream's answer when its pattern fails
        window_end = len(data)
        for seen, match in enumerate(_LINK_SPECIAL.finditer(data, index)):
            if seen >= MAX_SPECIALS:
                window_end = match.start()
                break
        href, title, end, handled = super().getLink(  # type: ignore[misc]
            data[index:window_end], 0
        )
        # Upstream can answer -1 ("[]("](": a title that never closes), an index from
        # the end of the string that its caller uses as it is; keep it so.
        return href, title, end + index if end >= 0 else end, handled


class _BoundedCodeSpans:
    """Mixin for ``BacktickInlineProcessor``: the closing run is looked up run by run."""

    def find_code_spans(self, start: int, text: str) -> tuple[int, int | None]:
        # A transcription of upstream's character loop that visits backtick runs only.
        last = len(text)
        max_ticks = 0
        while start < last and text[start] == "`":
            max_ticks += 1
            start += 1
        longest_span = end = 0
        for seen, run in enumerate(_TICKS.finditer(text, start)):
            if seen >= MAX_TICK_RUNS:
                break
            span_length = run.end() - run.start()
            if span_length == max_ticks:
                return start, run.start()
            if span_length > longest_span:
                longest_span, end = span_length, run.end()
        if 0 < longest_span < max_ticks:
            return start - (max_ticks - longest_span), end - longest_span
        return start + max_ticks, None


class _BoundedTables:
    """Mixin for ``TableProcessor``: reject non-tables without splitting the whole block.

    Upstream splits the entire block into rows on every test; block processors that
    peel one line off a long block (headings, rules) then make that quadratic.
    """

    def test(self, parent: Any, block: str) -> bool:
        first, _, rest = block.partition("\n")
        second = rest.partition("\n")[0]
        # Necessary for upstream's answer to be True: a pipe in the header row and a
        # separator row made of | : - and spaces only.
        if "|" not in first or not set(second) <= _SEPARATOR_CHARS:
            return False
        return super().test(parent, block)  # type: ignore[misc, no-any-return]


class _BoundedNesting:
    """Mixin for the list and quote processors: no new level beyond ``MAX_NESTING``.

    Each level re-parses everything inside it, so 500 nested list levels took 7 s
    before Python's recursion limit ended the build with a traceback. Deeper text
    stays what it is without the nesting: an indented code block or a paragraph.
    """

    parser: Any

    def test(self, parent: Any, block: str) -> bool:
        if len(self.parser.state) >= MAX_NESTING:
            return False
        return super().test(parent, block)  # type: ignore[misc, no-any-return]


class _BoundedFootnotes:
    """Mixin for ``FootnoteExtension``: back-reference ids are found in constant time.

    Upstream tries fnref:1, fnref2:1, fnref3:1 … from the start for every repeated
    reference to the same footnote; continuing from the last id handed out gives
    the same ids.
    """

    used_refs: set[str]
    found_refs: dict[str, int]
    _last_ref: dict[str, str]

    def reset(self) -> None:
        super().reset()  # type: ignore[misc]
        self._last_ref = {}

    def get_separator(self) -> str:
        return super().get_separator()  # type: ignore[misc, no-any-return]

    def unique_ref(self, reference: str, found: bool = False) -> str:
        if not found:
            return reference
        original = reference
        reference = self._last_ref.get(original, original)
        separator = self.get_separator()
        while reference in self.used_refs:
            ref, rest = reference.split(separator, 1)
            match = RE_REF_ID.match(ref)
            if match:
                reference = f"{match.group(1)}{int(match.group(2)) + 1}{separator}{rest}"
            else:
                reference = f"{ref}2{separator}{rest}"
        self.used_refs.add(reference)
        self.found_refs[original] = self.found_refs.get(original, 0) + 1
        self._last_ref[original] = reference
        return reference


def _rebase(processor: object, base: type, mixin: type) -> None:
    if isinstance(processor, base) and not isinstance(processor, mixin):
        cls = type(processor)
        processor.__class__ = type(f"Bounded{cls.__name__}", (mixin, cls), {})


def bound_scans(md: markdown.Markdown) -> markdown.Markdown:
    """Switch ``md``'s forward-scanning processors to their bounded versions."""
    for name in _LINK_PROCESSORS:
        if name in md.inlinePatterns:
            _rebase(md.inlinePatterns[name], LinkInlineProcessor, _BoundedLinks)
    if "backtick" in md.inlinePatterns:
        _rebase(md.inlinePatterns["backtick"], BacktickInlineProcessor, _BoundedCodeSpans)
    for name in ("indent", "olist", "ulist", "quote"):
        if name in md.parser.blockprocessors:
            _rebase(md.parser.blockprocessors[name], BlockProcessor, _BoundedNesting)
    if "table" in md.parser.blockprocessors:
        _rebase(md.parser.blockprocessors["table"], TableProcessor, _BoundedTables)
    for extension in md.registeredExtensions:
        if isinstance(extension, FootnoteExtension) and not isinstance(
            extension, _BoundedFootnotes
        ):
            _rebase(extension, FootnoteExtension, _BoundedFootnotes)
            extension._last_ref = {}  # type: ignore[attr-defined]
    return md

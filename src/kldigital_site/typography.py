"""German typography for text: straight quotes, dashes and dots → „…“, ‚…‘, ’, –, —, ….

Input: a run of text and, for runs inside a Markdown block, the characters on either side.
Output: the typeset text. A leaf with no imports of the tool, so the model can typeset
titles without loading Markdown or the sanitiser; ``markdown.renderer`` applies the same
rules across the inline elements of a body.
"""

from __future__ import annotations

import re

_APOSTROPHE = "’"
_TOKENS = {"---": "—", "--": "–", "...": "…", " - ": " – "}
_TYPO = re.compile(r"(?<!-)---(?!-)|(?<!-)--(?!-)|(?<!\.)\.\.\.(?!\.)|(?<=\S) - (?=\S)|[\"']")
# After these a quote opens (if a word follows). \x03 ends Python-Markdown's placeholder
# for inline raw HTML: after "<em>" a quote opens, before a space it closes.
_OPENS_AFTER = "([{„‚–—-/\x03"


def typeset(text: str, before: str, after: str, open_single: int) -> tuple[str, int]:
    """Typeset ``text`` between its neighbours ``before`` and ``after`` (one character each,
    "" at the edge of a block); ``open_single`` counts unclosed ‚ and is returned updated."""
    if not ('"' in text or "'" in text or "--" in text or "..." in text or " - " in text):
        return text, open_single  # the common case, decided without the regex
    padded = before + text + after
    end = len(padded) - len(after)
    pieces: list[str] = []
    last = previous_end = len(before)
    previous = before
    for match in _TYPO.finditer(padded, len(before)):
        start, stop = match.span()
        if stop > end:
            break
        token = match.group()
        if len(token) > 1:
            mark = _TOKENS[token]
        else:
            left = previous if start == previous_end else padded[start - 1 : start]
            right = padded[stop : stop + 1]
            opening = (not left or left.isspace() or left in _OPENS_AFTER) and (
                right != "" and not right.isspace()
            )
            if token == '"':
                mark = "„" if opening else "“"
            elif (left.isalnum() and right.isalnum()) or (opening and right.isdigit()):
                mark = _APOSTROPHE  # geht's, O'Reilly, '90er
            elif opening:
                mark, open_single = "‚", open_single + 1
            elif open_single:
                mark, open_single = "‘", open_single - 1
            else:
                mark = _APOSTROPHE  # Klaus' Rad
        pieces += [padded[last:start], mark]
        last = previous_end = stop
        previous = mark[-1]
    return "".join([*pieces, padded[last:end]]), open_single


def smarten(text: str) -> str:
    """German typography for plain strings (front-matter titles etc.): "…" → „…“, '…' → ‚…‘,
    apostrophe → ’, -- → –, --- → —, ... → …, spaced hyphen " - " → " – "."""
    return typeset(text, "", "", 0)[0]

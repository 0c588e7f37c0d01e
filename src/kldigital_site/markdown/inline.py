"""Python-Markdown's inline pass without the attempts that cannot match.

Input: a configured ``markdown.Markdown``. Output: the same instance, whose
inline tree processor skips a pattern for a piece of text that lacks a string
every match of that pattern contains ("[" for a link, "*" or "_" for emphasis).

Upstream tries each of its 17 inline patterns on every piece of text in turn,
in Python, whether the text could hold one or not: that loop was the largest
part of a body's render time (issue 15; a German paragraph mostly holds none of
``[ ! < & * _ ` \\``). A skipped pattern is one whose regular expression would
have found nothing, so upstream would have returned the text unchanged, exactly
what skipping does: the HTML is the same byte for byte. Patterns not in
``TRIGGERS`` (another extension's) are always tried. tests/test_markup.py
checks each entry against the regular expression registered under its name.

The processor is switched to a subclass in place (``__class__``), as
markdown/limits.py does, so its registration and state stay as they were.
"""

from __future__ import annotations

from typing import Any

import markdown
from markdown.treeprocessors import InlineProcessor
from markdown.util import AtomicString

# Pattern name → strings of which every match contains at least one.
TRIGGERS: dict[str, tuple[str, ...]] = {
    "backtick": ("`",),
    "escape": ("\\",),
    "footnote": ("[^",),
    "kldigital-lang-span": ("]{",),
    "reference": ("[",),
    "link": ("[",),
    "image_link": ("![",),
    "image_reference": ("![",),
    "short_reference": ("[",),
    "short_image_ref": ("![",),
    "autolink": ("://",),
    "automail": ("@",),
    "linebreak": ("  \n",),
    "html": ("<",),
    "entity": ("&",),
    "em_strong": ("*", "_"),
}


class _TriggeredInline(InlineProcessor):
    """``InlineProcessor`` whose per-text loop skips patterns by ``TRIGGERS``."""

    _patterns: list[Any]
    _triggers: list[tuple[str, ...] | None]

    def run(self, tree: Any, ancestors: list[str] | None = None) -> Any:
        # Taken per document: the registry's order could change between two of them,
        # and a plain list is indexed without the registry's sort check each time.
        registry = self.inlinePatterns
        self._patterns = list(registry)
        self._triggers = [None] * len(self._patterns)
        for name, strings in TRIGGERS.items():
            if name in registry:
                self._triggers[registry.get_index_for_name(name)] = strings
        return super().run(tree, ancestors)

    # Overrides upstream's private ``__handleInline`` (name-mangled), the loop itself.
    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:
        if isinstance(data, AtomicString):
            return data
        patterns, triggers = self._patterns, self._triggers
        apply = self._InlineProcessor__applyPattern  # type: ignore[attr-defined]
        start = 0
        count = len(patterns)
        while patternIndex < count:
            strings = triggers[patternIndex]
            if strings is not None and not any(s in data for s in strings):
                # Its expression finds nothing here: upstream would return (data, False, 0).
                patternIndex += 1
                start = 0
                continue
            data, matched, start = apply(patterns[patternIndex], data, patternIndex, start)
            if not matched:
                patternIndex += 1
        return data


def accelerate(md: markdown.Markdown) -> None:
    """Switch ``md``'s inline processor to the one that skips impossible patterns."""
    processor = md.treeprocessors["inline"]
    if type(processor) is InlineProcessor:
        processor.__class__ = _TriggeredInline

"""The placeholder text ``new`` writes, and where a document still carries it.

Input: a parsed document's front matter values and body. Output: a
``SiteError`` per line that is still exactly a placeholder of the file ``new``
wrote. A document that is not a draft is about to be published (now, or when
its embargo ends without anyone looking again), so its placeholders are
errors; a draft may keep them while it is being written. ``commands/scaffold.py``
writes its placeholders from here, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kldigital_site.errors import SiteError

PRESS_BODY = (
    "Der erste Absatz sagt das Wichtigste: wer, was, wann, wo und warum. Er "
    "erscheint auch in der Übersicht der Pressemitteilungen.\n\n"
    "## Zwischenüberschrift\n\n"
    "Weitere Einzelheiten, Zitate und Hintergründe.\n"
)
PROJECT_BODY = (
    "Worum geht es, wer macht mit, was ist das Ziel? Ein kurzer Absatz zum Einstieg.\n\n"
    "## Was sich ändert\n\n"
    "Was das Projekt für die Menschen in Kaiserslautern bringt.\n"
)
PAGE_BODY = "Text der Seite.\n"
# The pages BITV 2.0 asks for (accessibility/). The Leichte Sprache headings stay:
# ``explains:`` points at them.
EASY_LANGUAGE_BODY = (
    "Hier steht in Leichter Sprache, worum es auf dieser Seite geht.\n"
    "Schreiben Sie einen Satz in jede Zeile.\n\n"
    "## Was steht auf dieser Website?\n\n"
    "Worum es auf der Website geht.\n\n"
    "## Wie finde ich mich zurecht?\n\n"
    "Wo das Menü ist und was darin steht.\n\n"
    "## Was ist noch schwer?\n\n"
    "Was in der Erklärung zur Barriere-Freiheit steht.\n"
)
SIGN_LANGUAGE_BODY = (
    "Auf dieser Seite erklären wir in Deutscher Gebärdensprache, was auf der Website "
    "steht, wie man sich zurechtfindet und was in der Erklärung zur Barrierefreiheit "
    "steht.\n"
)
STATEMENT_BODY = (
    "Für welche Website diese Erklärung gilt und nach welchem Gesetz. Die Abschnitte der "
    "Mustererklärung setzt die Website aus den Angaben oben zusammen.\n"
)
PROJECT_SUMMARY = "Worum es im Projekt geht, in ein bis zwei Sätzen."
# Example values of commented-out fields that are text, not a choice or an id.
SUMMARY_EXAMPLE = "Ein bis zwei Sätze."
SUBTITLE_EXAMPLE = "Unterzeile"
IMAGE_ALT_EXAMPLE = "Was auf dem Bild zu sehen ist"
CAPTION_EXAMPLE = "Was das Bild zeigt, in einem Satz"

# "## Was sich ändert" is a heading an editor may well keep; the generic one is not.
# The Leichte Sprache headings are what ``explains:`` points at: they are meant to stay.
_KEPT_HEADINGS = frozenset(
    ["## Was sich ändert", *(x for x in EASY_LANGUAGE_BODY.splitlines() if x.startswith("## "))]
)
_BODY_LINES = frozenset(
    line
    for body in (
        PRESS_BODY,
        PROJECT_BODY,
        PAGE_BODY,
        EASY_LANGUAGE_BODY,
        SIGN_LANGUAGE_BODY,
        STATEMENT_BODY,
    )
    for line in body.splitlines()
    if line and line not in _KEPT_HEADINGS
)
_VALUES = frozenset(
    {PROJECT_SUMMARY, SUMMARY_EXAMPLE, SUBTITLE_EXAMPLE, IMAGE_ALT_EXAMPLE, CAPTION_EXAMPLE}
)


def _shortened(text: str) -> str:
    return text if len(text) <= 40 else text[:40].rsplit(" ", 1)[0] + " …"


def find_placeholders(
    path: str,
    meta: Mapping[str, Any],
    lines: Mapping[str, int],
    body: str,
    body_first_line: int,
) -> list[SiteError]:
    """Every placeholder of ``new`` still in the document, at its line."""
    found: list[SiteError] = []
    for key, value in meta.items():
        if isinstance(value, str) and value in _VALUES:
            found.append(
                SiteError(
                    path,
                    lines.get(key, 0),
                    f"„{key}“ ist noch der Platzhalter der Vorlage („{value}“); bitte "
                    "durch eigenen Text ersetzen, bevor veröffentlicht wird (oder draft: true).",
                )
            )
    for number, line in enumerate(body.splitlines(), start=body_first_line):
        if line.strip() in _BODY_LINES:
            found.append(
                SiteError(
                    path,
                    number,
                    f"Platzhaltertext der Vorlage („{_shortened(line.strip())}“); bitte "
                    "ersetzen oder löschen, bevor veröffentlicht wird (oder draft: true).",
                )
            )
    return found

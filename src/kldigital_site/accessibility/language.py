"""Language tags of foreign-language passages (WCAG 3.1.2, ``lang`` attributes).

Input: the value of a ``lang`` attribute an editor wrote. Output: None when it is
a language tag browsers and screen readers understand (BCP 47 language, optional
script and region, e.g. ``en``, ``en-GB``, ``sr-Latn``), else the German reason.
The language must be one CLDR knows (via Babel), so ``english`` or ``xx`` fail.
"""

from __future__ import annotations

import re
from functools import cache

_FORM = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z]{4})?(-(?:[A-Za-z]{2}|\d{3}))?")


@cache
def language_problem(tag: str) -> str | None:
    if not _FORM.fullmatch(tag):
        return (
            f"Sprachangabe lang=„{tag}“ ist kein Sprachkürzel "
            "(z. B. en, fr, en-GB; mit Bindestrich, ohne Leerzeichen)"
        )
    # Imported here: Babel costs a command-line build ~10 ms, and few pages have a
    # passage in another language (issue 15).
    from babel import Locale, UnknownLocaleError

    try:
        Locale.parse(tag, sep="-")
    except (UnknownLocaleError, ValueError):
        return f"Sprachangabe lang=„{tag}“: diese Sprache ist nicht bekannt (z. B. en, fr, tr, ar)"
    return None

"""German-aware slugs for file names, URLs, topics and heading anchors.

Python-Markdown's own ``slugify`` drops umlauts ("Straße" → "strae"); German
readers expect the transliteration "strasse", as in the contract.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_TRANSLITERATION = str.maketrans(
    {
        "ä": "ae",
        "ö": "oe",
        "ü": "ue",
        "Ä": "Ae",
        "Ö": "Oe",
        "Ü": "Ue",
        "ß": "ss",
        "ẞ": "SS",
    }
)
_NON_WORD = re.compile(r"[^a-z0-9]+")
PLAIN_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@lru_cache(maxsize=8192)
def slugify(text: str, separator: str = "-") -> str:
    """Lower-case ASCII slug: ä→ae, ö→oe, ü→ue, ß→ss, other marks dropped."""
    text = unicodedata.normalize("NFC", text).translate(_TRANSLITERATION)
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NON_WORD.sub(separator, ascii_text.lower()).strip(separator)


def is_plain_slug(value: str) -> bool:
    """True for a slug that is safe as one URL path segment and one folder name."""
    return bool(PLAIN_SLUG.match(value))

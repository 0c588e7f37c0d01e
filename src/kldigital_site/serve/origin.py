"""The preview's address in its pages: one fixed origin on disk, the real one when served.

Input: the bytes of a served file and the origin the preview listens on
(``http://127.0.0.1:8123``). Output: the same bytes with every absolute link
(canonical, feeds, sitemap, the "Barriere melden" mail, the newsroom's files)
pointing at that origin.

The preview builds with ``PREVIEW_ORIGIN`` as its base URL, not with the
origin it happens to listen on: the port is part of the origin, and a start on
another port (``--port``, a free port picked by a script) would otherwise
change every page and the key of every rendered body — a full rebuild of
10,000 items on every start (issue 15). Replacing the origin while answering
is the same kind of serve-time change as the injected reload script.
"""

from __future__ import annotations

import re
from functools import cache
from urllib.parse import quote

# A reserved top-level domain (RFC 2606): never a real site, never in an editor's text.
PREVIEW_ORIGIN = "http://preview.kldigital.invalid"


@cache
def _pattern(folded: bool) -> re.Pattern[bytes]:
    forms = [PREVIEW_ORIGIN, quote(PREVIEW_ORIGIN, safe="")]
    if folded:
        # Quoted-printable soft breaks (.eml, ``=\r\n``) and vCard folding (``\r\n ``)
        # may fall anywhere inside the address.
        gap = rb"(?:=\r?\n|\r?\n[ \t])?"
        alternatives = [gap.join(re.escape(c.encode()) for c in form) for form in forms]
    else:
        alternatives = [re.escape(form.encode()) for form in forms]
    return re.compile(b"|".join(b"(" + a + b")" for a in alternatives), re.IGNORECASE)


def with_origin(data: bytes, origin: str, *, folded: bool = False) -> bytes:
    """``data`` with the preview's fixed origin replaced by ``origin`` (plain and
    percent-encoded; ``folded``: also where a mail or vCard line break splits it)."""
    if origin == PREVIEW_ORIGIN:
        return data
    plain, encoded = origin.encode(), quote(origin, safe="").encode()
    return _pattern(folded).sub(lambda m: plain if m.group(1) is not None else encoded, data)

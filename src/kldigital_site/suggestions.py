""" "Meinten Sie …?": the known name or file an editor probably meant.

Input: a name, path or address that is not known, and the ones that are.
Output: the closest of them, or None. One helper for every stage that reports
an unknown name (ids in model.py, image paths in model.py, link and image paths
in Markdown bodies in markdown/bodies.py), so the suggestions follow one rule.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

# difflib's ratio above which a name counts as a typo of another: "smart-parkin" for
# "smart-parking" (0.96) yes, "presse" for "projekte" (0.43) no.
_CLOSE_ENOUGH = 0.75
_DIGITS = re.compile(r"\d+")


def closest_name(wrong: str, known: Iterable[str]) -> str | None:
    """The known name that differs only in case, else the closest typo match, else None."""
    candidates = sorted(known)
    folded = {c.casefold(): c for c in candidates}
    close = folded.get(wrong.casefold())
    if close is None:
        matches = difflib.get_close_matches(wrong, candidates, n=1, cutoff=_CLOSE_ENOUGH)
        close = matches[0] if matches else None
    return close


def did_you_mean(wrong: str, known: Iterable[str]) -> str:
    """ " Meinten Sie „presse“?" for the closest known name, or nothing."""
    close = closest_name(wrong, known)
    return f" Meinten Sie „{close}“?" if close is not None else ""


def near_file(wanted: str, existing: Iterable[str]) -> str | None:
    """The file ``wanted`` probably means: one that differs only in case or extension
    (``open-data-portal.jpg`` for ``Open-Data-Portal.JPG``, ``plan.jpg`` for ``plan.jpeg``)."""
    folder, _, name = wanted.rpartition("/")
    stem = name.rsplit(".", 1)[0].casefold()
    same_case, same_stem = None, None
    for path in sorted(existing):
        there, _, other = path.rpartition("/")
        if there.casefold() != folder.casefold():
            continue
        if other.casefold() == name.casefold():
            same_case = same_case or path
        elif other.rsplit(".", 1)[0].casefold() == stem:
            same_stem = same_stem or path
    return same_case or same_stem


def near_path(wanted: str, existing: Iterable[str]) -> str | None:
    """The site path ``wanted`` (a file or a page address ending in "/") probably means:
    one that differs in case or extension (``near_file``), else a typo among those in
    the same folder (``/projekte/smart-parkin/`` → ``/projekte/smart-parking/``), else a
    typo anywhere. A page address is compared with and without its final "/"."""
    known = sorted(existing)
    near = near_file(wanted, known)
    if near is not None:
        return near
    folder = wanted.rstrip("/").rpartition("/")[0]
    # The same folder first: at 10,000 pages a typo is compared with a few hundred
    # addresses, not all of them, and a near name in another section is a worse guess.
    beside = [p for p in known if p.rstrip("/").rpartition("/")[0] == folder]
    # Elsewhere only as deep: "/projekte/" is the section of a missing "/projekte/neu/",
    # not what its author mistyped.
    depth = wanted.rstrip("/").count("/")
    known = [p for p in known if p.rstrip("/").count("/") == depth]
    forms = (wanted,) if wanted.endswith("/") else (wanted, f"{wanted}/")
    for candidates in (beside, known):
        for form in forms:
            close = closest_name(form, [c for c in candidates if not _other_number(c, form)])
            if close is not None:
                return close
    return None


def _other_number(one: str, other: str) -> bool:
    """``presse/2023/`` and ``presse/2024/``: another year or page, not a typo."""
    return one != other and _DIGITS.sub("", one) == _DIGITS.sub("", other)

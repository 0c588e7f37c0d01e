"""Where an image is used: the value the body and front-matter stages hand to media/.

Input: nothing. Output: the ``ImageUse`` type (a path, a line, the credit given there).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ImageUse:
    """One place that shows an image: a front-matter key or a Markdown image."""

    src: str  # path relative to content/, inside medien/
    path: str  # the using file, relative to the site root
    line: int
    credit: str | None
    credit_hint: str  # how to give the credit here, for the error message
    item: str | None = None

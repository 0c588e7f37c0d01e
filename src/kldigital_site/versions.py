"""Versions of the installed libraries, from the names of their ``.dist-info`` folders.

Input: a distribution's name. Output: its version as installed, or its requirements
(``Requires-Dist``). What ``importlib.metadata`` gives, without loading it and the
``email`` parser it reads each ``METADATA`` file with: a wheel installs
``<name>-<version>.dist-info`` (the binary distribution format), so one listing of
each folder on ``sys.path`` names every version. A build asks for a dozen (cache.py
``installed_versions``, the search's keys); with ``importlib.metadata`` that was
~10 ms of every build at 10,000 items (issue 15). A name not found that way, or
found twice in one folder or beside an ``.egg-info``, is asked of
``importlib.metadata``, as is every name where ``sys.path`` holds no plain folders.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from pathlib import Path

_SEPARATORS = re.compile(r"[-_.]+")
_DIST_INFO = ".dist-info"
_EGG_INFO = ".egg-info"


def _normal(name: str) -> str:
    return _SEPARATORS.sub("_", name).lower()


@functools.cache
def _installed() -> dict[str, tuple[str, Path] | None]:
    """Per normalised name its version and folder, the first on ``sys.path``; None where
    the listing alone cannot tell (asked of ``importlib.metadata``)."""
    found: dict[str, tuple[str, Path] | None] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:  # no folder (a zip file), or gone
            continue
        here: dict[str, tuple[str, Path] | None] = {}
        for name in names:
            if name.endswith(_DIST_INFO):
                stem, _, version = name[: -len(_DIST_INFO)].rpartition("-")
                key = _normal(stem)
                known = key in here
                here[key] = None if known or not stem else (version, Path(entry or ".", name))
            elif name.endswith(_EGG_INFO):
                here[_normal(name[: -len(_EGG_INFO)].partition("-")[0])] = None
        for key, value in here.items():
            found.setdefault(key, value)
    return found


def version(distribution: str) -> str | None:
    """The installed version of ``distribution``; None when it is not installed."""
    known = _installed().get(_normal(distribution))
    if known is not None:
        return known[0]
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def requirements(distribution: str) -> list[str] | None:
    """The ``Requires-Dist`` entries of ``distribution``; None when it is not installed."""
    known = _installed().get(_normal(distribution))
    if known is not None:
        try:
            text = (known[1] / "METADATA").read_text(encoding="utf-8")
        except (OSError, ValueError):
            text = None
        if text is not None:
            headers = text.replace("\r\n", "\n").split("\n\n", 1)[0]
            return [
                line.partition(":")[2].strip()
                for line in headers.split("\n")
                if line.startswith("Requires-Dist:")
            ]
    from importlib import metadata

    try:
        return metadata.requires(distribution) or []
    except metadata.PackageNotFoundError:
        return None

"""Issue 18: what a press officer trips over.

German periods by the current date ("ab" before a project starts, "seit" after),
draft and embargo labels on the preview's cards (never in a normal build), the
approval preview (``build --preview``) and the brand theme's contrast check.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.conftest import build_site_at

MakeSite = Callable[[Mapping[str, str | bytes]], Path]
BERLIN = ZoneInfo("Europe/Berlin")

STARTING = {
    "content/projekte/start-2027.md": """\
    ---
    title: Startet im Januar
    summary: Ein Projekt, das noch nicht begonnen hat.
    start: 2027-01
    ---
    Text.
    """
}


def test_a_project_reads_ab_until_it_starts_then_seit(make_site: MakeSite) -> None:
    root = make_site(STARTING)
    listing = root / "output/projekte/index.html"
    before = build_site_at(root, now=dt.datetime(2026, 12, 31, 22, 0, tzinfo=BERLIN))
    assert "ab Januar 2027" in listing.read_text(encoding="utf-8")
    # The start is a change of the site like an embargo's end: the unchanged-input
    # shortcut must not keep "ab" after it.
    assert before.next_change == dt.datetime(2027, 1, 1, tzinfo=BERLIN)
    build_site_at(root, now=dt.datetime(2027, 1, 1, 0, 0, tzinfo=BERLIN))
    html = listing.read_text(encoding="utf-8")
    assert "seit Januar 2027" in html and "ab Januar 2027" not in html

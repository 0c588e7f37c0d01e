"""German dates: the fast long form says exactly what Babel's pattern says."""

from __future__ import annotations

import datetime as dt

from babel.dates import format_date

from kldigital_site.content.schema import PartialDate
from kldigital_site.render.dates import date_long, period_text
from kldigital_site.render.views import shorten


def test_long_dates_match_babel_for_every_month() -> None:
    days = [
        dt.date(year, month, day)
        for year in (987, 2021, 2027)
        for month in range(1, 13)
        for day in (1, 9, 28)
    ]
    for day in days:
        assert date_long(day) == format_date(day, "d. MMMM y", locale="de_DE")
    assert date_long(dt.datetime(2021, 3, 5, 23, 30)) == "5. März 2021"


def test_a_project_not_yet_started_reads_ab_then_seit() -> None:
    start = PartialDate(2027, 1)
    assert period_text(start, None, dt.date(2026, 12, 31)) == "ab Januar 2027"
    assert period_text(start, None, dt.date(2027, 1, 1)) == "seit Januar 2027"
    assert period_text(PartialDate(2027, 3, 15), None, dt.date(2027, 3, 14)) == "ab 15. März 2027"
    assert period_text(None, PartialDate(2027, 1), dt.date(2026, 1, 1)) == "bis Januar 2027"
    both = period_text(PartialDate(2027, 1), PartialDate(2028, 12), dt.date(2026, 1, 1))
    assert both == "Januar 2027 – Dezember 2028"


def test_a_shortened_description_ends_in_a_whole_word_and_single_spaces() -> None:
    words = "Die Stadt  erprobt neue  Wege –  " + "Beteiligung " * 30
    text = shorten(words + "Straßenbeleuchtung am Ende", 80)
    assert text.endswith(" …") and "  " not in text
    assert len(text) <= 82
    kept = text.removesuffix(" …").split(" ")
    assert all(word in words.split() for word in kept)  # no word cut in half
    # A dash standing before the cut is dropped, not left dangling.
    assert shorten("Eins zwei drei – vier fünf sechs", 18) == "Eins zwei drei …"
    assert shorten("Eins, zwei, drei, vier", 12) == "Eins, zwei …"
    assert shorten("kurz", 80) == "kurz"

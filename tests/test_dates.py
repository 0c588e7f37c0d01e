"""German dates: the fast long form says exactly what Babel's pattern says."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time

from kldigital_site.content.schema import PartialDate
from kldigital_site.render.dates import (
    date_long,
    date_short,
    date_time_long,
    month_year,
    period_text,
)
from kldigital_site.render.views import shorten

# Every month, at the start, middle and end, in a three-digit year and two others.
DAYS = [
    dt.date(year, month, day)
    for year in (987, 2021, 2027)
    for month in range(1, 13)
    for day in (1, 9, 28)
]


def test_long_dates_match_babel_for_every_month() -> None:
    for day in DAYS:
        assert date_long(day) == format_date(day, "d. MMMM y", locale="de_DE")
    assert date_long(dt.datetime(2021, 3, 5, 23, 30)) == "5. März 2021"


def test_short_dates_months_and_times_match_babel() -> None:
    """What the pages show is what Babel makes of each pattern, in every month."""
    for day in DAYS:
        assert date_short(day) == format_date(day, "dd.MM.y", locale="de_DE")
        assert month_year(day) == format_date(day, "MMMM y", locale="de_DE")
    berlin = ZoneInfo("Europe/Berlin")
    moments = [
        dt.datetime(2027, month, 1, hour, minute, tzinfo=zone)
        for month in (1, 3, 7, 10, 12)
        for hour, minute in ((0, 0), (9, 5), (10, 0), (23, 59))
        for zone in (None, berlin, dt.UTC)
    ]
    for moment in moments:
        babel = f"{date_long(moment)}, {format_time(moment, 'HH:mm', locale='de_DE')} Uhr"
        assert date_time_long(moment) == babel
        assert date_short(moment) == format_date(moment.date(), "dd.MM.y", locale="de_DE")
    opening = dt.datetime(2027, 3, 1, 10, 0, tzinfo=berlin)
    assert date_time_long(opening) == "1. März 2027, 10:00 Uhr"


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

"""German dates in the patterns of Babel's (CLDR's) "de_DE", independent of the
machine's locale.

Written out here rather than asked of Babel at each call: ``babel.dates`` costs
every command-line build ~13 ms to import (it finds the machine's time zone as it
loads, ``babel.localtime``) and the German locale data ~10 ms more, for four
patterns of digits and twelve month names (issue 15). tests/test_dates.py checks
every function against Babel's own formatting.
"""

from __future__ import annotations

import datetime as dt

from kldigital_site.content.schema import PartialDate

# CLDR "de", months in the format context, wide: Babel's
# ``Locale.parse("de_DE").months["format"]["wide"]``.
_MONTHS = (
    "",
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
)


def _as_date(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def date_long(value: dt.date | dt.datetime) -> str:
    """25. Juni 2021 (Babel's "d. MMMM y")"""
    day = _as_date(value)
    return f"{day.day}. {_MONTHS[day.month]} {day.year}"


def date_short(value: dt.date | dt.datetime) -> str:
    """25.06.2021 (Babel's "dd.MM.y")"""
    day = _as_date(value)
    return f"{day.day:02d}.{day.month:02d}.{day.year}"


def month_year(value: dt.date | dt.datetime) -> str:
    """Juni 2021 (Babel's "MMMM y")"""
    day = _as_date(value)
    return f"{_MONTHS[day.month]} {day.year}"


def date_time_long(value: dt.datetime) -> str:
    """1. März 2027, 10:00 Uhr (Babel's "HH:mm" of the time as given: Babel converts
    only to a zone it is passed, and it is passed none)"""
    return f"{date_long(value)}, {value.hour:02d}:{value.minute:02d} Uhr"


def iso(value: dt.date | dt.datetime) -> str:
    return value.isoformat()


def partial_date_text(value: PartialDate) -> str:
    if value.day is None:
        return month_year(value.first_day())
    return date_long(value.first_day())


def period_text(start: PartialDate | None, end: PartialDate | None, today: dt.date) -> str | None:
    """Laufzeit of a project: "Januar 2021 – Dezember 2023", "seit …" (or "ab …"
    while it has not started on ``today``), "bis …"."""
    if start and end:
        return f"{partial_date_text(start)} – {partial_date_text(end)}"
    if start:
        since = "ab" if start.first_day() > today else "seit"
        return f"{since} {partial_date_text(start)}"
    if end:
        return f"bis {partial_date_text(end)}"
    return None

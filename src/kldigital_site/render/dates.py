"""German dates via Babel, independent of the machine's locale.

Babel is imported at the first date a build formats, not with this module: loading
``babel.dates`` finds the machine's time zone (``babel.localtime``) and the German
locale data, ~20 ms that a build which renders no page (nothing changed) need not
pay (issue 15).
"""

from __future__ import annotations

import datetime as dt
import functools
from types import ModuleType

from kldigital_site.content.schema import PartialDate

_LOCALE = "de_DE"


@functools.cache
def _babel_dates() -> ModuleType:
    import babel.dates

    return babel.dates


# Babel's month names, looked up once: format_date parses its pattern and locale on
# every call (~60 µs), and a site with 10,000 releases asks for 10,000 dates.
@functools.cache
def _months() -> dict[int, str]:
    from babel import Locale

    return dict(Locale.parse(_LOCALE).months["format"]["wide"].items())


def _as_date(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def date_long(value: dt.date | dt.datetime) -> str:
    """25. Juni 2021 (Babel's "d. MMMM y")"""
    day = _as_date(value)
    return f"{day.day}. {_months()[day.month]} {day.year}"


def date_short(value: dt.date | dt.datetime) -> str:
    """25.06.2021"""
    return str(_babel_dates().format_date(_as_date(value), "dd.MM.y", locale=_LOCALE))


def month_year(value: dt.date | dt.datetime) -> str:
    """Juni 2021"""
    return str(_babel_dates().format_date(_as_date(value), "MMMM y", locale=_LOCALE))


def date_time_long(value: dt.datetime) -> str:
    """1. März 2027, 10:00 Uhr"""
    time = _babel_dates().format_time(value, "HH:mm", locale=_LOCALE)
    return f"{date_long(value)}, {time} Uhr"


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

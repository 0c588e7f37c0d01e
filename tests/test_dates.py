"""German dates: the fast long form says exactly what Babel's pattern says."""

from __future__ import annotations

import datetime as dt

from babel.dates import format_date

from kldigital_site.render.dates import date_long


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

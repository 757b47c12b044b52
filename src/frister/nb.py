"""Norwegian (bokmål) formatting of numbers, shares, dates and months, in one place.

Every report, e-mail and page writes them alike, through Babel's ``nb_NO`` locale data:
``1 234`` (a no-break space between thousands), ``12,5``, ``96,4 %``, ``23.11.2025``,
``november 2025``. None is ``–`` for a number and empty for a date.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from babel.dates import format_date
from babel.numbers import format_decimal

LOCALE = "nb_NO"


def num(value: int | float | None, decimals: int = 0) -> str:
    if value is None:
        return "–"
    return format_decimal(value, format="#,##0" + ("." + "0" * decimals if decimals else ""), locale=LOCALE)


def pct(share: float | None, decimals: int = 1) -> str:
    """``0.964`` → ``96,4 %``."""
    return "–" if share is None else num(100 * share, decimals) + "\u00a0%"


def dato(day: dt.date | None) -> str:
    """``23.11.2025`` (digits only: no locale data needed, and a digest has thousands)."""
    return day.strftime("%d.%m.%Y") if day else ""


def month_text(day: dt.date) -> str:
    """``november 2025``."""
    return _month_text(day.year, day.month)


@lru_cache(maxsize=1024)
def _month_text(year: int, month: int) -> str:
    return format_date(dt.date(year, month, 1), "LLLL y", locale=LOCALE)


def month_short(day: dt.date) -> str:
    """``nov 25``: a month on a chart's axis."""
    return f"{format_date(day, 'LLL', locale=LOCALE).rstrip('.')} {day.strftime('%y')}"


def period_text(label: str) -> str:
    """A calendar period as leaders write it: ``2026-H1`` → ``1. halvår 2026``,
    ``2026-Q3`` → ``3. kvartal 2026``; any other label unchanged."""
    if len(label) == 7 and label[4] == "-" and label[5] in "HQ" and label[6].isdigit():
        return f"{label[6]}. {'halvår' if label[5] == 'H' else 'kvartal'} {label[:4]}"
    return label


def span_text(start: dt.date, end: dt.date) -> str:
    """An arbitrary period: ``01.01–30.05 2023`` within a year, else ``01.12.2022–30.05.2023``."""
    if start.year == end.year:
        return f"{start:%d.%m}–{end:%d.%m} {end.year}"
    return f"{dato(start)}–{dato(end)}"

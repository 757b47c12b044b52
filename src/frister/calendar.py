"""Period arithmetic for legal deadlines.

Policy (RULES.md, "General semantics"):

* Deadlines are calendar ``date`` objects; no times, no time zones.
* ``N days`` and ``N weeks`` add calendar days (1 week = 7 days).
* ``N months`` (and ``N years`` = 12·N months) are added **in one step from the start
  date** and clamped to the last day of the target month when the day does not exist:
  31 Jan + 1 month = 28 Feb (29 Feb in a leap year); 30 Nov + 3 months = 28/29 Feb;
  29 Feb 2024 + 1 year = 28 Feb 2025. This matches domstolloven § 148 (2).
  Month additions are never chained: ``add(add(d, 1 month), 1 month)`` may differ
  from ``add(d, 2 months)`` (31 Jan → 28 Feb → 28 Mar, but 31 Jan + 2 months = 31 Mar).
* There is no roll-forward over weekends or holidays unless a rule opts in; then
  :func:`next_working_day` moves a due date to the next day that is neither a
  Saturday, a Sunday nor a Norwegian public holiday.
* Visit periods are calendar half-years (``2025-H1`` = 1 Jan–30 Jun, ``2025-H2`` =
  1 Jul–31 Dec) and calendar quarters (``2025-Q1`` … ``2025-Q4``). A period's due
  date is its last day.
"""

from __future__ import annotations

import calendar as _stdcal
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Iterator, Literal

Unit = Literal["days", "weeks", "months", "years"]

_PERIOD_RE = re.compile(r"^\s*(\d+)\s+(day|days|week|weeks|month|months|year|years)\s*$")


@dataclass(frozen=True, slots=True)
class Period:
    """A legal period such as ``3 months`` or ``1 week``. Always non-negative."""

    amount: int
    unit: Unit

    @classmethod
    def parse(cls, text: str) -> "Period":
        """Parse ``"<n> days|weeks|months|years"`` (singular allowed). Raises ValueError."""
        if not isinstance(text, str):
            raise ValueError("expected a period such as '3 months' or '1 week'")
        m = _PERIOD_RE.match(text)
        if not m:
            raise ValueError("expected a period such as '3 months' or '1 week'")
        amount = int(m.group(1))
        unit = m.group(2)
        if not unit.endswith("s"):
            unit += "s"
        return cls(amount, unit)  # type: ignore[arg-type]

    def __str__(self) -> str:
        unit = self.unit[:-1] if self.amount == 1 else self.unit
        return f"{self.amount} {unit}"

    @property
    def norwegian(self) -> str:
        """The period in bokmål, for explanations and reports."""
        words = {
            "days": ("dag", "dager"),
            "weeks": ("uke", "uker"),
            "months": ("måned", "måneder"),
            "years": ("år", "år"),
        }[self.unit]
        return f"{self.amount} {words[0] if self.amount == 1 else words[1]}"

    def months(self) -> int | None:
        """The period in months for month/year periods, else None."""
        if self.unit == "months":
            return self.amount
        if self.unit == "years":
            return 12 * self.amount
        return None


_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def days_in_month(year: int, month: int) -> int:
    if month == 2 and _stdcal.isleap(year):
        return 29
    return _MONTH_DAYS[month - 1]


def add_months(start: date, months: int) -> date:
    """Add (or subtract, for negative ``months``) calendar months, clamping to month end."""
    index = start.year * 12 + (start.month - 1) + months
    year, month0 = divmod(index, 12)
    month = month0 + 1
    return date(year, month, min(start.day, days_in_month(year, month)))


def add_period(start: date, period: Period) -> date:
    """``start`` plus ``period``, in one step (see the module policy)."""
    if period.unit == "days":
        return start + timedelta(days=period.amount)
    if period.unit == "weeks":
        return start + timedelta(weeks=period.amount)
    return add_months(start, period.months())  # type: ignore[arg-type]


def subtract_period(start: date, period: Period) -> date:
    """``start`` minus ``period`` (used for lead times such as 'six months before 18')."""
    if period.unit == "days":
        return start - timedelta(days=period.amount)
    if period.unit == "weeks":
        return start - timedelta(weeks=period.amount)
    return add_months(start, -period.months())  # type: ignore[operator]


def birthday(birth_date: date, years: int) -> date:
    """The date a person born on ``birth_date`` turns ``years``.

    Someone born on 29 February turns a year older on 28 February in common years
    (the same month-end clamp as :func:`add_months`; this is the convention used by
    the Norwegian population register for age limits).
    """
    return add_months(birth_date, 12 * years)


def age_on(birth_date: date, on: date) -> int:
    """Completed years of age on ``on``."""
    years = on.year - birth_date.year
    if birthday(birth_date, years) > on:
        years -= 1
    return years


# --- working days -----------------------------------------------------------------


@lru_cache(maxsize=64)
def _norwegian_holidays(year: int) -> frozenset[date]:
    import holidays  # imported lazily: only rules that opt in need it

    return frozenset(holidays.country_holidays("NO", years=year, include_sundays=False).keys())


def is_working_day(day: date) -> bool:
    """True unless ``day`` is a Saturday, a Sunday or a Norwegian public holiday."""
    return day.weekday() < 5 and day not in _norwegian_holidays(day.year)


def next_working_day(day: date) -> date:
    """``day`` itself if it is a working day, else the next working day."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


# --- calendar periods ---------------------------------------------------------------

PeriodKind = Literal["H", "Q"]


@dataclass(frozen=True, slots=True, order=True)
class CalendarPeriod:
    """A calendar half-year or quarter, e.g. ``2025-H1`` or ``2025-Q3``."""

    start: date
    end: date
    label: str

    @property
    def kind(self) -> PeriodKind:
        return self.label[5]  # type: ignore[return-value]

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def quarters(self) -> tuple["CalendarPeriod", ...]:
        """The quarters making up this period (itself for a quarter)."""
        return _quarters_of(self)


@lru_cache(maxsize=1024)
def half_year(year: int, half: int) -> CalendarPeriod:
    if half == 1:
        return CalendarPeriod(date(year, 1, 1), date(year, 6, 30), f"{year}-H1")
    if half == 2:
        return CalendarPeriod(date(year, 7, 1), date(year, 12, 31), f"{year}-H2")
    raise ValueError("half must be 1 or 2")


@lru_cache(maxsize=2048)
def quarter(year: int, q: int) -> CalendarPeriod:
    if not 1 <= q <= 4:
        raise ValueError("quarter must be 1..4")
    start = date(year, 3 * q - 2, 1)
    end_month = 3 * q
    return CalendarPeriod(start, date(year, end_month, days_in_month(year, end_month)), f"{year}-Q{q}")


@lru_cache(maxsize=2048)
def _quarters_of(period: CalendarPeriod) -> tuple[CalendarPeriod, ...]:
    if period.kind == "Q":
        return (period,)
    first = 1 if period.start.month == 1 else 3
    return (quarter(period.start.year, first), quarter(period.start.year, first + 1))


def half_year_of(day: date) -> CalendarPeriod:
    return half_year(day.year, 1 if day.month <= 6 else 2)


def quarter_of(day: date) -> CalendarPeriod:
    return quarter(day.year, (day.month - 1) // 3 + 1)


def parse_period_label(label: str) -> CalendarPeriod:
    """Parse ``YYYY-H1``/``YYYY-H2``/``YYYY-Qn``. Raises ValueError."""
    m = re.fullmatch(r"(\d{4})-(H[12]|Q[1-4])", label or "")
    if not m:
        raise ValueError("expected a period such as 2025-H1 or 2025-Q3")
    year, part = int(m.group(1)), m.group(2)
    return half_year(year, int(part[1])) if part[0] == "H" else quarter(year, int(part[1]))


def half_years_from(start: date) -> Iterator[CalendarPeriod]:
    """Consecutive half-years, beginning with the one containing ``start``."""
    period = half_year_of(start)
    while True:
        yield period
        period = half_year_of(period.end + timedelta(days=1))


def quarters_from(start: date) -> Iterator[CalendarPeriod]:
    """Consecutive quarters, beginning with the one containing ``start``."""
    period = quarter_of(start)
    while True:
        yield period
        period = quarter_of(period.end + timedelta(days=1))

"""Period arithmetic for legal deadlines.

Policy (RULES.md, "General semantics"):

* Deadlines are calendar ``date`` objects; no times, no time zones.
* ``N days`` and ``N weeks`` add calendar days (1 week = 7 days).
* ``N months`` (and ``N years`` = 12·N months) are added **in one step from the start
  date** and clamped to the last day of the target month when the day does not exist:
  31 Jan + 1 month = 28 Feb (29 Feb in a leap year); 30 Nov + 3 months = 28/29 Feb;
  29 Feb 2024 + 1 year = 28 Feb 2025. This matches domstolloven § 148 (2). A birthday is
  not a period: someone born on 29 February turns a year older on 1 March in common
  years (:func:`birthday`).
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
from typing import Iterable, Iterator, Literal

import numpy as np

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

# --- day numbers --------------------------------------------------------------------
# The evaluator works on whole columns of dates at once, as int64 day numbers (days
# since 1970-01-01). :data:`NONE` stands for "no date" and is larger than every real
# day, so ``day <= as_of`` is False for it and "known as of" is one comparison. The
# arithmetic below is written once, with operators that mean the same on a Python int
# and on a numpy array (``12 * (m > 2)`` is the "if"); given a ``date``, a function
# computes on its day number and returns a ``date``.

NONE = np.int64(1 << 40)
_EPOCH = date(1970, 1, 1).toordinal()


def to_day(d: date | None) -> int:
    return int(NONE) if d is None else d.toordinal() - _EPOCH


def from_day(x) -> date | None:
    return None if x >= NONE else date.fromordinal(int(x) + _EPOCH)


def days(values: Iterable[date | None]) -> np.ndarray:
    """Dates (None: no date) as a day-number array."""
    return np.fromiter((to_day(v) for v in values), dtype=np.int64)


def known(d: np.ndarray, as_of: int) -> np.ndarray:
    """The days that had happened by ``as_of``; the others become :data:`NONE`."""
    return np.where(d <= as_of, d, NONE)


def civil(d):
    """Day numbers as ``(year, month, day)`` (the proleptic Gregorian calendar)."""
    z = d + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153  # months counted from March
    month = mp + 3 - 12 * (mp >= 10)
    return yoe + era * 400 + (month <= 2), month, doy - (153 * mp + 2) // 5 + 1


def day_number(year, month, day):
    """``(year, month, day)`` as day numbers (the inverse of :func:`civil`)."""
    year = year - (month <= 2)
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + 9 - 12 * (month > 2)) + 2) // 5 + day - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def month_index(d):
    """``year * 12 + month - 1`` of real days."""
    year, month, _ = civil(d)
    return year * 12 + month - 1


def first_of_month(index):
    """The first day of the month ``year * 12 + month - 1``."""
    return day_number(index // 12, index % 12 + 1, 1)


def _real(d, value):
    """``value`` where ``d`` is a real day, :data:`NONE` where it is none (arrays)."""
    return np.where(d < NONE, value, NONE) if isinstance(d, np.ndarray) else value


def _scalar(fn):
    """Let ``fn`` (day numbers in, out) take and give a ``date`` as well."""

    def call(d, *args):
        if isinstance(d, date):
            return from_day(fn(to_day(d), *args))
        return fn(np.asarray(d, dtype=np.int64), *args)

    call.__doc__, call.__name__ = fn.__doc__, fn.__name__
    return call


@_scalar
def add_months(d, months):
    """Add (or subtract, for negative ``months``) calendar months in one step, clamping
    to the month's last day; :data:`NONE` stays :data:`NONE`."""
    year, month, day = civil(d)
    target = year * 12 + month - 1 + months
    first = first_of_month(target)
    last = first_of_month(target + 1) - first  # the target month's last day of the month
    return _real(d, first + day - 1 - (day - last) * (day > last))


@_scalar
def add_period(d, period: "Period"):
    """``d`` plus ``period``, in one step (see the module policy)."""
    if period.unit in ("days", "weeks"):
        return _real(d, d + period.amount * (7 if period.unit == "weeks" else 1))
    return add_months(d, period.months())


@_scalar
def subtract_period(d, period: "Period"):
    """``d`` minus ``period`` (lead times such as 'six months before 18')."""
    if period.unit in ("days", "weeks"):
        return _real(d, d - period.amount * (7 if period.unit == "weeks" else 1))
    return add_months(d, -period.months())


def days_in_month(year: int, month: int) -> int:
    if month == 2 and _stdcal.isleap(year):
        return 29
    return _MONTH_DAYS[month - 1]


@_scalar
def birthday(birth_date, years: int):
    """The day a person born on ``birth_date`` turns ``years`` (a date or day numbers).

    Someone born on 29 February turns a year older on 1 March in common years (RULES.md;
    U: no source found, the rule files say so)."""
    _, _, day = civil(birth_date)
    later = add_months(birth_date, 12 * years)
    _, _, on = civil(later)
    return _real(birth_date, later + (on < day))  # 29 February clamped to the 28th: the next day


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


def _next_working_day(day: date) -> date:
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


@_scalar
def next_working_day(d):
    """Each day itself if it is a working day, else the next working day."""
    if not isinstance(d, np.ndarray):
        return to_day(_next_working_day(from_day(d)))
    uniq, inverse = np.unique(d, return_inverse=True)
    mapped = np.array([x if x >= NONE else to_day(_next_working_day(from_day(x))) for x in uniq], dtype=np.int64)
    return mapped[inverse].reshape(d.shape)


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

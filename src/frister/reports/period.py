"""The period a report covers: a shortcut (a month, a half-year, a run of years) or any
``[start, end]``, parsed and checked in one place for every report.

Each report has its shortcut: the monthly report ``--month YYYY-MM``, the half-year
report ``--period YYYY-H1|H2``, the annual report ``--year Y [--years N]`` (the ``N``
calendar years ending with ``Y``). Every report takes ``--from/--to`` instead: both
days inclusive, the first not after the last; a shortcut and ``--from/--to`` together
are refused, as is only one of ``--from``/``--to``. A period given by ``--from/--to``
is titled by its days («Rapport 01.01–30.05 2023»), a shortcut by its name.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from frister.calendar import days_in_month, parse_period_label
from frister.errors import FristerError
from frister.nb import span_text

MAX_YEARS = 15  # the annual report's columns


@dataclass(frozen=True, slots=True)
class ReportPeriod:
    """Days ``start``–``end`` (inclusive); ``shortcut`` names it when a shortcut gave it
    (``2025-11``, ``2025-H1``, ``2021–2025``), None for ``--from/--to``."""

    start: dt.date
    end: dt.date
    shortcut: str | None = None

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise FristerError("--to must not be before --from")

    @property
    def custom(self) -> bool:
        return self.shortcut is None

    @property
    def label(self) -> str:
        """The shortcut, else the ISO 8601 interval ``2023-01-01/2023-05-30``."""
        return self.shortcut or f"{self.start.isoformat()}/{self.end.isoformat()}"

    @property
    def text(self) -> str:
        """``01.01–30.05 2023`` (:func:`frister.nb.span_text`)."""
        return span_text(self.start, self.end)

    def as_json(self) -> dict:
        return {"label": self.label, "start": self.start, "end": self.end, "custom": self.custom}


def month(text: str) -> ReportPeriod:
    """``YYYY-MM``: the calendar month."""
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text or ""):
        raise FristerError("--month: expected a month YYYY-MM, e.g. 2025-11")
    year, number = int(text[:4]), int(text[5:])
    return ReportPeriod(dt.date(year, number, 1), dt.date(year, number, days_in_month(year, number)), text)


def half_year(text: str) -> ReportPeriod:
    """``YYYY-H1``/``YYYY-H2``: the calendar half-year."""
    try:
        period = parse_period_label(text)
    except ValueError:
        period = None
    if period is None or period.kind != "H":
        raise FristerError("--period: expected a half-year such as 2025-H1")
    return ReportPeriod(period.start, period.end, period.label)


def years(last: int, count: int) -> ReportPeriod:
    """The ``count`` calendar years ending with ``last``."""
    if not 1 <= count <= MAX_YEARS:
        raise FristerError(f"--years: expected 1 to {MAX_YEARS}")
    first = last - count + 1
    return ReportPeriod(dt.date(first, 1, 1), dt.date(last, 12, 31), str(last) if count == 1 else f"{first}–{last}")


def choose(shortcut: ReportPeriod | None, start: dt.date | None, end: dt.date | None, option: str,
           default: ReportPeriod | None = None) -> ReportPeriod:
    """The report's period: the ``shortcut`` (given as ``option``), or ``--from/--to``,
    else ``default``; refuses both, or one of ``--from``/``--to`` alone."""
    if shortcut is not None and (start or end):
        raise FristerError(f"give {option} or --from/--to, not both")
    if shortcut is not None:
        return shortcut
    if start and end:
        return ReportPeriod(start, end)
    if start or end or default is None:
        raise FristerError(f"give {option} or both --from and --to")
    return default


def year_spans(period: ReportPeriod) -> list[tuple[int, dt.date, dt.date]]:
    """The calendar years the period touches, each cut to the period: ``(year, first, last)``;
    at most :data:`MAX_YEARS`."""
    spans = [(y, max(period.start, dt.date(y, 1, 1)), min(period.end, dt.date(y, 12, 31)))
             for y in range(period.start.year, period.end.year + 1)]
    if len(spans) > MAX_YEARS:
        raise FristerError(f"the period spans {len(spans)} calendar years; the annual report shows at most {MAX_YEARS}")
    return spans

"""Moments in time: stored in UTC, shown and scheduled in the service's local time.

Legal deadlines are dates without a zone (:mod:`frister.calendar`). What has a time of
day is operational: when a run started, when a notice may be tried again, how long the
night's retries go on. Those are aware datetimes in UTC in the database, and
Europe/Oslo (:data:`OSLO`) wherever a person reads them or configures them ("retry until
07:00", "02:00 every night"), across the clock changes.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

OSLO = ZoneInfo("Europe/Oslo")


def utc(moment: dt.datetime) -> dt.datetime:
    """A stored moment, made aware: frister stores UTC, and SQLite returns it without
    its zone."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def local_text(moment: dt.datetime | None) -> str:
    """A stored moment as Europe/Oslo wall-clock time, ``YYYY-MM-DD HH:MM``; ``-`` for None."""
    return "-" if moment is None else utc(moment).astimezone(OSLO).strftime("%Y-%m-%d %H:%M")


def at_local(day: dt.date, time_of_day: dt.time) -> dt.datetime:
    """``time_of_day`` in Europe/Oslo on ``day``, in UTC (in the hour that occurs twice
    in October, the first of the two)."""
    return dt.datetime.combine(day, time_of_day, tzinfo=OSLO).astimezone(dt.timezone.utc)

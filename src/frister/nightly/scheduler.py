"""The long-running scheduler: one dedicated process calling the nightly run.

APScheduler 3.x ``BlockingScheduler`` in Europe/Oslo time, a cron trigger (default
``0 2 * * *``, 02:00 every night), and a job with ``coalesce=True`` (several missed
fire times run once), ``max_instances=1`` (never overlapping itself; other processes
are kept out by the run lock) and a misfire grace of hours, so a night delayed while
the machine was suspended or busy still runs.

The job store is in memory, so APScheduler does not remember a fire time missed while
the process was *down*. On start the scheduler therefore checks the database: when no
run has completed since the most recent scheduled time, it runs once at once
(catch-up). Notices are derived from state, so that one run creates every notice that
became due in the gap.

Clock changes: the trigger is in Europe/Oslo. 02:00 does not exist on the last Sunday
of March (APScheduler fires at the next valid time) and occurs twice on the last Sunday
of October (the job may fire at both; the second run finds nothing new to send, since
notices are created once). ``as_of`` is the local date at the time of the run.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Callable

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine, func, select

from frister.clock import OSLO
from frister.errors import ConfigError, FristerError, NoCases, RunInProgress
from frister.nightly.models import COMPLETED, NightlyRun
from frister.nightly.run import has_cases

log = logging.getLogger("frister.scheduler")

TIMEZONE = OSLO
DEFAULT_CRON = "0 2 * * *"
DEFAULT_MISFIRE_HOURS = 12
JOB_ID = "frister-nightly"


def next_run_line(trigger: CronTrigger, now: dt.datetime) -> str:
    """``next run: 2025-11-26 02:00 CET (Europe/Oslo)``: the log line of the scheduler's
    start and of every night's end."""
    moment = trigger.get_next_fire_time(None, now)
    if moment is None:
        return "next run: never (the schedule has no further time)"
    return f"next run: {moment.astimezone(TIMEZONE):%Y-%m-%d %H:%M %Z} (Europe/Oslo)"


def make_trigger(cron: str) -> CronTrigger:
    try:
        return CronTrigger.from_crontab(cron, timezone=TIMEZONE)
    except ValueError as exc:
        raise ConfigError(f"FRISTER_SCHEDULE: not a cron expression ({exc})") from None


def previous_fire_time(trigger: CronTrigger, now: dt.datetime) -> dt.datetime | None:
    """The latest scheduled time at or before ``now`` (looking back up to 32 days), in UTC."""
    # Work in UTC: arithmetic and comparison of aware datetimes in the same zone are
    # wall-clock operations that ignore the fold, and stall in the repeated hour.
    utc = dt.timezone.utc
    now = now.astimezone(utc)
    moment = trigger.get_next_fire_time(None, now - dt.timedelta(days=32))
    last = None
    while moment is not None and moment.astimezone(utc) <= now:
        last = moment.astimezone(utc)
        moment = trigger.get_next_fire_time(moment, last + dt.timedelta(seconds=1))
    return last


def needs_catch_up(engine: Engine, trigger: CronTrigger, now: dt.datetime) -> bool:
    """True when no nightly run has completed (succeeded or degraded) since the most
    recent scheduled time, and there are cases to run it for (before the first import
    a night would evaluate nothing)."""
    scheduled = previous_fire_time(trigger, now)
    if scheduled is None:
        return False
    with engine.connect() as conn:
        if not has_cases(conn):
            return False
        last = conn.execute(select(func.max(NightlyRun.as_of)).where(NightlyRun.status.in_(COMPLETED))).scalar()
    return last is None or last < scheduled.astimezone(TIMEZONE).date()


def guarded(job: Callable[[dt.date], None]) -> Callable[[], None]:
    """Wrap the nightly job so one failed night never stops the scheduler."""

    def run_once() -> None:
        as_of = dt.datetime.now(TIMEZONE).date()
        try:
            job(as_of)
        except (RunInProgress, NoCases) as exc:
            log.warning("skipped: %s", exc)
        except FristerError as exc:
            log.error("nightly run as of %s failed: %s", as_of.isoformat(), exc)
        except Exception as exc:  # a bug: the type, not values (they may be case data)
            log.error("nightly run as of %s failed: internal error (%s)", as_of.isoformat(), type(exc).__name__)

    return run_once


def build_scheduler(job: Callable[[dt.date], None], cron: str = DEFAULT_CRON,
                    misfire_grace_hours: float = DEFAULT_MISFIRE_HOURS,
                    run_now: bool = False) -> BlockingScheduler:
    """A scheduler with the nightly job added (not started)."""
    scheduler = BlockingScheduler(timezone=TIMEZONE)
    kwargs = {"next_run_time": dt.datetime.now(TIMEZONE)} if run_now else {}
    scheduler.add_job(
        guarded(job), make_trigger(cron), id=JOB_ID, name="frister nightly run",
        coalesce=True, max_instances=1, misfire_grace_time=int(misfire_grace_hours * 3600), **kwargs,
    )
    return scheduler

"""The scheduler's job settings, its time zone, and the catch-up after downtime."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import insert

from frister.errors import ConfigError, FristerError, NoCases, RunInProgress
from frister.nightly.models import COUNT_FIELDS, NightlyRun
from frister.nightly.scheduler import (
    TIMEZONE, build_scheduler, guarded, make_trigger, needs_catch_up, next_run_line, previous_fire_time,
)

from tests.conftest import RULES
from tests.nightly.conftest import case_records, load_cases

UTC = dt.timezone.utc


def test_the_job_runs_once_at_a_time_coalesces_and_has_hours_of_misfire_grace():
    scheduler = build_scheduler(lambda as_of: None, "0 2 * * *", misfire_grace_hours=12)
    (job,) = scheduler.get_jobs()
    assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 12 * 3600)
    assert str(scheduler.timezone) == "Europe/Oslo" and str(job.trigger.timezone) == "Europe/Oslo"


@pytest.mark.parametrize("now, expected_utc", [
    (dt.datetime(2025, 11, 24, 3, 0, tzinfo=TIMEZONE), dt.datetime(2025, 11, 25, 1, 0, tzinfo=UTC)),  # CET
    (dt.datetime(2025, 6, 1, 3, 0, tzinfo=TIMEZONE), dt.datetime(2025, 6, 2, 0, 0, tzinfo=UTC)),     # CEST
    (dt.datetime(2025, 10, 25, 3, 0, tzinfo=TIMEZONE), dt.datetime(2025, 10, 26, 0, 0, tzinfo=UTC)),  # clocks back
])
def test_two_oclock_is_oslo_time_in_winter_and_summer(now, expected_utc):
    fire = make_trigger("0 2 * * *").get_next_fire_time(None, now)
    assert fire.astimezone(UTC) == expected_utc  # (compare in UTC: PEP 495 folds)


def test_an_invalid_cron_expression_is_a_config_error():
    with pytest.raises(ConfigError, match="FRISTER_SCHEDULE"):
        make_trigger("at two")


@pytest.mark.parametrize("now, expected", [
    (dt.datetime(2025, 11, 25, 1, 0, tzinfo=TIMEZONE), dt.datetime(2025, 11, 24, 1, 0, tzinfo=UTC)),
    (dt.datetime(2025, 10, 27, 1, 0, tzinfo=TIMEZONE), dt.datetime(2025, 10, 26, 1, 0, tzinfo=UTC)),  # after DST end
    (dt.datetime(2025, 3, 30, 9, 0, tzinfo=TIMEZONE), dt.datetime(2025, 3, 30, 1, 0, tzinfo=UTC)),  # no 02:00 that day
])
def test_previous_fire_time_is_the_latest_scheduled_moment(now, expected):
    assert previous_fire_time(make_trigger("0 2 * * *"), now) == expected


def test_a_night_missed_while_the_process_was_down_is_caught_up_at_start(engine, tmp_path):
    trigger = make_trigger("0 2 * * *")
    now = dt.datetime(2025, 11, 25, 9, 0, tzinfo=TIMEZONE)
    assert not needs_catch_up(engine, trigger, now)  # nothing imported yet: no empty night
    load_cases(engine, tmp_path, case_records())
    assert needs_catch_up(engine, trigger, now)  # never ran
    with engine.begin() as conn:
        conn.execute(insert(NightlyRun).values(as_of=dt.date(2025, 11, 24), started_at=now, finished_at=now,
                                               status="succeeded", transport="smtp", **{f: 0 for f in COUNT_FIELDS}))
    assert needs_catch_up(engine, trigger, now)  # last night (the 25th, 02:00) was missed
    assert not needs_catch_up(engine, trigger, dt.datetime(2025, 11, 25, 1, 0, tzinfo=TIMEZONE))


def test_a_failed_night_never_stops_the_scheduler(caplog):
    def raising(error):
        def job(as_of):
            raise error
        return job

    with caplog.at_level(logging.INFO, logger="frister.scheduler"):
        guarded(raising(RunInProgress("another nightly run is in progress")))()
        guarded(raising(NoCases("the database holds no cases yet")))()
        guarded(raising(FristerError("bad config")))()
        guarded(raising(KeyError("BV-2025-0001 secret")))()
    assert "skipped: another nightly run is in progress" in caplog.text
    assert "WARNING  frister.scheduler:scheduler.py" in caplog.text
    assert "skipped: the database holds no cases yet" in caplog.text
    assert "failed: bad config" in caplog.text
    assert "internal error (KeyError)" in caplog.text and "secret" not in caplog.text


@pytest.mark.parametrize("now, line", [
    (dt.datetime(2025, 11, 25, 9, 0, tzinfo=TIMEZONE), "next run: 2025-11-26 02:00 CET (Europe/Oslo)"),
    (dt.datetime(2025, 6, 1, 1, 59, tzinfo=TIMEZONE), "next run: 2025-06-01 02:00 CEST (Europe/Oslo)"),
])
def test_the_next_run_is_told_in_oslo_time(now, line):
    assert next_run_line(make_trigger("0 2 * * *"), now) == line


def test_the_scheduler_logs_its_next_run_at_start_and_warns_of_an_empty_database(db_url):
    env = dict(os.environ, FRISTER_DATABASE_URL=db_url, FRISTER_RULES_DIR=str(RULES))
    process = subprocess.Popen([str(Path(sys.executable).parent / "frister"), "scheduler", "--transport", "console",
                                "--cron", "0 2 * * *"], env=env, stderr=subprocess.PIPE, text=True)
    lines = []
    try:
        while not lines or "next run: " not in lines[-1]:
            line = process.stderr.readline()
            assert line, "".join(lines)
            lines.append(line)
    finally:
        process.terminate()
        process.wait(timeout=30)
    text = "".join(lines)
    assert "WARNING frister.scheduler: the database holds no cases yet: every night is skipped" in text
    assert "catch-up" not in text  # no empty night before the first import
    assert re.search(r"INFO frister.scheduler: next run: \d{4}-\d\d-\d\d 02:00 CES?T \(Europe/Oslo\)$", lines[-1])

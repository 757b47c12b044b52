"""Crashes and concurrency: a run interrupted at any step and run again sends every
notice exactly once; two runs started together: one works, the other exits."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from frister.db.engine import create_db_engine
from frister.db.locks import run_lock
from frister.errors import RunInProgress
from frister.escalation.models import Notice
from frister.nightly.models import COUNT_FIELDS, NightlyRun
from frister.nightly.run import nightly_run
from frister.notify.transport import ConsoleTransport

from tests.nightly.conftest import AS_OF, ROOT, accounted, all_lines, at, run
from tests.nightly.test_run import smtp
from tests.notify.smtp_catcher import SmtpCatcher

STEPS = ("evaluated", "committed", "claimed", "sent", "recorded")


class SimulatedCrash(Exception):
    pass


def crash_at(step: str):
    def hook(current: str) -> None:
        if current == step:
            raise SimulatedCrash(step)
    return hook


def statuses(engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(select(Notice.status)).scalars())


def runs(engine) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        return conn.execute(select(NightlyRun.id, NightlyRun.status).order_by(NightlyRun.id)).all()


@pytest.mark.parametrize("step", STEPS)
def test_a_run_interrupted_at_any_step_then_rerun_sends_every_notice_exactly_once(municipality, rules, config, step):
    with SmtpCatcher() as server:
        with pytest.raises(SimulatedCrash):
            run(municipality, rules, config, smtp(server.port), fail_at=crash_at(step))
        if step in ("evaluated",):
            assert statuses(municipality) == []  # results and notices were rolled back together
        rerun = run(municipality, rules, config, smtp(server.port), hour=3)
        third = run(municipality, rules, config, smtp(server.port), hour=4)
    assert statuses(municipality) == ["sent"] * 5
    by_id: dict[str, object] = {}
    for m in server.messages:
        by_id.setdefault(m["Message-ID"], m)
    assert accounted(by_id.values()) == 5  # every notice, once per distinct e-mail
    assert len(all_lines(by_id.values())) == 4  # BV-1's reminder folded into its warning
    if step == "sent":
        # Killed between the server's acceptance and the record: the one e-mail in that
        # window is sent again, with the same Message-ID, so mail clients collapse it.
        assert len(server.messages) == len(by_id) + 1
    else:
        assert len(server.messages) == len(by_id) == 3
    assert runs(municipality)[0][1] == "failed" and [s for _, s in runs(municipality)[1:]] == ["succeeded"] * 2
    assert third.counts["attempted"] == 0 and third.counts["notices_created"] == 0
    # Digests go out by recipient address; the first (mottak@, 2 notices) was recorded
    # before a crash at "recorded", and is recovered (a retry) after "claimed" or "sent".
    assert rerun.counts["sent"] == (3 if step == "recorded" else 5)
    assert rerun.counts["retried"] == (2 if step in ("claimed", "sent") else 0)


def test_a_run_left_running_by_a_killed_process_is_marked_interrupted(municipality, rules, config):
    with municipality.begin() as conn:
        conn.execute(insert(NightlyRun).values(as_of=AS_OF, started_at=at(AS_OF, 1), status="running",
                                               transport="smtp", **{f: 0 for f in COUNT_FIELDS}))
    run(municipality, rules, config, ConsoleTransport(quiet=True))
    assert runs(municipality) == [(1, "interrupted"), (2, "succeeded")]


def test_two_runs_started_together_one_works_and_the_other_exits(municipality, rules, config, db_url):
    seen: dict[str, object] = {}

    def start_another(step: str) -> None:
        if step != "evaluated":
            return
        # The first run holds the lock and is in the middle of its transaction: start a
        # second one in this process (its own connections) and one as a separate process.
        other = create_db_engine(db_url)
        try:
            with pytest.raises(RunInProgress) as err:
                run(other, rules, config, ConsoleTransport(quiet=True))
            seen["error"] = err.value
        finally:
            other.dispose()
        env = dict(os.environ, FRISTER_DATABASE_URL=db_url, FRISTER_RULES_DIR=str(ROOT / "rules"),
                   FRISTER_LOCK_WAIT_SECONDS="0")
        seen["process"] = subprocess.run(
            [str(Path(sys.executable).parent / "frister"), "run", "--as-of", AS_OF.isoformat(),
             "--transport", "console"], env=env, capture_output=True, text=True, timeout=120,
        )

    report = run(municipality, rules, config, ConsoleTransport(quiet=True), fail_at=start_another)
    process = seen["process"]
    assert process.returncode == 75, process.stderr
    assert process.stderr.strip() == \
        "error: another nightly run, import or purge is in progress; this nightly run did not start (try again later)"
    assert seen["error"].exit_code == 75
    assert report.counts["sent"] == 5
    assert runs(municipality) == [(1, "succeeded")]  # the others never started a run
    # The lock is released afterwards: the next run works.
    assert run(municipality, rules, config, ConsoleTransport(quiet=True), as_of=AS_OF + dt.timedelta(days=1))


def test_a_night_waits_for_an_import_that_holds_the_lock_then_runs(municipality, rules, config):
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with run_lock(municipality, what="import"):
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(30)
        with pytest.raises(RunInProgress) as err:
            nightly_run(municipality, rules, config, ConsoleTransport(quiet=True), AS_OF, lock_wait=0.3)
        assert str(err.value) == ("another nightly run, import or purge is in progress; "
                                  "this nightly run did not start (waited 0.3 s; try again later)")
        threading.Timer(1.0, release.set).start()
        started = time.monotonic()
        report = nightly_run(municipality, rules, config, ConsoleTransport(quiet=True), AS_OF,
                             now=lambda: at(AS_OF), lock_wait=30)
    finally:
        release.set()
        holder.join()
    assert time.monotonic() - started >= 0.8  # it waited for the import
    assert report.counts["sent"] == 5
    assert runs(municipality) == [(1, "succeeded")]

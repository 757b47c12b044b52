"""A ladder whose repeats end: a breach stops being repeated, each night reads only the
deadlines that changed or can still get a notice, and a deadline that comes in late
from an import still gets its notice, once. Real SQLite and PostgreSQL, a real SMTP
server on loopback."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import select

from frister.db.engine import create_db_engine, migrate
from frister.escalation import derive
from frister.escalation.config import load_ladder
from frister.escalation.models import Notice

from tests.conftest import MIGRATIONS
from tests.nightly.conftest import AS_OF, LADDER, load_cases, run
from tests.nightly.test_run import smtp
from tests.notify.smtp_catcher import SmtpCatcher

# The test ladder, with the breach repeated weekly for four weeks (repeats 0 to 4) and
# a catch-up of ten days: a night reads the overdue deadlines due in the last
# 1 + 28 + 10 = 39 days, and those that changed.
BOUNDED = LADDER.replace("repeat_every_days: 7}", "repeat_every_days: 7, repeat_for_days: 28}") + "catch_up_days: 10\n"
BV2_INVESTIGATION = ("BV-2", "investigation_deadline")  # overdue since 08.11.2025 (the conftest)


@pytest.fixture
def bounded(config, tmp_path, rules):
    path = tmp_path / "bounded.yaml"
    path.write_text(BOUNDED, encoding="utf-8")
    ladder = load_ladder(path, [r.id for r in rules])
    assert ladder.lookback_days == 39
    return dataclasses.replace(config, ladder=ladder)


@pytest.fixture
def read_keys(monkeypatch) -> list[set]:
    """Per derivation, the ``(case, rule)`` of every obligation it read."""
    nights: list[set] = []
    original = derive.obligation_chunks

    def spy(*args):
        nights.append(set())
        for chunk in original(*args):
            nights[-1].update((row[0], row[1]) for row in chunk)
            yield chunk

    monkeypatch.setattr(derive, "obligation_chunks", spy)
    return nights


def body_lines(message, case_id: str) -> list[str]:
    """The lines of a digest's plain text about ``case_id``."""
    body = message.get_body(("plain",)).get_content()
    return [line for line in body.splitlines() if line.startswith(f"  - Sak {case_id}:")]


def breach_notices(engine, case_id: str) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(select(Notice.rule, Notice.repeat, Notice.ordinal, Notice.fire_on)
                            .where(Notice.case_id == case_id, Notice.stage == "breach")
                            .order_by(Notice.id)).all()


def test_a_breach_is_repeated_until_its_ladder_ends_and_then_no_longer_read(municipality, rules, bounded, read_keys):
    nights = [AS_OF + dt.timedelta(days=7 * i) for i in range(5)]  # 25.11, 02.12, 09.12, 16.12, 23.12
    with SmtpCatcher() as server:
        for night in nights:
            run(municipality, rules, bounded, smtp(server.port), as_of=night)
    # First breach notice due 09.11, sent with the first night (25.11); repeats count
    # from the night that sent the last one: 02.12; the next (09.12) would fall after
    # the ladder's end (09.11 + 28 days = 07.12).
    assert breach_notices(municipality, "BV-2") == [
        ("investigation_deadline", 2, 1, dt.date(2025, 11, 23)),
        ("investigation_deadline", 3, 2, dt.date(2025, 12, 2)),
    ]
    shown = [line for m in server.messages for line in body_lines(m, "BV-2")]
    assert [line.split("ks07; årsak mangler.")[1] for line in shown] == ["", " (Gjentatt varsel nr. 1, det siste.)"]
    last = next(m for m in server.messages if body_lines(m, "BV-2") == shown[-1:])
    plain = last.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "varsles ikke igjen. Det følges\nvidere opp i bruddregisteret" in plain
    assert "gjentatt nr. 1, det siste" in last.get_body(("html",)).get_content()
    # Read every night while its ladder runs (and on 16.12: its last notice is 9 days old),
    # not on 23.12: due 08.11 is before the lookback (23.12 - 39 days = 14.11).
    assert [BV2_INVESTIGATION in keys for keys in read_keys] == [True, True, True, True, False]


def test_a_deadline_that_comes_in_late_gets_its_notice_whatever_its_age_once(municipality, rules, bounded, tmp_path,
                                                                              read_keys):
    late = {"case_id": "BV-4", "unit": "mottak", "caseworker": "ks02", "child": {"birth_date": "2013-05-05"},
            "referrals": [{"id": "M1", "received_on": "2025-01-10"}]}  # never reviewed, no feedback
    with SmtpCatcher() as server:
        run(municipality, rules, bounded, smtp(server.port))
        load_cases(municipality, tmp_path, [late], as_of=AS_OF + dt.timedelta(days=1), name="late.jsonl")
        run(municipality, rules, bounded, smtp(server.port), as_of=AS_OF + dt.timedelta(days=1))
        run(municipality, rules, bounded, smtp(server.port), as_of=AS_OF + dt.timedelta(days=8))
    # Overdue since January, long past the ladder and the catch-up, but new: the last
    # repeat of each breach, as a first notice, on the night after the import alone.
    assert sorted(breach_notices(municipality, "BV-4")) == [
        ("referral_review", 4, 1, dt.date(2025, 2, 15)),
        ("reporter_feedback", 4, 1, dt.date(2025, 3, 1)),
    ]
    assert [line.endswith("ks02; årsak mangler. (Eneste varsel.)") for m in server.messages for line in body_lines(m, "BV-4")] \
        == [True, True]
    with municipality.connect() as conn:
        created_by = set(conn.execute(select(Notice.created_run_id).where(Notice.case_id == "BV-4")).scalars())
    assert created_by == {2}
    assert [("BV-4", "referral_review") in keys for keys in read_keys] == [False, True, False]


def test_a_changed_deadline_whose_ladder_has_ended_gets_no_second_notice(municipality, rules, bounded, tmp_path,
                                                                          read_keys):
    from tests.nightly.conftest import case_records

    later = AS_OF + dt.timedelta(days=35)  # 30.12: BV-2's ladder ended on 07.12, its catch-up on 17.12
    with SmtpCatcher() as server:
        for night in (AS_OF, AS_OF + dt.timedelta(days=7), AS_OF + dt.timedelta(days=14)):
            run(municipality, rules, bounded, smtp(server.port), as_of=night)
        moved = [dict(r, caseworker="ks99") if r["case_id"] == "BV-2" else r for r in case_records()]
        load_cases(municipality, tmp_path, moved, as_of=later, name="moved.jsonl")
        report = run(municipality, rules, bounded, smtp(server.port), as_of=later)
    # The new caseworker rewrote the obligation, so the night read it again, and found
    # its ladder ended (the last notice sent on 02.12, the next would fall after 07.12).
    assert BV2_INVESTIGATION in read_keys[3]
    assert [repeat for _, repeat, _, _ in breach_notices(municipality, "BV-2")] == [2, 3]
    assert report.counts["notices_existing"] >= 1
    assert report.counts["notices_due"] == report.counts["notices_created"] + report.counts["notices_existing"]


@pytest.mark.parametrize("night, created", [(dt.date(2025, 12, 19), True), (dt.date(2025, 12, 23), False)])
def test_after_downtime_a_run_catches_up_with_notices_at_most_the_catch_up_old(municipality, rules, config, tmp_path,
                                                                               night, created):
    # BV-1's referral review is due 27.11 and overdue from the night of 28.11. A second
    # breach stage, 14 days after the due date, falls on 11.12, while no run ran.
    path = tmp_path / "escalated.yaml"
    path.write_text(BOUNDED.replace("repeat_for_days: 28}", "repeat_for_days: 28}\n"
                                    "    - {stage: escalated, days_after_due: 14, to: [barnevernsjef]}"),
                    encoding="utf-8")
    escalated = dataclasses.replace(config, ladder=load_ladder(path, [r.id for r in rules]))
    with SmtpCatcher() as server:
        run(municipality, rules, escalated, smtp(server.port))
        run(municipality, rules, escalated, smtp(server.port), as_of=dt.date(2025, 11, 28))
        run(municipality, rules, escalated, smtp(server.port), as_of=night)
    with municipality.connect() as conn:
        stages = set(conn.execute(select(Notice.stage).where(Notice.case_id == "BV-1",
                                                             Notice.rule == "referral_review")).scalars())
    # 8 days late: caught up; 12 days late, more than the catch-up (10), and the
    # deadline unchanged since the last night: not created.
    assert ("escalated" in stages) is created
    assert "breach" in stages



# What each candidate set's condition must be answered with: an index on all its terms.
INDEXED_SETS = [("ix_obligations_status_due_on", "due_on<"), ("ix_obligations_status_due_on", "due_on>"),
                ("ix_obligations_overdue_run_id", "run_id>")]


def test_on_sqlite_each_set_of_deadlines_a_night_reads_is_found_by_an_index_on_its_whole_condition(tmp_path,
                                                                                                    bounded):
    """A night must find the few overdue deadlines that changed without reading every
    overdue one: at a million cases, reading them by status alone was 750,000 rows and a
    quarter of the night. SQLite keeps no statistics of the obligations (they are
    written after any ``ANALYZE``), so its choice follows from the indexes alone: this
    checks it. PostgreSQL chooses by its statistics, which an empty table does not have."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'plans.db'}")
    migrate(engine, MIGRATIONS)
    queries = derive.candidate_queries(bounded.ladder, AS_OF, changed_after=3)
    assert len(queries) == len(INDEXED_SETS)
    with engine.connect() as conn:
        for query, (index, term) in zip(queries, INDEXED_SETS):
            sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
            plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
            assert f"SEARCH obligations USING INDEX {index} (status=? AND {term}?)" in plan, plan
    engine.dispose()

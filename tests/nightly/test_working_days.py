"""E-mail on working days only (the default): a weekend or Norwegian public holiday night
evaluates but creates and sends nothing, and the next working night carries what fell due
in between. Real SQLite and PostgreSQL, a real SMTP server on loopback."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select

from frister.escalation.models import Notice

from tests.nightly.conftest import AS_OF, CHIEF, all_lines, case_records, load_cases, run
from tests.nightly.test_run import smtp
from tests.notify.smtp_catcher import SmtpCatcher

FRIDAY, SATURDAY, SUNDAY, MONDAY = (dt.date(2025, 11, 28) + dt.timedelta(days=i) for i in range(4))


def breaches_of(engine, case_id: str) -> list[tuple[int, dt.date, int]]:
    with engine.connect() as conn:
        return conn.execute(select(Notice.repeat, Notice.fire_on, Notice.created_run_id)
                            .where(Notice.case_id == case_id, Notice.stage == "breach").order_by(Notice.id)).all()


# A referral received on Saturday 22.11: its review is due Saturday 29.11, its breach
# notice on Sunday 30.11.
BV4 = {"case_id": "BV-4", "unit": "mottak", "caseworker": "ks02", "child": {"birth_date": "2013-05-05"},
       "referrals": [{"id": "M1", "received_on": "2025-11-22"}]}


def test_a_notice_due_on_a_weekend_is_carried_to_monday_never_lost(municipality, rules, config, tmp_path):
    load_cases(municipality, tmp_path, case_records() + [BV4], as_of=FRIDAY, name="bv4.jsonl")
    with SmtpCatcher() as server:
        run(municipality, rules, config, smtp(server.port), as_of=FRIDAY)
        friday = len(server.messages)
        weekend = [run(municipality, rules, config, smtp(server.port), as_of=day) for day in (SATURDAY, SUNDAY)]
        assert len(server.messages) == friday  # nothing on Saturday and Sunday
        monday = run(municipality, rules, config, smtp(server.port), as_of=MONDAY)
    assert [(r.status, r.counts["notices_created"], r.counts["sent"]) for r in weekend] == [("succeeded", 0, 0)] * 2
    assert all(r.counts["obligations"] == 8 for r in weekend)  # evaluated all the same
    assert breaches_of(municipality, "BV-4") == [(0, SUNDAY, monday.run_id)]  # created and sent on Monday
    assert (CHIEF, "Fristbrudd", "Gjennomgang av melding", "BV-4") in all_lines(server.messages[friday:])


def test_a_repeat_counts_from_the_night_that_sent_the_last_notice(municipality, rules, config):
    """BV-2 is overdue since 08.11: its weekly breach notice is due on 09.11, 16.11, 23.11,
    30.11 by the calendar. Its first notice went out on 25.11, so the next is due 02.12."""
    every_day = dataclasses.replace(config, ladder=dataclasses.replace(config.ladder, delivery=dataclasses.replace(
        config.ladder.delivery, working_days_only=False)))
    with SmtpCatcher() as server:
        for day in range(8):
            run(municipality, rules, every_day, smtp(server.port), as_of=AS_OF + dt.timedelta(days=day))
    assert [(repeat, fire_on) for repeat, fire_on, _ in breaches_of(municipality, "BV-2")] == \
        [(2, dt.date(2025, 11, 23)), (3, dt.date(2025, 12, 2))]


def test_a_public_holiday_is_a_day_without_email_unless_every_day_is_configured(municipality, rules, config):
    christmas = dt.date(2025, 12, 25)  # a Thursday
    held = run(municipality, rules, config, smtp(1), as_of=christmas)
    assert (held.status, held.counts["notices_created"], held.counts["attempted"]) == ("succeeded", 0, 0)
    every_day = dataclasses.replace(config, ladder=dataclasses.replace(config.ladder, delivery=dataclasses.replace(
        config.ladder.delivery, working_days_only=False)))
    with SmtpCatcher() as server:
        sent = run(municipality, rules, every_day, smtp(server.port), as_of=christmas, hour=3)
    assert sent.counts["notices_created"] > 0 and sent.counts["sent"] == sent.counts["notices_created"]

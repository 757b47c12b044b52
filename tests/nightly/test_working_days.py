"""E-mail on working days only (the default): a weekend or Norwegian public holiday night
evaluates but creates and sends nothing, and the next working night carries what fell due
in between. Real SQLite and PostgreSQL, a real SMTP server on loopback."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select

from frister.escalation.models import Notice

from tests.nightly.conftest import CHIEF, all_lines, run
from tests.nightly.test_run import smtp
from tests.notify.smtp_catcher import SmtpCatcher

FRIDAY, SATURDAY, SUNDAY, MONDAY = (dt.date(2025, 11, 28) + dt.timedelta(days=i) for i in range(4))


def bv2_breaches(engine) -> list[tuple[int, dt.date]]:
    with engine.connect() as conn:
        return conn.execute(select(Notice.repeat, Notice.fire_on)
                            .where(Notice.case_id == "BV-2", Notice.stage == "breach").order_by(Notice.id)).all()


def test_a_notice_due_on_a_weekend_is_carried_to_monday_never_lost(municipality, rules, config):
    with SmtpCatcher() as server:
        run(municipality, rules, config, smtp(server.port), as_of=FRIDAY)
        friday = len(server.messages)
        weekend = [run(municipality, rules, config, smtp(server.port), as_of=day) for day in (SATURDAY, SUNDAY)]
        assert len(server.messages) == friday  # nothing on Saturday and Sunday
        monday = run(municipality, rules, config, smtp(server.port), as_of=MONDAY)
    assert [(r.status, r.counts["notices_created"], r.counts["sent"]) for r in weekend] == [("succeeded", 0, 0)] * 2
    assert all(r.counts["obligations"] == 6 for r in weekend)  # evaluated all the same
    # BV-2's weekly breach notice fell due on Sunday 30.11: created and sent on Monday.
    assert bv2_breaches(municipality) == [(2, dt.date(2025, 11, 23)), (3, dt.date(2025, 11, 30))]
    assert monday.counts["sent"] >= 1
    assert (CHIEF, "Fristbrudd", "Frist for undersøkelse", "BV-2") in all_lines(server.messages[friday:])


def test_a_public_holiday_is_a_day_without_email_unless_every_day_is_configured(municipality, rules, config):
    christmas = dt.date(2025, 12, 25)  # a Thursday
    held = run(municipality, rules, config, smtp(1), as_of=christmas)
    assert (held.status, held.counts["notices_created"], held.counts["attempted"]) == ("succeeded", 0, 0)
    every_day = dataclasses.replace(config, ladder=dataclasses.replace(config.ladder, delivery=dataclasses.replace(
        config.ladder.delivery, working_days_only=False)))
    with SmtpCatcher() as server:
        sent = run(municipality, rules, every_day, smtp(server.port), as_of=christmas, hour=3)
    assert sent.counts["notices_created"] > 0 and sent.counts["sent"] == sent.counts["notices_created"]

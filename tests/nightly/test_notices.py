"""``frister notices``: the notices not delivered, listed without personal data, and
requeued by ``frister notices resend`` once the cause is fixed. Real SMTP on loopback,
real SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from click.testing import CliRunner
from sqlalchemy import select

from frister.cli import build
from frister.escalation.models import Delivery, Notice

from tests.nightly.conftest import AS_OF, run
from tests.nightly.test_run import smtp
from tests.nightly.test_uncertain_send import impatient
from tests.notify.smtp_catcher import SmtpCatcher, free_port


def invoke(*args):
    return CliRunner().invoke(build(), list(args))


def statuses(engine) -> list[tuple[str, int]]:
    with engine.connect() as conn:
        return sorted(conn.execute(select(Notice.status, Notice.attempts)).all())


def refused(engine, rules, config) -> None:
    with SmtpCatcher() as server:
        server.reply = "550 5.1.1 mailbox unavailable"
        run(engine, rules, config, smtp(server.port))


def test_dead_notices_are_listed_by_case_rule_and_role_without_addresses(cli_env, municipality, rules, config):
    refused(municipality, rules, config)
    result = invoke("notices", "--status", "dead")
    assert result.exit_code == 0, result.output
    assert "5 dead notice(s)" in result.output
    rows = [line.split("│") for line in result.output.splitlines() if "BV-" in line]
    cells = sorted(tuple(c.strip() for c in row[2:7]) for row in rows)
    assert cells == sorted([
        ("dead", "BV-1", "referral_review", "reminder", "avdelingsleder"),
        ("dead", "BV-1", "referral_review", "warning", "avdelingsleder"),
        ("dead", "BV-1", "referral_review", "warning", "barnevernsjef"),
        ("dead", "BV-2", "investigation_deadline", "breach", "barnevernsjef"),
        ("dead", "BV-3", "emergency_petition", "reminder", "avdelingsleder"),
    ])
    assert "SMTP server refused (550)" in result.output
    assert "@" not in result.output and "ks0" not in result.output  # no address, no caseworker
    assert invoke("notices").output.strip() == "no waiting notices"


def test_waiting_notices_show_when_they_are_tried_next(cli_env, municipality, rules, config):
    run(municipality, rules, config, smtp(free_port()))  # nothing listens: five notices wait
    result = invoke("notices", "--status", "waiting")
    assert result.exit_code == 0 and "5 waiting notice(s)" in result.output
    assert result.output.count("pending") == 5
    assert "2025-11-25 03:10" in result.output  # 02:00 UTC + 10 minutes, in Oslo time
    assert "SMTP connection failed (ConnectionRefusedError)" in result.output


def test_resending_every_dead_notice_requeues_it_records_it_and_the_next_run_delivers_it(
        cli_env, municipality, rules, config):
    refused(municipality, rules, config)
    result = invoke("notices", "resend", "--all-dead")
    assert (result.exit_code, result.output) == (0, "requeued 5 notice(s); the next run sends them\n")
    assert statuses(municipality) == [("pending", 0)] * 5
    with municipality.connect() as conn:
        requeues = conn.execute(select(Delivery.run_id, Delivery.notices)
                                .where(Delivery.outcome == "requeued")).all()
    assert sorted(requeues) == [(None, 1), (None, 2), (None, 2)]  # one row per e-mail requeued
    with SmtpCatcher() as server:
        again = run(municipality, rules, config, smtp(server.port), as_of=AS_OF + dt.timedelta(days=1))
    # A requeued notice starts afresh: a new round of attempts, not counted as retried.
    assert (again.counts["sent"], again.counts["retried"], again.status) == (5, 0, "succeeded")
    assert statuses(municipality) == [("sent", 1)] * 5
    assert invoke("notices", "resend", "--all-dead").output == "requeued 0 notice(s)\n"


def test_resending_a_notice_that_is_not_dead_or_waiting_is_refused_and_changes_nothing(
        cli_env, municipality, rules, config):
    refused(municipality, rules, config)
    with municipality.begin() as conn:
        conn.execute(Notice.__table__.update().where(Notice.id == 2).values(status="sent"))
    result = invoke("notices", "resend", "1", "2", "3")
    assert (result.exit_code, result.output) == \
        (2, "error: notice 2 is sent: only dead or waiting notices can be resent\n")
    missing = invoke("notices", "resend", "1", "99")
    assert (missing.exit_code, missing.output) == (2, "error: no notice 99\n")
    assert invoke("notices", "resend").exit_code == 2  # neither ids nor --all-dead
    assert [s for s, _ in statuses(municipality)].count("dead") == 4


def test_a_dead_notice_whose_email_may_have_been_delivered_is_resent_under_its_message_id(
        cli_env, municipality, rules, config):
    with SmtpCatcher() as server:
        server.swallow = 1_000
        for day in range(3):  # max_attempts: 3, each send unanswered
            run(municipality, rules, config, impatient(server.port), as_of=AS_OF + dt.timedelta(days=day))
        with municipality.connect() as conn:
            before = dict(conn.execute(select(Notice.id, Notice.message_id)
                                       .where(Notice.created_run_id == 1)).all())
        result = invoke("notices", "resend", *map(str, sorted(before)[:1]))
        # One notice named, its whole e-mail requeued (BV-1's two lines to mottak@ or one).
        assert result.exit_code == 0 and "to be resent as the e-mail they were in" in result.output
        invoke("notices", "resend", "--all-dead")
        server.swallow = 0
        count = len(server.messages)
        run(municipality, rules, config, impatient(server.port), as_of=AS_OF + dt.timedelta(days=3))
        resent = {m["Message-ID"].strip() for m in server.messages[count:]}
    with municipality.connect() as conn:
        after = dict(conn.execute(select(Notice.id, Notice.message_id).where(Notice.created_run_id == 1)).all())
        first = conn.execute(select(Notice.status).where(Notice.created_run_id == 1)).scalars().all()
    assert after == before and set(before.values()) <= resent and set(first) == {"sent"}

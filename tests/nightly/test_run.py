"""The nightly run end to end, against a real SMTP server on loopback and real SQLite
and PostgreSQL databases: content, idempotence, failures and retries, downtime."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from frister.escalation.models import Delivery, Notice
from frister.nightly.models import NightlyRun
from frister.notify.transport import SmtpConfig, SmtpTransport

from tests.notify.smtp_catcher import SmtpCatcher, free_port
from tests.nightly.conftest import (
    AS_OF, CHIEF, MOTTAK, OMSORG, accounted, all_lines, at, case_records, load_cases, run,
)

SENDER = "frister@barnevern.kommune.example"


def smtp(port: int) -> SmtpTransport:
    return SmtpTransport(SmtpConfig("127.0.0.1", port, "none", None, None, SENDER, timeout=5))


def notices(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(select(Notice.__table__).order_by(Notice.id)).all()


def run_row(engine, run_id):
    with engine.connect() as conn:
        return conn.execute(select(NightlyRun.__table__).where(NightlyRun.id == run_id)).one()


def titles(rules):
    return {r.id: r.title for r in rules}


def test_it_sends_one_digest_per_recipient_with_the_right_content(municipality, rules, config):
    t = titles(rules)
    with SmtpCatcher() as server:
        report = run(municipality, rules, config, smtp(server.port))
    assert sorted(m["To"] for m in server.messages) == sorted([CHIEF, MOTTAK, OMSORG])
    # One line per deadline: BV-1's reminder and warning, due the same night, are one line.
    assert all_lines(server.messages) == sorted([
        (MOTTAK, "Varsel", t["referral_review"], "BV-1"),
        (CHIEF, "Varsel", t["referral_review"], "BV-1"),
        (CHIEF, "Fristbrudd", t["investigation_deadline"], "BV-2"),
        (OMSORG, "Påminnelse", t["emergency_petition"], "BV-3"),
    ])
    mottak = next(m for m in server.messages if m["To"] == MOTTAK).get_body(("plain",)).get_content()
    assert "1 av de 2 varslene gjaldt en frist som alt står i oversikten" in mottak
    assert accounted(server.messages) == 5
    chief = next(m for m in server.messages if m["To"] == CHIEF)
    body = chief.get_body(("plain",)).get_content()
    assert chief["Subject"] == "[frister] 1 fristbrudd, 1 varsel per 25.11.2025"
    assert chief["From"] == SENDER and chief["Message-ID"].strip().startswith("<frister.")
    # Counts at the top, most urgent stage first, then the lines with what a notice may say.
    assert body.index("Fristbrudd       1") < body.index("Varsel           1") < body.index("== Fristbrudd")
    assert body.index("== Fristbrudd (1) ==") < body.index("== Varsel (1) ==")
    # The first notice ever of a breach overdue for weeks is a first notice, not "repeat nr. 2".
    assert "  - Sak BV-2: frist 08.11.2025, 17 dager over fristen. Enhet undersokelse, saksbehandler ks07; årsak mangler.\r\n" in body
    assert "Gjentatt" not in body
    assert "  - Sak BV-1: frist 27.11.2025, 2 dager igjen. Enhet mottak, saksbehandler ks01; årsak ikke vurdert." in body
    assert "Hjemmel: barnevernsloven" in body
    html = chief.get_body(("html",)).get_content()
    assert "BV-2" in html and "17 dager over fristen" in html
    assert not [p for p in chief.walk() if p.get_content_disposition() == "attachment"]
    assert report.line() == "run 1 as of 2025-11-25: 6 obligations, 5 notices created, 5 sent, 0 retrying, 0 dead"
    row = run_row(municipality, report.run_id)
    assert (row.status, row.notices_due, row.notices_created, row.sent, row.emails_sent) == ("succeeded", 5, 5, 5, 3)


def test_a_second_run_the_same_day_sends_nothing_new(municipality, rules, config):
    with SmtpCatcher() as server:
        run(municipality, rules, config, smtp(server.port))
        second = run(municipality, rules, config, smtp(server.port), hour=3)
    assert len(server.messages) == 3
    assert (second.counts["notices_created"], second.counts["notices_existing"], second.counts["sent"]) == (0, 5, 0)
    assert second.line().endswith(": 6 obligations, 0 notices created, 0 sent, 0 retrying, 0 dead")


def test_when_smtp_is_down_the_notices_wait_and_go_out_on_the_next_run(municipality, rules, config):
    down = run(municipality, rules, config, smtp(free_port()))
    assert (down.counts["sent"], down.counts["retrying"], down.counts["dead"]) == (0, 5, 0)
    assert (down.status, down.counts["waiting"]) == ("degraded", 5)
    assert (run_row(municipality, down.run_id).status, run_row(municipality, down.run_id).waiting) == ("degraded", 5)
    assert {n.status for n in notices(municipality)} == {"pending"}
    assert all(n.next_attempt_at is not None and n.attempts == 1 for n in notices(municipality))
    with SmtpCatcher() as server:
        # Five minutes later the backoff (10 minutes) still holds them back: nothing is
        # tried, and the run still says that five notices wait.
        early = nightly_run_at(municipality, rules, config, smtp(server.port), at(AS_OF, 2) + dt.timedelta(minutes=5))
        assert early.counts["attempted"] == 0 and server.messages == []
        assert (early.status, early.counts["retrying"], early.counts["waiting"]) == ("degraded", 0, 5)
        # …the next night they go out, once, and count as retried.
        nxt = run(municipality, rules, config, smtp(server.port), as_of=AS_OF + dt.timedelta(days=1))
    assert (nxt.counts["sent"], nxt.counts["retried"], nxt.counts["notices_created"]) == (5, 5, 0)
    assert (nxt.status, nxt.counts["waiting"]) == ("succeeded", 0)
    assert accounted(server.messages) == 5
    assert {n.status for n in notices(municipality)} == {"sent"}


def nightly_run_at(engine, rules, config, transport, moment):
    from frister.nightly.run import nightly_run

    return nightly_run(engine, rules, config, transport, moment.date(), now=lambda: moment)


def test_a_permanent_refusal_makes_the_notices_dead_and_the_run_reports_it(municipality, rules, config):
    with SmtpCatcher() as server:
        server.reply = "550 5.1.1 mailbox unavailable"
        report = run(municipality, rules, config, smtp(server.port))
        server.reply = None
        again = run(municipality, rules, config, smtp(server.port), as_of=AS_OF + dt.timedelta(days=1))
    assert (report.counts["dead"], report.counts["sent"], report.counts["emails_failed"]) == (5, 0, 3)
    assert (report.status, report.counts["waiting"]) == ("degraded", 0)
    assert report.line().endswith("5 notices created, 0 sent, 0 retrying, 5 dead")
    assert {n.status for n in notices(municipality)} == {"dead"}
    assert all(n.last_error == "SMTP server refused (550)" for n in notices(municipality))
    assert again.counts["attempted"] == 0 and server.messages == []  # dead stays dead
    with municipality.connect() as conn:
        outcomes = conn.execute(select(Delivery.outcome, Delivery.code)).all()
    assert sorted(outcomes) == [("permanent", 550)] * 3


def test_transient_failures_are_retried_until_the_attempts_are_used_up(municipality, rules, config):
    with SmtpCatcher() as server:
        server.reply = "451 4.3.0 try again later"
        counts = [run(municipality, rules, config, smtp(server.port), as_of=AS_OF + dt.timedelta(days=i)).counts
                  for i in range(4)]
    assert [(c["retrying"], c["dead"]) for c in counts[:2]] == [(5, 0), (5, 0)]
    assert counts[2]["dead"] == 5  # max_attempts: 3 (a notice new that day is still retrying)
    first_night = [n for n in notices(municipality) if n.created_run_id == 1]
    assert len(first_night) == 5 and all(n.status == "dead" and n.attempts == 3 for n in first_night)
    assert counts[3]["dead"] == 0 and counts[3]["attempted"] == counts[3]["retrying"]


def test_a_run_after_days_of_downtime_creates_each_due_notice_once(municipality, rules, config):
    t = titles(rules)
    later = dt.date(2025, 12, 5)
    with SmtpCatcher() as server:
        run(municipality, rules, config, smtp(server.port))
        first = len(server.messages)
        report = run(municipality, rules, config, smtp(server.port), as_of=later)
        again = run(municipality, rules, config, smtp(server.port), as_of=later, hour=4)
    assert all_lines(server.messages[first:]) == sorted([
        (CHIEF, "Fristbrudd", t["referral_review"], "BV-1"),         # overdue since 27.11
        (MOTTAK, "Påminnelse", t["reporter_feedback"], "BV-1"),      # 14 days before 11.12
        (CHIEF, "Fristbrudd", t["investigation_deadline"], "BV-2"),  # the latest weekly repeat
        (CHIEF, "Fristbrudd", t["emergency_petition"], "BV-3"),      # overdue since 01.12; its warning is moot
    ])
    with municipality.connect() as conn:
        repeats = dict(conn.execute(select(Notice.case_id, Notice.repeat).where(Notice.stage == "breach")).all())
    assert repeats == {"BV-1": 1, "BV-2": 3, "BV-3": 0}
    assert report.counts["notices_created"] == 4 and again.counts["notices_created"] == 0


def test_a_deadline_met_meanwhile_gets_no_notice_and_pending_ones_are_cancelled(municipality, rules, config, tmp_path):
    run(municipality, rules, config, smtp(free_port()))  # SMTP down: BV-1's reminder and warnings wait
    load_cases(municipality, tmp_path, case_records(bv1_concluded="2025-11-26"), as_of=dt.date(2025, 12, 5),
               name="newer.jsonl")
    with SmtpCatcher() as server:
        report = run(municipality, rules, config, smtp(server.port), as_of=dt.date(2025, 12, 5))
    sent_cases = {line[3] for line in all_lines(server.messages)}
    assert "BV-1" not in {c for (_, _, title, c) in all_lines(server.messages)
                          if title == titles(rules)["referral_review"]}
    assert sent_cases == {"BV-1", "BV-2", "BV-3"}  # BV-1 only for reporter_feedback now
    by_case = [(n.case_id, n.rule, n.stage, n.status) for n in notices(municipality) if n.rule == "referral_review"]
    assert sorted(by_case) == [("BV-1", "referral_review", "reminder", "cancelled"),
                               ("BV-1", "referral_review", "warning", "cancelled"),
                               ("BV-1", "referral_review", "warning", "cancelled")]
    # BV-3's reminder, still waiting, is moot now that its deadline is overdue.
    bv3 = [(n.stage, n.status) for n in notices(municipality) if n.case_id == "BV-3"]
    assert sorted(bv3) == [("breach", "sent"), ("reminder", "cancelled")]
    assert report.counts["notices_cancelled"] == 4


def test_waiting_notices_go_to_the_current_address_and_a_foreign_one_is_refused_before_sending(
        municipality, rules, config, tmp_path):
    import pytest
    from sqlalchemy import update

    from frister.errors import ConfigError
    from frister.nightly.run import load_config
    from frister.settings import Settings

    from tests.nightly.conftest import ORGANISATION, ROOT

    run(municipality, rules, config, smtp(free_port()))  # SMTP down: five notices wait
    moved = tmp_path / "moved"
    moved.mkdir()
    (moved / "escalation.yaml").write_text((tmp_path / "escalation.yaml").read_text(), encoding="utf-8")
    (moved / "organisation.yaml").write_text(ORGANISATION.replace("barnevern.kommune.example", "ny.kommune.example"),
                                           encoding="utf-8")
    settings = Settings.from_env({"FRISTER_CONFIG_DIR": str(moved), "FRISTER_SMTP_FROM": SENDER,
                                  "FRISTER_TEMPLATES_DIR": str(ROOT / "templates")})
    new_config = load_config(settings, rules, "smtp")
    # A claim left by a killed run still names an address of the old domain: refused,
    # and nothing at all is sent.
    with municipality.begin() as conn:
        conn.execute(update(Notice).where(Notice.case_id == "BV-3").values(status="sending", digest_key="k",
                                                                            message_id="<frister.k@x>"))
    with SmtpCatcher() as server:
        with pytest.raises(ConfigError, match="outside the allowed domains"):
            run(municipality, rules, new_config, smtp(server.port), as_of=AS_OF + dt.timedelta(days=1))
        assert server.messages == []
        with municipality.begin() as conn:
            conn.execute(update(Notice).where(Notice.case_id == "BV-3").values(status="pending"))
        report = run(municipality, rules, new_config, smtp(server.port), as_of=AS_OF + dt.timedelta(days=1), hour=3)
    assert {m["To"] for m in server.messages} == {CHIEF.replace("barnevern", "ny"), MOTTAK.replace("barnevern", "ny"),
                                                 OMSORG.replace("barnevern", "ny")}
    assert report.counts["sent"] >= 5


def test_a_night_before_the_first_import_refuses_and_records_nothing(engine, rules, config):
    import pytest

    from frister.errors import NoCases

    with pytest.raises(NoCases) as err:
        run(engine, rules, config, smtp(free_port()))
    assert str(err.value) == ("the database holds no cases yet: import the case system's export first "
                              "(frister import); no night was run")
    with engine.connect() as conn:
        assert conn.execute(select(NightlyRun.id)).all() == []

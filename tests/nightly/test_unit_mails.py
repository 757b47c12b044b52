"""The unit leaders' periodic e-mails: the monthly visit plan and the weekly worklist.

Real SQLite and PostgreSQL, a real SMTP server on loopback. The municipality of
``conftest`` plus BV-4, a foster-home placement in ``omsorg`` whose visit periods of
2025-H2 still lack visits. As of Tuesday 2025-11-25 (the visit plan is due from the 1st,
the weekly worklist from Monday): four unit mails (a weekly worklist to each of the three
leaders, a visit plan to omsorg's)."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from sqlalchemy import select

from frister.escalation.models import Delivery, UnitMail
from frister.nightly.run import load_config
from frister.settings import Settings
from frister.worklist import worklist

from tests.nightly.conftest import (AS_OF, LADDER, MOTTAK, OMSORG, ORGANISATION, ROOT, case_records, is_unit_mail,
                                    load_cases, run)
from tests.nightly.test_exactly_once import STEPS, SimulatedCrash, crash_at
from tests.nightly.test_run import smtp
from tests.notify.smtp_catcher import SmtpCatcher

UNDERSOKELSE = "undersokelse@barnevern.kommune.example"
BIRTH_DATE = dt.date(2013, 4, 17)  # BV-4's child: must never appear in an e-mail
UNIT_MAILS = """\
unit_mails:
  visit_plan: {enabled: true, day_of_month: 1}
  weekly_worklist: {enabled: true, weekday: monday}
"""
BV4 = {"case_id": "BV-4", "unit": "omsorg", "caseworker": "ks31", "child": {"birth_date": BIRTH_DATE.isoformat()},
       "placements": [{"id": "F1", "kind": "foster_home", "started_on": "2023-01-10",
                       "followup_visits": ["2025-01-20", "2025-03-15", "2025-05-02", "2025-06-10", "2025-08-19"],
                       "supervision_visits": ["2025-02-11", "2025-05-20"]}]}


def make_config(tmp_path, rules, extra: str = UNIT_MAILS, env: dict | None = None):
    (tmp_path / "escalation.yaml").write_text(LADDER + extra, encoding="utf-8")
    (tmp_path / "organisation.yaml").write_text(ORGANISATION, encoding="utf-8")
    settings = Settings.from_env({
        "FRISTER_CONFIG_DIR": str(tmp_path), "FRISTER_SMTP_FROM": "frister@barnevern.kommune.example",
        "FRISTER_TEMPLATES_DIR": str(ROOT / "templates"), **(env or {}),
    })
    return load_config(settings, rules, "smtp")


@pytest.fixture
def config(tmp_path, rules):
    return make_config(tmp_path, rules)


@pytest.fixture
def municipality(engine, tmp_path):
    load_cases(engine, tmp_path, case_records() + [BV4])
    return engine


def unit_mails(messages) -> list:
    return [m for m in messages if is_unit_mail(m)]


def kinds(messages) -> list[tuple[str, str]]:
    return sorted((m["To"], "visit_plan" if "Besøksplan" in m["Subject"] else "weekly") for m in unit_mails(messages))


def rows(engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(select(UnitMail.kind, UnitMail.unit, UnitMail.recipient, UnitMail.period,
                                   UnitMail.status).order_by(UnitMail.kind, UnitMail.unit)).all()


def body(message) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def test_each_unit_leader_gets_the_visit_plan_and_the_weekly_worklist_once(municipality, rules, config):
    with SmtpCatcher() as server:
        first = run(municipality, rules, config, smtp(server.port))
        again = run(municipality, rules, config, smtp(server.port), hour=5)  # same night, rerun
        later = run(municipality, rules, config, smtp(server.port), as_of=AS_OF + dt.timedelta(days=1))
    assert kinds(server.messages) == sorted([(MOTTAK, "weekly"), (UNDERSOKELSE, "weekly"), (OMSORG, "weekly"),
                                             (OMSORG, "visit_plan")])
    assert rows(municipality) == [
        ("visit_plan", "omsorg", OMSORG, "2025-11", "sent"),
        ("weekly_worklist", "mottak", MOTTAK, "2025-W48", "sent"),
        ("weekly_worklist", "omsorg", OMSORG, "2025-W48", "sent"),
        ("weekly_worklist", "undersokelse", UNDERSOKELSE, "2025-W48", "sent"),
    ]
    assert first.counts["emails_sent"] == 3 + 4  # three digests, four unit mails
    assert again.counts["emails_sent"] == 0 and later.counts["emails_sent"] == 0
    with municipality.connect() as conn:
        made = worklist(conn, rules, "omsorg", weeks=2)
        delivered = conn.execute(select(Delivery.outcome).where(Delivery.notices == 0)).scalars().all()
    assert delivered == ["sent"] * 4
    plan = next(m for m in server.messages if "Besøksplan" in m["Subject"])
    text = body(plan)
    visits = [x for x in made.lines if x.section == "visits"]
    assert len(visits) == 2
    for line in visits:  # each placement's missing visits, the last one made, the period's end
        last = line.last_visit_on.strftime("%d.%m.%Y")
        assert (f"  - Sak BV-4, {line.title}, 2. halvår 2025: {line.missing} av {line.required} besøk mangler. "
                f"Siste besøk: {last}. Perioden slutter 31.12.2025 (36 dager igjen). Enhet omsorg, "
                f"saksbehandler ks31.") in text
    assert plan["Subject"] == "[frister] Besøksplan for omsorg: 3 besøk mangler i 1 plassering per 25.11.2025"
    weekly = next(m for m in server.messages if m["To"] == UNDERSOKELSE and "Ukens" in m["Subject"])
    assert re.search(r"^  Over fristen\s+1$", body(weekly), re.M)
    assert re.search(r"^  Brudd uten registrert årsak\s+1$", body(weekly), re.M)
    assert re.search(r"^  Åpne avvik\s+0$", body(weekly), re.M)
    assert "  - Sak BV-2, " in body(weekly)


def test_no_child_name_birth_date_or_address_is_in_a_unit_mail(municipality, rules, config):
    with SmtpCatcher() as server:
        run(municipality, rules, config, smtp(server.port))
    mails = unit_mails(server.messages)
    assert len(mails) == 4
    forbidden = [BIRTH_DATE.isoformat(), BIRTH_DATE.strftime("%d.%m.%Y"), "2013", "17.04",
                 *(r["child"]["birth_date"] for r in case_records()),
                 *(dt.date.fromisoformat(r["child"]["birth_date"]).strftime("%d.%m.%Y") for r in case_records())]
    for m in mails:
        text = m.as_string() + body(m) + m.get_body(("html",)).get_content()
        assert not [x for x in forbidden if x in text], m["Subject"]
    with municipality.connect() as conn:
        stored = conn.execute(select(UnitMail.content)).scalars().all()
    # What is stored is the e-mail's content: case references, rules, dates and counts.
    keys = {k for c in stored for line in json.loads(c)["lines"] for k in line}
    assert keys == {"section", "case_id", "title", "period", "caseworker", "unit", "due", "due_month", "missing",
                    "required", "last_visit"}


def test_the_lines_are_capped_and_the_rest_points_to_the_worklist_page(municipality, rules, tmp_path):
    capped = make_config(tmp_path, rules, "  lines_per_email: 1\n" + UNIT_MAILS,
                         env={"FRISTER_WEB_BASE_URL": "https://frister.kommune.example/"})
    with SmtpCatcher() as server:
        run(municipality, rules, capped, smtp(server.port))
    weekly = next(m for m in server.messages if m["To"] == OMSORG and "Ukens" in m["Subject"])
    with municipality.connect() as conn:
        total = len(worklist(conn, rules, "omsorg", weeks=2).lines)
    assert total == 3  # BV-3's petition due in 6 days, BV-4's two visit periods
    assert ("2 til — se arbeidslisten (1 av 3 vist, de som haster mest først):\n"
            "https://frister.kommune.example/arbeidsliste?enhet=omsorg") in body(weekly)
    assert re.findall(r"^  - Sak .*$", body(weekly), re.M) == [
        "  - Sak BV-3, Begjæring etter akuttvedtak: frist 01.12.2025, 6 dager igjen. Enhet omsorg, "
        "saksbehandler ks30."]


def test_a_mail_whose_day_has_no_email_is_carried_to_the_next_working_day(municipality, rules, config):
    with SmtpCatcher() as server:
        run(municipality, rules, config, smtp(server.port), as_of=dt.date(2025, 12, 31))  # Wednesday
        server.messages.clear()
        holiday = run(municipality, rules, config, smtp(server.port), as_of=dt.date(2026, 1, 1))  # New Year's Day
        assert unit_mails(server.messages) == [] and holiday.counts["emails_sent"] == 0
        run(municipality, rules, config, smtp(server.port), as_of=dt.date(2026, 1, 2))
    # 2 January: January's visit plan, carried from the holiday; the week's (2026-W01)
    # worklist went out on 31 December and is not sent again.
    assert kinds(server.messages) == [(OMSORG, "visit_plan")]
    assert [r[3] for r in rows(municipality) if r[0] == "visit_plan"] == ["2025-12", "2026-01"]


def test_a_kind_left_out_of_the_config_is_not_sent(municipality, rules, tmp_path):
    only_weekly = make_config(tmp_path, rules, "unit_mails:\n  weekly_worklist: {weekday: wednesday}\n")
    with SmtpCatcher() as server:
        run(municipality, rules, only_weekly, smtp(server.port))  # Tuesday: not yet
        assert unit_mails(server.messages) == []
        run(municipality, rules, only_weekly, smtp(server.port), as_of=AS_OF + dt.timedelta(days=1))
    assert [k for _, k in kinds(server.messages)] == ["weekly"] * 3


@pytest.mark.parametrize("step", (*STEPS, "mail_claimed", "mail_sent", "mail_recorded"))
def test_a_run_interrupted_at_any_step_then_rerun_sends_every_unit_mail_exactly_once(municipality, rules, config,
                                                                                     step):
    with SmtpCatcher() as server:
        with pytest.raises(SimulatedCrash):
            run(municipality, rules, config, smtp(server.port), fail_at=crash_at(step))
        if step == "evaluated":
            assert rows(municipality) == []  # rolled back with the evaluation
        run(municipality, rules, config, smtp(server.port), hour=3)
        third = run(municipality, rules, config, smtp(server.port), hour=4)
    assert [r[4] for r in rows(municipality)] == ["sent"] * 4
    received = unit_mails(server.messages)
    distinct = {m["Message-ID"] for m in received}
    assert len(distinct) == 4 and kinds({m["Message-ID"]: m for m in received}.values()) == sorted(
        [(MOTTAK, "weekly"), (UNDERSOKELSE, "weekly"), (OMSORG, "weekly"), (OMSORG, "visit_plan")])
    # Killed between the server's acceptance and the record: that one e-mail goes again,
    # with the same Message-ID; anywhere else, each exactly once.
    assert len(received) == 4 + (step == "mail_sent")
    assert third.counts["emails_sent"] == 0


def test_a_mail_refused_for_now_is_sent_by_a_later_run(municipality, rules, config):
    with SmtpCatcher() as server:
        server.reply = "451 4.3.0 try again later"
        failed = run(municipality, rules, config, smtp(server.port))
        assert failed.status == "degraded" and failed.mails_waiting == 4
        server.reply = None
        run(municipality, rules, config, smtp(server.port), hour=9)  # backoff (10 min) over
    assert len(unit_mails(server.messages)) == 4
    assert [r[4] for r in rows(municipality)] == ["sent"] * 4


def test_the_weekly_counts_follow_what_the_leader_records(municipality, rules, config):
    from frister.breaches.service import BreachKey, explain

    with SmtpCatcher() as server:
        run(municipality, rules, config, smtp(server.port))
        with municipality.begin() as conn:
            explain(conn, BreachKey("BV-2", "investigation_deadline", "U1", "", 1), "lack_of_capacity",
                    "Ny saksbehandler", at=dt.datetime(2025, 11, 26, 9, tzinfo=dt.timezone.utc), by="ls01")
        server.messages.clear()
        run(municipality, rules, config, smtp(server.port), as_of=dt.date(2025, 12, 1))  # Monday, week 49
    weekly = body(next(m for m in server.messages if m["To"] == UNDERSOKELSE and "Ukens" in m["Subject"]))
    assert re.search(r"^  Over fristen\s+1$", weekly, re.M)
    assert re.search(r"^  Brudd uten registrert årsak\s+0$", weekly, re.M)  # the reason is recorded …
    assert re.search(r"^  Åpne avvik\s+1$", weekly, re.M)  # … and its deviation is open until closed

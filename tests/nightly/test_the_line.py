"""Escalation through the line with the shipped ladder: the avdelingsleder of the unit
that holds a deadline gets its breaches, the barnevernsjef too; each e-mail opens with
counts per unit and rule and lists at most ``lines_per_email`` lines. Real SQLite and
PostgreSQL, a real SMTP server on loopback."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select

from frister.demo.generate import generate_cases, write_jsonl
from frister.escalation.models import Notice
from frister.importer import import_file
from frister.nightly.run import load_config
from frister.settings import Settings

from tests.nightly.conftest import AS_OF, CHIEF, MOTTAK, ROOT, accounted, all_lines, is_unit_mail, own_organisation, run
from tests.nightly.test_run import smtp
from tests.notify.smtp_catcher import SmtpCatcher

UNDERSOKELSE = "undersokelse@barnevern.kommune.example"
TEAM = "team1@barnevern.kommune.example"
# The conftest's organisation, with a team under Undersøkelse led by a teamleder.
WITH_TEAM = f"""\
allowed_domains: [barnevern.kommune.example]
units: {{mottak: {{}}, undersokelse: {{units: {{us-1: {{}}}}}}, omsorg: {{}}}}
leaders:
  - {{role: barnevernsjef, email: {CHIEF}}}
  - {{role: avdelingsleder, email: {MOTTAK}, units: [mottak]}}
  - {{role: avdelingsleder, email: {UNDERSOKELSE}, units: [undersokelse]}}
  - {{role: teamleder, email: {TEAM}, units: [us-1]}}
  - {{role: avdelingsleder, email: omsorg@barnevern.kommune.example, units: [omsorg]}}
"""


def shipped(tmp_path, rules, organisation: str):
    """The shipped ladder (config/escalation.yaml) with ``organisation``."""
    (tmp_path / "organisation.yaml").write_text(organisation, encoding="utf-8")
    settings = Settings.from_env({
        "FRISTER_ESCALATION_CONFIG": str(ROOT / "config" / "escalation.yaml"),
        "FRISTER_ORGANISATION_CONFIG": str(tmp_path / "organisation.yaml"),
        "FRISTER_SMTP_FROM": "frister@barnevern.kommune.example",
        "FRISTER_TEMPLATES_DIR": str(ROOT / "templates"),
    })
    return load_config(settings, rules, "smtp")


def body(message) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def test_the_avdelingsleder_of_the_unit_gets_its_breaches_and_the_barnevernsjef_too(municipality, rules, tmp_path):
    config = shipped(tmp_path, rules, WITH_TEAM)
    with SmtpCatcher() as server:
        run(municipality, rules, config, smtp(server.port))
    breaches = sorted((to, case) for to, stage, _, case in all_lines(server.messages) if stage == "Fristbrudd")
    # BV-2's investigation (unit undersokelse) is overdue since 08.11.2025.
    assert breaches == [(CHIEF, "BV-2"), (UNDERSOKELSE, "BV-2")]
    leader = body(next(m for m in server.messages if m["To"] == UNDERSOKELSE))
    assert leader.startswith("Hei avdelingsleder,")
    # Counts per unit and rule first: 1 new breach, 1 without a reason, 0 due within two weeks.
    assert leader.index("  undersokelse, Frist for undersøkelse: 1 / 1 / 0") < leader.index("== Fristbrudd (1) ==")


def test_a_deadline_of_a_team_goes_to_the_avdelingsleder_above_it(municipality, rules, tmp_path):
    from tests.nightly.conftest import case_records, load_cases

    records = case_records()
    records[1] = {**records[1], "unit": "us-1"}  # BV-2 now held by the team
    load_cases(municipality, tmp_path, records, name="team.jsonl")
    config = shipped(tmp_path, rules, WITH_TEAM)
    with SmtpCatcher() as server:
        run(municipality, rules, config, smtp(server.port))
    assert sorted((to, case) for to, stage, _, case in all_lines(server.messages) if stage == "Fristbrudd") \
        == [(CHIEF, "BV-2"), (UNDERSOKELSE, "BV-2")]
    # The shipped ladder has no teamleder stage: the team leader gets only the team's weekly worklist.
    assert TEAM not in {m["To"] for m in server.messages if not is_unit_mail(m)}
    assert [m["Subject"] for m in server.messages if m["To"] == TEAM] == [
        "[frister] Ukens arbeidsliste for us-1: 1 over fristen, 0 innen to uker per 25.11.2025"]


def test_the_counts_at_the_top_of_an_email_are_per_unit_and_rule(municipality, rules, config):
    with SmtpCatcher() as server:
        run(municipality, rules, config, smtp(server.port))
    chief = body(next(m for m in server.messages if m["To"] == CHIEF))
    # BV-1's referral review (mottak) is due in 2 days: due within two weeks; BV-2 a new breach.
    top = chief[:chief.index("  Fristbrudd")]
    assert "  mottak, Gjennomgang av melding: 0 / 0 / 1\n" in top
    assert "  undersokelse, Frist for undersøkelse: 1 / 1 / 0\n" in top


def test_on_the_demos_first_night_no_email_exceeds_the_cap_and_the_totals_account_for_every_notice(
        engine, rules, tmp_path):
    """The demo's municipality (2,000 cases, four years of history) on its first night:
    the barnevernsjef's breaches run into the hundreds; each e-mail lists 50 lines."""
    config = shipped(tmp_path, rules, own_organisation(tmp_path).read_text(encoding="utf-8"))
    write_jsonl(tmp_path / "demo.jsonl", generate_cases(AS_OF, seed=2025, cases=2000))
    import_file(engine, tmp_path / "demo.jsonl", as_of=AS_OF)
    with SmtpCatcher() as server:
        report = run(engine, rules, config, smtp(server.port))
    assert report.status == "succeeded" and report.counts["sent"] == report.counts["notices_created"]
    listed = {m["To"]: len(re.findall(r"^  - Sak ", body(m), re.M)) for m in server.messages}
    assert max(listed.values()) == 50
    assert accounted(server.messages) == report.counts["sent"]
    with engine.connect() as conn:
        per_recipient = dict(conn.execute(select(Notice.recipient, func.count()).group_by(Notice.recipient)).all())
    assert {m["To"]: accounted([m]) for m in server.messages if not is_unit_mail(m)} == per_recipient
    chief = body(next(m for m in server.messages if m["To"] == "bv.barnevernsjef@barnevern.kommune.example"))
    more = re.search(r"^Og (\d+) til som ikke er listet her \(50 av (\d+) vist", chief, re.M)
    assert more and int(more.group(1)) + 50 == int(more.group(2)) and int(more.group(2)) > 500
    assert "frister worklist --unit ENHET" in chief
    assert chief.index("Per enhet og regel") < chief.index("  Totalt") < chief.index("  - Sak ")
    assert AS_OF == dt.date(2025, 11, 25)

"""What a leader records stops or changes the notices: an assessment before the breach
shows in the next warning, an acknowledged stage is not repeated (the next stage still
fires), a closed deviation gets no more notices and leaves the worklist. Real SQLite and
PostgreSQL, a real SMTP server on loopback; the CLI as a leader uses it."""

from __future__ import annotations

import datetime as dt

from click.testing import CliRunner
from sqlalchemy import select

from frister.cli import build
from frister.escalation.models import Notice
from frister.evaluation.models import Acknowledgement, BreachReason

from tests.nightly.conftest import AS_OF, CHIEF, OMSORG, all_lines, run
from tests.nightly.test_run import smtp
from tests.notify.smtp_catcher import SmtpCatcher

NEXT_WEEK = AS_OF + dt.timedelta(days=7)  # 02.12.2025: BV-2's next weekly breach notice


def breach(*args: str):
    result = CliRunner().invoke(build(), ["breach", *args], catch_exceptions=False)
    return result


def line_of(messages, to: str, case_id: str) -> str:
    for m in messages:
        if m["To"] == to:
            for line in m.get_body(("plain",)).get_content().splitlines():
                if line.startswith(f"  - Sak {case_id}:"):
                    return line
    raise AssertionError(f"no line for {case_id} to {to}")


def test_an_assessment_of_an_open_deadline_shows_in_its_next_warning(cli_env, municipality, rules, config):
    with SmtpCatcher() as server:
        run(municipality, rules, config, smtp(server.port))
        # BV-3's emergency petition (due 01.12.2025) had its reminder tonight: not assessed.
        assert line_of(server.messages, OMSORG, "BV-3").endswith("; årsak ikke vurdert.")
        result = breach("explain", "BV-3", "emergency_petition", "A1", "--reason", "complex_case",
                        "--action", "Begjæringen skrives av advokat", "--owner", "ls04", "--by", "ls04")
        assert result.exit_code == 0, result.output
        assert result.output == "assessed BV-3 emergency_petition A1: complex_case\n"
        server.messages.clear()
        run(municipality, rules, config, smtp(server.port), as_of=dt.date(2025, 11, 28))  # the warning
    assert line_of(server.messages, OMSORG, "BV-3").endswith("3 dager igjen. Enhet omsorg, saksbehandler ks30; "
                                                            "årsak vurdert.")
    assert line_of(server.messages, CHIEF, "BV-3").endswith("; årsak vurdert.")
    with municipality.connect() as conn:
        row = conn.execute(select(BreachReason.reason, BreachReason.owner, BreachReason.status)).one()
    assert tuple(row) == ("complex_case", "ls04", "open")


def test_an_extension_recorded_after_the_deadline_is_said_not_to_save_it(cli_env, municipality, rules, config):
    run(municipality, rules, config, smtp(1))  # evaluates; the mail server is not needed
    result = CliRunner().invoke(build(), ["breach", "explain", "BV-2", "investigation_deadline", "U1", "--reason",
                                          "lack_of_capacity", "--action", "Ny saksbehandler", "--decision", "extension"])
    assert result.exit_code == 0, result.output
    assert "an extension decided after it does not cure the breach" in result.stderr
    refused = CliRunner().invoke(build(), ["breach", "explain", "BV-3", "emergency_petition", "A1", "--reason",
                                           "other", "--action", "x", "--decision", "extension"])
    assert refused.exit_code != 0 and "does not apply to emergency_petition" in refused.output


def test_an_acknowledged_stage_is_not_repeated_and_the_next_stage_still_fires(cli_env, municipality, rules, config):
    with SmtpCatcher() as server:
        run(municipality, rules, config, smtp(server.port))
        assert breach("ack", "BV-2", "investigation_deadline", "U1", "--stage", "breach", "--by", "ls01",
                      "--note", "Drøftet i teammøte").exit_code == 0
        assert breach("ack", "BV-3", "emergency_petition", "A1", "--stage", "reminder", "--by", "ls04").exit_code == 0
        nothing = breach("ack", "BV-3", "emergency_petition", "A1", "--stage", "warning", "--by", "ls04")
        assert nothing.exit_code != 0 and "no warning notice has been sent" in nothing.output
        server.messages.clear()
        run(municipality, rules, config, smtp(server.port), as_of=dt.date(2025, 11, 28))
        later = run(municipality, rules, config, smtp(server.port), as_of=NEXT_WEEK)
    lines = all_lines(server.messages)
    assert not [x for x in lines if x[3] == "BV-2"]  # the weekly breach notice of 02.12 is not created
    assert (OMSORG, "Varsel", "Begjæring etter akuttvedtak", "BV-3") in lines  # the next stage fires
    assert later.counts["notices_created"] == 1  # only BV-3's breach (due 01.12), to the chief
    with municipality.connect() as conn:
        ack = conn.execute(select(Acknowledgement.stage, Acknowledgement.acknowledged_by, Acknowledgement.note)
                           .where(Acknowledgement.case_id == "BV-2")).one()
        bv2 = conn.execute(select(Notice.repeat).where(Notice.case_id == "BV-2")).scalars().all()
    assert tuple(ack) == ("breach", "ls01", "Drøftet i teammøte")
    assert bv2 == [2]


def test_a_closed_deviation_stops_its_notices_and_leaves_the_worklist(cli_env, municipality, rules, config):
    with SmtpCatcher() as server:
        run(municipality, rules, config, smtp(server.port))
        refused = breach("status", "BV-2", "investigation_deadline", "U1", "closed", "--note", "x")
        assert refused.exit_code != 0 and "no assessment is recorded" in refused.output
        assert breach("explain", "BV-2", "investigation_deadline", "U1", "--reason", "lack_of_capacity",
                      "--action", "Ny saksbehandler", "--owner", "ls01", "--follow-up-by", "2025-12-01").exit_code == 0
        assert breach("status", "BV-2", "investigation_deadline", "U1", "in_progress").exit_code == 0
        no_note = breach("status", "BV-2", "investigation_deadline", "U1", "closed")
        assert no_note.exit_code != 0 and "needs a note" in no_note.output
        assert breach("status", "BV-2", "investigation_deadline", "U1", "closed", "--note",
                      "Undersøkelsen avsluttet, rutine gjennomgått", "--by", "ls01").exit_code == 0
        server.messages.clear()
        run(municipality, rules, config, smtp(server.port), as_of=NEXT_WEEK)
    assert not [x for x in all_lines(server.messages) if x[3] == "BV-2"]
    listed = CliRunner().invoke(build(), ["breach", "list"])
    assert "BV-2" in listed.output and "closed" in listed.output  # still a breach in the register
    worklist = CliRunner().invoke(build(), ["worklist", "--format", "csv"])
    assert worklist.exit_code == 0 and "BV-2" not in worklist.output
    counts = CliRunner().invoke(build(), ["breach", "deviations"])
    assert "investigation_deadline" in counts.output


def test_a_stage_for_breaches_without_a_reason_stops_once_a_reason_is_recorded(cli_env, municipality, rules, config,
                                                                               tmp_path):
    from frister.nightly.run import load_config
    from frister.settings import Settings

    from tests.nightly.conftest import LADDER, ROOT

    path = tmp_path / "escalation.yaml"  # the config fixture's directory
    path.write_text(LADDER.replace(
        "    - {stage: breach,",
        "    - {stage: unexplained, days_after_due: 15, to: [barnevernsjef], without_reason: true,"
        " repeat_every_days: 7}\n    - {stage: breach,"), encoding="utf-8")
    with_stage = load_config(Settings.from_env({
        "FRISTER_CONFIG_DIR": str(tmp_path), "FRISTER_SMTP_FROM": "frister@barnevern.kommune.example",
        "FRISTER_TEMPLATES_DIR": str(ROOT / "templates")}), rules, "smtp")
    with SmtpCatcher() as server:
        # 25.11: BV-2 has been overdue since 08.11 (17 days): its breach and, without a
        # reason, the unexplained stage (due 23.11) both go to the chief: one line.
        run(municipality, rules, with_stage, smtp(server.port))
        assert (CHIEF, "Fristbrudd uten årsak", "Frist for undersøkelse", "BV-2") in all_lines(server.messages)
        assert breach("explain", "BV-2", "investigation_deadline", "U1", "--reason", "complex_case",
                      "--action", "Ekstra ressurs").exit_code == 0
        server.messages.clear()
        run(municipality, rules, with_stage, smtp(server.port), as_of=NEXT_WEEK)
    lines = all_lines(server.messages)
    assert (CHIEF, "Fristbrudd", "Frist for undersøkelse", "BV-2") in lines  # the weekly breach goes on
    assert not [x for x in lines if x[1] == "Fristbrudd uten årsak"]
    with municipality.connect() as conn:
        stages = conn.execute(select(Notice.stage, Notice.repeat).where(Notice.case_id == "BV-2")
                              .order_by(Notice.id)).all()
    assert [tuple(s) for s in stages] == [("breach", 2), ("unexplained", 0), ("breach", 3)]


def test_a_withdrawn_acknowledgement_lets_the_stage_repeat_again_and_both_are_in_the_history(
        cli_env, municipality, rules, config):
    from frister.breaches.service import ACK_EVENTS, history
    from frister.evaluation.models import BreachHistory

    with SmtpCatcher() as server:
        run(municipality, rules, config, smtp(server.port))
        assert breach("ack", "BV-2", "investigation_deadline", "U1", "--stage", "breach", "--by", "ls01",
                      "--note", "Drøftet").exit_code == 0
        server.messages.clear()
        run(municipality, rules, config, smtp(server.port), as_of=NEXT_WEEK)
        assert not [x for x in all_lines(server.messages) if x[3] == "BV-2"]  # acknowledged: no repeat
        withdrawn = breach("ack", "BV-2", "investigation_deadline", "U1", "--stage", "breach", "--by", "ls02",
                           "--withdraw", "--note", "Ikke fulgt opp likevel")
        assert withdrawn.exit_code == 0, withdrawn.output
        assert withdrawn.output.startswith("withdrew the acknowledgement of breach of BV-2")
        again = breach("ack", "BV-2", "investigation_deadline", "U1", "--stage", "breach", "--by", "ls02",
                       "--withdraw")
        assert again.exit_code != 0 and "is not acknowledged: nothing to withdraw" in again.output
        server.messages.clear()
        run(municipality, rules, config, smtp(server.port), as_of=NEXT_WEEK + dt.timedelta(days=1))
    # The weekly repeat that fell due on 02.12 while acknowledged is sent the next night.
    assert [x for x in all_lines(server.messages) if x[3] == "BV-2"] == [
        (CHIEF, "Fristbrudd", "Frist for undersøkelse", "BV-2")]
    with municipality.connect() as conn:
        assert conn.execute(select(Acknowledgement).where(Acknowledgement.case_id == "BV-2")).first() is None
        entries = history(conn, events=ACK_EVENTS)
        events = conn.execute(select(BreachHistory.event).order_by(BreachHistory.id)).scalars().all()
        assessments = history(conn)  # what the audit listing shows: assessments and status changes
    assert [(e.event, e.stage, e.recorded_by, e.note) for e in entries] == [
        ("acknowledged", "breach", "ls01", "Drøftet"), ("ack_withdrawn", "breach", "ls02", "Ikke fulgt opp likevel")]
    assert events == ["acknowledged", "ack_withdrawn"]  # appended, nothing replaced
    assert assessments == []

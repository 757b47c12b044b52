"""``frister run``, ``runs``, ``health`` from the command line."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from click.testing import CliRunner
from sqlalchemy import func, insert, select

from frister.cli import build
from frister.db.engine import create_db_engine
from frister.nightly.models import COUNT_FIELDS, NightlyRun

from tests.nightly.conftest import AS_OF, ROOT, case_records, load_cases, own_organisation
from tests.notify.smtp_catcher import SmtpCatcher, free_port

SUMMARY = re.compile(r"^run \d+ as of 2025-11-25: \d+ obligations, \d+ notices created, \d+ sent, \d+ retrying, \d+ dead$")


def invoke(*args):
    return CliRunner().invoke(build(), list(args), catch_exceptions=False)


def test_frister_run_refuses_to_start_without_smtp_settings(cli_env, monkeypatch):
    for name in ("FRISTER_SMTP_HOST", "FRISTER_SMTP_HOST_FILE"):
        monkeypatch.delenv(name, raising=False)
    result = invoke("run", "--as-of", AS_OF.isoformat())
    assert result.exit_code == 2
    assert "error: no SMTP settings: set FRISTER_SMTP_HOST" in result.output and "--transport console" in result.output


def test_frister_run_with_the_console_transport_works_out_of_the_box(cli_env, engine, tmp_path):
    load_cases(engine, tmp_path, case_records())
    result = invoke("run", "--as-of", AS_OF.isoformat(), "--transport", "console")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert SUMMARY.match(lines[-1]), lines[-1]
    assert "To: barnevernsjef@barnevern.kommune.example" in result.output  # the bundled example recipients
    assert "Sak BV-2: frist 08.11.2025, 17 dager over fristen." in result.output


def test_frister_run_sends_by_smtp_with_the_settings_from_the_environment(cli_env, engine, tmp_path, monkeypatch):
    load_cases(engine, tmp_path, case_records())
    with SmtpCatcher() as server:
        for name, value in {"FRISTER_SMTP_HOST": "127.0.0.1", "FRISTER_SMTP_PORT": str(server.port),
                            "FRISTER_SMTP_SECURITY": "none", "FRISTER_SMTP_FROM": "frister@barnevern.kommune.example",
                            "FRISTER_ORGANISATION_CONFIG": str(own_organisation(tmp_path))}.items():
            monkeypatch.setenv(name, value)
        result = invoke("run", "--as-of", AS_OF.isoformat())
    assert result.exit_code == 0, result.output
    assert SUMMARY.match(result.output.strip()) and len(server.messages) >= 2


@pytest.mark.parametrize("sender", [
    "evil@attacker.example <frister@barnevern.kommune.example>",
    "frister@barnevern.kommune.example\r\nBcc: evil@attacker.example",
])
def test_a_hostile_sender_setting_stops_the_run_before_the_night_starts(cli_env, engine, tmp_path, monkeypatch,
                                                                          sender):
    load_cases(engine, tmp_path, case_records())
    with SmtpCatcher() as server:
        for name, value in {"FRISTER_SMTP_HOST": "127.0.0.1", "FRISTER_SMTP_PORT": str(server.port),
                            "FRISTER_SMTP_SECURITY": "none", "FRISTER_SMTP_FROM": sender,
                            "FRISTER_ORGANISATION_CONFIG": str(own_organisation(tmp_path))}.items():
            monkeypatch.setenv(name, value)
        result = CliRunner().invoke(build(), ["run", "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: FRISTER_SMTP_FROM: expected ") and "evil" not in result.output
    assert server.envelopes == []
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(NightlyRun)).scalar_one() == 0


def test_smtp_without_an_organisation_file_of_its_own_refuses_the_example(cli_env, monkeypatch):
    monkeypatch.setenv("FRISTER_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("FRISTER_SMTP_FROM", "frister@barnevern.kommune.example")
    result = invoke("run", "--as-of", AS_OF.isoformat())
    assert result.exit_code == 2 and "organisation file not found" in result.output


def test_frister_runs_lists_the_recent_runs(cli_env, engine, tmp_path):
    load_cases(engine, tmp_path, case_records())
    invoke("run", "--as-of", AS_OF.isoformat(), "--transport", "console", "--quiet")
    result = invoke("runs")
    assert result.exit_code == 0
    header, line = result.output.splitlines()
    assert header.split() == ["id", "as", "of", "started", "(Oslo)", "duration", "status", "transport", "oblig.",
                              "created", "delivered", "waiting", "dead"]
    assert re.fullmatch(r"\s+1  2025-11-25  \d{4}-\d\d-\d\d \d\d:\d\d\s+\d+s  succeeded\s+console\s+6\s+5\s+5\s+0\s+0",
                        line), line


def test_frister_health_fails_when_the_last_successful_run_is_too_old(cli_env):
    nothing = invoke("health")  # nothing has run yet
    assert (nothing.exit_code, nothing.output) == (1, "UNHEALTHY: no completed nightly run recorded\n")
    old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=30)
    engine = create_db_engine(cli_env)
    with engine.begin() as conn:
        conn.execute(insert(NightlyRun).values(as_of=old.date(), started_at=old, finished_at=old, status="succeeded",
                                               transport="smtp", **{f: 0 for f in COUNT_FIELDS}))
    engine.dispose()
    stale = invoke("health")
    assert stale.exit_code == 1 and stale.output.startswith("UNHEALTHY: last completed run 1 ")
    assert stale.output.strip().endswith("succeeded) finished 30.0 h ago, more than 26h")
    fresh_enough = invoke("health", "--max-age", "2d")
    assert fresh_enough.exit_code == 0 and fresh_enough.output.startswith("OK: last completed run 1 ")
    assert fresh_enough.output.splitlines()[1] == "0 changed case(s) waiting for the next run"
    assert invoke("health", "--max-age", "soon").exit_code == 2


def test_frister_health_tells_how_many_imported_cases_wait_for_the_next_run(cli_env, engine, tmp_path):
    load_cases(engine, tmp_path, case_records())
    invoke("run", "--as-of", AS_OF.isoformat(), "--transport", "console", "--quiet")
    assert invoke("health").output.splitlines()[1] == "0 changed case(s) waiting for the next run"
    with engine.begin() as conn:  # two cases changed, one of them twice
        conn.exec_driver_sql("UPDATE cases SET caseworker = 'ny' WHERE case_id IN ('BV-1', 'BV-2')")
        conn.exec_driver_sql("UPDATE cases SET unit = 'Vest' WHERE case_id = 'BV-1'")
    assert invoke("health").output.splitlines()[1] == "2 changed case(s) waiting for the next run"
    invoke("run", "--as-of", AS_OF.isoformat(), "--transport", "console", "--quiet")
    assert invoke("health").output.splitlines()[1] == "0 changed case(s) waiting for the next run"


def smtp_settings(monkeypatch, port: int, tmp_path) -> None:
    for name, value in {"FRISTER_SMTP_HOST": "127.0.0.1", "FRISTER_SMTP_PORT": str(port),
                        "FRISTER_SMTP_SECURITY": "none", "FRISTER_SMTP_FROM": "frister@barnevern.kommune.example",
                        "FRISTER_SMTP_TIMEOUT": "5",
                        "FRISTER_ORGANISATION_CONFIG": str(own_organisation(tmp_path))}.items():
        monkeypatch.setenv(name, value)


def test_a_night_with_the_mail_server_down_ends_degraded_and_health_fails_past_the_grace(
        cli_env, engine, tmp_path, monkeypatch):
    load_cases(engine, tmp_path, case_records())
    smtp_settings(monkeypatch, free_port(), tmp_path)  # nothing listens there
    result = CliRunner().invoke(build(), ["run", "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 3, result.output
    assert result.stdout.strip().endswith("5 notices created, 0 sent, 5 retrying, 0 dead")
    # The shipped config also mails each unit leader the week's worklist (three units here).
    assert result.stderr == ("warning: run 1 degraded: notices not all delivered (5 waiting, 0 dead this run; "
                             "3 unit mail(s) waiting); see 'frister notices --status waiting' and '--status dead'\n")
    line = invoke("runs").output.splitlines()[1]
    assert re.search(r"  degraded\s+smtp\s+6\s+5\s+0\s+5\s+0$", line), line
    # Within the grace (2 hours by default) the night is still healthy; past it, not.
    assert invoke("health").exit_code == 0
    late = invoke("health", "--delivery-grace", "0m")
    assert late.exit_code == 1
    assert re.fullmatch(r"UNHEALTHY: 5 notice\(s\) waiting for delivery for more than 0m \(the oldest since "
                        r"\d{4}-\d\d-\d\d \d\d:\d\d Europe/Oslo\): see 'frister notices --status waiting'\n"
                        r"UNHEALTHY: 3 unit mail\(s\) \(visit plan, weekly worklist\) waiting for delivery for "
                        r"more than 0m\n", late.output)
    monkeypatch.setenv("FRISTER_DELIVERY_GRACE", "0m")
    assert invoke("health").exit_code == 1


def test_health_fails_while_a_notice_is_dead(cli_env, engine, tmp_path, monkeypatch):
    load_cases(engine, tmp_path, case_records())
    with SmtpCatcher() as server:
        server.reply = "550 5.1.1 mailbox unavailable"
        smtp_settings(monkeypatch, server.port, tmp_path)
        assert invoke("run", "--as-of", AS_OF.isoformat()).exit_code == 3
    result = invoke("health")
    assert result.exit_code == 1
    assert result.output == ("UNHEALTHY: 5 dead notice(s), never delivered: see 'frister notices --status dead', "
                             "then 'frister notices resend'\n"
                             "UNHEALTHY: 3 dead unit mail(s), never delivered: 'frister notices resend --all-dead' "
                             "requeues them\n")
    resent = invoke("notices", "resend", "--all-dead")
    assert resent.output == "requeued 5 notice(s) and 3 unit mail(s); the next run sends them\n"
    with SmtpCatcher() as server:
        smtp_settings(monkeypatch, server.port, tmp_path)
        assert invoke("run", "--as-of", AS_OF.isoformat()).exit_code == 0
    assert len(server.messages) == 4 + 3  # the digests and the weekly worklists, once each
    assert invoke("health").exit_code == 0


def test_frister_run_on_an_empty_database_warns_and_is_not_a_green_night(cli_env):
    result = CliRunner().invoke(build(), ["run", "--as-of", AS_OF.isoformat(), "--transport", "console"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("warning: the database holds no cases yet: import the case system's export")
    assert invoke("runs").output == "no nightly runs yet\n"

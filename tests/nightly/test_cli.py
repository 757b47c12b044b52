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

from tests.nightly.conftest import AS_OF, ROOT, case_records, load_cases
from tests.notify.smtp_catcher import SmtpCatcher

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
                            "FRISTER_RECIPIENTS_CONFIG": str(ROOT / "config" / "recipients.example.yaml")}.items():
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
                            "FRISTER_RECIPIENTS_CONFIG": str(ROOT / "config" / "recipients.example.yaml")}.items():
            monkeypatch.setenv(name, value)
        result = CliRunner().invoke(build(), ["run", "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: FRISTER_SMTP_FROM: expected ") and "evil" not in result.output
    assert server.envelopes == []
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(NightlyRun)).scalar_one() == 0


def test_smtp_without_a_recipients_file_of_its_own_refuses_the_example(cli_env, monkeypatch):
    monkeypatch.setenv("FRISTER_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("FRISTER_SMTP_FROM", "frister@barnevern.kommune.example")
    result = invoke("run", "--as-of", AS_OF.isoformat())
    assert result.exit_code == 2 and "recipients directory not found" in result.output


def test_frister_runs_lists_the_recent_runs(cli_env, engine, tmp_path):
    load_cases(engine, tmp_path, case_records())
    invoke("run", "--as-of", AS_OF.isoformat(), "--transport", "console", "--quiet")
    result = invoke("runs")
    assert result.exit_code == 0
    assert re.search(r"^\s+1  2025-11-25  .*  succeeded\s+console\s+6\s+\d+\s+0\s+\d+\s+0\s+0$", result.output, re.M)


def test_frister_health_fails_when_the_last_successful_run_is_too_old(cli_env):
    assert invoke("health").exit_code == 1  # nothing has run yet
    old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=30)
    engine = create_db_engine(cli_env)
    with engine.begin() as conn:
        conn.execute(insert(NightlyRun).values(as_of=old.date(), started_at=old, finished_at=old, status="succeeded",
                                               transport="smtp", **{f: 0 for f in COUNT_FIELDS}))
    engine.dispose()
    stale = invoke("health")
    assert stale.exit_code == 1 and stale.output.startswith("UNHEALTHY: last successful run 1")
    fresh_enough = invoke("health", "--max-age", "2d")
    assert fresh_enough.exit_code == 0 and fresh_enough.output.startswith("OK: last successful run 1")
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

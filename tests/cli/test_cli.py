"""The command line: the JSON output contract, filters, and errors without tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from frister.cli import build
from frister.engine.results import JSON_KEYS, STATUSES

CASE = {
    "case_id": "BV-1", "municipality": "3316", "unit": "mottak", "caseworker": "ks01",
    "referrals": [{"id": "M1", "received_on": "2025-03-15", "concluded_on": "2025-03-23", "feedback_sent_on": "2025-03-20"}],
    "placements": [{"id": "F1", "kind": "foster_home", "started_on": "2025-01-01", "followup_visits": ["2025-02-01"],
                    "unit": "omsorg", "caseworker": "ks30"}],
}


def invoke(*args):
    return CliRunner().invoke(build(), list(args), catch_exceptions=False)


def test_evaluate_prints_the_json_contract(cli_env, tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(CASE) + "\n")
    assert invoke("import", str(path), "--as-of", "2025-04-15").exit_code == 0
    result = invoke("evaluate", "--as-of", "2025-04-15", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert all(tuple(r) == JSON_KEYS for r in rows)
    assert {"case_id": "BV-1", "rule": "referral_review", "subject": "M1", "period": None, "due_on": "2025-03-22",
            "met_on": "2025-03-23", "status": "late", "days_late": 1, "required": None, "done": None,
            "rule_version": "bvl21", "duty": "law", "municipality": "3316", "unit": "mottak",
            "caseworker": "ks01"} in rows
    # The placement's step is held by the unit and caseworker recorded on it (contract v2).
    assert {"case_id": "BV-1", "rule": "foster_home_first_year_visits", "subject": "F1", "period": "2025-Q1",
            "due_on": "2025-03-31", "met_on": None, "status": "met", "days_late": 0, "required": 1, "done": 1,
            "rule_version": "local", "duty": "local", "municipality": "3316", "unit": "omsorg",
            "caseworker": "ks30"} in rows


def test_evaluate_filters_by_rule_status_and_case(cli_env, tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(CASE) + "\n" + json.dumps({**CASE, "case_id": "BV-2"}) + "\n")
    invoke("import", str(path), "--as-of", "2025-04-15")
    rows = json.loads(invoke("evaluate", "--as-of", "2025-04-15", "--format", "json", "--case", "BV-2",
                             "--rule", "foster_home_first_year_visits", "--status", "open").output)
    assert [(r["case_id"], r["period"], r["status"]) for r in rows] == [("BV-2", "2025-Q2", "open")]


def test_evaluate_filters_by_unit_caseworker_and_municipality(cli_env, tmp_path):
    path = tmp_path / "c.jsonl"
    other = {**CASE, "case_id": "BV-2", "municipality": "3318"}
    path.write_text(json.dumps(CASE) + "\n" + json.dumps(other) + "\n")
    invoke("import", str(path), "--as-of", "2025-04-15")

    def shown(*filters):
        out = invoke("evaluate", "--as-of", "2025-04-15", "--format", "json", "--no-store", *filters).output
        return sorted({(r["case_id"], r["unit"], r["caseworker"]) for r in json.loads(out)})

    assert shown("--unit", "omsorg") == [("BV-1", "omsorg", "ks30"), ("BV-2", "omsorg", "ks30")]
    assert shown("--caseworker", "ks01", "--municipality", "3318") == [("BV-2", "mottak", "ks01")]
    assert invoke("evaluate", "--as-of", "2025-04-15", "--unit", "nowhere").exit_code == 2


def test_evaluate_summary_counts_every_obligation_with_or_without_storing(cli_env, tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(CASE) + "\n" + json.dumps({**CASE, "case_id": "BV-2"}) + "\n")
    invoke("import", str(path), "--as-of", "2025-04-15")
    listed = json.loads(invoke("evaluate", "--as-of", "2025-04-15", "--format", "json", "--no-store").output)
    counted = invoke("evaluate", "--as-of", "2025-04-15", "--format", "summary", "--no-store").output
    line = next(x for x in counted.splitlines() if x.strip().startswith("foster_home_followup_visits"))
    visits = [r["status"] for r in listed if r["rule"] == "foster_home_followup_visits"]
    assert line.split()[1:] == [str(visits.count(s)) for s in STATUSES]
    total = counted.splitlines()[-1].split()
    assert total[0] == "total" and sum(map(int, total[1:])) == len(listed)
    stored = invoke("evaluate", "--as-of", "2025-04-15", "--format", "summary").output
    assert f"{len(listed)} obligations" in stored and "evaluated 2 case(s)" in stored


def test_an_unmigrated_database_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("FRISTER_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    result = CliRunner().invoke(build(), ["evaluate", "--as-of", "2025-04-15"])
    assert result.exit_code == 2
    assert "run 'frister db upgrade'" in result.output and "Traceback" not in result.output


def test_a_malformed_as_of_date_is_refused(cli_env):
    result = CliRunner().invoke(build(), ["evaluate", "--as-of", "2025-02-30"])
    assert result.exit_code == 2 and "expected a date YYYY-MM-DD" in result.output


def test_db_upgrade_creates_the_schema(tmp_path, monkeypatch):
    monkeypatch.setenv("FRISTER_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    result = invoke("db", "upgrade")
    assert result.exit_code == 0 and result.output.startswith("database at revision ")
    assert invoke("db", "current").output.split("database: ")[1].split(";")[0] != "empty"


def test_a_case_reference_that_is_not_utf8_is_refused_on_both_databases(cli_env, tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(CASE) + "\n")
    invoke("import", str(path), "--as-of", "2025-04-15")
    frister = str(Path(sys.executable).parent / "frister")
    # CESU-8 (a surrogate encoded as UTF-8), a Latin-1 byte: Python reads both as lone surrogates.
    for raw in (b"\xed\xa0\x80", b"BV-\xf8"):
        for args in ([b"evaluate", b"--as-of", b"2025-04-15", b"--case", raw],
                     [b"breach", b"explain", raw, b"referral_review", b"M1", b"--reason", b"other", b"--action", b"x"]):
            result = subprocess.run([frister.encode(), *args], env=dict(os.environ), capture_output=True, timeout=60)
            assert result.returncode == 2, result.stderr
            assert b"expected UTF-8 text: a case reference of 1 to 64 characters without control characters" \
                in result.stderr
            assert raw not in result.stderr and b"internal error" not in result.stderr

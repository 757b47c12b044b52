"""The «Avvik» section of the monthly, half-year and annual reports, on SQLite and PostgreSQL.

The hand-worked cases of :mod:`report_fixture` and two more in «mottak», data as of
2025-08-01 (referral review: one week from receipt; feedback sent in time in all):

R-1  M1 received 2024-09-02, reviewed 09-20: due 09-09, late
     M2 received 2025-02-03, reviewed 02-14: due 02-10, late — recurs (M1 five months before,
        outside 2025-H1)
     M3 received 2025-03-03, reviewed 03-12: due 03-10, late — recurs (M2)
R-2  M1 received 2024-01-03, reviewed 01-15: due 01-10, late
     M2 received 2025-01-06, reviewed 01-20: due 01-13, late — 12 months and 3 days after
        M1: not a recurrence

The breaches due in 2025-H1 are then the six of report_fixture (A-1 M2's review, B-1's
investigation, D-1's evaluation of 01-01, E-1's plan, F-1's follow-up visits, G-1's
supervision visits) and R-1 M2, R-1 M3, R-2 M2. Recorded: A-1 M2 open, R-1 M2 in
progress, R-1 M3 closed, B-1 closed; the other five have no assessment.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from frister.breaches.service import BreachKey, explain, recurring, set_status
from frister.cli import build
from frister.evaluation.service import run_evaluation
from frister.importer import import_file
from report_fixture import AS_OF, CASES

AT = dt.datetime(2025, 8, 2, 9, 0, tzinfo=dt.timezone.utc)


def _referral(rid, received, reviewed, feedback):
    return {"id": rid, "received_on": received, "concluded_on": reviewed, "conclusion": "closed",
            "feedback_sent_on": feedback}


MORE = [
    {"case_id": "R-1", "unit": "mottak", "caseworker": "cw-1", "referrals": [
        _referral("M1", "2024-09-02", "2024-09-20", "2024-09-10"),
        _referral("M2", "2025-02-03", "2025-02-14", "2025-02-05"),
        _referral("M3", "2025-03-03", "2025-03-12", "2025-03-05")]},
    {"case_id": "R-2", "unit": "mottak", "caseworker": "cw-1", "referrals": [
        _referral("M1", "2024-01-03", "2024-01-15", "2024-01-05"),
        _referral("M2", "2025-01-06", "2025-01-20", "2025-01-08")]},
]


def counts(breaches, not_assessed=0, open=0, in_progress=0, closed=0, recurrences=0) -> dict:
    return {"breaches": breaches, "not_assessed": not_assessed, "open": open, "in_progress": in_progress,
            "closed": closed, "recurrences": recurrences}


@pytest.fixture
def followed_up(engine, rules, tmp_path, cli_env):
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in CASES + MORE), encoding="utf-8")
    import_file(engine, path, as_of=AS_OF)
    run_evaluation(engine, rules, AS_OF)
    with engine.begin() as conn:
        review = "referral_review"
        explain(conn, BreachKey("A-1", review, "M2"), "lack_of_capacity", "Ekstra mottaksvakt", AT, by="leder1")
        explain(conn, BreachKey("R-1", review, "M2"), "lack_of_capacity", "Ekstra mottaksvakt", AT, by="leder1")
        set_status(conn, BreachKey("R-1", review, "M2"), "in_progress", AT, by="leder1")
        explain(conn, BreachKey("R-1", review, "M3"), "lack_of_capacity", "Ekstra mottaksvakt", AT, by="leder1")
        set_status(conn, BreachKey("R-1", review, "M3"), "closed", AT, by="leder1", note="Rutine endret")
        explain(conn, BreachKey("B-1", "investigation_deadline", "U1"), "complex_case", "Gjennomgang", AT, by="leder1")
        set_status(conn, BreachKey("B-1", "investigation_deadline", "U1"), "closed", AT, by="leder1", note="Avsluttet")
    return engine


def report(*args: str, fmt: str = "json"):
    result = CliRunner().invoke(build(), ["report", *args, "--format", fmt])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout) if fmt == "json" else result.stdout_bytes


def by_rule(d: dict) -> dict:
    return {r["rule"]: (r["total"], [(u["unit"], {k: v for k, v in u.items() if k not in ("unit", "name", "depth")})
                                      for u in r["units"]]) for r in d["rules"]}


def test_the_half_year_counts_deviations_per_rule_and_unit(followed_up):
    d = report("half-year", "--period", "2025-H1")["deviations"]
    assert (d["start"], d["end"]) == ("2025-01-01", "2025-06-30")
    rules = by_rule(d)
    # In the case's path order: melding, undersøkelse, tiltak, omsorg.
    assert list(rules) == ["referral_review", "investigation_deadline", "measure_plan", "measure_plan_evaluation",
                           "foster_home_followup_visits", "foster_home_supervision_visits"]
    review = counts(4, not_assessed=1, open=1, in_progress=1, closed=1, recurrences=2)
    assert rules["referral_review"] == (review, [("mottak", review)])
    assert rules["investigation_deadline"] == (counts(1, closed=1), [("undersokelse", counts(1, closed=1))])
    assert rules["measure_plan"] == (counts(1, not_assessed=1), [("tiltak", counts(1, not_assessed=1))])
    assert rules["foster_home_supervision_visits"][0] == counts(1, not_assessed=1)
    assert d["total"] == counts(9, not_assessed=5, open=1, in_progress=1, closed=2, recurrences=2)


def test_the_monthly_report_counts_the_deviations_of_the_trailing_12_months(followed_up):
    doc = report("monthly", "--month", "2025-03")
    d = doc["deviations"]
    # 01.04.2024–31.03.2025: R-1 M1, M2 and M3, R-2 M2, and D-1's evaluation of 01-01.
    assert (d["start"], d["end"]) == ("2024-04-01", "2025-03-31")
    assert by_rule(d)["referral_review"][0] == counts(4, not_assessed=2, in_progress=1, closed=1, recurrences=2)
    assert d["total"] == counts(5, not_assessed=3, in_progress=1, closed=1, recurrences=2)
    assert "Gjentatt innen 12 måneder" in [g["term"] for g in doc["glossary"]]


def test_the_annual_report_counts_deviations_per_year(followed_up):
    doc = report("annual", "--year", "2025", "--years", "2")
    first, last = doc["years"]
    assert first["deviations"]["total"] == counts(2, not_assessed=2)  # R-1 M1, R-2 M1
    # 2025 adds D-1's evaluation due 07-01, not done by 08-01: a recurrence of its 01-01 breach.
    assert last["deviations"]["total"] == counts(10, not_assessed=6, open=1, in_progress=1, closed=2, recurrences=3)
    assert by_rule(last["deviations"])["measure_plan_evaluation"][0] == counts(2, not_assessed=2, recurrences=1)
    assert doc["deviations"] == last["deviations"]


def test_the_deviations_are_a_sheet_of_numbers_and_a_section_with_its_terms(followed_up, tmp_path):
    out = tmp_path / "h.xlsx"
    result = CliRunner().invoke(build(), ["report", "half-year", "--period", "2025-H1", "--format", "xlsx",
                                          "--output", str(out)])
    assert result.exit_code == 0, result.output
    book = load_workbook(out)
    rows = [list(r) for r in book["Avvik"].iter_rows(values_only=True)]
    assert rows[0] == ["Frist", "Enhet", "Fristbrudd", "Uten vurdering", "Åpne avvik", "Under arbeid", "Lukket",
                       "Gjentatt innen 12 måneder"]
    assert rows[1][2:] == [4, 1, 1, 1, 1, 2] and rows[1][1] == "Totalt"
    assert rows[-1] == ["Alle frister", "Totalt", 9, 5, 1, 1, 2, 2]
    html = report("half-year", "--period", "2025-H1", fmt="html").decode("utf-8")
    assert "<h2>Avvik</h2>" in html and "<dt>Gjentatt innen 12 måneder</dt>" in html and "<dt>Lukket</dt>" in html
    for args in (["monthly", "--month", "2025-03"], ["annual", "--year", "2025", "--years", "2"]):
        page = report(*args, fmt="html").decode("utf-8")
        assert "<h2>Avvik</h2>" in page and "<dt>Under arbeid</dt>" in page
    annual = tmp_path / "a.xlsx"
    assert CliRunner().invoke(build(), ["report", "annual", "--year", "2025", "--years", "2", "--format", "xlsx",
                                        "--output", str(annual)]).exit_code == 0
    per_year = [list(r) for r in load_workbook(annual)["Avvik per år"].iter_rows(values_only=True)]
    assert per_year[1] == ["Fristbrudd", 2, 10] and per_year[-1] == ["Gjentatt innen 12 måneder", 0, 3]


def test_a_recurrence_is_the_same_case_and_rule_again_within_12_months():
    d = dt.date
    rows = [("K", "r", d(2024, 2, 29)), ("K", "r", d(2025, 2, 28)), ("K", "r", d(2026, 3, 1)),
            ("K", "s", d(2025, 3, 1)), ("L", "r", d(2025, 1, 1)), ("K", "r", d(2026, 3, 1))]
    # 2025-02-28 is 12 months after 2024-02-29 (month end); 2026-03-01 is more than 12
    # months after 2025-02-28; its twin due the same day recurs; other rules and cases do not.
    assert recurring(rows) == [False, True, False, False, False, True]

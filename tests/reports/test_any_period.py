"""Any period on every report (``--from/--to``), against the hand-worked fixture of
:mod:`report_fixture` (data as of 2025-08-01), on SQLite and PostgreSQL.

Due from 05.03 to 12.04 2025 (both days counted):
  referral_review        A-1 M1 03-10 met, A-1 M2 04-08 late 3            → 2 due, 1 met, 1 late
  reporter_feedback      A-1 M1 03-24 met (M2's 04-22 is after the period) → 1 due, 1 met
  measure_plan_evaluation D-1 04-10 met (its 01-01 is before)             → 1 due, 1 met
  first-year visits      G-1 Q1 (ends 03-31), 1 of 1                      → 1 due, 1 met
  B-1's investigation is due 04-13, one day after the period: not counted.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner

from frister.cli import build
from frister.errors import FristerError
from frister.reports.period import ReportPeriod, choose, month, year_spans, years

WINDOW = ["--from", "2025-03-05", "--to", "2025-04-12"]
IN_WINDOW = {"referral_review": (2, 1, 1), "reporter_feedback": (1, 1, 0), "measure_plan_evaluation": (1, 1, 0),
             "foster_home_first_year_visits": (1, 1, 0)}


def report(*args: str) -> dict:
    result = CliRunner().invoke(build(), ["report", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def due_rules(rows: list[dict]) -> dict[str, tuple[int, int, int]]:
    return {r["rule"]: (r["due"], r["met"], r["late"] + r["overdue"]) for r in rows if r["due"]}


def test_the_half_year_report_of_any_period_counts_exactly_its_days(municipality, cli_env):
    doc = report("half-year", *WINDOW)
    assert doc["report"] == "period"
    assert doc["title"] == "Rapport 05.03–12.04 2025"
    assert doc["period"] == {"label": "2025-03-05/2025-04-12", "start": "2025-03-05", "end": "2025-04-12",
                             "custom": True}
    assert due_rules(doc["rules"]) == IN_WINDOW


def test_the_monthly_report_of_any_period_puts_it_where_the_month_stands(municipality, cli_env):
    doc = report("monthly", *WINDOW)
    assert doc["title"] == "Rapport 05.03–12.04 2025"
    assert doc["month"] is None
    assert doc["period"]["start"] == "2025-03-05" and doc["period"]["end"] == "2025-04-12"
    assert due_rules(doc["month_rules"]) == IN_WINDOW
    # The trailing 12 months are the calendar months up to the period's last one, up to
    # its last day: 01.05.2024–12.04.2025, with D-1's plan (2024-10-01) and the four
    # reviews of 2025, but not B-1's investigation (04-13).
    year = due_rules(doc["year_rules"])
    assert year["measure_plan"] == (1, 1, 0)
    assert year["referral_review"] == (4, 3, 1)
    assert "investigation_deadline" not in year


def test_a_month_given_by_its_days_has_the_figures_of_the_month(municipality, cli_env):
    by_days = report("monthly", "--from", "2025-04-01", "--to", "2025-04-30")
    by_month = report("monthly", "--month", "2025-04")
    assert by_month["title"] == "Månedsrapport april 2025" and by_days["title"] == "Rapport 01.04–30.04 2025"
    assert by_month["period"] == {"label": "2025-04", "start": "2025-04-01", "end": "2025-04-30", "custom": False}
    assert by_days["month_rules"] == by_month["month_rules"]
    assert due_rules(by_month["month_rules"]) == {"referral_review": (1, 0, 1), "reporter_feedback": (1, 1, 0),
                                                  "investigation_deadline": (1, 0, 1),
                                                  "measure_plan_evaluation": (1, 1, 0)}


def test_the_annual_report_of_any_period_has_each_calendar_year_cut_to_it(municipality, cli_env):
    doc = report("annual", "--from", "2024-07-01", "--to", "2025-04-12")
    assert doc["title"] == "Rapport 01.07.2024–12.04.2025"
    assert doc["period"]["custom"] is True
    assert [(y["year"], y["start"], y["end"], y["provisional"]) for y in doc["years"]] == [
        (2024, "2024-07-01", "2024-12-31", False), (2025, "2025-01-01", "2025-04-12", False)]
    first, last = doc["years"]
    # 2nd half of 2024: D-1's plan (10-01), F-1's first-year quarters Q3 and Q4, its
    # follow-up and supervision visit periods of 2024-H2: all met.
    assert first["summary"] == {"due": 5, "met": 5, "breaches": 0, "open": 0, "share_met": 1.0}
    assert due_rules(first["rules"]) == {"measure_plan": (1, 1, 0), "foster_home_first_year_visits": (2, 2, 0),
                                         "foster_home_followup_visits": (1, 1, 0),
                                         "foster_home_supervision_visits": (1, 1, 0)}
    # 01.01–12.04 2025: four reviews (A-1 M2 late), three feedbacks, D-1's two evaluations (01-01 late).
    assert last["summary"] == {"due": 10, "met": 8, "breaches": 2, "open": 0, "share_met": 0.8}
    assert due_rules(last["rules"])["measure_plan_evaluation"] == (2, 1, 1)


def test_the_annual_years_shortcut_is_the_period_of_whole_years(municipality, cli_env):
    doc = report("annual", "--year", "2025", "--years", "2")
    same = report("annual", "--from", "2024-01-01", "--to", "2025-12-31")
    assert doc["title"] == "Tilstandsrapport: frister og besøk 2024–2025"
    assert doc["period"] == {"label": "2024–2025", "start": "2024-01-01", "end": "2025-12-31", "custom": False}
    assert [y["summary"] for y in doc["years"]] == [y["summary"] for y in same["years"]]


@pytest.mark.parametrize("args, message", [
    (["monthly", "--month", "2025-04", "--from", "2025-04-01", "--to", "2025-04-30"], "not both"),
    (["half-year", "--from", "2025-01-01"], "both --from and --to"),
    (["annual", "--to", "2025-01-01"], "both --from and --to"),
    (["annual", "--from", "2025-02-01", "--to", "2025-01-31"], "--to must not be before --from"),
    (["monthly", "--from", "2025-02-01", "--to", "2025-01-31"], "--to must not be before --from"),
    (["annual", "--years", "3"], "--years goes with --year"),
    (["annual", "--from", "2000-01-01", "--to", "2015-12-31"], "at most 15"),
    (["half-year", "--period", "2025-Q1"], "half-year such as 2025-H1"),
    (["monthly", "--month", "2025-13"], "YYYY-MM"),
])
def test_every_report_checks_its_period_alike(municipality, cli_env, args, message):
    result = CliRunner().invoke(build(), ["report", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_periods_and_their_calendar_years():
    assert month("2024-02") == ReportPeriod(dt.date(2024, 2, 1), dt.date(2024, 2, 29), "2024-02")
    assert years(2025, 1).label == "2025" and years(2025, 3).start == dt.date(2023, 1, 1)
    assert year_spans(ReportPeriod(dt.date(2023, 12, 31), dt.date(2024, 1, 1))) == [
        (2023, dt.date(2023, 12, 31), dt.date(2023, 12, 31)), (2024, dt.date(2024, 1, 1), dt.date(2024, 1, 1))]
    assert ReportPeriod(dt.date(2023, 1, 1), dt.date(2023, 5, 30)).text == "01.01–30.05 2023"
    assert choose(None, None, None, "--month", default=month("2025-01")).label == "2025-01"
    with pytest.raises(FristerError):
        choose(None, None, None, "--month")

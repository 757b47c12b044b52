"""Monthly, half-year and annual figures against the hand-worked fixture (see conftest)."""

from __future__ import annotations

from datetime import date, datetime, timezone

from click.testing import CliRunner

from report_fixture import AS_OF, TEMPLATES
from frister.breaches.service import BreachKey, explain
from frister.calendar import half_year
from frister.cli import build
from frister.reports.monthly import build_monthly, weeks_ahead, write_monthly
from frister.reports.periodic import build_annual, build_half_year

NOW = datetime(2025, 8, 2, 9, 0, tzinfo=timezone.utc)


def figures(figs) -> dict[str, tuple[int, int | None]]:
    return {f.key: (f.count, f.total) for f in figs}


def test_half_year_indicators(municipality, rules):
    with municipality.connect() as conn:
        ctx = build_half_year(conn, rules, half_year(2025, 1), AS_OF)
    assert figures(ctx["figures"]["total"]) == {
        "referrals_reviewed": (3, 4),  # A-1 M2 reviewed 3 days late
        "referrals_unreviewed": (0, None),
        "investigations_late": (1, 2),  # B-1 late 7 days; C-1 within its extension
        "investigations_running_late": (0, None),
        "children_with_plan": (1, 2),  # D-1 has a plan, E-1 not
        "plans_evaluated": (1, 1),  # D-1 evaluated 04-01
        "followup_children_not_met": (1, 1),  # F-1: 1 of 2 visits; G-1 placed < 1 year
        "supervision_children_not_met": (0, 1),  # F-1: 2 of 2
        "followup_visits": (3, 4),  # F-1 H1 1/2, G-1 H1 (150 of 181 days: 2) 2/2
        "supervision_visits": (3, 4),  # F-1 H1 2/2, G-1 H1 (150 of 181 days: 2) 1/2
    }
    units = {u: figures(f) for u, f in ctx["figures"]["units"].items()}
    assert units["undersokelse"]["referrals_reviewed"] == (2, 2)
    assert units["mottak"]["referrals_reviewed"] == (1, 2)
    assert units["tiltak"]["children_with_plan"] == (1, 2)
    assert units["omsorg"]["supervision_visits"] == (3, 4)
    assert units["mottak"]["followup_visits"] == (0, 0)
    visits = {t.rule.id: (t.required, t.done, t.confidence_flag) for t in ctx["visits"]}
    assert visits == {"foster_home_followup_visits": (4, 3, "S"), "foster_home_supervision_visits": (4, 3, "U"),
                      "foster_home_first_year_visits": (2, 2, "S")}  # G-1's first-year quarters (local)
    assert [(u, s.due, s.breaches) for u, s in ctx["unit_summaries"].items()] == [
        ("mottak", 4, 1), ("omsorg", 6, 2), ("tiltak", 3, 2), ("undersokelse", 5, 1)]


def test_a_half_year_not_over_is_provisional(municipality, rules):
    with municipality.connect() as conn:
        ctx = build_half_year(conn, rules, half_year(2025, 2), AS_OF)
    assert any(label == "Merk" for label, _ in ctx["meta"])
    # Snapshot on the as-of date: D-1 still has an active measure with a plan.
    assert ctx["snapshot"] == AS_OF
    assert figures(ctx["figures"]["total"])["children_with_plan"] == (1, 2)


def test_annual_figures_over_several_years(municipality, rules):
    with municipality.connect() as conn:
        ctx = build_annual(conn, rules, 2025, 3, AS_OF)
    assert ctx["labels"] == ["2023", "2024", "2025*"]
    y2024, y2025 = figures(ctx["per_year"][2024]["figures"]), figures(ctx["per_year"][2025]["figures"])
    assert y2024["followup_visits"] == (4, 4)  # F-1's two half-years, 2 of 2 each
    assert y2024["supervision_visits"] == (4, 4)
    assert y2024["children_with_plan"] == (1, 1)  # D-1 on 2024-12-31
    assert y2024["plans_evaluated"] == (0, 0)  # D-1's measure (from 2024-10-01) had not run 3 months by 12-31
    assert y2025["referrals_reviewed"] == (3, 4)
    assert y2025["investigations_late"] == (1, 2)
    assert y2025["followup_visits"] == (3, 4)  # H2 is not over on the as-of date
    totals2024 = {t.rule.id: (t.due, t.met) for t in ctx["per_year"][2024]["totals"] if t.due}
    assert totals2024 == {"measure_plan": (1, 1), "foster_home_followup_visits": (2, 2),
                          "foster_home_first_year_visits": (4, 4), "foster_home_supervision_visits": (2, 2)}
    assert ctx["per_year"][2023]["summary"].due == 0


def test_monthly_figures_unexplained_breaches_and_load_ahead(municipality, rules):
    with municipality.begin() as conn:
        explain(conn, BreachKey("B-1", "investigation_deadline", "U1"), "complex_case", "Gjennomgang i team", NOW, by="leder1")
    with municipality.connect() as conn:
        ctx = build_monthly(conn, rules, date(2025, 4, 1), AS_OF)
    month = figures(ctx["month_figures"]["total"])
    assert month["referrals_reviewed"] == (0, 1)  # A-1 M2, reviewed 04-11, due 04-08
    assert month["investigations_late"] == (1, 1)  # B-1 concluded 04-20
    # Rules in the case's path order: melding → undersøkelse → tiltak.
    assert [(t.rule.id, t.due, t.met, t.late) for t in ctx["month_totals"] if t.due] == [
        ("referral_review", 1, 0, 1), ("reporter_feedback", 1, 1, 0),
        ("investigation_deadline", 1, 0, 1), ("measure_plan_evaluation", 1, 1, 0)]
    # Trailing 12 months (May 2024 – April 2025): three breaches, one explained.
    assert [(r.result.case_id, r.result.rule) for r in ctx["unexplained"]] == [
        ("D-1", "measure_plan_evaluation"), ("A-1", "referral_review")]
    assert ctx["unexplained_total"] == 2
    assert figures(ctx["year_figures"]["total"])["referrals_reviewed"] == (3, 4)


def test_the_load_ahead_counts_open_obligations_per_unit_and_week(municipality, rules):
    with municipality.connect() as conn:
        ctx = build_monthly(conn, rules, date(2025, 12, 1), date(2025, 12, 15))
    load = {w.label: w for w in ctx["load"]}
    assert list(load) == ["Uke 51", "Uke 52", "Uke 1", "Uke 2", "Uke 3", "Uke 4", "Uke 5", "Uke 6"]
    # Christmas: 25 and 26 December are public holidays.
    assert (load["Uke 52"].working_days, load["Uke 52"].holiday) == (3, True)
    assert (load["Uke 51"].working_days, load["Uke 51"].holiday) == (5, False)
    units = ctx["units"]
    # Week 1 (29 Dec – 4 Jan) holds 31 December: F-1 and G-1 follow-up and tilsyn H2, and G-1's
    # first-year Q4 (a local routine, work all the same).
    assert dict(zip(units, load["Uke 1"].counts)) == {"mottak": 0, "omsorg": 5, "tiltak": 0, "undersokelse": 0}
    assert sum(w.total for w in ctx["load"]) == 5


def test_weeks_ahead_start_with_the_week_after_the_as_of_date():
    assert weeks_ahead(date(2025, 8, 1))[0] == (date(2025, 7, 28), date(2025, 8, 3))
    assert weeks_ahead(date(2025, 8, 3))[0] == (date(2025, 8, 4), date(2025, 8, 10))


def test_write_monthly_writes_one_self_contained_file(municipality, rules, tmp_path):
    path = write_monthly(municipality, rules, date(2025, 4, 1), tmp_path / "out" / "m.html", templates_dir=TEMPLATES)
    html = path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "Månedsrapport april 2025" in html
    assert "Data per</dt><dd>01.08.2025" in html  # the latest run's as-of date
    assert "<svg" in html and "<script" not in html and "src=" not in html and "<link" not in html
    assert "0,0\u00a0%" in html and "cw-" not in html  # shares in Norwegian; no caseworker codes


def test_cli_reports_are_written(municipality, cli_env, tmp_path):
    runner = CliRunner()
    for args in (["monthly", "--month", "2025-04"], ["half-year", "--period", "2025-H1"],
                 ["annual", "--year", "2025", "--years", "2"]):
        out = tmp_path / f"{args[0]}.html"
        result = runner.invoke(build(), ["report", *args, "--output", str(out)])
        assert result.exit_code == 0, result.output
        assert "Data per" in out.read_text(encoding="utf-8")
    bad = runner.invoke(build(), ["report", "half-year", "--period", "2025-Q1"])
    assert bad.exit_code != 0 and "half-year" in bad.output


def test_reasons_appear_in_every_periodic_report(municipality, rules):
    with municipality.begin() as conn:
        explain(conn, BreachKey("B-1", "investigation_deadline", "U1"), "complex_case", "Gjennomgang i team", NOW, by="leder1")
        explain(conn, BreachKey("G-1", "foster_home_supervision_visits", "F1", "2025-H1"), "holiday_absence",
                "Tilsynsfører på ferie; nytt besøk avtalt", NOW, by="leder1")
    with municipality.connect() as conn:
        half = build_half_year(conn, rules, half_year(2025, 1), AS_OF)
        annual = build_annual(conn, rules, 2025, 2, AS_OF)
        month = build_monthly(conn, rules, date(2025, 4, 1), AS_OF)
    # 2025-H1 has 6 breaches (see the audit test): two explained, four not.
    assert dict(half["reasons"]) == {"Ferieavvikling": 1, "Vanskelig å få kontakt med familie og barn": 0,
                                     "Kompleks sak": 1, "Familie eller barn unndrar seg kontakt": 0,
                                     "Manglende kapasitet": 0, "Annet": 0, "Ikke registrert": 4}
    assert dict(annual["reason_rows"])["Kompleks sak"] == [0, 1]
    assert [(label, m, y) for (label, m), (_, y) in month["reasons"] if m or y] == [
        ("Kompleks sak", 1, 1), ("Ikke registrert", 1, 2)]

"""The worklist and the caseload on a hand-worked service: three cases in two
municipalities whose steps are held by intake, an investigation team, a measures team
and the care unit. Every expected figure below is worked out from RULES.md by hand (the
comments show the arithmetic), as of Monday 3 March 2025."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner

from frister.caseload import caseload
from frister.cli import build
from frister.evaluation.service import run_evaluation
from frister.importer.jsonl import import_file
from frister.organisation import load_organisation
from frister.worklist import worklist

AS_OF = dt.date(2025, 3, 3)

ORG = """\
allowed_domains: [barnevern.kommune.example]
municipalities: {"9901": Nordvik, "9902": Sørdal}
units:
  mottak: {name: Mottak}
  undersokelse: {name: Undersøkelse, units: {us-1: {name: Undersøkelse team 1}}}
  tiltak: {name: Tiltak, units: {tiltak-barn: {name: Tiltak barn}}}
  omsorg: {name: Omsorg}
leaders:
  - {role: barnevernsjef, email: sjef@barnevern.kommune.example}
  - {role: avdelingsleder, email: us@barnevern.kommune.example, units: [undersokelse]}
"""


def _visits(*days: str) -> list[str]:
    return list(days)


CASES = [
    # A: a referral reviewed in time, an investigation running at us-1.
    {"case_id": "BV-A", "municipality": "9901", "unit": "us-1", "caseworker": "ks07",
     "child": {"birth_date": "2016-05-05"},
     "referrals": [{"id": "M1", "received_on": "2025-02-24", "concluded_on": "2025-02-26",
                    "conclusion": "investigate", "reporter": "private", "feedback_sent_on": "2025-02-27",
                    "unit": "mottak", "caseworker": "ks01"}],
     "investigations": [{"id": "U1", "referral_id": "M1", "started_on": "2025-02-26", "unit": "us-1",
                         "caseworker": "ks07"}]},
    # B: no feedback to the reporter; an investigation concluded with a support measure
    # that has no plan.
    {"case_id": "BV-B", "municipality": "9902", "unit": "tiltak-barn", "caseworker": "ks17",
     "child": {"birth_date": "2015-06-01"},
     "referrals": [{"id": "M1", "received_on": "2024-09-02", "concluded_on": "2024-09-05",
                    "conclusion": "investigate", "reporter": "private", "unit": "mottak", "caseworker": "ks02"}],
     "investigations": [{"id": "U1", "referral_id": "M1", "started_on": "2024-09-05", "concluded_on": "2024-11-20",
                         "conclusion": "measures", "unit": "us-1", "caseworker": "ks08"}],
     "measures": [{"id": "T1", "kind": "support", "decided_on": "2024-11-25", "unit": "tiltak-barn",
                   "caseworker": "ks17"}]},
    # C: a child under care in a foster home since 20 March 2022, visited in every quarter
    # of the first year (the local routine) and twice every half-year until 2024-H2; in
    # 2025-H1 one follow-up visit so far and no supervision visit.
    {"case_id": "BV-C", "municipality": "9901", "unit": "omsorg", "caseworker": "ks30",
     "child": {"birth_date": "2012-04-01"},
     "care_orders": [{"id": "O1", "decided_on": "2022-03-01", "implemented_on": "2022-03-20",
                      "care_plan_made_on": "2022-10-01", "unit": "omsorg", "caseworker": "ks30"}],
     "placements": [{"id": "F1", "kind": "foster_home", "started_on": "2022-03-20", "unit": "omsorg",
                     "caseworker": "ks30", "supervision_municipality": "9901",
                     "followup_visits": _visits("2022-03-25", "2022-05-01", "2022-08-01", "2022-11-01", "2023-02-01",
                                                "2023-05-01", "2023-08-01", "2023-11-01", "2024-02-10",
                                                "2024-05-15", "2024-08-01", "2024-11-01", "2025-01-20"),
                     "supervision_visits": _visits("2022-05-15", "2022-08-15", "2022-11-15", "2023-02-15",
                                                   "2023-05-15", "2023-08-15", "2023-11-15", "2024-03-01",
                                                   "2024-06-01", "2024-09-01", "2024-12-01")}]},
]


@pytest.fixture
def service(engine, tmp_path, rules):
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in CASES), encoding="utf-8")
    import_file(engine, path, as_of=AS_OF)
    run_evaluation(engine, rules, AS_OF)
    org_file = tmp_path / "organisation.yaml"
    org_file.write_text(ORG, encoding="utf-8")
    return engine, load_organisation(org_file), org_file


def _lines(made):
    return [(line.section, line.case_id, line.rule, line.unit, line.caseworker, line.due_on, line.days_late,
             line.days_left, line.missing, line.last_visit_on) for line in made.lines]


def test_the_worklist_of_the_service_lists_overdue_deadlines_and_visits_still_missing(service, rules):
    engine, org, _ = service
    with engine.connect() as conn:
        made = worklist(conn, rules, organisation=org)
    assert made.as_of == AS_OF and made.missed_visit_periods == 0
    d = dt.date
    assert _lines(made) == [
        # received 2 Sep 2024 + 3 weeks = 23 Sep; 23 Sep -> 3 Mar = 7 + 31 + 30 + 31 + 31 + 28 + 3 = 161
        ("overdue", "BV-B", "reporter_feedback", "mottak", "ks02", d(2024, 9, 23), 161, None, None, None),
        # a plan is due when the measure is decided (25 Nov 2024); 25 Nov -> 3 Mar = 98
        ("overdue", "BV-B", "measure_plan", "tiltak-barn", "ks17", d(2024, 11, 25), 98, None, None, None),
        # 2025-H1 needs two of each; one follow-up visit (20 Jan), no supervision visit yet
        ("visits", "BV-C", "foster_home_followup_visits", "omsorg", "ks30", d(2025, 6, 30), None, None, 1,
         d(2025, 1, 20)),
        ("visits", "BV-C", "foster_home_supervision_visits", "omsorg", "ks30", d(2025, 6, 30), None, None, 2,
         d(2024, 12, 1)),
    ]
    assert [k for k, _ in made.by_caseworker()] == ["ks02", "ks17", "ks30"]


def test_a_departments_worklist_holds_its_teams_and_only_what_falls_due_within_the_weeks(service, rules):
    engine, org, _ = service
    with engine.connect() as conn:
        four = worklist(conn, rules, "undersokelse", weeks=4, organisation=org)
        fourteen = worklist(conn, rules, "undersokelse", weeks=14, organisation=org)
        measures = worklist(conn, rules, "tiltak", organisation=org)
        one = worklist(conn, rules, None, caseworker="ks17", organisation=org)
    assert four.units == ("undersokelse", "us-1") and four.lines == []
    # bvl21 § 2-2: from the end of the review deadline, received 24 Feb + 1 week = 3 Mar,
    # + 3 months = 3 Jun; 3 Mar -> 3 Jun = 28 + 30 + 31 + 3 = 92 days (beyond 13 weeks, within 14)
    assert _lines(fourteen) == [("due", "BV-A", "investigation_deadline", "us-1", "ks07", dt.date(2025, 6, 3),
                                 None, 92, None, None)]
    with service[0].connect() as conn:
        assert worklist(conn, rules, "undersokelse", weeks=13, organisation=org).lines == []
    assert [line.rule for line in measures.lines] == ["measure_plan"]
    assert [line.rule for line in one.lines] == ["measure_plan"]


def test_caseload_counts_active_cases_per_unit_in_the_tree_and_per_caseworker(service, rules):
    engine, org, _ = service
    with engine.connect() as conn:
        made = caseload(conn, rules, AS_OF, org, workers=1)
    assert made.days[0] == dt.date(2024, 4, 30) and made.days[-2:] == [dt.date(2025, 2, 28), AS_OF]
    #           Apr May Jun Jul Aug Sep Oct Nov Dec Jan Feb 3 Mar
    assert made.total == [1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3]
    assert made.unit_active["omsorg"] == [1] * 12  # care order and placement: one case
    # B's investigation (5 Sep - 20 Nov) at the end of Sep and Oct, then A's from 26 Feb
    assert made.unit_active["us-1"] == made.unit_active["undersokelse"] == [0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1]
    # B's support measure from 25 Nov 2024
    assert made.unit_active["tiltak-barn"] == made.unit_active["tiltak"] == [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
    assert "mottak" not in made.unit_active  # every referral was reviewed within days, none at a month's end
    assert made.active[("us-1", "ks08")] == [0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]
    assert made.open_deadlines == {("us-1", "ks07"): 1, ("mottak", "ks02"): 1, ("tiltak-barn", "ks17"): 1,
                                   ("omsorg", "ks30"): 2}
    assert made.overdue == {("mottak", "ks02"): 1, ("tiltak-barn", "ks17"): 1}


def test_the_cli_gives_the_worklist_and_the_caseload_as_json_and_csv(service, cli_env, monkeypatch):
    _, _, org_file = service
    monkeypatch.setenv("FRISTER_ORGANISATION_CONFIG", str(org_file))
    runner = CliRunner()
    listed = runner.invoke(build(), ["worklist", "--unit", "omsorg", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    data = json.loads(listed.output)
    assert data["as_of"] == "2025-03-03" and [(x["rule"], x["missing"], x["last_visit_on"]) for x in data["lines"]] \
        == [("foster_home_followup_visits", 1, "2025-01-20"), ("foster_home_supervision_visits", 2, "2024-12-01")]
    csv = runner.invoke(build(), ["worklist", "--format", "csv"])
    assert csv.exit_code == 0 and "Over fristen;ks02;mottak;BV-B;Tilbakemelding til melder;lovkrav" in csv.output
    load = runner.invoke(build(), ["caseload", "--format", "json"])
    assert load.exit_code == 0, load.output
    units = {u["unit"]: (u["active"][-1], u["open_deadlines"], u["overdue"]) for u in json.loads(load.output)["units"]}
    assert units == {"mottak": (0, 1, 1), "undersokelse": (1, 1, 0), "us-1": (1, 1, 0), "tiltak": (1, 1, 1),
                     "tiltak-barn": (1, 1, 1), "omsorg": (1, 2, 0)}
    unknown = runner.invoke(build(), ["worklist", "--unit", "ingen"])
    assert unknown.exit_code == 2 and "not a unit of the data or the organisation file" in unknown.output


def test_the_monthly_report_carries_the_caseload_per_unit_and_month(service, cli_env, monkeypatch, tmp_path):
    _, _, org_file = service
    monkeypatch.setenv("FRISTER_ORGANISATION_CONFIG", str(org_file))
    runner = CliRunner()
    made = runner.invoke(build(), ["report", "monthly", "--month", "2025-03", "--as-of", "2025-03-03",
                                   "--format", "json"])
    assert made.exit_code == 0, made.output
    load = json.loads(made.output)["caseload"]
    # March's report as of 3 March: the caseload of that day, as `frister caseload` gives it.
    assert load["day"] == load["deadlines_as_of"] == "2025-03-03" and load["active"] == 3
    assert [m["active"] for m in load["month_ends"]] == [1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3]
    # (unit, active cases, caseworkers holding a case or deadline, open deadlines, overdue)
    assert [(u["unit"], u["active"], u["caseworkers"], u["open_deadlines"], u["overdue"]) for u in load["units"]] == [
        ("mottak", 0, 1, 1, 1), ("undersokelse", 1, 1, 1, 0), ("us-1", 1, 1, 1, 0),
        ("tiltak", 1, 1, 1, 1), ("tiltak-barn", 1, 1, 1, 1), ("omsorg", 1, 1, 2, 0)]
    page = tmp_path / "maaned.html"
    html = runner.invoke(build(), ["report", "monthly", "--month", "2025-03", "--as-of", "2025-03-03",
                                   "--output", str(page)])
    assert html.exit_code == 0, html.output
    text = page.read_text(encoding="utf-8")
    assert "<h2>Saksmengde</h2>" in text and "Aktive saker ved utgangen av hver måned" in text


def test_a_past_months_report_counts_cases_at_its_end_and_deadlines_as_of_the_data(service, cli_env, monkeypatch):
    _, _, org_file = service
    monkeypatch.setenv("FRISTER_ORGANISATION_CONFIG", str(org_file))
    made = CliRunner().invoke(build(), ["report", "monthly", "--month", "2024-11", "--as-of", "2025-03-03",
                                        "--format", "json"])
    assert made.exit_code == 0, made.output
    load = json.loads(made.output)["caseload"]
    # 30 Nov 2024: C under care; B's investigation ended 20 Nov, its support measure began 25 Nov.
    assert (load["day"], load["deadlines_as_of"], load["active"]) == ("2024-11-30", "2025-03-03", 2)
    assert [m["day"] for m in load["month_ends"]][::11] == ["2023-12-31", "2024-11-30"]
    assert [m["active"] for m in load["month_ends"]][-3:] == [2, 2, 2]  # Sep, Oct: B's investigation
    active = {u["unit"]: u["active"] for u in load["units"]}
    assert (active["omsorg"], active["tiltak-barn"], active["us-1"], active["mottak"]) == (1, 1, 0, 0)

"""Per-unit (unit tree) and per-municipality figures in the JSON form of the half-year and
annual reports, against the hand-worked service of :mod:`organisation_fixture`; and v1
files (no municipality, one unit per case) give the flat per-unit figures of before."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import organisation_fixture as org
import report_fixture as v1
from frister.cli import build
from frister.evaluation.service import run_evaluation
from frister.importer import import_file

NOTHING = {"followup_children_not_met": (0, 0), "supervision_children_not_met": (0, 0),
           "followup_visits": (0, 0), "supervision_visits": (0, 0)}
ZERO = {"referrals_reviewed": (0, 0), "referrals_unreviewed": (0, None), "investigations_late": (0, 0),
        "investigations_running_late": (0, None), "children_with_plan": (0, 0), "plans_evaluated": (0, 0),
        **NOTHING}


def counts(figures: dict) -> dict:
    return {key: (f["count"], f["total"]) for key, f in figures.items()}


@pytest.fixture
def service(engine, rules, tmp_path, cli_env, monkeypatch):
    """The two-municipality service imported and evaluated; the CLI reads its organisation file."""
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in [org.HEADER, *org.CASES]), encoding="utf-8")
    import_file(engine, path, as_of=org.AS_OF)
    run_evaluation(engine, rules, org.AS_OF)
    organisation = tmp_path / "organisation.yaml"
    organisation.write_text(org.ORGANISATION, encoding="utf-8")
    monkeypatch.setenv("FRISTER_ORGANISATION_CONFIG", str(organisation))
    return engine


def report(*args: str) -> dict:
    result = CliRunner().invoke(build(), ["report", *args, "--format", "json", "--as-of", "2026-08-01"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_half_year_credits_each_step_to_its_unit_and_sums_departments(service):
    doc = report("half-year", "--period", "2026-H1")
    assert counts(doc["indicators"]) == {
        **ZERO, "referrals_reviewed": (3, 4),  # K-2 late; K-5 M2 not reviewed
        "referrals_unreviewed": (1, None), "investigations_late": (1, 2),  # K-2 late 11 days, K-1 met
        "investigations_running_late": (1, None),  # K-3
        "children_with_plan": (1, 2), "plans_evaluated": (1, 1)}  # K-1 with plan, K-4 without
    units = {u["unit"]: u for u in doc["units"]}
    assert [(u["unit"], u["name"], u["parent"], u["depth"]) for u in doc["units"]] == [
        ("mottak", "Mottak", None, 0), ("undersokelse", "Undersøkelse", None, 0),
        ("us-nord", "Undersøkelse nord", "undersokelse", 1), ("us-sor", "Undersøkelse sør", "undersokelse", 1),
        ("tiltak", "Tiltak", None, 0)]
    assert counts(units["mottak"]["indicators"]) == {**ZERO, "referrals_reviewed": (3, 4),
                                                     "referrals_unreviewed": (1, None)}
    # The department: its own overdue investigation (K-3) plus its teams' (K-1 met, K-2 late).
    assert counts(units["undersokelse"]["indicators"]) == {**ZERO, "investigations_late": (1, 2),
                                                           "investigations_running_late": (1, None)}
    assert counts(units["us-nord"]["indicators"]) == {**ZERO, "investigations_late": (0, 1)}
    assert counts(units["us-sor"]["indicators"]) == {**ZERO, "investigations_late": (1, 1)}
    assert counts(units["tiltak"]["indicators"]) == {**ZERO, "children_with_plan": (1, 2), "plans_evaluated": (1, 1)}
    summaries = {u: (v["summary"]["due"], v["summary"]["breaches"]) for u, v in units.items()}
    assert summaries == {"mottak": (9, 2), "undersokelse": (3, 2), "us-nord": (1, 0), "us-sor": (1, 1),
                         "tiltak": (3, 1)}
    municipalities = {m["municipality"]: m for m in doc["municipalities"]}
    assert [(m["municipality"], m["name"]) for m in doc["municipalities"]] == [("3316", "Modum"),
                                                                              ("3318", "Krødsherad")]
    assert counts(municipalities["3316"]["indicators"]) == {
        **ZERO, "referrals_reviewed": (1, 2), "investigations_late": (1, 2), "children_with_plan": (1, 1),
        "plans_evaluated": (1, 1)}
    assert counts(municipalities["3318"]["indicators"]) == {
        **ZERO, "referrals_reviewed": (2, 2), "referrals_unreviewed": (1, None),
        "investigations_running_late": (1, None), "children_with_plan": (0, 1)}
    assert {m: (v["summary"]["due"], v["summary"]["breaches"]) for m, v in municipalities.items()} == {
        "3316": (8, 2), "3318": (7, 3)}
    rules = {r["rule"]: (r["due"], r["met"], r["late"], r["overdue"]) for r in doc["rules"] if r["due"]}
    assert rules == {"referral_review": (5, 3, 1, 1), "reporter_feedback": (4, 4, 0, 0),
                     "investigation_deadline": (3, 1, 1, 1), "measure_plan": (1, 0, 0, 1),
                     "measure_plan_evaluation": (2, 2, 0, 0)}


def test_a_municipality_gets_a_report_of_its_own_cases(service):
    doc = report("half-year", "--period", "2026-H1", "--municipality", "3318")
    assert doc["municipality"] == "3318"
    assert counts(doc["indicators"]) == {
        **ZERO, "referrals_reviewed": (2, 2), "referrals_unreviewed": (1, None),
        "investigations_running_late": (1, None), "children_with_plan": (0, 1)}
    assert [(u["unit"], u["summary"]["due"], u["summary"]["breaches"]) for u in doc["units"]] == [
        ("mottak", 5, 1), ("undersokelse", 1, 1), ("tiltak", 1, 1)]  # the teams hold nothing in Krødsherad
    assert [m["municipality"] for m in doc["municipalities"]] == ["3318"]


def test_the_annual_report_gives_the_year_per_unit_and_per_municipality(service):
    doc = report("annual", "--year", "2026", "--years", "1")
    (year,) = doc["years"]
    assert (year["year"], year["provisional"]) == (2026, True)
    # The year adds K-5 M1 (reviewed 07-15, late); the snapshot is the as-of date 2026-08-01.
    assert counts(year["indicators"]) == {
        **ZERO, "referrals_reviewed": (3, 5), "referrals_unreviewed": (1, None), "investigations_late": (1, 2),
        "investigations_running_late": (1, None), "children_with_plan": (1, 2), "plans_evaluated": (1, 1)}
    # Due in 2026: the 15 of the half-year, K-5's three and K-1's third evaluation (08-15, open).
    assert year["summary"] == {"due": 19, "met": 12, "breaches": 6, "open": 1, "share_met": 12 / 18}
    by_municipality = {m["municipality"]: counts(m["indicators"]) for m in year["municipalities"]}
    assert by_municipality["3316"] == {**ZERO, "referrals_reviewed": (1, 2), "investigations_late": (1, 2),
                                       "children_with_plan": (1, 1), "plans_evaluated": (1, 1)}
    assert by_municipality["3318"] == {**ZERO, "referrals_reviewed": (2, 3), "referrals_unreviewed": (1, None),
                                       "investigations_running_late": (1, None), "children_with_plan": (0, 1)}
    units = {u["unit"]: counts(u["indicators"]) for u in doc["units"]}
    assert units["mottak"] == {**ZERO, "referrals_reviewed": (3, 5), "referrals_unreviewed": (1, None)}
    assert units["undersokelse"] == {**ZERO, "investigations_late": (1, 2), "investigations_running_late": (1, None)}
    assert units["tiltak"] == {**ZERO, "children_with_plan": (1, 2), "plans_evaluated": (1, 1)}


def test_an_unknown_municipality_is_an_error(service):
    result = CliRunner().invoke(build(), ["report", "half-year", "--period", "2026-H1", "--municipality", "4444"])
    assert result.exit_code != 0 and "unknown municipality" in result.output
    bad = CliRunner().invoke(build(), ["report", "annual", "--year", "2026", "--municipality", "Modum"])
    assert bad.exit_code != 0 and "four digits" in bad.output


def test_every_report_takes_a_municipality(service, tmp_path):
    for args in (["monthly", "--month", "2026-05"], ["half-year", "--period", "2026-H1"],
                 ["annual", "--year", "2026", "--years", "1"],
                 ["audit", "--from", "2026-01-01", "--to", "2026-06-30", "--format", "html"]):
        out = tmp_path / f"{args[0]}.html"
        result = CliRunner().invoke(build(), ["report", *args, "--municipality", "3316", "--output", str(out)])
        assert result.exit_code == 0, result.output
        html = out.read_text(encoding="utf-8")
        assert "K-3" not in html and "Krødsherad" not in html  # only Modum's cases and figures
        if args[0] != "audit":
            assert "Modum" in html and "Undersøkelse nord" in html


def test_the_audit_listing_of_a_municipality_holds_only_its_cases(service, tmp_path):
    out = tmp_path / "audit.csv"
    result = CliRunner().invoke(build(), ["report", "audit", "--from", "2026-01-01", "--to", "2026-06-30",
                                          "--municipality", "3318", "--unit", "undersokelse", "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = [line.split(";") for line in out.read_text(encoding="utf-8-sig").splitlines()]
    listed = [(r[0], r[2]) for r in rows if r and r[0].startswith("K-")]
    assert listed == [("K-3", "investigation_deadline")]


def test_v1_files_give_flat_units_and_no_municipality_table(engine, rules, tmp_path, cli_env):
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in v1.CASES), encoding="utf-8")
    import_file(engine, path, as_of=v1.AS_OF)
    run_evaluation(engine, rules, v1.AS_OF)
    result = CliRunner().invoke(build(), ["report", "half-year", "--period", "2025-H1", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["municipalities"] == [] and doc["municipality"] is None
    assert [(u["unit"], u["name"], u["depth"]) for u in doc["units"]] == [
        ("mottak", "mottak", 0), ("omsorg", "omsorg", 0), ("tiltak", "tiltak", 0), ("undersokelse", "undersokelse", 0)]
    # The figures of tests/reports/test_figures.py, worked out by hand for the v1 fixture.
    assert counts(doc["indicators"]) == {
        "referrals_reviewed": (3, 4), "referrals_unreviewed": (0, None), "investigations_late": (1, 2),
        "investigations_running_late": (0, None), "children_with_plan": (1, 2), "plans_evaluated": (1, 1),
        "followup_children_not_met": (1, 1), "supervision_children_not_met": (0, 1), "followup_visits": (3, 4),
        "supervision_visits": (3, 4)}
    assert [(u["unit"], u["summary"]["due"], u["summary"]["breaches"]) for u in doc["units"]] == [
        ("mottak", 4, 1), ("omsorg", 6, 2), ("tiltak", 3, 2), ("undersokelse", 5, 1)]


def test_the_audit_listing_refuses_an_unknown_unit_and_names_the_data(service, tmp_path):
    bad = CliRunner().invoke(build(), ["report", "audit", "--from", "2026-01-01", "--to", "2026-06-30",
                                       "--unit", "undersokelsee"])
    assert bad.exit_code != 0 and "unknown unit" in bad.output
    out = tmp_path / "audit.csv"
    result = CliRunner().invoke(build(), ["report", "audit", "--from", "2026-01-01", "--to", "2026-06-30",
                                          "-o", str(out)])
    assert result.exit_code == 0, result.output
    meta = dict(line.split(";", 1) for line in out.read_text(encoding="utf-8-sig").splitlines()[:8] if ";" in line)
    assert len(meta["Data (fingeravtrykk)"]) == 64
    rules = [line.split(";")[2] for line in out.read_text(encoding="utf-8-sig").splitlines() if line.startswith("K-")]
    assert rules.index("referral_review") < rules.index("investigation_deadline") < rules.index("measure_plan")

"""The JSON form of the half-year and annual reports reproduces figures the services
published, on the service of :mod:`seed_fixture` (both databases); the XLSX form holds
the same figures as numbers."""

from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner

import seed_fixture as seed
from frister.cli import build
from frister.importer import import_file
from frister.nb import pct

ORGANISATION = """\
service: Midt-Test barneverntjeneste
allowed_domains: [barnevern.kommune.example]
municipalities:
  "3316": Modum
  "3318": Krødsherad
leaders:
  - {role: barnevernsjef, email: sjef@barnevern.kommune.example}
"""


@pytest.fixture
def service(engine, tmp_path, cli_env, monkeypatch):
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in [seed.HEADER, *seed.CASES]), encoding="utf-8")
    import_file(engine, path, as_of=seed.AS_OF)
    organisation = tmp_path / "organisation.yaml"
    organisation.write_text(ORGANISATION, encoding="utf-8")
    monkeypatch.setenv("FRISTER_ORGANISATION_CONFIG", str(organisation))
    return engine


def run(*args: str) -> bytes:
    result = CliRunner().invoke(build(), ["report", *args, "--as-of", "2026-08-01"])
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


def shown(figure: dict) -> tuple[str, int, int]:
    return pct(figure["share"]), figure["count"], figure["total"]


def test_the_half_year_reproduces_the_services_published_figures(service):
    doc = json.loads(run("half-year", "--period", "2026-H1", "--format", "json"))
    assert doc["title"] == "Halvårsrapportering 1. halvår 2026"
    assert shown(doc["indicators"]["followup_visits"]) == ("96,4\u00a0%", 212, 220)  # «8 mangler»
    assert shown(doc["activity"]["referrals_closed"]) == ("26,1\u00a0%", 23, 88)
    assert shown(doc["activity"]["investigations_extended"]) == ("3,6\u00a0%", 2, 55)
    assert shown(doc["activity"]["care_plans"]) == ("95,1\u00a0%", 39, 41)
    assert shown(doc["activity"]["investigations_to_measures"]) == ("34,5\u00a0%", 19, 55)
    assert doc["activity"]["emergency_decisions"]["count"] == 20
    assert doc["volume"] == {"months": 6, "mean": 88 / 6, "min": 0, "max": 31}  # January 27, …, April 2
    modum = next(m for m in doc["municipalities"] if m["name"] == "Modum")
    assert shown(modum["activity"]["referrals_closed"]) == ("46,0\u00a0%", 23, 50)


def test_the_annual_report_has_emergency_decisions_per_year_and_midt_buskeruds_table(service):
    doc = json.loads(run("annual", "--year", "2026", "--years", "2", "--format", "json"))
    assert [(y["year"], y["provisional"], y["activity"]["emergency_decisions"]["count"]) for y in doc["years"]] == [
        (2025, False, 36), (2026, True, 20)]
    table = {b["name"]: {r["label"]: r["values"] for r in b["rows"]} for b in doc["municipality_table"]}
    assert list(table) == ["Modum", "Krødsherad", "Tjenesten totalt"]
    assert table["Modum"] == {
        "Antall meldinger": [25, 50], "Barn med hjelpetiltak": [49, 49],
        "Av disse; barn plassert frivillig utenfor hjemmet": [29, 29],
        "Barn under omsorg/plassert utenfor hjemmet (inkl. akuttvedtak)": [41, 41],
        "Antall barn i tiltak totalt": [90, 90]}
    assert table["Krødsherad"] == {
        "Antall meldinger": [15, 38], "Barn med hjelpetiltak": [50, 50],
        "Av disse; barn plassert frivillig utenfor hjemmet": [40, 40],
        "Barn under omsorg/plassert utenfor hjemmet (inkl. akuttvedtak)": [0, 0],
        "Antall barn i tiltak totalt": [50, 50]}
    assert table["Tjenesten totalt"]["Antall barn i tiltak totalt"] == [140, 140]
    assert [r["rule"] for r in doc["years"][0]["rules"]][:3] == [
        "referral_review", "reporter_feedback", "reporter_feedback_after_investigation"]  # the case's path


def test_the_xlsx_holds_the_figures_as_numbers(service, tmp_path):
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(run("annual", "--year", "2026", "--years", "2", "--format", "xlsx")))
    assert "Per kommune" in book.sheetnames and "Aktivitet per år" in book.sheetnames
    rows = list(book["Per kommune"].iter_rows(values_only=True))
    assert rows[0] == ("Kommune", "Tall", "2025", "2026*")
    assert ("Modum", "Antall meldinger", 25, 50) in rows
    activity = {r[0]: r[1:] for r in book["Aktivitet per år"].iter_rows(values_only=True)}
    henlagt = activity["Meldinger henlagt"]
    assert henlagt[3:5] == (23, 88) and abs(henlagt[5] - 23 / 88) < 1e-12
    row = next(r for r in book["Aktivitet per år"].iter_rows() if r[0].value == "Meldinger henlagt")
    share_cell = next(c for c in row if isinstance(c.value, float))
    assert share_cell.number_format == "0.0%"
    half = load_workbook(io.BytesIO(run("half-year", "--period", "2026-H1", "--format", "xlsx")))
    figures = {r[0]: r[1:] for r in half["Indikatorer per enhet"].iter_rows(values_only=True)}
    assert figures["Oppfølgingsbesøk gjennomført av påkrevde"][:2] == (212, 220)
    month = load_workbook(io.BytesIO(run("monthly", "--month", "2026-06", "--format", "xlsx")))
    assert all(isinstance(v, int) for v in next(month["Frister måneden"].iter_rows(min_row=2, values_only=True))[4:9])


def test_targets_comparisons_and_the_leaders_assessment_are_printed(service, tmp_path, monkeypatch):
    config = tmp_path / "reports.yaml"
    config.write_text("comparisons:\n  investigations_late: {value: 0.073, label: Landet 2024}\n"
                      "targets:\n  referrals_closed: {value: 0.25, label: Mål}\n", encoding="utf-8")
    monkeypatch.setenv("FRISTER_REPORTS_CONFIG", str(config))
    assessment = tmp_path / "vurdering.txt"
    assessment.write_text("Ventetiden har gått ned.\n\nVi <foreslår> to nye stillinger.\n", encoding="utf-8")
    html = run("annual", "--year", "2026", "--years", "2", "--assessment", str(assessment)).decode("utf-8")
    assert "Landet 2024: 7,3\u00a0%" in html and "Mål: 25,0\u00a0%" in html
    assert "<p>Ventetiden har gått ned.</p>" in html and "Vi &lt;foreslår&gt; to nye stillinger." in html
    doc = json.loads(run("half-year", "--period", "2026-H1", "--format", "json"))
    assert doc["comparisons"] == {"investigations_late": {"value": 0.073, "label": "Landet 2024"}}
    config.write_text("targets:\n  investigations_lat: {value: 0.1, label: Mål}\n", encoding="utf-8")
    bad = CliRunner().invoke(build(), ["report", "annual", "--year", "2026"])
    assert bad.exit_code != 0 and "investigations_lat" in bad.output and "unknown figure key" in bad.output

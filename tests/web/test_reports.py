"""Rapporter: the half-year and annual reports of the CLI, viewed or downloaded from the
page, for the whole service (barnevernsjef, inspector)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from frister.cli import build

from tests.web.conftest import login


def cli_report(monkeypatch, tmp_path, *args: str) -> bytes:
    """What ``frister report ARGS --format json`` writes, with the service's organisation."""
    monkeypatch.setenv("FRISTER_ORGANISATION_CONFIG", str(tmp_path / "organisation.yaml"))
    monkeypatch.setenv("FRISTER_LOCAL_CONFIG", str(tmp_path / "no-local.yaml"))  # the rules of the test app
    out = tmp_path / "cli.json"
    result = CliRunner().invoke(build(), ["report", *args, "--format", "json", "--output", str(out)])
    assert result.exit_code == 0, result.output
    return out.read_bytes()


def test_the_half_year_report_is_the_clis_in_every_format(app, cli_env, monkeypatch, tmp_path):
    client = login(app, "inspector")
    page = client.get("/rapporter").text
    assert 'action="/rapporter/halvar"' in page and 'value="2024-H2"' in page and 'action="/rapporter/ar"' in page
    shown = client.get("/rapporter/halvar?periode=2024-H2&format=html&vis=1")
    assert shown.status_code == 200 and shown.headers["content-disposition"].startswith("inline;")
    assert "<script" not in shown.text and "script-src" not in shown.headers["content-security-policy"]
    got = client.get("/rapporter/halvar?periode=2024-H2&format=json").content
    assert json.loads(got)["period"] == {"label": "2024-H2", "start": "2024-07-01", "end": "2024-12-31",
                                         "custom": False}
    assert got == cli_report(monkeypatch, tmp_path, "half-year", "--period", "2024-H2")
    xlsx = client.get("/rapporter/halvar?periode=2024-H2&format=xlsx")
    assert xlsx.content[:2] == b"PK" and xlsx.headers["content-disposition"] == \
        'attachment; filename="halvarsrapport-2024-H2.xlsx"'


def test_the_annual_report_downloads_and_a_leader_of_units_is_refused(app, cli_env, monkeypatch, tmp_path):
    chief = login(app, "barnevernsjef")
    got = chief.get("/rapporter/ar?ar=2024&antall=2&format=json").content
    assert got == cli_report(monkeypatch, tmp_path, "annual", "--year", "2024", "--years", "2")
    got = chief.get("/rapporter/ar?ar=2024&antall=2&format=html")
    assert got.status_code == 200
    assert got.headers["content-disposition"] == 'attachment; filename="arsrapport-2024.html"'
    assert "2024" in got.text
    leader = login(app, "teamleder")
    refused = leader.get("/rapporter/ar?ar=2024&format=json")
    assert refused.status_code == 403 and "hele tjenesten" in refused.text
    assert 'action="/rapporter/ar"' not in leader.get("/rapporter").text
    assert chief.get("/rapporter/halvar?periode=2024-H3").status_code == 400

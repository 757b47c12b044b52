"""Oversikt: today's counts with the open deviations, and the trend of the last twelve
months read from the stored obligations in one query, checked against the one
evaluator run as of each month end.

The service (tests/web/conftest.py, as of 3 March 2025): BV-B's reporter feedback (M1,
mottak) and measure plan (T1, tiltak-barn) are overdue."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

from frister.evaluation.service import run_evaluation
from frister.importer.jsonl import import_file

from frister.caseload import month_ends
from frister.evaluation.service import results_for
from tests.test_worklist_and_caseload import AS_OF
from tests.web.conftest import csrf_of, login

T1 = {"sak": "BV-B", "regel": "measure_plan", "gjelder": "T1"}


def by_unit(client) -> dict:
    return {u["unit"]: u for u in client.get("/api/overview").json()["units"]}


def test_open_deviations_count_assessed_breaches_until_they_are_closed(app):
    client = login(app, "teamleder")
    csrf = csrf_of(client.get("/oversikt").text)
    assert by_unit(client)["tiltak-barn"]["open_deviations"] == 0
    client.post("/frist/grunn", data={**T1, "grunn": "other", "tiltak": "Plan", "csrf": csrf})
    chief = login(app, "barnevernsjef")
    units = by_unit(chief)
    assert (units["tiltak-barn"]["open_deviations"], units["tiltak"]["open_deviations"],
            units["mottak"]["open_deviations"]) == (1, 1, 0)
    assert (units["tiltak-barn"]["breaches_without_reason"], units["mottak"]["breaches_without_reason"]) == (0, 1)
    page = chief.get("/oversikt").text
    assert '<td class="n deviations"><a href="/fristbrudd?enhet=tiltak-barn">1</a></td>' in page
    client.post("/frist/status", data={**T1, "status": "closed", "merknad": "Plan laget", "csrf": csrf})
    assert by_unit(chief)["tiltak-barn"]["open_deviations"] == 0


LATE = {"case_id": "BV-D", "municipality": "9901", "unit": "omsorg", "caseworker": "ks31",
        "child": {"birth_date": "2013-02-02"},
        "referrals": [{"id": "M1", "received_on": "2024-10-01", "concluded_on": "2024-11-15", "conclusion": "closed"}]}


def test_the_trend_matches_the_evaluator_as_of_each_month_end(app, engine, rules, tmp_path):
    """BV-D's referral (received 01.10.2024, reviewed 15.11.2024): its review, due 08.10,
    was overdue at the end of October only (counted from the stored ``met_on``)."""
    chief = login(app, "barnevernsjef")
    before = {u["unit"]: u for u in chief.get("/api/overview").json()["units"]}["omsorg"]["trend"]
    assert all((t["overdue"], t["breaches"]) == (0, 0) for t in before)
    path = tmp_path / "late.jsonl"
    path.write_text(json.dumps(LATE) + "\n", encoding="utf-8")
    import_file(engine, path, as_of=AS_OF)
    run_evaluation(engine, rules, AS_OF)  # a new run: the trend kept for the last one is read again
    answer = chief.get("/api/overview").json()
    days = month_ends(dt.date.fromisoformat(answer["as_of"]))
    assert answer["month_ends"] == [d.isoformat() for d in days] and len(days) == 12
    with engine.connect() as conn:
        for i, day in enumerate(days):
            results = list(results_for(conn, rules, day))
            overdue = Counter(r.unit for r in results if r.status == "overdue")
            broke = Counter(r.unit for r in results if r.status in ("late", "overdue")
                            and day.replace(day=1) <= r.due_on <= day)
            for unit in ("mottak", "us-1", "tiltak-barn", "omsorg"):
                shown = next(t for t in {u["unit"]: u for u in answer["units"]}[unit]["trend"]
                             if t["month_end"] == day.isoformat())
                assert (shown["overdue"], shown["breaches"]) == (overdue[unit], broke[unit]), (unit, day)
    omsorg = {t["month_end"]: (t["overdue"], t["breaches"]) for t in
              next(u for u in answer["units"] if u["unit"] == "omsorg")["trend"]}
    # October: the review and the reporter's feedback broke; the review was made in November.
    assert (omsorg["2024-09-30"], omsorg["2024-10-31"], omsorg["2024-11-30"]) == ((0, 0), (2, 2), (1, 0))
    total = [sum(u["trend"][i]["overdue"] for u in answer["units"] if u["depth"] == 0) for i in range(12)]
    assert total == [0, 0, 0, 0, 0, 1, 3, 3, 3, 3, 3, 3]  # mottak from September, tiltak and BV-D


def test_the_overview_draws_the_trend_as_an_inline_svg_for_the_units_held(app):
    client = login(app, "teamleder")  # tiltak-barn only
    page = client.get("/oversikt")
    assert '<figure class="trend"><svg xmlns="http://www.w3.org/2000/svg" role="img"' in page.text
    assert "<script" not in page.text and "Over fristen ved månedsslutt" in page.text
    assert "script-src" not in page.headers["content-security-policy"]
    [unit] = client.get("/api/overview").json()["units"]
    assert unit["unit"] == "tiltak-barn" and unit["trend"][-1] == {
        "month_end": "2025-03-03", "overdue": 1, "breaches": 0}

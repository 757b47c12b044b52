"""The forms of the Frist and Fristbrudd pages through the app (real database, HTTPS
test client): an assessment on an open deadline, a deviation's status and its closing,
and what each refuses. The e-mails that follow are in tests/web/test_browser_forms.py.

The service (tests/web/conftest.py, as of 3 March 2025): BV-A's investigation (U1, us-1)
is open; BV-B's measure plan (T1, tiltak-barn) is overdue."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from frister.evaluation.models import BreachHistory
from frister.web.accounts import access_of
from tests.web.conftest import csrf_of, email, login

OPEN = {"sak": "BV-A", "regel": "investigation_deadline", "gjelder": "U1"}
OPEN_PAGE = "/frist?sak=BV-A&regel=investigation_deadline&gjelder=U1"
T1 = {"sak": "BV-B", "regel": "measure_plan", "gjelder": "T1"}
T1_PAGE = "/frist?sak=BV-B&regel=measure_plan&gjelder=T1"


def test_an_assessment_of_an_open_deadline_is_recorded_with_its_author_decision_owner_and_date(app, engine):
    client = login(app, "avdelingsleder")
    page = client.get(OPEN_PAGE).text
    assert "Registrer vurdering før fristen" in page and 'name="beslutning"' in page
    saved = client.post("/frist/grunn", data={**OPEN, "grunn": "complex_case", "tiltak": "Ekstra ressurs i teamet",
                                              "beslutning": "extension", "ansvarlig": "ls07",
                                              "oppfolging": "2025-03-20", "csrf": csrf_of(page)})
    assert (saved.status_code, saved.headers["location"]) == (303, OPEN_PAGE)
    shown = client.get(OPEN_PAGE).text
    for text in ("Kompleks sak", "Ekstra ressurs i teamet", "Forlengelse av undersøkelsesfristen", "ls07",
                 "20.03.2025", email("avdelingsleder"), "Åpent"):
        assert text in shown, text
    d = client.get("/api/deadline?case_id=BV-A&rule=investigation_deadline&subject=U1").json()
    assert (d["status"], d["reason"], d["decision"], d["owner"], d["follow_up_by"], d["follow_up"],
            d["recorded_by"]) == ("open", "complex_case", "extension", "ls07", "2025-03-20", "open",
                                  email("avdelingsleder"))
    with engine.connect() as conn:
        by = conn.execute(select(BreachHistory.recorded_by, BreachHistory.event, BreachHistory.decision)).all()
        logged = [(a.action, a.page) for a in access_of(conn, "BV-A")]
    assert [tuple(r) for r in by] == [(email("avdelingsleder"), "assessed", "extension")]
    assert ("change", "frist/grunn") in logged


def test_the_decision_is_offered_only_where_the_rule_allows_it_and_refused_elsewhere(app):
    client = login(app, "teamleder")
    page = client.get(T1_PAGE).text
    assert 'name="beslutning"' not in page
    refused = client.post("/frist/grunn", data={**T1, "grunn": "other", "tiltak": "Plan", "beslutning": "extension",
                                                "csrf": csrf_of(page)})
    assert refused.status_code == 400 and "Beslutningen gjelder ikke denne fristen." in refused.text
    bad_date = client.post("/frist/grunn", data={**T1, "grunn": "other", "tiltak": "Plan", "oppfolging": "20.03.25",
                                                 "csrf": csrf_of(page)})
    assert bad_date.status_code == 400 and "Oppfølgingsdatoen må være en dato" in bad_date.text
    assert 'value="20.03.25"' in bad_date.text  # what was typed is kept
    assert "Ingen grunn registrert" in client.get(T1_PAGE).text


def test_a_deviation_moves_to_in_progress_and_is_closed_from_the_breach_register_with_a_note(app, engine):
    client = login(app, "teamleder")
    csrf = csrf_of(client.get(T1_PAGE).text)
    early = client.post("/frist/status", data={**T1, "status": "in_progress", "csrf": csrf})
    assert early.status_code == 400 and "Registrer en vurdering" in early.text
    client.post("/frist/grunn", data={**T1, "grunn": "lack_of_capacity", "tiltak": "Ny saksbehandler",
                                      "csrf": csrf})
    assert client.post("/frist/status", data={**T1, "status": "in_progress", "csrf": csrf}).status_code == 303
    assert "Under arbeid" in client.get(T1_PAGE).text
    register = client.get("/fristbrudd").text
    assert 'action="/frist/status" class="close"' in register and "Under arbeid" in register
    no_note = client.post("/frist/status", data={**T1, "status": "closed", "til": "fristbrudd", "csrf": csrf})
    assert no_note.status_code == 400 and "Skriv en merknad når avviket lukkes" in no_note.text
    closed = client.post("/frist/status", data={**T1, "status": "closed", "merknad": "<b>Plan</b> laget 05.03.",
                                                "til": "fristbrudd", "csrf": csrf})
    assert (closed.status_code, closed.headers["location"]) == (303, "/fristbrudd")
    register = client.get("/fristbrudd").text
    assert "Lukket" in register and 'class="close"' not in register
    page = client.get(T1_PAGE).text
    assert "&lt;b&gt;Plan&lt;/b&gt; laget 05.03." in page and "<b>Plan</b>" not in page
    assert client.get("/api/breaches").json()["breaches"][0]["follow_up"] == "closed"
    with engine.connect() as conn:
        events = conn.execute(select(BreachHistory.event, BreachHistory.status, BreachHistory.recorded_by)
                              .order_by(BreachHistory.id)).all()
        logged = [a.page for a in access_of(conn, "BV-B") if a.action == "change"]
    assert [tuple(e) for e in events] == [("assessed", None, email("teamleder")),
                                         ("status", "in_progress", email("teamleder")),
                                         ("status", "closed", email("teamleder"))]
    assert logged == ["frist/grunn", "frist/status", "frist/status"]


def test_nothing_to_acknowledge_before_a_notice_is_sent(app):
    client = login(app, "teamleder")
    page = client.get(T1_PAGE).text
    assert "Ingen varsler kvittert." in page and 'action="/frist/kvitter"' not in page
    refused = client.post("/frist/kvitter", data={**T1, "trinn": "breach", "csrf": csrf_of(page)})
    assert refused.status_code == 400 and "Det er ikke sendt noe varsel på dette trinnet" in refused.text


def test_every_new_post_without_the_csrf_token_is_refused_and_changes_nothing(app):
    client = login(app, "teamleder")
    csrf = csrf_of(client.get(T1_PAGE).text)
    client.post("/frist/grunn", data={**T1, "grunn": "other", "tiltak": "Plan", "csrf": csrf})
    forms = [("/frist/grunn", {"grunn": "complex_case", "tiltak": "Annet"}),
             ("/frist/status", {"status": "closed", "merknad": "x"}),
             ("/frist/kvitter", {"trinn": "breach"})]
    for url, extra in forms:
        assert client.post(url, data={**T1, **extra}).status_code == 403, url
        assert client.post(url, data={**T1, **extra, "csrf": "y" * 43}).status_code == 403, url
    api = [("/api/deadline/reason", {"reason": "complex_case", "action": "Annet"}),
           ("/api/deadline/status", {"status": "closed", "note": "x"}),
           ("/api/deadline/acknowledge", {"stage": "breach"})]
    for url, extra in api:
        assert client.post(url, json={"case_id": "BV-B", "rule": "measure_plan", "subject": "T1",
                                      **extra}).status_code == 403, url
    d = client.get("/api/deadline?case_id=BV-B&rule=measure_plan&subject=T1").json()
    assert (d["reason"], d["action"], d["follow_up"]) == ("other", "Plan", "open")


def test_the_api_records_an_assessment_and_closes_the_deviation(app):
    client = login(app, "barnevernsjef")
    csrf = csrf_of(client.get("/oversikt").text)
    head = {"X-CSRF-Token": csrf}
    key = {"case_id": "BV-B", "rule": "measure_plan", "subject": "T1"}
    saved = client.post("/api/deadline/reason", headers=head, json={
        **key, "reason": "hard_to_reach", "action": "Ringt foreldrene", "owner": "ls17", "follow_up_by": "2025-03-14"})
    assert saved.json() == {"recorded": True, "status": "overdue"}
    assert client.post("/api/deadline/status", headers=head, json={**key, "status": "closed"}).status_code == 400
    assert client.post("/api/deadline/status", headers=head,
                       json={**key, "status": "closed", "note": "Plan laget"}).json() == {"status": "closed"}
    d = client.get("/api/deadline?case_id=BV-B&rule=measure_plan&subject=T1").json()
    assert (d["owner"], d["follow_up_by"], d["follow_up"], d["status_note"], d["closed_by"]) == \
        ("ls17", "2025-03-14", "closed", "Plan laget", email("barnevernsjef"))
    assert dt.datetime.fromisoformat(d["closed_at"]).date() == dt.date(2025, 3, 3)

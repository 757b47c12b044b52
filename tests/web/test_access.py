"""Every route for every role: the policy table of frister.web.access, and no
obligation of a unit the user does not hold, by page, link, download or API.

The service (tests/test_worklist_and_caseload.py): BV-B's reporter feedback (M1) is
overdue at mottak (caseworker ks02); BV-B's measure plan (T1) is overdue at tiltak-barn
(ks17). The avdelingsleder holds undersokelse (and us-1 below it), the teamleder
tiltak-barn, the saksbehandler is ks17."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import ROLES, csrf_of, login

MOTTAK = "sak=BV-B&regel=reporter_feedback&gjelder=M1"
TILTAK = "sak=BV-B&regel=measure_plan&gjelder=T1"
API_MOTTAK = "case_id=BV-B&rule=reporter_feedback&subject=M1"
API_TILTAK = "case_id=BV-B&rule=measure_plan&subject=T1"

C, A, T, S, I, O = ROLES  # barnevernsjef, avdelingsleder, teamleder, saksbehandler, inspector, operator


def expect(ok: tuple[str, ...], otherwise: int = 403) -> dict[str, int]:
    return {role: 200 if role in ok else otherwise for role in ROLES}


GETS = {
    "/oversikt": expect((C, A, T)),
    "/arbeidsliste": expect((C, A, T, S)),
    "/arbeidsliste?format=csv": expect((C, A, T, S)),
    "/arbeidsliste?enhet=mottak": expect((C, S)),  # a unit not held: 403; S: own lines there (none)
    "/arbeidsliste?enhet=tiltak-barn": expect((C, T, S)),  # S: own lines in it
    "/arbeidsliste?saksbehandler=ks02": expect((C, A, T)),  # A, T: ks02 within their units (none)
    f"/frist?{MOTTAK}": expect((C,)),
    f"/frist?{TILTAK}": expect((C, T, S)),
    "/frist?sak=BV-X&regel=measure_plan&gjelder=T1": expect((), 404) | {I: 403, O: 403},
    "/fristbrudd": expect((C, A, T)),
    "/fristbrudd?enhet=mottak": expect((C,)),
    "/fristbrudd?enhet=tiltak": expect((C,)),  # the teamleder holds tiltak-barn, not tiltak
    "/drift": expect((O,)),
    "/rapporter": expect((C, A, T, I)),
    "/rapporter/revisjon?fra=2024-09-01&til=2025-03-31&format=csv": expect((C, A, T, I)),
    "/rapporter/maned?maned=2025-02&format=json": expect((C, I)),
    "/rapporter/maned?maned=2025-02&format=html&vis=1": expect((C, I)),
    "/rapporter/halvar?periode=2024-H2&format=json": expect((C, I)),
    "/rapporter/halvar?periode=2024-H2&format=xlsx": expect((C, I)),
    "/rapporter/ar?ar=2024&antall=2&format=json": expect((C, I)),
    "/rapporter/ar?ar=2024&antall=2&format=html&vis=1": expect((C, I)),
    "/api/overview": expect((C, A, T)),
    "/api/worklist": expect((C, A, T, S)),
    "/api/worklist?unit=mottak": expect((C, S)),
    f"/api/deadline?{API_MOTTAK}": expect((C,)),
    f"/api/deadline?{API_TILTAK}": expect((C, T, S)),
    "/api/breaches": expect((C, A, T)),
    "/api/breaches?unit=mottak": expect((C,)),
    "/api/operations": expect((O,)),
}


@pytest.mark.parametrize("role", ROLES)
def test_every_page_answers_each_role_as_the_policy_table_says(app, role):
    client = login(app, role)
    got = {url: client.get(url).status_code for url in GETS}
    assert got == {url: want[role] for url, want in GETS.items()}


@pytest.mark.parametrize("role", ROLES)
def test_only_leaders_of_the_unit_may_record_a_reason(app, role):
    client = login(app, role)
    csrf = csrf_of(client.get("/", follow_redirects=True).text)
    want = {"reporter_feedback": 303 if role == C else 403, "measure_plan": 303 if role in (C, T) else 403}
    subjects = {"reporter_feedback": "M1", "measure_plan": "T1"}
    got = {}
    for rule, subject in subjects.items():
        got[rule] = client.post("/frist/grunn", data={"sak": "BV-B", "regel": rule, "gjelder": subject, "nr": "1",
                                                      "grunn": "lack_of_capacity", "tiltak": "Ny saksbehandler",
                                                      "csrf": csrf}).status_code
    assert got == want
    api = client.post("/api/deadline/reason", headers={"X-CSRF-Token": csrf}, json={
        "case_id": "BV-B", "rule": "measure_plan", "subject": "T1", "reason": "other", "action": "Fulgt opp"})
    assert api.status_code == (200 if role in (C, T) else 403)


def test_lists_hold_only_the_units_held(app):
    leader = login(app, A)  # undersokelse, us-1: nothing overdue there
    assert "BV-B" not in leader.get("/arbeidsliste").text
    assert "BV-B" not in leader.get("/fristbrudd").text
    assert leader.get("/api/breaches").json()["breaches"] == []
    assert "BV-B" not in leader.get("/arbeidsliste?format=csv").text
    assert [u["unit"] for u in leader.get("/api/overview").json()["units"]] == ["undersokelse", "us-1"]
    audit = "/rapporter/revisjon?fra=2024-09-01&til=2025-03-31&format=csv"
    listed = leader.get(audit).text  # BV-B's investigation was at us-1: its line is theirs
    assert "BV-B;us-1;investigation_deadline" in listed and ";mottak;" not in listed and ";tiltak-barn;" not in listed
    team = login(app, T)
    listed = team.get(audit).text
    assert "BV-B;tiltak-barn;measure_plan" in listed and ";mottak;" not in listed and ";us-1;" not in listed
    assert [(b["rule"], b["unit"]) for b in team.get("/api/breaches").json()["breaches"]] == \
        [("measure_plan", "tiltak-barn")]
    own = login(app, S)
    assert [(x["case_id"], x["rule"]) for x in own.get("/api/worklist").json()["lines"]] == [("BV-B", "measure_plan")]
    assert "reporter_feedback" not in own.get("/arbeidsliste?format=csv").text


def test_without_a_session_pages_lead_to_the_login_and_the_api_answers_401(app):
    client = TestClient(app, base_url="https://testserver", follow_redirects=False)
    for url in GETS:
        answer = client.get(url)
        if url.startswith("/api/"):
            assert answer.status_code == 401, url
        else:
            assert (answer.status_code, answer.headers["location"]) == (303, "/logg-inn"), url
    assert client.post("/frist/grunn", data={"sak": "BV-B"}).status_code in (303, 400)
    assert client.post("/api/deadline/reason", json={}).status_code in (401, 422, 400)


def test_the_api_publishes_its_openapi_schema_without_the_pages(app):
    schema = TestClient(app, base_url="https://testserver").get("/api/openapi.json").json()
    assert sorted(schema["paths"]) == ["/api/breaches", "/api/deadline", "/api/deadline/acknowledge",
                                       "/api/deadline/reason", "/api/deadline/status", "/api/operations",
                                       "/api/overview", "/api/worklist", "/rapporter/ar", "/rapporter/halvar",
                                       "/rapporter/maned", "/rapporter/revisjon"]


OPEN_US1 = {"sak": "BV-A", "regel": "investigation_deadline", "gjelder": "U1"}  # open, at us-1
T1 = {"sak": "BV-B", "regel": "measure_plan", "gjelder": "T1"}  # overdue, at tiltak-barn
API_T1 = {"case_id": "BV-B", "rule": "measure_plan", "subject": "T1"}
API_US1 = {"case_id": "BV-A", "rule": "investigation_deadline", "subject": "U1"}


@pytest.mark.parametrize("role", ROLES)
def test_every_form_and_api_change_answers_each_role_by_the_unit_it_holds(app, role):
    """Assessment, status and acknowledgement, by form and API: only a leader holding the
    deadline's unit gets past the access check (303, or 400 where the breach register
    refuses: no notice has been sent in this service, so nothing to acknowledge)."""
    client = login(app, role)
    csrf = csrf_of(client.get("/", follow_redirects=True).text)
    assessment = {"grunn": "complex_case", "tiltak": "Ekstra ressurs", "ansvarlig": "ls07",
                  "oppfolging": "2025-03-20", "csrf": csrf}
    calls = [
        ("grunn us-1", lambda: client.post("/frist/grunn", data={**OPEN_US1, **assessment,
                                                                  "beslutning": "extension"})),
        ("grunn tiltak-barn", lambda: client.post("/frist/grunn", data={**T1, **assessment})),
        ("status", lambda: client.post("/frist/status", data={**T1, "status": "in_progress", "csrf": csrf})),
        ("lukk", lambda: client.post("/frist/status", data={**T1, "status": "closed", "merknad": "Plan laget",
                                                             "til": "fristbrudd", "csrf": csrf})),
        ("kvitter", lambda: client.post("/frist/kvitter", data={**T1, "trinn": "breach", "csrf": csrf})),
        ("grunn ukjent", lambda: client.post("/frist/grunn", data={**T1, "sak": "BV-X", **assessment})),
        ("api reason us-1", lambda: client.post("/api/deadline/reason", headers={"X-CSRF-Token": csrf}, json={
            **API_US1, "reason": "other", "action": "Forlenget", "decision": "extension"})),
        ("api reason", lambda: client.post("/api/deadline/reason", headers={"X-CSRF-Token": csrf}, json={
            **API_T1, "reason": "other", "action": "Fulgt opp", "owner": "ls17", "follow_up_by": "2025-03-31"})),
        ("api status", lambda: client.post("/api/deadline/status", headers={"X-CSRF-Token": csrf}, json={
            **API_T1, "status": "closed", "note": "Plan laget"})),
        ("api acknowledge", lambda: client.post("/api/deadline/acknowledge", headers={"X-CSRF-Token": csrf}, json={
            **API_T1, "stage": "breach"})),
        ("api ukjent", lambda: client.post("/api/deadline/status", headers={"X-CSRF-Token": csrf}, json={
            **API_T1, "case_id": "BV-X", "status": "open"})),
    ]
    got = {name: call().status_code for name, call in calls}
    leader = role in (C, T)  # tiltak-barn: the chief and the teamleder
    want = {
        "grunn us-1": 303 if role in (C, A) else 403,
        "grunn tiltak-barn": 303 if leader else 403,
        "status": 303 if leader else 403,
        "lukk": 303 if leader else 403,
        "kvitter": 400 if leader else 403,
        "grunn ukjent": 404 if role in (C, A, T) else 403,
        "api reason us-1": 200 if role in (C, A) else 403,
        "api reason": 200 if leader else 403,
        "api status": 200 if leader else 403,
        "api acknowledge": 400 if leader else 403,
        "api ukjent": 404 if role in (C, A, T) else 403,
    }
    assert got == want


def test_without_a_session_no_form_or_api_change_gets_through(app):
    client = TestClient(app, base_url="https://testserver", follow_redirects=False)
    for url in ("/frist/grunn", "/frist/status", "/frist/kvitter"):
        answer = client.post(url, data={**T1, "grunn": "other", "tiltak": "x", "status": "closed", "merknad": "x",
                                        "trinn": "breach"})
        assert (answer.status_code, answer.headers["location"]) == (303, "/logg-inn"), url
    for url, body in (("/api/deadline/reason", {**API_T1, "reason": "other", "action": "x"}),
                      ("/api/deadline/status", {**API_T1, "status": "closed", "note": "x"}),
                      ("/api/deadline/acknowledge", {**API_T1, "stage": "breach"})):
        assert client.post(url, json=body).status_code == 401, url

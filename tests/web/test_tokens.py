"""API tokens: a program reads the GET routes under /api/ as a user, with exactly the
user's access (the per-route table of test_access.py), and nothing else; revoked,
expired and unknown tokens are 401; only the SHA-256 is stored; views are logged."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from frister.web.accounts import access_of, add_token, list_tokens, remove_user, revoke_token
from frister.web.models import AccessLog, ApiToken
from tests.web.conftest import ROLES, csrf_of, email, login
from tests.web.test_access import API_T1, GETS

C, A, T, S, I, O = ROLES  # barnevernsjef, avdelingsleder, teamleder, saksbehandler, inspector, operator


def token_of(web, role: str, name: str = "powerbi", days: int = 365) -> str:
    with web.engine.begin() as conn:
        return add_token(conn, email(role), name, web.clock(), days)


def reader(app, token: str) -> TestClient:
    """A program with a token and no cookie."""
    return TestClient(app, base_url="https://testserver", follow_redirects=False,
                      headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("role", ROLES)
def test_a_token_reads_every_api_route_as_its_users_session_and_no_page(app, web, role):
    client = reader(app, token_of(web, role))
    got = {url: client.get(url).status_code for url in GETS}
    assert got == {url: want[role] if url.startswith("/api/") else 403 for url, want in GETS.items()}


def test_a_token_sees_only_its_users_units(app, web):
    leader = reader(app, token_of(web, A))  # undersokelse, us-1: nothing overdue there
    assert [u["unit"] for u in leader.get("/api/overview").json()["units"]] == ["undersokelse", "us-1"]
    assert leader.get("/api/breaches").json()["breaches"] == []
    assert leader.get("/api/worklist?unit=mottak").json() == {"detail": "Du har ikke tilgang til denne siden."}
    team = reader(app, token_of(web, T))
    assert [(b["rule"], b["unit"]) for b in team.get("/api/breaches").json()["breaches"]] == \
        [("measure_plan", "tiltak-barn")]
    assert team.get("/api/deadline?case_id=BV-B&rule=reporter_feedback&subject=M1").json() == \
        {"detail": "Du har ikke tilgang til denne saken."}
    own = reader(app, token_of(web, S))
    assert [(x["case_id"], x["rule"]) for x in own.get("/api/worklist").json()["lines"]] == [("BV-B", "measure_plan")]


def test_a_token_changes_nothing_even_beside_a_live_session(app, web):
    token = token_of(web, T)
    body = {**API_T1, "reason": "other", "action": "Fulgt opp"}
    answer = reader(app, token).post("/api/deadline/reason", json=body)
    assert answer.status_code == 403
    assert answer.json() == {"detail": "En API-nøkkel gir bare lesetilgang: GET under /api/."}
    assert reader(app, token).post("/api/deadline/reason", json={}).status_code == 403  # before the body is read
    session = login(app, T)  # the same user's browser, with its CSRF token: a token still lends no write
    csrf = csrf_of(session.get("/", follow_redirects=True).text)
    both = session.post("/api/deadline/status", headers={"X-CSRF-Token": csrf, "Authorization": f"Bearer {token}"},
                        json={**API_T1, "status": "closed", "note": "x"})
    assert both.status_code == 403
    page = session.post("/frist/grunn", headers={"Authorization": f"Bearer {token}"},
                        data={"sak": "BV-B", "regel": "measure_plan", "gjelder": "T1", "grunn": "other",
                              "tiltak": "x", "csrf": csrf})
    assert page.status_code == 403 and "bare lesetilgang" in page.text
    assert reader(app, token).get("/api/deadline?case_id=BV-B&rule=measure_plan&subject=T1").json()["reason"] is None
    assert session.post("/api/deadline/reason", headers={"X-CSRF-Token": csrf}, json=body).status_code == 200


def test_revoked_expired_and_unknown_tokens_are_401_naming_no_token(app, web, clock):
    token = token_of(web, C, days=30)
    url = "/api/breaches"
    assert reader(app, token).get(url).status_code == 200
    wrong = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    refused = {"unknown": reader(app, wrong).get(url), "empty": reader(app, "").get(url),
               "not ours": reader(app, "x" * 5000).get(url)}
    clock.now += dt.timedelta(days=30)
    refused["expired"] = reader(app, token).get(url)
    clock.now -= dt.timedelta(days=1)
    assert reader(app, token).get(url).status_code == 200
    with web.engine.begin() as conn:
        assert revoke_token(conn, email(C), "powerbi", clock())
    refused["revoked"] = reader(app, token).get(url)
    for why, answer in refused.items():
        assert answer.status_code == 401, why
        assert answer.json() == {"detail": "API-nøkkelen er ukjent, utløpt eller trukket tilbake."}, why
        assert answer.headers["www-authenticate"] == 'Bearer error="invalid_token"', why
        assert token not in answer.text and wrong not in answer.text
    with web.engine.connect() as conn:
        assert [t.state(clock()) for t in list_tokens(conn, email(C))] == ["revoked"]


def test_failed_tokens_are_throttled_per_client_like_the_login(app, web, clock):
    token = token_of(web, C)
    for _ in range(5):
        assert reader(app, "frister_gjettet").get("/api/overview").status_code == 401
    blocked = reader(app, token).get("/api/overview")  # not even a good one is looked at
    assert (blocked.status_code, blocked.json()["detail"]) == \
        (429, "For mange mislykkede forsøk med API-nøkkel. Vent et kvarter og prøv igjen.")
    clock.now += dt.timedelta(minutes=16)
    assert reader(app, token).get("/api/overview").status_code == 200


def test_only_the_hash_of_a_token_is_stored_and_its_use_is_recorded(app, web, clock):
    token = token_of(web, T)
    assert token.startswith("frister_") and len(token) == len("frister_") + 43
    assert token_of(web, T, "saksystem") != token
    with web.engine.connect() as conn:
        rows = conn.execute(select(ApiToken).order_by(ApiToken.id)).all()
    assert rows[0].token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert all(token not in str(value) for row in rows for value in row)
    assert (rows[0].name, rows[0].last_used_at, rows[0].revoked_at) == ("powerbi", None, None)
    clock.now += dt.timedelta(hours=2)
    reader(app, token).get("/api/overview")
    with web.engine.connect() as conn:
        used = conn.execute(select(ApiToken.last_used_at).where(ApiToken.name == "powerbi")).scalar_one()
        assert used.replace(tzinfo=dt.timezone.utc) == clock.now
    with web.engine.begin() as conn:
        assert remove_user(conn, email(T))
        assert conn.execute(select(ApiToken)).all() == []


def test_the_access_log_records_a_tokens_views_as_its_users(app, web, clock, caplog):
    caplog.set_level(logging.DEBUG)
    token = token_of(web, T)
    client = reader(app, token)
    assert client.get("/api/deadline?case_id=BV-B&rule=measure_plan&subject=T1").status_code == 200
    assert client.get("/api/worklist").status_code == 200
    with web.engine.connect() as conn:
        seen = [(a.user_email, a.role, a.action, a.page, a.rule) for a in access_of(conn, "BV-B")]
        logged = conn.execute(select(AccessLog)).all()
    assert seen == [(email(T), "teamleder", "view", "api/deadline", "measure_plan"),
                    (email(T), "teamleder", "view", "api/worklist", "measure_plan")]
    assert all(token not in str(value) for row in logged for value in row)
    assert token not in caplog.text


def test_the_openapi_schema_declares_the_token_for_the_api_reads_only(app):
    schema = TestClient(app, base_url="https://testserver").get("/api/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["apiToken"]["type"] == "http" and schemes["apiToken"]["scheme"] == "bearer"
    assert schemes["session"] == {"type": "apiKey", "in": "cookie", "name": "frister_session",
                                  "description": "Innlogget nettleser (lokal konto eller OpenID Connect)."}
    security = {(path, method): op["security"] for path, ops in schema["paths"].items() for method, op in ops.items()}
    assert security[("/api/worklist", "get")] == [{"apiToken": []}, {"session": []}]
    assert security[("/api/deadline/reason", "post")] == [{"session": []}]
    assert security[("/rapporter/revisjon", "get")] == [{"session": []}]

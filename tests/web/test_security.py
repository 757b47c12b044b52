"""The web pages' security: cookies, CSRF, CSP and escaping, idle sessions, throttled
logins, and the access log with `frister access-log`."""

from __future__ import annotations

import datetime as dt

from click.testing import CliRunner
from fastapi.testclient import TestClient

from frister.cli import build
from frister.web.accounts import access_of
from tests.web.conftest import PASSWORD, csrf_of, email, login

REASON = {"sak": "BV-B", "regel": "measure_plan", "gjelder": "T1", "nr": "1", "grunn": "complex_case"}
PAGE = "/frist?sak=BV-B&regel=measure_plan&gjelder=T1"


def test_the_session_cookie_is_secure_httponly_and_samesite(app):
    client = TestClient(app, base_url="https://testserver", follow_redirects=False)
    csrf = csrf_of(client.get("/logg-inn").text)
    answer = client.post("/logg-inn", data={"email": email("teamleder"), "password": PASSWORD, "csrf": csrf})
    cookie = answer.headers["set-cookie"].lower()
    assert cookie.startswith("frister_session=") and "secure" in cookie and "httponly" in cookie \
        and "samesite=lax" in cookie
    assert answer.headers["location"] == "/oversikt"


def test_every_page_has_a_strict_content_security_policy(app):
    page = login(app, "teamleder").get("/oversikt")
    assert page.headers["content-security-policy"].startswith("default-src 'none'; style-src 'self'")
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'none': no script at all
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
    assert page.headers["server-timing"].startswith("app;dur=")  # the time only, nothing of the request


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(app, engine):
    client = login(app, "teamleder")
    refused = client.post("/frist/grunn", data={**REASON, "tiltak": "Ny plan"})
    wrong = client.post("/frist/grunn", data={**REASON, "tiltak": "Ny plan", "csrf": "x" * 43})
    api = client.post("/api/deadline/reason", json={"case_id": "BV-B", "rule": "measure_plan", "subject": "T1",
                                                    "reason": "other", "action": "Ny plan"})
    assert (refused.status_code, wrong.status_code, api.status_code) == (403, 403, 403)
    assert "Ingen grunn registrert" in client.get(PAGE).text
    login_form = TestClient(app, base_url="https://testserver", follow_redirects=False)
    assert login_form.post("/logg-inn", data={"email": email("teamleder"), "password": PASSWORD}).status_code == 403


def test_a_script_in_an_action_text_is_shown_not_run(app):
    client = login(app, "teamleder")
    csrf = csrf_of(client.get(PAGE).text)
    saved = client.post("/frist/grunn", data={**REASON, "tiltak": "<script>alert(1)</script> & mer", "csrf": csrf})
    assert saved.status_code == 303 and saved.headers["location"] == PAGE
    page = client.get(PAGE).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; mer" in page and "<script>" not in page
    assert "&lt;script&gt;" in client.get("/fristbrudd").text


def test_a_recorded_reason_is_in_the_breach_register_with_who_recorded_it(app):
    client = login(app, "teamleder")
    csrf = csrf_of(client.get(PAGE).text)
    client.post("/frist/grunn", data={**REASON, "tiltak": "Plan avtalt 10.03.", "csrf": csrf})
    [row] = client.get("/api/breaches").json()["breaches"]
    assert (row["reason"], row["action"]) == ("complex_case", "Plan avtalt 10.03.")
    page = client.get(PAGE).text
    assert "Kompleks sak" in page and email("teamleder") in page
    empty = client.post("/frist/grunn", data={**REASON, "tiltak": "  ", "csrf": csrf})
    assert empty.status_code == 400 and "Skriv hvilket tiltak" in empty.text


def test_a_session_ends_after_the_idle_timeout_and_at_logout(app, clock):
    client = login(app, "teamleder")
    clock.now += dt.timedelta(minutes=29)
    assert client.get("/oversikt").status_code == 200  # used: the idle time starts again
    clock.now += dt.timedelta(minutes=29)
    assert client.get("/oversikt").status_code == 200
    clock.now += dt.timedelta(minutes=31)
    assert client.get("/oversikt").headers["location"] == "/logg-inn"
    again = login(app, "teamleder")
    csrf = csrf_of(again.get("/oversikt").text)
    token = again.cookies.get("frister_session")
    assert again.post("/logg-ut", data={"csrf": csrf}).status_code == 303
    replay = TestClient(app, base_url="https://testserver", follow_redirects=False,
                        cookies={"frister_session": token})
    assert replay.get("/api/overview").status_code == 401


def test_logins_are_throttled_after_five_failures(app):
    client = TestClient(app, base_url="https://testserver", follow_redirects=False)
    csrf = csrf_of(client.get("/logg-inn").text)
    codes = [client.post("/logg-inn", data={"email": email("teamleder"), "password": "feil passord!!",
                                            "csrf": csrf}).status_code for _ in range(5)]
    right = client.post("/logg-inn", data={"email": email("teamleder"), "password": PASSWORD, "csrf": csrf})
    assert codes == [401] * 5 and right.status_code == 429


def test_the_access_log_records_each_case_viewed_downloaded_or_changed(app, engine, cli_env):
    client = login(app, "teamleder")
    csrf = csrf_of(client.get(PAGE).text)
    client.post("/frist/grunn", data={**REASON, "tiltak": "Ny plan", "csrf": csrf})
    client.get("/arbeidsliste?format=csv")
    login(app, "barnevernsjef").get("/arbeidsliste")
    with engine.connect() as conn:
        seen = [(a.user_email.split("@")[0], a.action, a.page, a.rule) for a in access_of(conn, "BV-B")]
    assert seen == [
        ("teamleder", "view", "frist", "measure_plan"),
        ("teamleder", "change", "frist/grunn", "measure_plan"),
        ("teamleder", "download", "arbeidsliste", "measure_plan"),
        ("barnevernsjef", "view", "arbeidsliste", "reporter_feedback"),
        ("barnevernsjef", "view", "arbeidsliste", "measure_plan"),
    ]
    shown = CliRunner().invoke(build(), ["access-log", "--case", "BV-B"])
    assert shown.exit_code == 0 and shown.output.count("teamleder@") == 3 and "download" in shown.output
    none = CliRunner().invoke(build(), ["access-log", "--case", "BV-Z"])
    assert none.exit_code == 0 and "no access to case BV-Z recorded" in none.output

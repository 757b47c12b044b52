"""Login through OpenID Connect against a real provider on loopback (oidc_provider.py):
the browser's round trip is made by hand, frister's token request and key fetch are
real HTTP."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from frister.settings import Settings
from frister.web.app import Web, create_app
from tests.conftest import RULES
from tests.web.conftest import email
from tests.web.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider


@pytest.fixture
def provider():
    with Provider() as running:
        yield running


@pytest.fixture
def oidc_app(service, rules, db_url, clock, provider):
    engine, organisation = service
    settings = Settings.from_env({"FRISTER_DATABASE_URL": db_url, "FRISTER_RULES_DIR": str(RULES),
                                  "FRISTER_OIDC_ISSUER": provider.issuer, "FRISTER_OIDC_CLIENT_ID": CLIENT_ID,
                                  "FRISTER_OIDC_CLIENT_SECRET": CLIENT_SECRET,
                                  "FRISTER_WEB_BASE_URL": "https://testserver"})
    return create_app(Web(settings, rules, organisation, engine, clock=clock))


def round_trip(app) -> tuple[TestClient, httpx.Response]:
    """Start the login at frister, let the provider sign in, come back to frister."""
    client = TestClient(app, base_url="https://testserver", follow_redirects=False)
    start = client.get("/oidc/logg-inn")
    assert start.status_code == 302 and start.headers["location"].startswith("http://127.0.0.1:")
    signed_in = httpx.get(start.headers["location"], follow_redirects=False)
    back = urlsplit(signed_in.headers["location"])
    assert (back.scheme, back.netloc, back.path) == ("https", "testserver", "/oidc/callback")
    return client, client.get(f"{back.path}?{back.query}")


def test_a_known_user_logs_in_through_the_provider_with_frister_s_role(oidc_app, provider):
    provider.email = email("teamleder").upper()  # the provider's spelling; frister's login is lower case
    client, answer = round_trip(oidc_app)
    assert answer.status_code == 303 and answer.headers["location"] == "/oversikt"
    assert [u["unit"] for u in client.get("/api/overview").json()["units"]] == ["tiltak-barn"]
    assert "Logg inn med kommunens pålogging" in TestClient(oidc_app, base_url="https://testserver").get(
        "/logg-inn").text


def test_someone_the_service_has_not_given_a_role_is_refused(oidc_app, provider):
    provider.email = "ukjent@barnevern.kommune.example"
    client, answer = round_trip(oidc_app)
    assert answer.status_code == 403 and "ikke gitt tilgang" in answer.text
    assert client.get("/api/overview").status_code == 401


def test_an_id_token_signed_with_another_key_is_refused(oidc_app, provider):
    provider.email = email("barnevernsjef")
    provider.forge = True
    client, answer = round_trip(oidc_app)
    assert answer.status_code == 400
    assert client.get("/api/overview").status_code == 401


def test_a_callback_with_a_state_frister_did_not_issue_is_refused(oidc_app, provider):
    provider.email = email("barnevernsjef")
    client = TestClient(oidc_app, base_url="https://testserver", follow_redirects=False)
    assert client.get("/oidc/callback?code=x&state=forged").status_code == 400

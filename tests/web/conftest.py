"""The web pages on the hand-worked service of the worklist tests (three cases, as of
3 March 2025), with one user of each role; an HTTPS test client (the session cookie is
Secure)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from fastapi.testclient import TestClient

from frister.evaluation.service import run_evaluation
from frister.importer.jsonl import import_file
from frister.organisation import load_organisation
from frister.settings import Settings
from frister.web.accounts import add_user
from frister.web.app import Web, create_app
from tests.conftest import RULES
from tests.test_worklist_and_caseload import AS_OF, CASES, ORG

PASSWORD = "riktig hest batteri stift"
DOMAIN = "barnevern.kommune.example"
USERS = {
    "barnevernsjef": dict(units=()),
    "avdelingsleder": dict(units=("undersokelse",)),  # us-1 below it
    "teamleder": dict(units=("tiltak-barn",)),
    "saksbehandler": dict(caseworker="ks17"),
    "inspector": dict(),
    "operator": dict(),
}
ROLES = tuple(USERS)


def email(role: str) -> str:
    return f"{role}@{DOMAIN}"


class Clock:
    def __init__(self):
        self.now = dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.timezone.utc)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def service(engine, tmp_path, rules):
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in CASES), encoding="utf-8")
    import_file(engine, path, as_of=AS_OF)
    run_evaluation(engine, rules, AS_OF)
    org_file = tmp_path / "organisation.yaml"
    org_file.write_text(ORG, encoding="utf-8")
    with engine.begin() as conn:
        for role, extra in USERS.items():
            add_user(conn, email(role), role, password=PASSWORD, **extra)
    return engine, load_organisation(org_file)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def web(service, rules, db_url, clock):
    engine, organisation = service
    settings = Settings.from_env({"FRISTER_DATABASE_URL": db_url, "FRISTER_RULES_DIR": str(RULES)})
    return Web(settings, rules, organisation, engine, clock=clock)


@pytest.fixture
def app(web):
    return create_app(web)


def login(app, role: str) -> TestClient:
    """A client logged in as the user of ``role``."""
    client = TestClient(app, base_url="https://testserver", follow_redirects=False)
    form = client.get("/logg-inn")
    csrf = form.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    answer = client.post("/logg-inn", data={"email": email(role), "password": PASSWORD, "csrf": csrf})
    assert answer.status_code == 303, answer.text
    return client


def csrf_of(page: str) -> str:
    return page.split('name="csrf" value="', 1)[1].split('"', 1)[0]

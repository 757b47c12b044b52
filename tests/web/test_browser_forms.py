"""The leaders' forms in a real browser (headless system Chromium, Playwright) and what
the next nights send: an assessment recorded on the page shows in the next warning
e-mail, a deviation closed on the page gets no more notices. The nights are the real
nightly run with a real SMTP server on loopback (tests/nightly/conftest.py: as of
25.11.2025 BV-3's emergency petition, due 01.12, is open and had its reminder; BV-2's
investigation, due 08.11, is overdue with a weekly breach notice). Screenshots go to
the test's tmp_path, kept by pytest as its artefacts."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from frister.escalation.models import Notice
from frister.organisation import load_organisation
from frister.settings import Settings
from frister.web.accounts import add_user
from frister.web.app import Web, create_app
from tests.conftest import RULES
from tests.nightly.conftest import AS_OF, CHIEF, OMSORG, all_lines, config, municipality, run  # noqa: F401
from tests.nightly.test_follow_up import line_of
from tests.nightly.test_run import smtp
from tests.notify.smtp_catcher import SmtpCatcher
from tests.web.conftest import PASSWORD, Clock, email
from tests.web.test_browser import browser, log_in, served  # noqa: F401  (skips without Chromium)

BV3 = "/frist?sak=BV-3&regel=emergency_petition&gjelder=A1"
BV2 = "/frist?sak=BV-2&regel=investigation_deadline&gjelder=U1"
SCRIPT = "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">"


@pytest.fixture
def mail():
    with SmtpCatcher() as server:
        yield server


@pytest.fixture
def app(municipality, config, rules, db_url, tmp_path, mail):  # noqa: F811  (the served app)
    """The nightly test municipality after its first night (25.11.2025), served with an
    avdelingsleder of omsorg and a teamleder of undersokelse."""
    run(municipality, rules, config, smtp(mail.port))
    with municipality.begin() as conn:
        add_user(conn, email("avdelingsleder"), "avdelingsleder", password=PASSWORD, units=("omsorg",))
        add_user(conn, email("teamleder"), "teamleder", password=PASSWORD, units=("undersokelse",))
    settings = Settings.from_env({"FRISTER_DATABASE_URL": db_url, "FRISTER_RULES_DIR": str(RULES)})
    clock = Clock()
    clock.now = dt.datetime(2025, 11, 25, 9, 0, tzinfo=dt.timezone.utc)
    return create_app(Web(settings, rules, load_organisation(tmp_path / "organisation.yaml"), municipality,
                          clock=clock))


def test_an_assessment_recorded_on_the_page_shows_in_the_next_warning(served, browser, mail, municipality, rules,
                                                                     config, tmp_path):
    assert line_of(mail.messages, OMSORG, "BV-3").endswith("; årsak ikke vurdert.")  # the reminder of 25.11
    page = log_in(browser, served, "avdelingsleder")
    page.goto(BV3)
    assert "Registrer vurdering før fristen" in page.content() and "<td>Påminnelse</td>" in page.content()
    page.select_option("form.reason select[name=grunn]", "complex_case")
    page.fill("form.reason textarea[name=tiltak]", SCRIPT)
    page.fill("form.reason input[name=ansvarlig]", "ls04")
    page.fill("form.reason input[name=oppfolging]", "2025-11-28")
    with page.expect_navigation():
        page.click("form.reason button[type=submit]")
    assert page.locator("dd.action").first.inner_text() == SCRIPT  # shown as text
    assert page.evaluate("document.title") != "pwned" and page.locator("img[src=x]").count() == 0
    assert page.locator("dd.follow-up").inner_text() == "Åpent"
    page.select_option("form.acknowledge select[name=trinn]", "reminder")
    page.fill("form.acknowledge input[name=kvittering]", "Tatt opp i teammøtet")
    with page.expect_navigation():
        page.click("form.acknowledge button[type=submit]")
    assert "Tatt opp i teammøtet" in page.content()
    page.screenshot(path=str(tmp_path / "frist-vurdert.png"), full_page=True)
    mail.messages.clear()
    run(municipality, rules, config, smtp(mail.port), as_of=dt.date(2025, 11, 28))  # BV-3's warning
    assert line_of(mail.messages, OMSORG, "BV-3").endswith("Enhet omsorg, saksbehandler ks30; årsak vurdert.")
    assert line_of(mail.messages, CHIEF, "BV-3").endswith("; årsak vurdert.")
    assert SCRIPT not in "".join(m.get_body(("plain",)).get_content() for m in mail.messages)  # never e-mailed


def test_a_deviation_closed_on_the_page_gets_no_more_notices(served, browser, mail, municipality, rules, config,
                                                            tmp_path):
    assert (CHIEF, "Fristbrudd", "Frist for undersøkelse", "BV-2") in all_lines(mail.messages)
    page = log_in(browser, served, "teamleder")
    page.goto("/fristbrudd")
    row = page.locator("tbody tr", has_text="BV-2")
    assert row.locator("form.close").count() == 0  # nothing recorded yet: assess first
    with page.expect_navigation():
        row.locator("a", has_text="Vurder").click()
    assert page.url.endswith(BV2)
    page.select_option("form.reason select[name=grunn]", "lack_of_capacity")
    page.fill("form.reason textarea[name=tiltak]", "Ny saksbehandler fra 01.12.")
    with page.expect_navigation():
        page.click("form.reason button[type=submit]")
    page.goto("/fristbrudd")
    row = page.locator("tbody tr", has_text="BV-2")
    row.locator("input[name=merknad]").fill("Undersøkelsen avsluttet, rutinen gjennomgått")
    with page.expect_navigation():
        row.locator("form.close button").click()
    assert page.url == f"{served}/fristbrudd"
    assert page.locator("tbody tr", has_text="BV-2").locator("td.follow-up").inner_text() == "Lukket"
    page.screenshot(path=str(tmp_path / "fristbrudd-lukket.png"), full_page=True)
    with municipality.connect() as conn:
        before = conn.execute(select(func.count()).select_from(Notice).where(Notice.case_id == "BV-2")).scalar()
    mail.messages.clear()
    run(municipality, rules, config, smtp(mail.port), as_of=AS_OF + dt.timedelta(days=7))  # its weekly repeat
    assert mail.messages  # the night sent its other notices
    assert not [x for x in all_lines(mail.messages) if x[3] == "BV-2"]
    with municipality.connect() as conn:
        after = conn.execute(select(func.count()).select_from(Notice).where(Notice.case_id == "BV-2")).scalar()
    assert after == before
    page.goto(BV2)
    assert "Undersøkelsen avsluttet, rutinen gjennomgått" in page.content()


def test_a_post_from_the_browser_without_the_csrf_token_changes_nothing(served, browser, tmp_path):
    page = log_in(browser, served, "teamleder")
    for url, form in (("/frist/grunn", {"grunn": "other", "tiltak": "x"}),
                      ("/frist/status", {"status": "closed", "merknad": "x"}),
                      ("/frist/kvitter", {"trinn": "breach"})):
        refused = page.request.post(url, form={"sak": "BV-2", "regel": "investigation_deadline", "gjelder": "U1",
                                               **form})
        assert refused.status == 403 and "CSRF" in refused.text(), url
    other = log_in(browser, served, "avdelingsleder")  # omsorg, not undersokelse
    answer = other.goto(BV2)
    assert answer.status == 403
    other.screenshot(path=str(tmp_path / "annen-enhet-403.png"))
    page.goto(BV2)
    assert "Ingen grunn registrert." in page.content()

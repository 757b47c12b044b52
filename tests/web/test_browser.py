"""The pages in a real browser: the system's Chromium driven by Playwright, headless,
against frister web served by uvicorn on loopback. Screenshots go to the test's
tmp_path (kept by pytest as the test's artefacts)."""

from __future__ import annotations

import shutil
import socket
import threading
import time

import pytest
import uvicorn

from tests.web.conftest import PASSWORD, email

CHROMIUM = "/usr/bin/chromium"
sync_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need the playwright package")
if shutil.which(CHROMIUM) is None:
    pytest.skip(f"the browser tests need Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)


@pytest.fixture
def served(app):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield f"http://localhost:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(5)


@pytest.fixture
def browser():
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


def log_in(browser, base: str, role: str):
    page = browser.new_context(base_url=base).new_page()
    page.goto("/logg-inn")
    page.fill("input[name=email]", email(role))
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    return page


def test_a_teamleder_sees_the_worklist_and_records_a_reason_whose_script_does_not_run(served, browser, tmp_path):
    page = log_in(browser, served, "teamleder")
    assert page.url == f"{served}/oversikt"
    assert page.locator("td a", has_text="Tiltak barn").count() == 1
    page.screenshot(path=str(tmp_path / "oversikt.png"), full_page=True)
    page.goto("/arbeidsliste")
    rows = page.locator("tbody tr")
    assert rows.count() == 1 and "Tiltaksplan ved hjelpetiltak" in rows.first.inner_text()
    page.screenshot(path=str(tmp_path / "arbeidsliste.png"), full_page=True)
    with page.expect_navigation():
        page.click("tbody tr a")
    assert "Frist BV-B" in page.title()
    page.select_option("select[name=grunn]", "complex_case")
    page.fill("textarea[name=tiltak]", "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">")
    with page.expect_navigation():
        page.click("form.reason button[type=submit]")
    assert "Kompleks sak" in page.content()
    assert page.locator("dd.action").inner_text().startswith("<script>document.title='pwned'</script>")
    assert page.title() != "pwned" and page.evaluate("document.title") != "pwned"
    page.screenshot(path=str(tmp_path / "frist.png"), full_page=True)


def test_a_leader_of_another_unit_gets_403_and_a_post_without_csrf_is_refused(served, browser, tmp_path):
    page = log_in(browser, served, "avdelingsleder")
    answer = page.goto("/frist?sak=BV-B&regel=measure_plan&gjelder=T1")
    assert answer.status == 403 and "Du har ikke tilgang til denne saken." in page.content()
    page.screenshot(path=str(tmp_path / "403.png"))
    refused = page.request.post("/frist/grunn", form={"sak": "BV-B", "regel": "measure_plan", "gjelder": "T1",
                                                      "grunn": "other", "tiltak": "x"})
    assert refused.status == 403
    chief = log_in(browser, served, "barnevernsjef")
    forged = chief.request.post("/frist/grunn", form={"sak": "BV-B", "regel": "measure_plan", "gjelder": "T1",
                                                      "grunn": "other", "tiltak": "x"})
    assert forged.status == 403 and "CSRF" in forged.text()

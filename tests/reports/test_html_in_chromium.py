"""The HTML reports open in headless Chromium without console errors, and a screenshot is made.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``:
commands on fd 3, replies and events on fd 4, NUL-terminated JSON), so the test sees
the level of every console message, uncaught exceptions and failed loads without a
websocket library. Skipped, with the reason, when no Chromium is installed
(``scripts/ensure-chromium`` installs Debian's).
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import time
from datetime import date
from pathlib import Path

import pytest

from report_fixture import AS_OF, TEMPLATES, H1_END, H1_START
from frister.calendar import half_year
from frister.reports.audit import audit_html, build_audit
from frister.reports.monthly import write_monthly
from frister.reports.periodic import annual_html, half_year_html

CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser"),
                             shutil.which("google-chrome")) if p), None)
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--remote-debugging-pipe")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (run scripts/ensure-chromium)")


class Browser:
    """A minimal DevTools-protocol client over Chromium's pipe."""

    def __init__(self, profile: Path):
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def remap() -> None:  # the child gets our pipe ends as fds 3 and 4
            os.dup2(to_chrome_r, 3)
            os.dup2(from_chrome_w, 4)

        self.proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--window-size=1280,1600", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=remap, close_fds=False,  # close_fds would run after remap and close 3 and 4
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict] = []

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from Chromium")
            ready, _, _ = select.select([self._from_chrome], [], [], left)
            if ready:
                chunk = os.read(self._from_chrome, 1 << 20)
                if not chunk:
                    raise RuntimeError("Chromium closed the pipe")
                self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            self.events.append(self._read(deadline))

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        try:
            while True:
                self.events.append(self._read(deadline))
        except TimeoutError:
            pass

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)


def open_and_screenshot(page: Path, screenshot: Path, profile: Path) -> list[str]:
    """Load ``page``, save a full-page PNG to ``screenshot`` and its print (A4) to ``<screenshot>.pdf``;
    return the console errors seen."""
    browser = Browser(profile)
    try:
        target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.call(f"{domain}.enable", session=session)
        browser.call("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
        browser.wait_for("Page.loadEventFired")
        browser.drain(0.3)
        shot = browser.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True},
                            session=session, timeout=60)
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        pdf = browser.call("Page.printToPDF", {"preferCSSPageSize": True, "printBackground": True},
                           session=session, timeout=60)
        screenshot.with_suffix(".pdf").write_bytes(base64.b64decode(pdf["data"]))
        errors = []
        for e in browser.events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.exceptionThrown":
                errors.append(f"exception: {params['exceptionDetails'].get('text')}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append(f"console.{params['type']}: {params.get('args')}")
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                errors.append(f"log: {params['entry'].get('text')}")
            elif method == "Network.loadingFailed":
                errors.append(f"load failed: {params.get('errorText')}")
        return errors
    finally:
        browser.close()


def test_the_harness_sees_console_errors(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><body><img src="missing.png"><script>console.error("x")</script>'
                    "</body></html>", encoding="utf-8")
    errors = open_and_screenshot(page, tmp_path / "bad.png", tmp_path / "profile")
    assert any(e.startswith("console.error") for e in errors)
    assert any("missing.png" in e or e.startswith("load failed") for e in errors)


def test_every_html_report_renders_in_chromium_without_console_errors(municipality, rules, tmp_path):
    engine = municipality
    if engine.dialect.name != "sqlite":
        pytest.skip("rendering does not depend on the database; the figures are tested on both elsewhere")
    pages = {"monthly": write_monthly(engine, rules, date(2025, 6, 1), tmp_path / "monthly.html", as_of=AS_OF,
                                      templates_dir=TEMPLATES)}
    with engine.connect() as conn:
        report = build_audit(conn, rules, H1_START, H1_END, AS_OF)
        (tmp_path / "audit.html").write_bytes(audit_html(report, TEMPLATES))
        (tmp_path / "half_year.html").write_text(half_year_html(conn, rules, half_year(2025, 1), AS_OF, TEMPLATES),
                                                 encoding="utf-8")
        (tmp_path / "annual.html").write_text(annual_html(conn, rules, 2025, 3, AS_OF, TEMPLATES), encoding="utf-8")
    pages.update({name: tmp_path / f"{name}.html" for name in ("audit", "half_year", "annual")})
    for name, page in pages.items():
        html = page.read_text(encoding="utf-8")
        assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert "@media print" in html
        shot = tmp_path / f"{name}.png"
        errors = open_and_screenshot(page, shot, tmp_path / f"profile-{name}")
        assert errors == [], f"{name}: {errors}"
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
        assert shot.with_suffix(".pdf").read_bytes()[:5] == b"%PDF-"


def test_the_demos_annual_report_shows_its_tables_and_charts_in_chromium(engine, rules, tmp_path):
    """The annual report of `frister demo` (two municipalities, the example organisation)."""
    from frister.demo.generate import generate_cases, header, write_jsonl
    from frister.importer import import_file
    from frister.organisation import load_organisation
    from frister.reports.periodic import write_annual

    if engine.dialect.name != "sqlite":
        pytest.skip("rendering does not depend on the database; the figures are tested on both elsewhere")
    as_of = date(2026, 8, 1)
    cases = tmp_path / "demo.jsonl"
    write_jsonl(cases, generate_cases(as_of, seed=7, cases=400), header=header(as_of))
    import_file(engine, cases, as_of=as_of)
    organisation = load_organisation(TEMPLATES.parent / "config" / "organisation.example.yaml")
    page = write_annual(engine, rules, as_of, tmp_path / "annual.html", TEMPLATES, organisation)
    html = page.read_text(encoding="utf-8")
    for heading in ("Aktivitet per år", "Per kommune og år", "Undersøkelser 2026: to måter å telle på",
                    "Nøkkeltall per år", "Årsaker til fristbrudd per frist 2026", "Ordforklaringer"):
        assert f"<h2>{heading}</h2>" in html
    assert "Nordvik" in html and "Sørdal" in html and "Undersøkelse team 1" in html
    assert "Antall barn i tiltak totalt" in html and html.count("<svg") >= 4
    shot = tmp_path / "annual.png"
    errors = open_and_screenshot(page, shot, tmp_path / "profile")
    assert errors == []
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    assert shot.with_suffix(".pdf").read_bytes()[:5] == b"%PDF-"

"""No personal data in any e-mail, report or log line, and no line in an e-mail that
did not come from its template: a scan over a generated municipality.

The municipality is the demo generator's, at 2,000 cases (issue 32 asks for 10,000; the
scan is the same at any size, and this one keeps the test well under a minute). Some
cases' caseworker codes are then given a line break and a ``Bcc:`` line in the
database, as a hostile export could carry them. Two nights run with the console
transport, and every report is produced (audit listing as CSV, XLSX and HTML, monthly,
half-year and annual reports), with frister's logs captured throughout.

Every rendered e-mail (subject, text and HTML) is searched for dates in the common
formats (YYYY-MM-DD, DD.MM.YYYY, D.M.YY, DD/MM/YYYY, DDMMYY). The only dates allowed
are the run's date and the due dates of the notices in that e-mail; so no birth date can
appear (unless it *is* one of those dates, which says nothing about the child), and the
line of a case never shows that child's birth date. Every line of a text body is a line
of the template or a line the template builds (:mod:`tests.notify.body_lines`). In the
reports, no row of a case shows that child's birth date, 18th birthday or the exact
due date of its aftercare deadline (which is the birthday in disguise). Breach-reason
free text and names recorded by leaders never appear in an e-mail or a log.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import logging
import re
from typing import NamedTuple

import pytest
from openpyxl import load_workbook
from sqlalchemy import insert, select, update

from frister.calendar import birthday, parse_period_label
from frister.db.engine import create_db_engine, migrate
from frister.demo.generate import generate_cases, write_jsonl
from frister.escalation.models import Notice, UnitMail
from frister.evaluation.models import BreachReason, Obligation
from frister.evaluation.service import run_evaluation
from frister.importer import import_file
from frister.nightly.run import load_config, nightly_run
from frister.notify.transport import ConsoleTransport
from frister.reports.audit import COLUMNS, build_audit
from frister.reports.formats import render_report
from frister.reports.monthly import monthly_html
from frister.reports.periodic import annual_html, half_year_html
from frister.settings import Settings
from frister.store.tables import cases as case_table

from tests.nightly.conftest import ROOT, at, is_unit_mail
from tests.notify.body_lines import (line_patterns, stray_lines, unit_mail_literal_lines, unit_mail_patterns)

AS_OF = dt.date(2025, 11, 24)
SECRET = "FRITEKST-HEMMELIG"
INJECTED = "\nBcc: evil@attacker.example\nSubject: pwned"
NAME = "Kari Nordmann"
DATE_TOKEN = re.compile(
    r"(?<![\d])(?:\d{4}-\d{2}-\d{2}|\d{1,2}[./]\d{1,2}[./](?:\d{4}|\d{2})|\d{6})(?![\d])"
)


def formats(day: dt.date) -> set[str]:
    return {
        day.isoformat(), day.strftime("%d.%m.%Y"), day.strftime("%d%m%y"), day.strftime("%d/%m/%Y"),
        f"{day.day}.{day.month}.{day.year}", day.strftime("%d.%m.%y"), f"{day.day}.{day.month}.{day.strftime('%y')}",
    }


@pytest.fixture(scope="module")
def night(tmp_path_factory, rules):
    """Two nights and every report over the generated municipality, with the bundled configuration."""
    tmp = tmp_path_factory.mktemp("municipality")
    engine = create_db_engine(f"sqlite:///{tmp / 'frister.db'}")
    migrate(engine, ROOT / "migrations")
    records = list(generate_cases(AS_OF, seed=2025, cases=2000, organised=False))  # the case's caseworker on every line
    write_jsonl(tmp / "cases.jsonl", records)
    import_file(engine, tmp / "cases.jsonl", as_of=AS_OF)
    births = {r["case_id"]: dt.date.fromisoformat(r["child"]["birth_date"]) for r in records}
    # Leaders' free-text reasons for every current breach: they must never be mailed.
    run_evaluation(engine, rules, AS_OF)
    with engine.begin() as conn:
        keys = conn.execute(select(Obligation.case_id, Obligation.rule, Obligation.subject, Obligation.period,
                                   Obligation.seq).where(Obligation.status == "overdue")).all()
        conn.execute(insert(BreachReason), [
            {"case_id": k[0], "rule": k[1], "subject": k[2], "period": k[3], "seq": k[4], "reason": "other",
             "action": f"{SECRET} {k[0]}: mor ringte, barnet bor hos {NAME}", "explained_at": at(AS_OF),
             "explained_by": NAME} for k in keys
        ])
        # A hostile export: every tenth case's caseworker code carries header lines.
        conn.execute(update(case_table).where(case_table.c.case_id.like("%0")).values(caseworker=case_table.c.caseworker + INJECTED))
        cases = conn.execute(select(case_table.c.case_id, case_table.c.unit, case_table.c.caseworker)).all()
    settings = Settings.from_env({"FRISTER_TEMPLATES_DIR": str(ROOT / "templates")})
    config = load_config(settings, rules, "console")
    # Every line listed, not the first 50: the scan reads what any line could say.
    config.ladder = dataclasses.replace(config.ladder, delivery=dataclasses.replace(
        config.ladder.delivery, lines_per_email=100_000))
    transport = ConsoleTransport(quiet=True, keep=True)
    handler = _Capture()
    logging.getLogger("frister").addHandler(handler)
    logging.getLogger("frister").setLevel(logging.DEBUG)
    try:
        for day in (AS_OF, AS_OF + dt.timedelta(days=3)):
            nightly_run(engine, rules, config, transport, day, now=lambda day=day: at(day))
        reports, aftercare_due = _reports(engine, rules, AS_OF + dt.timedelta(days=3), settings.templates_dir)
    finally:
        logging.getLogger("frister").removeHandler(handler)
    with engine.connect() as conn:
        due = {}
        for message_id, due_on in conn.execute(select(Notice.message_id, Notice.due_on)):
            due.setdefault(message_id, set()).add(due_on)
        # A unit mail's dates: its lines' due dates (a visit period's end) and last visits.
        for message_id, content in conn.execute(select(UnitMail.message_id, UnitMail.content)):
            due[message_id] = {dt.date.fromisoformat(d) for line in json.loads(content)["lines"]
                               for d in (line["due"], line["last_visit"]) if d}
    engine.dispose()
    return Scan(transport.sent, due, births, "\n".join(handler.lines), reports, aftercare_due, cases)


class Scan(NamedTuple):
    messages: list
    due: dict
    births: dict
    log: str
    reports: dict  # name -> rows of text (a CSV line, an XLSX row, an HTML table row)
    aftercare_due: dict  # case_id -> the exact due date of its aftercare deadline
    cases: list  # (case_id, unit, caseworker) as stored


def _reports(engine, rules, as_of, templates) -> tuple[dict[str, list[str]], dict[str, dt.date]]:
    """Every report, each cut into rows (one case's row holds only that case's values), and
    the exact aftercare due dates of the listing."""
    with engine.connect() as conn:
        listing = build_audit(conn, rules, dt.date(2024, 1, 1), dt.date(2027, 12, 31), as_of)
        html = {
            "audit.html": render_report("audit", listing, "html", templates).decode("utf-8"),
            "monthly.html": monthly_html(conn, rules, as_of.replace(day=1), as_of, templates),
            "half_year.html": half_year_html(conn, rules, parse_period_label("2025-H2"), as_of, templates),
            "annual.html": annual_html(conn, rules, 2025, 3, as_of, templates),
        }
    aftercare_due = {r.result.case_id: r.result.due_on for r in listing.rows + listing.local_rows
                     if r.result.rule == "aftercare_assessment"}
    assert len(aftercare_due) > 20
    book = load_workbook(io.BytesIO(render_report("audit", listing, "xlsx", templates)))
    out = {name: re.split(r"<tr[ >]", text) for name, text in html.items()}
    out["audit.csv"] = render_report("audit", listing, "csv", templates).decode("utf-8-sig").split("\r\n")
    out["audit.xlsx"] = [";".join("" if c.value is None else str(c.value) for c in row)
                         for ws in book for row in ws.iter_rows()]
    return out, aftercare_due


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(self.format(record))


def texts(message) -> list[str]:
    return [message["Subject"], message.get_body(("plain",)).get_content(),
            message.get_body(("html",)).get_content()]


def test_the_scan_covers_every_stage_and_many_cases(night):
    messages, births = night.messages, night.births
    body = "\n".join(t for m in messages for t in texts(m))
    assert len(messages) >= 8
    assert {"== Påminnelse", "== Varsel", "== Fristbrudd"} <= {s for s in re.findall(r"== \w+", body)}
    assert len(set(re.findall(r"Sak (BV-\d{4}-\d{5})", body))) > 300


def test_no_email_contains_a_date_other_than_the_run_date_and_its_due_dates(night):
    messages, due = night.messages, night.due
    for message in messages:
        allowed = set().union(*(formats(d) for d in due[message["Message-ID"].strip()] | {AS_OF, AS_OF + dt.timedelta(days=3)}))
        for text in texts(message):
            strangers = set(DATE_TOKEN.findall(text)) - allowed
            assert not strangers, f"unexpected date-like text in an e-mail to {message['To']}: {sorted(strangers)[:5]}"


def test_no_case_line_shows_that_childs_birth_date(night):
    messages, births = night.messages, night.births
    checked = 0
    for message in messages:
        for text in texts(message)[1:]:
            for line in text.splitlines():
                for case_id in re.findall(r"BV-\d{4}-\d{5}", line):
                    assert not formats(births[case_id]) & set(DATE_TOKEN.findall(line)), case_id
                    checked += 1
    assert checked > 1000


def test_no_free_text_or_name_reaches_an_email_or_a_log_line(night):
    messages, log = night.messages, night.log
    everything = "\n".join(t for m in messages for t in texts(m))
    assert SECRET not in everything and NAME not in everything and "mor ringte" not in everything
    assert SECRET not in log and NAME not in log
    log_dates = set(DATE_TOKEN.findall(re.sub(r"<frister\.[0-9a-f]+@[^>]*>", "<id>", log)))
    assert log_dates <= formats(AS_OF) | formats(AS_OF + dt.timedelta(days=3))
    assert "run 1 as of 2025-11-24" in log  # the log says what happened, with counts only


def test_a_due_date_computed_from_the_birth_date_is_shown_as_a_month_only(night):
    """Aftercare falls due six months before the 18th birthday: its exact date is the birth date in disguise."""
    messages = night.messages
    checked = 0
    for message in messages:
        rule = None
        for line in message.get_body(("plain",)).get_content().splitlines():
            if line and not line.startswith((" ", "==", "Hjemmel")):
                rule = line
            elif line.startswith("  - Sak ") and rule and rule.startswith("Vurdering av ettervern"):
                assert not DATE_TOKEN.findall(line) and "dag" not in line, line
                assert re.search(r"frist (januar|februar|mars|april|mai|juni|juli|august|september|oktober|"
                                 r"november|desember) \d{4}, (over fristen|ikke forfalt ennå)\.", line), line
                checked += 1
    assert checked >= 5


def test_every_line_of_every_email_comes_from_the_template(night, rules):
    patterns = line_patterns(rules, [c for c, _, _ in night.cases], [u for _, u, _ in night.cases],
                             [(w or "").replace("\n", "\\n") for _, _, w in night.cases])
    injected = 0
    for message in night.messages:
        if is_unit_mail(message):
            continue
        body = message.get_body(("plain",)).get_content()
        assert stray_lines(body, patterns) == [], message["To"]
        injected += body.count("\\nBcc: evil@attacker.example\\nSubject: pwned; årsak")
        assert message["Bcc"] is None and "pwned" not in message["Subject"]
    assert injected > 50  # the hostile codes were rendered, on their notice lines


def _quarter_boundary(day: dt.date) -> bool:
    """The first or last day of a calendar quarter: where every case's visit periods start
    and end. Such a date in a visit row says nothing about the child, even when it happens
    to be the child's birth date."""
    return (day.month, day.day) in {(1, 1), (4, 1), (7, 1), (10, 1), (3, 31), (6, 30), (9, 30), (12, 31)}


def test_no_report_row_shows_its_childs_birth_date_or_a_date_that_gives_it_away(night):
    """No row of a case shows the child's birth date; no aftercare row its 18th birthday or
    its exact due date. (Any row may show a date that *happens* to be the 18th birthday,
    such as a referral's review deadline: that date is computed from the referral.)"""
    checked = set()
    for name, rows in night.reports.items():
        for row in rows:
            assert not row.lstrip().startswith(("Bcc:", "Subject:")), name
            dates = set(DATE_TOKEN.findall(row))
            aftercare = "aftercare_assessment" in row or "ettervern" in row
            for case_id in set(re.findall(r"BV-\d{4}-\d{5}", row)):
                birth = night.births[case_id]
                if not _quarter_boundary(birth):
                    assert not formats(birth) & dates, (name, case_id)
                if aftercare:
                    due = night.aftercare_due[case_id]
                    assert not (formats(birthday(birth, 18)) | formats(due)) & dates, (name, case_id)
                    checked.add(case_id)
    assert len(checked) > 20


def test_an_aftercare_row_in_a_report_shows_its_due_month_and_no_day(night):
    checked = 0
    for row in night.reports["audit.csv"]:
        if ";aftercare_assessment;" in row:
            cells = dict(zip(COLUMNS, row.split(";")))
            assert cells["Startdato"] == "" and cells["Dager over frist"] == "", row
            assert re.fullmatch(r"(januar|februar|mars|april|mai|juni|juli|august|september|oktober|november|"
                                r"desember) \d{4}", cells["Fristdato"]), row
            checked += 1
    assert checked > 20


def test_every_line_of_every_unit_mail_comes_from_its_template(night, rules):
    patterns = unit_mail_patterns(rules, [c for c, _, _ in night.cases], [u for _, u, _ in night.cases],
                                  [(w or "").replace("\n", "\\n") for _, _, w in night.cases])
    mails = [m for m in night.messages if is_unit_mail(m)]
    assert {m["Subject"].split(" for ")[0] for m in mails} == {"[frister] Besøksplan", "[frister] Ukens arbeidsliste"}
    for message in mails:
        body = message.get_body(("plain",)).get_content()
        assert stray_lines(body, patterns, unit_mail_literal_lines()) == [], message["Subject"]
        assert message["Bcc"] is None and "pwned" not in message["Subject"]

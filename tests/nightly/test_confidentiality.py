"""No personal data in any e-mail or log line: a scan over the generated municipality.

Every rendered e-mail (subject, text and HTML) of two nights over the demo data set is
searched for dates in the common formats (YYYY-MM-DD, DD.MM.YYYY, D.M.YY, DD/MM/YYYY,
DDMMYY). The only dates allowed are the run's date and the due dates of the notices in
that e-mail; so no birth date can appear (unless it *is* one of those dates, which says
nothing about the child), and the line of a case never shows that child's birth date.
Breach-reason free text and names recorded by leaders never appear either.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest
from sqlalchemy import insert, select

from frister.db.engine import create_db_engine, migrate
from frister.demo.generate import generate_cases, write_jsonl
from frister.escalation.models import Notice
from frister.evaluation.models import BreachReason, Obligation
from frister.evaluation.service import run_evaluation
from frister.importer import import_file
from frister.nightly.run import load_config, nightly_run
from frister.notify.transport import ConsoleTransport
from frister.settings import Settings

from tests.nightly.conftest import ROOT, at

AS_OF = dt.date(2025, 11, 24)
SECRET = "FRITEKST-HEMMELIG"
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
    """Two nights over the generated municipality with the bundled configuration."""
    tmp = tmp_path_factory.mktemp("municipality")
    engine = create_db_engine(f"sqlite:///{tmp / 'frister.db'}")
    migrate(engine, ROOT / "migrations")
    records = list(generate_cases(AS_OF, seed=2025, cases=2000))
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
    settings = Settings.from_env({"FRISTER_TEMPLATES_DIR": str(ROOT / "templates")})
    config = load_config(settings, rules, "console")
    transport = ConsoleTransport(quiet=True, keep=True)
    handler = _Capture()
    logging.getLogger("frister").addHandler(handler)
    logging.getLogger("frister").setLevel(logging.DEBUG)
    try:
        for day in (AS_OF, AS_OF + dt.timedelta(days=3)):
            nightly_run(engine, rules, config, transport, day, now=lambda day=day: at(day))
    finally:
        logging.getLogger("frister").removeHandler(handler)
    with engine.connect() as conn:
        due = {}
        for message_id, due_on in conn.execute(select(Notice.message_id, Notice.due_on)):
            due.setdefault(message_id, set()).add(due_on)
    engine.dispose()
    return transport.sent, due, births, "\n".join(handler.lines)


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
    messages, _, births, _ = night
    body = "\n".join(t for m in messages for t in texts(m))
    assert len(messages) >= 8
    assert {"== Påminnelse", "== Varsel", "== Fristbrudd"} <= {s for s in re.findall(r"== \w+", body)}
    assert len(set(re.findall(r"Sak (BV-\d{4}-\d{5})", body))) > 300


def test_no_email_contains_a_date_other_than_the_run_date_and_its_due_dates(night):
    messages, due, _, _ = night
    for message in messages:
        allowed = set().union(*(formats(d) for d in due[message["Message-ID"].strip()] | {AS_OF, AS_OF + dt.timedelta(days=3)}))
        for text in texts(message):
            strangers = set(DATE_TOKEN.findall(text)) - allowed
            assert not strangers, f"unexpected date-like text in an e-mail to {message['To']}: {sorted(strangers)[:5]}"


def test_no_case_line_shows_that_childs_birth_date(night):
    messages, _, births, _ = night
    checked = 0
    for message in messages:
        for text in texts(message)[1:]:
            for line in text.splitlines():
                for case_id in re.findall(r"BV-\d{4}-\d{5}", line):
                    assert not formats(births[case_id]) & set(DATE_TOKEN.findall(line)), case_id
                    checked += 1
    assert checked > 1000


def test_no_free_text_or_name_reaches_an_email_or_a_log_line(night):
    messages, _, births, log = night
    everything = "\n".join(t for m in messages for t in texts(m))
    assert SECRET not in everything and NAME not in everything and "mor ringte" not in everything
    assert SECRET not in log and NAME not in log
    log_dates = set(DATE_TOKEN.findall(re.sub(r"<frister\.[0-9a-f]+@[^>]*>", "<id>", log)))
    assert log_dates <= formats(AS_OF) | formats(AS_OF + dt.timedelta(days=3))
    assert "run 1 as of 2025-11-24" in log  # the log says what happened, with counts only


def test_a_due_date_computed_from_the_birth_date_is_shown_as_a_month_only(night):
    """Aftercare falls due six months before the 18th birthday: its exact date is the birth date in disguise."""
    messages, _, _, _ = night
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

"""A line break in a unit name or a caseworker code does not start a line of its own in
an e-mail: not in the text body, not in the HTML, not in the headers or the envelope.

The values are written into the database directly (as a case system's export could
carry them, whatever the importer accepts), then a night sends to a loopback SMTP
server.
"""

from __future__ import annotations

from sqlalchemy import select, update

from frister.notify.transport import SmtpConfig, SmtpTransport
from frister.store.tables import cases as case_table

from tests.nightly.conftest import CHIEF, case_records, load_cases, run
from tests.notify.body_lines import line_patterns, stray_lines
from tests.notify.smtp_catcher import SmtpCatcher

INJECTED = "\nBcc: evil@attacker.example\nSubject: pwned"
SHOWN = "\\nBcc: evil@attacker.example\\nSubject: pwned"
SENDER = "frister@barnevern.kommune.example"


def test_an_injected_unit_name_or_caseworker_code_stays_on_its_notice_line(engine, tmp_path, rules, config):
    load_cases(engine, tmp_path, case_records())
    with engine.begin() as conn:
        conn.execute(update(case_table).values(unit=case_table.c.unit + INJECTED, caseworker=case_table.c.caseworker + INJECTED))
        stored = conn.execute(select(case_table.c.case_id, case_table.c.unit, case_table.c.caseworker)).all()
    with SmtpCatcher() as server:
        transport = SmtpTransport(SmtpConfig("127.0.0.1", server.port, "none", None, None, SENDER, 5.0))
        report = run(engine, rules, config, transport)
    assert report.counts["sent"] > 0 and report.counts["dead"] == 0
    assert server.messages
    # Every unit now lacks a leader of its own: everything goes to the barnevernsjef, and only there.
    assert {(mail_from, tuple(to)) for mail_from, to in server.envelopes} == {(SENDER, (CHIEF,))}
    patterns = line_patterns(rules, [c for c, _, _ in stored], [u.replace("\n", "\\n") for _, u, _ in stored],
                             [w.replace("\n", "\\n") for _, _, w in stored])
    for message in server.messages:
        assert message["Bcc"] is None and "pwned" not in message["Subject"]
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        for body in (text, html):
            assert not [line for line in body.splitlines() if line.startswith(("Bcc:", "Subject:"))]
        assert stray_lines(text, patterns) == []
        assert f"Enhet mottak{SHOWN}, saksbehandler ks01{SHOWN}; årsak ikke vurdert." in text
        assert f"<td>mottak{SHOWN}</td>" in html

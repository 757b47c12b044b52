"""An uncertain send: the mail server took the whole message, then its reply never came.

The recipient may have the e-mail. frister records the attempt as ``uncertain``, keeps
the part as it was claimed, and resends exactly that e-mail (same notices, same
Message-ID) until the server answers; such a notice is never cancelled and never put
into a new digest. Real SMTP on loopback (a server that keeps the message and swallows
its final reply), real SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from frister.escalation.models import Delivery, Notice
from frister.notify.transport import SmtpConfig, SmtpTransport

from tests.nightly.conftest import AS_OF, run
from tests.notify.smtp_catcher import SmtpCatcher

SENDER = "frister@barnevern.kommune.example"
LATER = dt.date(2025, 12, 5)  # BV-3's emergency petition is overdue by then: its reminder is moot


def impatient(port: int) -> SmtpTransport:
    """SMTP that waits one second for a reply."""
    return SmtpTransport(SmtpConfig("127.0.0.1", port, "none", None, None, SENDER, timeout=1))


def first_night_notices(engine) -> dict[int, tuple[str, str]]:
    with engine.connect() as conn:
        return {i: (status, mid) for i, status, mid in conn.execute(
            select(Notice.id, Notice.status, Notice.message_id).where(Notice.created_run_id == 1))}


def outcomes_by_message_id(engine) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    with engine.connect() as conn:
        for mid, outcome in conn.execute(select(Delivery.message_id, Delivery.outcome).order_by(Delivery.id)):
            out.setdefault(mid, []).append(outcome)
    return out


def test_an_unanswered_send_is_resent_under_the_same_message_id_and_never_cancelled(municipality, rules, config):
    with SmtpCatcher() as server:
        server.swallow = 3  # the three digests of the night: kept, never answered
        night = run(municipality, rules, config, impatient(server.port))
        before = first_night_notices(municipality)
        received = {m["Message-ID"].strip(): m["To"] for m in server.messages}
        later = run(municipality, rules, config, impatient(server.port), as_of=LATER)
    assert (night.counts["sent"], night.counts["retrying"], night.counts["dead"]) == (0, 5, 0)
    assert {status for status, _ in before.values()} == {"uncertain"}
    assert len(received) == 3 and {mid for _, mid in before.values()} == set(received)
    # The next night resends those three e-mails as they were: same Message-IDs, each
    # to its recipient, and the notices end sent, not cancelled (BV-3's reminder
    # would have been cancelled as moot had it gone back to pending).
    after = first_night_notices(municipality)
    assert {i: mid for i, (_, mid) in after.items()} == {i: mid for i, (_, mid) in before.items()}
    assert {status for status, _ in after.values()} == {"sent"}
    again = [m for m in server.messages[3:] if m["Message-ID"].strip() in received]
    assert sorted((m["Message-ID"].strip(), m["To"]) for m in again) == sorted(received.items())
    outcomes = outcomes_by_message_id(municipality)
    assert all(outcomes[mid] == ["uncertain", "sent"] for mid in received)
    assert later.counts["retried"] == 5 and later.counts["notices_cancelled"] == 0


def test_an_uncertain_part_whose_attempts_run_out_is_dead_and_says_it_was_possibly_delivered(
        municipality, rules, config):
    with SmtpCatcher() as server:
        server.swallow = 1_000
        for day in range(3):  # max_attempts: 3 in the test ladder
            run(municipality, rules, config, impatient(server.port), as_of=AS_OF + dt.timedelta(days=day))
    with municipality.connect() as conn:
        first = conn.execute(select(Notice.status, Notice.attempts, Notice.last_error)
                             .where(Notice.created_run_id == 1)).all()
    assert [(status, attempts) for status, attempts, _ in first] == [("dead", 3)] * 5
    assert {error for _, _, error in first} == \
        {"possibly delivered: no reply after the message was sent (SMTPServerDisconnected)"}
    # Every e-mail of the first night went out three times, always under its own Message-ID.
    ids = {mid for _, mid in first_night_notices(municipality).values()}
    assert sorted(sum(1 for m in server.messages if m["Message-ID"].strip() == mid) for mid in ids) == [3, 3, 3]

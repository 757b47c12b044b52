"""Retrying within the night: with ``delivery.retry_until``, a run whose e-mails fail
for now tries again each time the backoff ends, until the window closes, and every
notice still goes out exactly once. The clock is the run's parameter: waiting moves it
on. Real SMTP on loopback (stopped, then started), real SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from frister.escalation.models import Delivery, Notice
from frister.nightly.run import load_config, nightly_run, retry_window_end
from frister.notify.transport import SmtpConfig, SmtpTransport
from frister.settings import Settings

from tests.nightly.conftest import AS_OF, LADDER, ORGANISATION, ROOT, accounted, all_lines, at
from tests.notify.smtp_catcher import SmtpCatcher, free_port

SENDER = "frister@barnevern.kommune.example"
UTC = dt.timezone.utc


class NightClock:
    """The run's clock; ``sleep`` moves it on and calls ``on_wait`` with the waits so far."""

    def __init__(self, start: dt.datetime, on_wait=lambda waits: None):
        self.moment = start
        self.waits: list[float] = []
        self.on_wait = on_wait

    def now(self) -> dt.datetime:
        return self.moment

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.moment += dt.timedelta(seconds=seconds)
        self.on_wait(self.waits)


def smtp(port: int, timeout: float = 5) -> SmtpTransport:
    return SmtpTransport(SmtpConfig("127.0.0.1", port, "none", None, None, SENDER, timeout=timeout))


def config_with(tmp_path, rules, ladder: str):
    (tmp_path / "escalation.yaml").write_text(ladder, encoding="utf-8")
    (tmp_path / "organisation.yaml").write_text(ORGANISATION, encoding="utf-8")
    return load_config(Settings.from_env({
        "FRISTER_CONFIG_DIR": str(tmp_path), "FRISTER_SMTP_FROM": SENDER,
        "FRISTER_TEMPLATES_DIR": str(ROOT / "templates"),
    }), rules, "smtp")


WINDOW = LADDER + '  retry_until: "07:00"\n'  # 06:00 UTC in November


def test_the_window_ends_at_the_configured_local_time_of_the_as_of_day(tmp_path, rules):
    config = config_with(tmp_path, rules, WINDOW)
    assert retry_window_end(dt.date(2025, 11, 25), config.ladder) == dt.datetime(2025, 11, 25, 6, tzinfo=UTC)
    assert retry_window_end(dt.date(2025, 6, 25), config.ladder) == dt.datetime(2025, 6, 25, 5, tzinfo=UTC)
    assert retry_window_end(AS_OF, config_with(tmp_path, rules, LADDER).ladder) is None


def test_with_the_mail_server_down_the_night_retries_and_delivers_each_notice_once_when_it_is_back(
        municipality, rules, tmp_path):
    config = config_with(tmp_path, rules, WINDOW)
    port = free_port()
    server = SmtpCatcher(port=port)

    def on_wait(waits):
        if len(waits) == 2:  # the server comes back during the second wait
            server.__enter__()

    clock = NightClock(at(AS_OF, 2), on_wait)
    try:
        report = nightly_run(municipality, rules, config, smtp(port), AS_OF, now=clock.now, sleep=clock.sleep)
    finally:
        server.__exit__(None, None, None)
    # 02:00 and 02:10 refused (backoff 10, then 20 minutes), 02:30 delivered.
    assert clock.waits == [600, 1200]
    assert {k: report.counts[k] for k in ("attempted", "sent", "retrying", "dead", "retried")} == \
        {"attempted": 5, "sent": 5, "retrying": 0, "dead": 0, "retried": 0}
    assert (report.counts["emails_failed"], report.counts["emails_sent"]) == (6, 3)
    assert len(server.messages) == 3 and accounted(server.messages) == 5
    with municipality.connect() as conn:
        assert set(conn.execute(select(Notice.status, Notice.attempts)).all()) == {("sent", 3)}
        assert sorted(conn.execute(select(Delivery.outcome)).scalars()) == ["sent"] * 3 + ["transient"] * 6


def test_the_retries_stop_when_the_window_closes_and_the_notices_wait_for_the_next_run(
        municipality, rules, tmp_path):
    config = config_with(tmp_path, rules, WINDOW.replace("max_attempts: 3", "max_attempts: 10"))
    clock = NightClock(at(AS_OF, 2))
    report = nightly_run(municipality, rules, config, smtp(free_port()), AS_OF, now=clock.now, sleep=clock.sleep)
    # Tries at 02:00, 02:10, 02:30, 03:10 and 04:30 UTC; the next (07:10) is after 06:00.
    assert clock.waits == [600, 1200, 2400, 4800]
    assert (report.counts["retrying"], report.counts["sent"], report.counts["emails_failed"]) == (5, 0, 15)
    with municipality.connect() as conn:
        waiting = set(conn.execute(select(Notice.status, Notice.attempts, Notice.next_attempt_at)).all())
    assert {(status, attempts) for status, attempts, _ in waiting} == {("pending", 5)}
    assert {n.replace(tzinfo=UTC) if n.tzinfo is None else n for _, _, n in waiting} == \
        {dt.datetime(2025, 11, 25, 7, 10, tzinfo=UTC)}


def test_a_run_started_after_the_window_tries_once(municipality, rules, tmp_path):
    config = config_with(tmp_path, rules, WINDOW)
    clock = NightClock(at(AS_OF, 9))  # a rerun at 10:00 Oslo
    report = nightly_run(municipality, rules, config, smtp(free_port()), AS_OF, now=clock.now, sleep=clock.sleep)
    assert clock.waits == [] and report.counts["retrying"] == 5


def test_an_uncertain_send_is_resent_within_the_night_under_its_message_id(municipality, rules, tmp_path):
    config = config_with(tmp_path, rules, WINDOW)
    clock = NightClock(at(AS_OF, 2))
    with SmtpCatcher() as server:
        server.swallow = 3
        report = nightly_run(municipality, rules, config, smtp(server.port, timeout=1), AS_OF, now=clock.now,
                             sleep=clock.sleep)
    assert clock.waits == [600]
    ids = [m["Message-ID"].strip() for m in server.messages]
    assert len(ids) == 6 and sorted(ids[:3]) == sorted(ids[3:])  # each e-mail twice, same Message-ID
    assert (report.counts["sent"], report.counts["retrying"]) == (5, 0)

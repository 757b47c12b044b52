"""The night the mail server is stopped, end to end: the run retries until the window
closes and ends degraded, the ping says fail, health fails; once the server is back,
the next night delivers every notice exactly once and health is green again. Real
SMTP and HTTP on loopback, real SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from click.testing import CliRunner

from frister.cli import build
from frister.nightly.run import nightly_run
from frister.notify.ping import Ping

from tests.nightly.conftest import AS_OF, accounted, all_lines, at
from tests.nightly.test_retry_in_the_night import WINDOW, NightClock, config_with, smtp
from tests.notify.http_catcher import HttpCatcher
from tests.notify.smtp_catcher import SmtpCatcher, free_port


def health():
    # The runs' clock is in 2025: leave the age of the last run out, check delivery only.
    return CliRunner().invoke(build(), ["health", "--max-age", "3650d"])


def test_a_night_with_the_mail_server_stopped_alerts_and_the_next_night_delivers_once(
        cli_env, municipality, rules, tmp_path):
    config = config_with(tmp_path, rules, WINDOW.replace("max_attempts: 3", "max_attempts: 10"))
    port = free_port()
    with HttpCatcher() as monitor:
        ping = Ping(monitor.url + "/check")
        night = NightClock(at(AS_OF, 2))
        down = nightly_run(municipality, rules, config, smtp(port), AS_OF, now=night.now, sleep=night.sleep,
                           ping=ping)
        assert (down.status, down.counts["waiting"], down.counts["sent"]) == ("degraded", 5, 0)
        assert len(night.waits) == 4  # retried until the window closed at 07:00
        assert monitor.paths() == ["/check/start", "/check/fail"]
        unhealthy = health()
        assert unhealthy.exit_code == 1 and "5 notice(s) waiting for delivery" in unhealthy.output

        with SmtpCatcher(port=port) as server:
            next_day = AS_OF + dt.timedelta(days=1)
            clock = NightClock(at(next_day, 2))
            up = nightly_run(municipality, rules, config, smtp(port), next_day, now=clock.now, sleep=clock.sleep,
                             ping=ping)
        assert monitor.paths()[2:] == ["/check/start", "/check"]
    assert (up.status, up.counts["sent"], up.counts["retried"], up.counts["waiting"]) == ("succeeded", 5, 5, 0)
    lines = all_lines(server.messages)
    assert len(lines) == 4 and len(set(lines)) == 4 and accounted(server.messages) == 5  # every notice, once
    assert len({m["Message-ID"] for m in server.messages}) == len(server.messages)
    healthy = health()
    assert healthy.exit_code == 0, healthy.output

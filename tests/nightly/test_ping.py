"""Pings to an outside monitor (healthchecks-style) at the start and end of every
night: success, or /fail when the night is degraded or failed. Only a loopback HTTP
server; never case data in a ping."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from frister.cli import build
from frister.errors import ConfigError
from frister.notify.ping import Ping
from frister.settings import Settings

from tests.nightly.conftest import AS_OF, case_records, load_cases
from tests.nightly.test_cli import smtp_settings
from tests.nightly.test_exactly_once import SimulatedCrash, crash_at
from tests.nightly.test_run import smtp
from tests.notify.http_catcher import HttpCatcher
from tests.notify.smtp_catcher import SmtpCatcher, free_port

UUID = "/0c6f4f2e-7a4b-4a57-9d8e-2f7a1c3b5d90"


def nightly(engine, rules, config, transport, ping, **kwargs):
    from frister.nightly.run import nightly_run
    from tests.nightly.conftest import at

    return nightly_run(engine, rules, config, transport, AS_OF, now=lambda: at(AS_OF), ping=ping, **kwargs)


def test_a_good_night_pings_start_and_success_with_its_summary(municipality, rules, config):
    with HttpCatcher() as monitor, SmtpCatcher() as server:
        report = nightly(municipality, rules, config, smtp(server.port), Ping(monitor.url + UUID))
    assert monitor.requests == [("POST", UUID + "/start", ""), ("POST", UUID, report.line())]


def test_a_night_with_the_mail_server_down_pings_fail(municipality, rules, config):
    with HttpCatcher() as monitor:
        report = nightly(municipality, rules, config, smtp(free_port()), Ping(monitor.url + UUID + "/"))
    assert monitor.paths() == [UUID + "/start", UUID + "/fail"]
    body = monitor.requests[1][2]
    assert body == report.line() + "\n" + report.degraded_line()
    assert "BV-" not in body and "@" not in body  # counts only


def test_a_failed_night_pings_fail_with_the_error_class_only(municipality, rules, config):
    with HttpCatcher() as monitor, pytest.raises(SimulatedCrash):
        nightly(municipality, rules, config, smtp(free_port()), Ping(monitor.url + UUID), fail_at=crash_at("evaluated"))
    assert monitor.requests[1] == ("POST", UUID + "/fail", "run 1 as of 2025-11-25 failed: SimulatedCrash")


def test_a_monitor_that_cannot_be_reached_never_fails_the_night(municipality, rules, config):
    with SmtpCatcher() as server:
        report = nightly(municipality, rules, config, smtp(server.port), Ping(f"http://127.0.0.1:{free_port()}/x"))
    assert report.status == "succeeded"


@pytest.mark.parametrize("url", ["ftp://hc.example/x", "hc-ping.com/x", "https://", "https://hc.example/a b",
                                 "https://hc.example/\nx"])
def test_a_ping_url_that_is_not_http_is_refused_without_echoing_it(url):
    with pytest.raises(ConfigError) as err:
        Ping.from_settings(Settings.from_env({"FRISTER_PING_URL": url}))
    assert str(err.value) == "FRISTER_PING_URL: expected an http(s) URL such as https://hc-ping.com/<uuid>"


def test_frister_run_pings_the_url_from_the_settings(cli_env, engine, tmp_path, monkeypatch):
    load_cases(engine, tmp_path, case_records())
    smtp_settings(monkeypatch, free_port(), tmp_path)
    with HttpCatcher() as monitor:
        monkeypatch.setenv("FRISTER_PING_URL", monitor.url + UUID)
        result = CliRunner().invoke(build(), ["run", "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 3
    assert monitor.paths() == [UUID + "/start", UUID + "/fail"]

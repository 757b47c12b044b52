"""``frister alert UNIT``: an operator's alert when a frister unit fails, by a ping to
<url>/fail and an e-mail, naming the unit and the host only. Loopback HTTP and SMTP."""

from __future__ import annotations

import datetime as dt
import socket

import pytest
from click.testing import CliRunner

from frister.cli import build
from frister.errors import ConfigError, FristerError
from frister.notify.alert import alert
from frister.settings import Settings

from tests.notify.http_catcher import HttpCatcher
from tests.notify.smtp_catcher import SmtpCatcher, free_port

NOW = dt.datetime(2025, 11, 25, 6, 0, tzinfo=dt.timezone.utc)


def smtp_env(port: int) -> dict[str, str]:
    return {"FRISTER_SMTP_HOST": "127.0.0.1", "FRISTER_SMTP_PORT": str(port), "FRISTER_SMTP_SECURITY": "none",
            "FRISTER_SMTP_FROM": "frister@barnevern.kommune.example", "FRISTER_SMTP_TIMEOUT": "5"}


def test_a_failed_unit_is_pinged_and_mailed_to_the_operator():
    with HttpCatcher() as monitor, SmtpCatcher() as server:
        settings = Settings.from_env({**smtp_env(server.port), "FRISTER_ALERT_PING_URL": monitor.url + "/hc",
                                      "FRISTER_ALERT_TO": "drift@kommune.example"})
        assert alert(settings, "frister-health.service", NOW) == ["ping", "e-mail"]
    host = socket.gethostname()
    assert monitor.requests == [("POST", "/hc/fail", f"frister-health.service failed on {host}")]
    (mail,) = server.messages
    assert mail["To"] == "drift@kommune.example"
    assert mail["Subject"] == f"[frister] Overvåking: frister-health.service feilet på {host}"
    body = mail.get_body(("plain",)).get_content()
    assert "meldte feil 25.11.2025 kl. 07:00:" in body and "journalctl -u frister-health.service" in body
    assert "Denne e-posten inneholder ingen saksopplysninger." in body


def test_the_alert_ping_falls_back_to_the_nights_ping_url():
    with HttpCatcher() as monitor:
        assert alert(Settings.from_env({"FRISTER_PING_URL": monitor.url + "/night"}), "frister-run.service",
                     NOW) == ["ping"]
    assert monitor.paths() == ["/night/fail"]


def test_without_any_channel_the_alert_is_a_config_error():
    with pytest.raises(ConfigError, match="nothing to alert with"):
        alert(Settings.from_env({}), "frister-health.service", NOW)


def test_an_alert_that_no_channel_delivered_fails():
    settings = Settings.from_env({**smtp_env(free_port()), "FRISTER_ALERT_TO": "drift@kommune.example"})
    with pytest.raises(FristerError, match=r"^alert not delivered \(e-mail failed\)$"):
        alert(settings, "frister-health.service", NOW)


def test_frister_alert_from_the_command_line(monkeypatch):
    with HttpCatcher() as monitor:
        monkeypatch.setenv("FRISTER_ALERT_PING_URL", monitor.url + "/hc")
        result = CliRunner().invoke(build(), ["alert", "frister-health.service"])
        bad = CliRunner().invoke(build(), ["alert", "x\nBcc: evil@attacker.example"])
    assert (result.exit_code, result.output) == (0, "alerted about frister-health.service by ping\n")
    assert bad.exit_code == 2 and "evil" not in bad.output

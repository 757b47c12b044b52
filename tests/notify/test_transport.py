"""Transports against a real SMTP server on loopback: delivery, TLS, credentials, and
which failures are transient and which permanent."""

from __future__ import annotations

import ssl
from email.message import EmailMessage

import pytest

from frister.errors import ConfigError
from frister.notify.transport import (
    ConsoleTransport,
    PermanentSendError,
    SmtpConfig,
    SmtpTransport,
    TransientSendError,
    UncertainSendError,
    make_transport,
)
from frister.settings import Settings

from tests.notify.smtp_catcher import SmtpCatcher, free_port, make_certificate


def message(to="leder@barnevern.kommune.example") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "frister@barnevern.kommune.example"
    msg["To"] = to
    msg["Subject"] = "[frister] 1 varsel"
    msg["Message-ID"] = "<frister.abc@barnevern.kommune.example>"
    msg.set_content("Sak BV-1: frist 27.11.2025, 2 dager igjen.")
    return msg


def settings(**env) -> Settings:
    return Settings.from_env({k: str(v) for k, v in env.items()})


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    cert = make_certificate(tmp_path_factory.mktemp("tls"))
    if cert is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    return cert


def test_it_delivers_a_message_over_plain_smtp():
    with SmtpCatcher() as server:
        config = SmtpConfig.from_settings(settings(FRISTER_SMTP_HOST="127.0.0.1", FRISTER_SMTP_PORT=server.port,
                                                   FRISTER_SMTP_SECURITY="none",
                                                   FRISTER_SMTP_FROM="frister@barnevern.kommune.example"))
        with SmtpTransport(config) as transport:
            transport.send(message())
            transport.send(message("sjef@barnevern.kommune.example"))
    assert [m["To"] for m in server.messages] == ["leder@barnevern.kommune.example", "sjef@barnevern.kommune.example"]
    assert server.messages[0]["Message-ID"] == "<frister.abc@barnevern.kommune.example>"


def test_the_envelope_sender_is_exactly_the_configured_address_whatever_the_header_says():
    with SmtpCatcher() as server:
        config = SmtpConfig.from_settings(settings(
            FRISTER_SMTP_HOST="127.0.0.1", FRISTER_SMTP_PORT=server.port, FRISTER_SMTP_SECURITY="none",
            FRISTER_SMTP_FROM="Barneverntjenesten <frister@barnevern.kommune.example>"))
        assert config.sender == "Barneverntjenesten <frister@barnevern.kommune.example>"
        forged = message()
        forged.replace_header("From", "evil@attacker.example")
        with SmtpTransport(config) as transport:
            transport.send(forged)
    assert server.envelopes == [("frister@barnevern.kommune.example", ["leder@barnevern.kommune.example"])]


@pytest.mark.parametrize("value", [
    "evil@attacker.example <frister@barnevern.kommune.example>",
    '"evil@attacker.example" <frister@barnevern.kommune.example>',
    "frister@barnevern.kommune.example\r\nBcc: evil@attacker.example",
    "frister@barnevern.kommune.example, evil@attacker.example",
])
def test_a_sender_that_is_not_one_address_is_refused_when_the_settings_are_read(value):
    with pytest.raises(ConfigError, match="^FRISTER_SMTP_FROM: "):
        SmtpConfig.from_settings(settings(FRISTER_SMTP_HOST="127.0.0.1", FRISTER_SMTP_FROM=value))
    with pytest.raises(ConfigError, match="^FRISTER_SMTP_FROM: "):
        SmtpTransport(SmtpConfig("127.0.0.1", 25, "none", None, None, value))


def test_it_uses_starttls_and_logs_in_with_a_password_from_a_file(certificate, tmp_path):
    secret = tmp_path / "smtp-password"
    secret.write_text("s3cret\n", encoding="utf-8")
    with SmtpCatcher("starttls", certificate, credentials=("frister", "s3cret")) as server:
        config = SmtpConfig.from_settings(settings(
            FRISTER_SMTP_HOST="127.0.0.1", FRISTER_SMTP_PORT=server.port, FRISTER_SMTP_USER="frister",
            FRISTER_SMTP_PASSWORD_FILE=secret, FRISTER_SMTP_FROM="frister@barnevern.kommune.example",
            FRISTER_SMTP_CA_FILE=certificate[0],
        ))
        assert config.security == "starttls" and config.password == "s3cret"
        with SmtpTransport(config) as transport:
            transport.send(message())
    assert server.logins == ["frister"] and len(server.messages) == 1


def test_it_speaks_implicit_tls(certificate):
    with SmtpCatcher("tls", certificate) as server:
        config = SmtpConfig("127.0.0.1", server.port, "tls", None, None, "frister@barnevern.kommune.example",
                            ca_file=str(certificate[0]))
        with SmtpTransport(config) as transport:
            transport.send(message())
    assert len(server.messages) == 1


def test_it_refuses_a_certificate_it_does_not_trust(certificate):
    with SmtpCatcher("starttls", certificate) as server:
        config = SmtpConfig("127.0.0.1", server.port, "starttls", None, None, "frister@barnevern.kommune.example")
        with SmtpTransport(config, ssl.create_default_context()) as transport:
            with pytest.raises(TransientSendError):
                transport.send(message())
    assert server.messages == []


@pytest.mark.parametrize("reply, error, code", [
    ("451 4.3.0 try again later", TransientSendError, 451),
    ("550 5.1.1 mailbox unavailable", PermanentSendError, 550),
    ("554 5.7.1 rejected", PermanentSendError, 554),
])
def test_a_4xx_reply_is_transient_and_a_5xx_reply_is_permanent(reply, error, code):
    with SmtpCatcher() as server:
        server.reply = reply
        config = SmtpConfig("127.0.0.1", server.port, "none", None, None, "frister@barnevern.kommune.example")
        with SmtpTransport(config) as transport, pytest.raises(error) as err:
            transport.send(message())
    assert err.value.code == code and err.value.permanent is (code >= 500)
    assert "Sak" not in str(err.value)  # no content in errors


def test_a_refused_connection_is_transient():
    config = SmtpConfig("127.0.0.1", free_port(), "none", None, None, "frister@barnevern.kommune.example", timeout=5)
    with SmtpTransport(config) as transport, pytest.raises(TransientSendError) as err:
        transport.send(message())
    assert err.value.uncertain is False


def test_no_reply_after_the_whole_message_was_sent_is_an_uncertain_send():
    with SmtpCatcher() as server:
        server.swallow = 1
        config = SmtpConfig("127.0.0.1", server.port, "none", None, None, "frister@barnevern.kommune.example",
                            timeout=1)
        with SmtpTransport(config) as transport:
            with pytest.raises(UncertainSendError) as err:
                transport.send(message())
            assert err.value.uncertain is True and err.value.permanent is False
            assert str(err.value) == "no reply after the message was sent (SMTPServerDisconnected)"
            transport.send(message("sjef@barnevern.kommune.example"))  # reconnects; a plain send again
    # The server kept the message it did not answer: it may well be delivered.
    assert [m["To"] for m in server.messages] == ["leder@barnevern.kommune.example",
                                                  "sjef@barnevern.kommune.example"]


def test_a_4xx_reply_to_the_message_is_certain_not_uncertain():
    with SmtpCatcher() as server:
        server.reply = "451 4.3.0 try again later"
        config = SmtpConfig("127.0.0.1", server.port, "none", None, None, "frister@barnevern.kommune.example")
        with SmtpTransport(config) as transport, pytest.raises(TransientSendError) as err:
            transport.send(message())
    assert err.value.uncertain is False


def test_without_smtp_settings_there_is_no_silent_fallback_to_the_console():
    with pytest.raises(ConfigError, match="FRISTER_SMTP_HOST"):
        make_transport(None, settings())
    assert isinstance(make_transport("console", settings()), ConsoleTransport)


@pytest.mark.parametrize("env, field", [
    ({"FRISTER_SMTP_SECURITY": "ssl"}, "FRISTER_SMTP_SECURITY"),
    ({"FRISTER_SMTP_PORT": "x"}, "FRISTER_SMTP_PORT"),
    ({"FRISTER_SMTP_FROM": ""}, "FRISTER_SMTP_FROM"),
    ({"FRISTER_SMTP_USER": "frister"}, "FRISTER_SMTP_PASSWORD"),
])
def test_invalid_smtp_settings_name_the_setting(env, field):
    base = {"FRISTER_SMTP_HOST": "smtp.kommune.example", "FRISTER_SMTP_FROM": "frister@kommune.example"}
    with pytest.raises(ConfigError, match=field):
        SmtpConfig.from_settings(settings(**(base | env)))


def test_the_console_transport_prints_headers_and_the_text_part(capsys):
    ConsoleTransport().send(message())
    out = capsys.readouterr().out
    assert "To: leder@barnevern.kommune.example" in out and "Sak BV-1: frist 27.11.2025" in out

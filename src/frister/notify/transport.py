"""Transports: how an e-mail leaves frister. One small interface, two implementations.

A transport is used as a context manager for one run (one SMTP session for all digests)
and raises :class:`TransientSendError` when trying again later may help (4xx replies,
connection refused or dropped, timeouts, authentication trouble that an operator can
fix) and :class:`PermanentSendError` when it will not (5xx replies: the address or the
message is refused). Error messages carry the reply code and the exception class, never
message content.

One transient failure is different: the whole message went to the server after its
``354`` to ``DATA``, and then its final reply did not come (a timeout, a dropped
connection). The server may have accepted and delivered it. That is an
:class:`UncertainSendError` (``uncertain = True``): the outbox must resend that very
message, under the same Message-ID, never a new one (:mod:`frister.escalation.outbox`).
"""

from __future__ import annotations

import smtplib
import socket
import ssl
import sys
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TextIO

from frister.errors import ConfigError, FristerError
from frister.notify.address import sender as parse_sender
from frister.settings import Settings


class SendError(FristerError):
    """An e-mail could not be handed over. ``code`` is the SMTP reply code, if any."""

    permanent = False
    uncertain = False

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


class TransientSendError(SendError):
    """Try again later."""


class UncertainSendError(TransientSendError):
    """The message was sent whole, but the server's reply to it never came: it may
    have been delivered. Resend it as it is (same Message-ID), never as a new one."""

    uncertain = True


class PermanentSendError(SendError):
    """Do not try again: the server refused for good."""

    permanent = True


class Transport:
    """The interface: ``send`` one message; errors say transient or permanent."""

    name = "transport"

    def __enter__(self) -> "Transport":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, message: EmailMessage) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:
        pass


class ConsoleTransport(Transport):
    """Prints each e-mail (headers and the plain-text part) instead of sending it.

    ``keep=True`` (tests) also keeps every message in ``sent``; off by default, since a
    first night at national scale renders hundreds of thousands of lines."""

    name = "console"

    def __init__(self, stream: TextIO | None = None, quiet: bool = False, keep: bool = False):
        self.stream = stream
        self.quiet = quiet
        self.keep = keep
        self.sent: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> None:
        if self.keep:
            self.sent.append(message)
        if self.quiet:
            return
        out = self.stream or sys.stdout
        text = message.get_body(("plain",))
        out.write(f"From: {message['From']}\nTo: {message['To']}\nSubject: {message['Subject']}\n"
                  f"Message-ID: {message['Message-ID']}\n\n")
        out.write((text.get_content() if text is not None else "") + "\n" + "-" * 72 + "\n")


SECURITY = ("starttls", "tls", "none")


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str  # starttls | tls | none
    username: str | None
    password: str | None
    sender: str  # the From header: checked by frister.notify.address (the transport checks it again)
    timeout: float = 30.0
    ca_file: str | None = None  # trust this CA (an internal relay) instead of the system store

    @classmethod
    def from_settings(cls, settings: Settings) -> "SmtpConfig":
        """Read ``FRISTER_SMTP_*``. ``FRISTER_SMTP_PASSWORD_FILE`` (and any ``*_FILE``) is
        honoured. Without ``FRISTER_SMTP_HOST`` there is no SMTP configuration."""
        host = settings.get("FRISTER_SMTP_HOST")
        if not host:
            raise ConfigError(
                "no SMTP settings: set FRISTER_SMTP_HOST (and FRISTER_SMTP_FROM, …) "
                "or use --transport console to print the e-mails instead"
            )
        security = (settings.get("FRISTER_SMTP_SECURITY") or "starttls").lower()
        if security not in SECURITY:
            raise ConfigError(f"FRISTER_SMTP_SECURITY: expected one of {', '.join(SECURITY)}")
        port_text = settings.get("FRISTER_SMTP_PORT") or {"starttls": "587", "tls": "465", "none": "25"}[security]
        timeout_text = settings.get("FRISTER_SMTP_TIMEOUT") or "30"
        try:
            port = int(port_text)
            timeout = float(timeout_text)
        except ValueError:
            raise ConfigError("FRISTER_SMTP_PORT / FRISTER_SMTP_TIMEOUT: expected a number") from None
        sender = parse_sender(settings.get("FRISTER_SMTP_FROM")).header()
        username = settings.get("FRISTER_SMTP_USER")
        password = settings.get("FRISTER_SMTP_PASSWORD")
        if bool(username) != bool(password):
            raise ConfigError("FRISTER_SMTP_USER and FRISTER_SMTP_PASSWORD go together")
        ca_file = settings.get("FRISTER_SMTP_CA_FILE") or None
        return cls(host, port, security, username or None, password or None, sender, timeout, ca_file)


class _TracksPayload:
    """Knows whether the message itself went out in the current ``DATA`` exchange:
    ``payload_sent`` is set once the data and its terminating ``.`` line have been
    written, before the server's reply is read."""

    payload_sent = False
    _in_data = False

    def data(self, msg):
        self.payload_sent, self._in_data = False, True
        try:
            return super().data(msg)
        finally:
            self._in_data = False

    def send(self, s):
        super().send(s)
        if self._in_data and isinstance(s, (bytes, bytearray)) and s.endswith(b"\r\n.\r\n"):
            self.payload_sent = True


class _Smtp(_TracksPayload, smtplib.SMTP):
    pass


class _SmtpSsl(_TracksPayload, smtplib.SMTP_SSL):
    pass


class SmtpTransport(Transport):
    """SMTP with STARTTLS (default), implicit TLS or, for a local relay, none.

    The connection is opened lazily on the first send and reused; a dropped connection
    is a transient error for the digest being sent, and the next digest reconnects.
    Certificates are verified with the system's trust store, or with the CA in
    ``FRISTER_SMTP_CA_FILE``; there is no option to skip verification. The envelope
    sender (``MAIL FROM``) is the configured sender's address as parsed
    (:mod:`frister.notify.address`), never what a header of the message may say.
    """

    name = "smtp"

    def __init__(self, config: SmtpConfig, ssl_context: ssl.SSLContext | None = None):
        self.config = config
        self.envelope_sender = parse_sender(config.sender).address
        if ssl_context is None:
            try:
                ssl_context = ssl.create_default_context(cafile=config.ca_file)
            except OSError as exc:
                raise ConfigError(f"FRISTER_SMTP_CA_FILE: cannot read {config.ca_file}: {exc.strerror}") from None
        self.ssl_context = ssl_context
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        if c.security == "tls":
            smtp: smtplib.SMTP = _SmtpSsl(c.host, c.port, timeout=c.timeout, context=self.ssl_context)
        else:
            smtp = _Smtp(c.host, c.port, timeout=c.timeout)
        try:
            smtp.ehlo()
            if c.security == "starttls":
                smtp.starttls(context=self.ssl_context)
                smtp.ehlo()
            if c.username:
                smtp.login(c.username, c.password or "")
        except BaseException:
            _quietly_close(smtp)
            raise
        return smtp

    def send(self, message: EmailMessage) -> None:
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            self._smtp.payload_sent = False
            refused = self._smtp.send_message(message, from_addr=self.envelope_sender)
        except smtplib.SMTPRecipientsRefused as exc:
            self._drop()
            codes = [code for code, _ in exc.recipients.values()]
            raise _by_code("recipient refused", min(codes) if codes else None) from None
        except smtplib.SMTPAuthenticationError as exc:
            self._drop()  # wrong credentials: the operator fixes them, the notices wait
            raise TransientSendError(f"SMTP authentication failed ({exc.smtp_code})", exc.smtp_code) from None
        except smtplib.SMTPResponseException as exc:
            self._drop()
            raise _by_code("SMTP server refused", exc.smtp_code) from None
        except (smtplib.SMTPException, OSError, socket.timeout, ssl.SSLError) as exc:
            uncertain = getattr(self._smtp, "payload_sent", False)
            self._drop()
            if uncertain:
                raise UncertainSendError(f"no reply after the message was sent ({type(exc).__name__})") from None
            raise TransientSendError(f"SMTP connection failed ({type(exc).__name__})") from None
        if refused:  # some recipients refused; we send to one recipient per message
            codes = [code for code, _ in refused.values()]
            raise _by_code("recipient refused", min(codes))

    def _drop(self) -> None:
        if self._smtp is not None:
            _quietly_close(self._smtp)
            self._smtp = None

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._drop()


def _by_code(what: str, code: int | None) -> SendError:
    if code is not None and 500 <= code < 600:
        return PermanentSendError(f"{what} ({code})", code)
    return TransientSendError(f"{what} ({code})", code)


def _quietly_close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.close()
    except (smtplib.SMTPException, OSError):
        pass


def make_transport(name: str | None, settings: Settings) -> Transport:
    """The transport for ``frister run``: ``console`` when asked for; otherwise SMTP, which
    needs its settings (there is no silent fallback to printing)."""
    if name == "console":
        return ConsoleTransport()
    if name not in (None, "smtp"):
        raise ConfigError(f"unknown transport {name!r} (expected smtp or console)")
    return SmtpTransport(SmtpConfig.from_settings(settings))

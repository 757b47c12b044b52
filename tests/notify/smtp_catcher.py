"""A real SMTP server on loopback for tests (aiosmtpd in the test process).

``SmtpCatcher`` records every accepted message and can be told to answer DATA with a
given reply (``451 …`` transient, ``550 …`` permanent), or to accept the next
``swallow`` messages and never send the final reply to them (the message is kept, as
by a server that delivered it, and the client times out waiting). Optional STARTTLS, implicit
TLS and AUTH with a self-signed certificate made by the ``openssl`` command.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import shutil
import socket
import ssl
import subprocess
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_certificate(directory: Path) -> tuple[Path, Path] | None:
    """A self-signed certificate for 127.0.0.1/localhost, or None without openssl."""
    if shutil.which("openssl") is None:
        return None
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


class _Handler:
    def __init__(self, catcher: "SmtpCatcher"):
        self.catcher = catcher

    async def handle_DATA(self, server, session, envelope):
        if self.catcher.reply is not None:
            return self.catcher.reply
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.catcher.messages.append(msg)
        self.catcher.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        if self.catcher.swallow > 0:
            self.catcher.swallow -= 1
            await asyncio.sleep(3600)  # cancelled when the catcher stops
        return "250 2.0.0 OK"


class SmtpCatcher:
    def __init__(self, tls: str = "none", cert: tuple[Path, Path] | None = None,
                 credentials: tuple[str, str] | None = None, port: int | None = None):
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.reply: str | None = None
        self.swallow = 0
        self.logins: list[str] = []
        self.port = port or free_port()
        kwargs: dict = {}
        if cert is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(cert[0]), str(cert[1]))
            if tls == "starttls":
                kwargs.update(tls_context=context, require_starttls=True)
            elif tls == "tls":
                kwargs.update(ssl_context=context)
        if credentials is not None:
            def authenticate(server, session, envelope, mechanism, auth_data):
                ok = isinstance(auth_data, LoginPassword) and \
                    (auth_data.login.decode(), auth_data.password.decode()) == credentials
                if ok:
                    self.logins.append(auth_data.login.decode())
                return AuthResult(success=ok)

            kwargs.update(authenticator=authenticate, auth_required=True)
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, **kwargs)

    def __enter__(self) -> "SmtpCatcher":
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    def bodies(self) -> list[str]:
        return [m.get_body(("plain",)).get_content() for m in self.messages]

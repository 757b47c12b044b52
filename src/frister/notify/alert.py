"""An operator's alert when a frister unit fails (systemd ``OnFailure=``): a ping to
``<url>/fail`` and/or a short e-mail, naming the unit and the host only.

``FRISTER_ALERT_PING_URL`` (default: ``FRISTER_PING_URL``) gets ``POST <url>/fail``;
``FRISTER_ALERT_TO`` (one plain address) gets an e-mail in Norwegian from
``templates/email/alert`` through the SMTP settings of the night. Neither holds case
data. When the mail server is what failed, the e-mail cannot go out: the ping is the
channel that still works, so set both where you can.
"""

from __future__ import annotations

import datetime as dt
import socket
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from frister.clock import OSLO
from frister.errors import ConfigError, FristerError
from frister.notify.address import AddressError, parse_mailbox
from frister.notify.ping import Ping
from frister.notify.transport import SendError, SmtpConfig, SmtpTransport
from frister.settings import Settings
from frister.text import has_control


def alert(settings: Settings, unit: str, now: dt.datetime) -> list[str]:
    """Alert about ``unit`` by every configured channel; returns what was done
    (``ping``, ``e-mail``). Raises ConfigError without any channel, FristerError when
    every channel failed."""
    if has_control(unit) or not 0 < len(unit) <= 256:
        raise ConfigError("the unit name: expected a systemd unit name such as frister-health.service")
    ping = Ping.from_settings(settings, "FRISTER_ALERT_PING_URL") if settings.get("FRISTER_ALERT_PING_URL") \
        else Ping.from_settings(settings)
    to = settings.get("FRISTER_ALERT_TO")
    if ping.url is None and not to:
        raise ConfigError("nothing to alert with: set FRISTER_ALERT_PING_URL (or FRISTER_PING_URL) "
                          "or FRISTER_ALERT_TO")
    host = socket.gethostname()
    done, failed = [], []
    if ping.url is not None:
        (done if ping.fail(f"{unit} failed on {host}") else failed).append("ping")
    if to:
        try:
            address = parse_mailbox(to).address
        except AddressError as exc:
            raise ConfigError(f"FRISTER_ALERT_TO: {exc}") from None
        message = _message(settings, address, unit, host, now)
        try:
            with SmtpTransport(SmtpConfig.from_settings(settings)) as transport:
                transport.send(message)
            done.append("e-mail")
        except SendError:
            failed.append("e-mail")
    if failed and not done:
        raise FristerError(f"alert not delivered ({', '.join(failed)} failed)")
    return done


def _message(settings: Settings, to: str, unit: str, host: str, now: dt.datetime) -> EmailMessage:
    env = Environment(loader=FileSystemLoader(str(Path(settings.templates_dir) / "email" / "alert")),
                      undefined=StrictUndefined, keep_trailing_newline=True)
    context = {"unit": unit, "host": host, "at": now.astimezone(OSLO).strftime("%d.%m.%Y kl. %H:%M")}
    sender = SmtpConfig.from_settings(settings).sender
    msg = EmailMessage()
    msg["Subject"] = " ".join(env.get_template("subject.txt").render(context).split())
    msg["From"] = sender
    msg["To"] = to
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid("frister.alert", sender.rsplit("@", 1)[-1].strip("> "))
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(env.get_template("body.txt").render(context))
    return msg

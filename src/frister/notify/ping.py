"""Pings to an outside monitor, healthchecks-style: a URL, and the same URL with
``/start`` and ``/fail``.

With ``FRISTER_PING_URL`` (e.g. ``https://hc-ping.com/<uuid>``) every night pings
``<url>/start`` when it starts, ``<url>`` when it succeeded and ``<url>/fail`` when it
ended degraded or failed, so the monitor alerts on a bad night and, by itself, on a
night that never pinged. Each ping is a ``POST`` whose body is the run's summary line
(counts) or the error's class name: never case data, never an address. A ping that
cannot be sent is logged as a warning and never fails the night.
"""

from __future__ import annotations

import http.client
import logging
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from frister.errors import ConfigError
from frister.settings import Settings
from frister.text import has_control

log = logging.getLogger("frister.ping")


class Ping:
    """Pings one monitor URL (or, without one, does nothing)."""

    def __init__(self, url: str | None, timeout: float = 10.0):
        self.url = check_url(url.rstrip("/"), "FRISTER_PING_URL") if url else None
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings, name: str = "FRISTER_PING_URL") -> "Ping":
        url = settings.get(name)
        return cls(check_url(url.rstrip("/"), name) if url else None)

    def start(self) -> bool:
        return self._send("/start", "")

    def success(self, body: str) -> bool:
        return self._send("", body)

    def fail(self, body: str) -> bool:
        return self._send("/fail", body)

    def _send(self, suffix: str, body: str) -> bool:
        """Whether the monitor answered (False without a URL too)."""
        if self.url is None:
            return False
        request = urllib.request.Request(self.url + suffix, data=body.encode("utf-8"), method="POST",
                                         headers={"Content-Type": "text/plain; charset=utf-8"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - http(s) only
                response.read()
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
            log.warning("ping %s not sent (%s)", suffix or "success", type(exc).__name__)
            return False
        return True


def check_url(url: str, name: str) -> str:
    """``url`` if it is an ``http`` or ``https`` URL with a host; else ConfigError naming
    the setting (the URL itself may hold a secret: it is not echoed)."""
    parts = urlsplit(url)
    if has_control(url) or " " in url or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name}: expected an http(s) URL such as https://hc-ping.com/<uuid>")
    return url

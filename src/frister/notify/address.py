"""E-mail addresses from the configuration, parsed strictly when it is loaded.

Two shapes are accepted, nothing else:

* a **recipient** (the recipients file) is one plain address, ``leder@barnevern.kommune.no``;
* the **sender** (``FRISTER_SMTP_FROM``) is one plain address, or one address with a
  display name: ``Barneverntjenesten <frister@barnevern.kommune.no>`` (a name with a
  comma or quotes is written quoted, ``"Nordmann, Ola" <…>``).

The value is parsed with the standard library's header parser (``email.policy.strict``)
and refused when the parser reports any defect, when it holds more than one address, a
group, a comment, a control character (CR, LF, NUL …), a display name with an ``@`` in it
(another address, which a lenient reader may take for the real one), or anything that
does not read back as exactly the address found. The address itself must be ASCII, with a
domain of at least two labels. What the SMTP server sees as the envelope sender
(``MAIL FROM``) is :attr:`Mailbox.address`, never a string taken from a header.

Errors are :class:`~frister.errors.ConfigError` naming the setting or the field and what
was expected; they do not repeat the value, which may hold a line break.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.headerregistry import Address
from email.policy import strict

from frister.errors import ConfigError
from frister.text import has_control

ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@(?P<domain>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
SENDER_EXAMPLE = "frister@barnevern.kommune.no or 'Barneverntjenesten <frister@barnevern.kommune.no>'"


@dataclass(frozen=True, slots=True)
class Mailbox:
    """One checked address, with the display name it was given ('' without one)."""

    address: str
    display_name: str = ""

    @property
    def domain(self) -> str:
        return self.address.rsplit("@", 1)[1].lower()

    def header(self) -> str:
        """The value for a ``From`` header: the address, or the name and the address."""
        if not self.display_name:
            return self.address
        return str(Address(display_name=self.display_name, addr_spec=self.address))


class AddressError(ValueError):
    """Why a value is not an accepted address (turned into a ConfigError by the caller)."""


def parse_mailbox(value: object, display_name: bool = False) -> Mailbox:
    """The :class:`Mailbox` in ``value``, or :class:`AddressError` saying what is wrong.

    ``display_name``: whether ``Name <address>`` is accepted (the sender) or only a plain
    address (a recipient)."""
    if not isinstance(value, str) or not value.strip():
        raise AddressError("expected an e-mail address")
    if has_control(value):
        raise AddressError("expected one address on one line; it holds a control character (a line break?)")
    text = value.strip()
    header = strict.header_factory("From", text)
    if header.defects:
        raise AddressError("expected one address; the value does not parse as one")
    if len(header.groups) != 1 or header.groups[0].display_name is not None or len(header.addresses) != 1:
        raise AddressError("expected exactly one address (no list, no group)")
    found = header.addresses[0]
    if not ADDRESS.fullmatch(found.addr_spec):
        raise AddressError("expected an address such as name@kommune.no (ASCII, a domain with a dot)")
    if "@" in found.display_name:
        raise AddressError("the display name holds another address")
    if found.display_name and not display_name:
        raise AddressError("expected a plain address without a display name")
    mailbox = Mailbox(found.addr_spec, found.display_name)
    if text not in (mailbox.address, f"<{mailbox.address}>", mailbox.header()):
        # A comment, or a form that a lenient reader may read another way.
        raise AddressError("expected a plain address or 'Name <address>', nothing else")
    return mailbox


def sender(value: object, setting: str = "FRISTER_SMTP_FROM") -> Mailbox:
    """The sender from ``setting``, or a ConfigError naming it."""
    try:
        return parse_mailbox(value, display_name=True)
    except AddressError as exc:
        raise ConfigError(f"{setting}: {exc}, e.g. {SENDER_EXAMPLE}") from None

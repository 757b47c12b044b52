"""Addresses from the configuration: one plain address (or, for the sender, one address
with a plain display name), parsed strictly; anything else is refused with the reason."""

from __future__ import annotations

import pytest

from frister.errors import ConfigError
from frister.notify.address import AddressError, Mailbox, parse_mailbox, sender


@pytest.mark.parametrize("value, mailbox", [
    ("frister@barnevern.kommune.no", Mailbox("frister@barnevern.kommune.no")),
    ("  frister@barnevern.kommune.no ", Mailbox("frister@barnevern.kommune.no")),
    ("<frister@barnevern.kommune.no>", Mailbox("frister@barnevern.kommune.no")),
    ("Barneverntjenesten i Ås <frister@as.kommune.no>", Mailbox("frister@as.kommune.no", "Barneverntjenesten i Ås")),
    ('"Barnevern, vakt" <vakt@kommune.no>', Mailbox("vakt@kommune.no", "Barnevern, vakt")),
])
def test_it_accepts_one_address_with_or_without_a_plain_display_name(value, mailbox):
    assert parse_mailbox(value, display_name=True) == mailbox
    assert parse_mailbox(mailbox.header(), display_name=True) == mailbox


@pytest.mark.parametrize("value, why", [
    ("evil@attacker.example <frister@kommune.no>", "does not parse as one"),
    ('"evil@attacker.example" <frister@kommune.no>', "display name holds another address"),
    ("frister@kommune.no\r\nBcc: evil@attacker.example", "control character"),
    ("Frister\n<frister@kommune.no>", "control character"),
    ("frister@kommune.no\x00", "control character"),
    ("frister@kommune.no\u2028", "control character"),
    ("frister@kommune.no, evil@attacker.example", "exactly one address"),
    ("undisclosed: frister@kommune.no;", "exactly one address"),
    ("frister@kommune.no (evil@attacker.example)", "nothing else"),
    ('Frister "x" <frister@kommune.no>', "nothing else"),
    ("frister@localhost", "a domain with a dot"),
    ("frister", "does not parse as one"),
    ("", "expected an e-mail address"),
    (None, "expected an e-mail address"),
])
def test_it_refuses_anything_else_and_says_why(value, why):
    with pytest.raises(AddressError, match=why):
        parse_mailbox(value, display_name=True)


def test_a_recipient_is_a_plain_address_without_a_display_name():
    assert parse_mailbox("leder@kommune.no") == Mailbox("leder@kommune.no")
    with pytest.raises(AddressError, match="without a display name"):
        parse_mailbox("Leder <leder@kommune.no>")


def test_a_refused_sender_is_a_config_error_naming_the_setting_and_not_the_value():
    with pytest.raises(ConfigError, match="^FRISTER_SMTP_FROM: .*control character") as err:
        sender("frister@kommune.no\r\nBcc: evil@attacker.example")
    assert "evil" not in str(err.value) and "\n" not in str(err.value)

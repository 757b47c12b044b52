"""frister.text.printable: control characters in data are shown as escapes, never obeyed."""

from __future__ import annotations

import datetime as dt

import pytest
from markupsafe import Markup

from frister.text import printable


@pytest.mark.parametrize("raw, shown", [
    ("mottak\nBcc: evil@attacker.example", "mottak\\nBcc: evil@attacker.example"),
    ("a\r\nb", "a\\r\\nb"),
    ("tab\there", "tab\\there"),
    ("nul\x00byte", "nul\\x00byte"),
    ("escape\x1b[31m", "escape\\x1b[31m"),
    ("del\x7f", "del\\x7f"),
    ("next line\x85", "next line\\x85"),
    ("c1\x9b", "c1\\x9b"),
    ("line\u2028sep", "line\\u2028sep"),
    ("para\u2029sep", "para\\u2029sep"),
])
def test_it_shows_every_control_character_as_an_escape(raw, shown):
    assert printable(raw) == shown
    assert "\n" not in printable(raw) and "\r" not in printable(raw)


def test_it_leaves_ordinary_text_as_it_is():
    for text in ("Barneverntjenesten i Ås", "ks01", "BV-2025-00001", "«sitat» – tankestrek", "a\\nb", ""):
        assert printable(text) is text


def test_it_leaves_values_that_are_not_text_as_they_are():
    day = dt.date(2025, 11, 24)
    assert printable(day) is day and printable(3) == 3 and printable(None) is None


def test_it_leaves_markup_that_frister_built_as_it_is():
    built = Markup("<table>\n<tr><td>x</td></tr>\n</table>")
    assert printable(built) is built

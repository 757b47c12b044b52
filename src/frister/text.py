"""Text from the data, made safe to show: control characters are shown, never obeyed.

A unit name, a caseworker code or a breach action comes from the case system's export or
from a leader, and may hold a line break. Rendered as it is, a line break starts a line
of its own: in an e-mail body a line such as ``Bcc: evil@attacker.example``, in a report
or a terminal a row that was never computed. :func:`printable` is the one place that
turns such characters into visible escapes; the e-mail and report templates apply it to
every value they output (the Jinja2 ``finalize`` hook), the spreadsheet writers to every
text cell, the CLI to every table cell. Text that came from a template itself (its
literal lines) is not touched.

Escaped, as ``\\n``, ``\\r``, ``\\t`` or ``\\xNN`` / ``\\uNNNN``:

* the C0 controls U+0000–U+001F (NUL, CR and LF among them) and DEL U+007F;
* the C1 controls U+0080–U+009F (NEL U+0085 among them);
* the line and paragraph separators U+2028 and U+2029, which some readers break on.

Everything else, æøå and other letters included, is left as it is. A backslash is not
doubled: the escape is for a human reader, not a format to be parsed back.
"""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(value: Any) -> Any:
    """``value`` with every control character escaped, when it is text; anything else
    (numbers, dates, None) as it is, so that formatting further on still sees its type.

    A :class:`markupsafe.Markup` is left as it is: it is HTML that frister built itself
    (a chart, a template macro's output, whose own line breaks are layout), and what it
    holds from the data went through this function when it was built.
    """
    if not isinstance(value, str) or isinstance(value, Markup) or not _CONTROL.search(value):
        return value
    return _CONTROL.sub(_escape, value)


def has_control(value: str) -> bool:
    """Whether ``value`` holds a character :func:`printable` would escape."""
    return bool(_CONTROL.search(value))


class NotUtf8(ValueError):
    """Bytes that are not UTF-8 text; ``line`` is the line (from 1) of the first bad byte."""

    def __init__(self, line: int):
        super().__init__(f"line {line}: not UTF-8 text")
        self.line = line


def decode_utf8(data: bytes, bom: bool = False) -> str:
    """``data`` as UTF-8 text (a leading byte-order mark dropped when ``bom``), or
    :class:`NotUtf8` saying on which line the first byte that is not (a file saved as
    Latin-1, a stray byte) is, so an error can name the file and the line and show no
    content."""
    try:
        return data.decode("utf-8-sig" if bom else "utf-8")
    except UnicodeDecodeError as exc:
        raise NotUtf8(data[:exc.start].count(b"\n") + 1) from None

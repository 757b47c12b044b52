"""Spreadsheet output (CSV and XLSX) that is safe to open and byte-for-byte reproducible.

* **Formula injection.** A text cell that begins with ``=``, ``+``, ``-`` or ``@`` (or a
  tab or carriage return, which some spreadsheet programs also treat as the start of a
  formula) is prefixed with an apostrophe, as OWASP recommends, so a spreadsheet shows
  it as text and never evaluates it. Numbers and dates are written as such and are
  never prefixed.
* **Control characters.** Every text cell goes through :func:`frister.text.printable`
  first: a line break from the data is shown as ``\\n``, so a cell never spans lines
  and no row appears that the report did not compute.
* **CSV dialect.** UTF-8 with a byte-order mark (so Excel reads æøå), ``;`` between
  cells (the Norwegian Excel default, where ``,`` is the decimal mark), ``\\r\\n``
  line ends (RFC 4180), dates as ISO ``YYYY-MM-DD``, ``ja``/``nei`` for booleans.
* **XLSX.** Fixed workbook properties (creator, created and modified set to the
  report's as-of date) and fixed timestamps on every entry of the zip container, so
  the same report gives the same bytes.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import numbers
import zipfile
from typing import Any, Iterable, Sequence

from frister.text import printable

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


class Share(float):
    """A share (0–1): written to XLSX as a number with a percent format (``96,4 %``)."""


def escape_cell(value: Any) -> Any:
    """Text that a spreadsheet would read as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_text(value: Any) -> str:
    kind = type(value)
    if kind is str:  # most cells: one check for control characters, one for a formula
        return escape_cell(printable(value))
    if kind is int:
        return str(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ja" if value else "nei"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(escape_cell(printable(value)))


def to_csv(blocks: Sequence[Iterable[Sequence[Any]]]) -> bytes:
    """Blocks of rows, separated by one empty line, as CSV bytes (see the module dialect).
    The text is encoded as it is written, so the listing is held once, as bytes."""
    buf = io.BytesIO(codecs.BOM_UTF8)
    buf.seek(0, io.SEEK_END)
    text = io.TextIOWrapper(buf, encoding="utf-8", newline="")
    writer = csv.writer(text, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    for i, block in enumerate(blocks):
        if i:
            writer.writerow([])
        for row in block:
            writer.writerow(list(map(csv_text, row)))
    text.flush()
    out = buf.getvalue()
    text.detach()
    return out


def xlsx_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "ja" if value else "nei"
    return escape_cell(printable(value))


def to_xlsx(sheets: Sequence[tuple[str, Sequence[Sequence[Any]], int | None]], stamp: dt.date,
            title: str) -> bytes:
    """Sheets ``(name, rows, header_row)`` as XLSX bytes.

    ``header_row`` (1-based) is the table header of a sheet: it is bold, frozen and gets
    an auto-filter over the rows below it. Text is written as text (never a formula, a
    number or a link, whatever it holds), numbers as numbers, dates as dates.
    """
    import xlsxwriter

    raw = io.BytesIO()
    wb = xlsxwriter.Workbook(raw, {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
                                   "strings_to_urls": False})
    fixed = dt.datetime(stamp.year, stamp.month, stamp.day)
    wb.set_properties({"title": title, "author": "frister", "created": fixed})
    formats: dict[tuple[str | None, bool], Any] = {}

    def style(number: str | None, bold: bool):
        if (number, bold) not in formats:
            spec = {**({"num_format": number} if number else {}), **({"bold": True} if bold else {})}
            formats[(number, bold)] = wb.add_format(spec) if spec else None
        return formats[(number, bold)]

    for name, rows, header_row in sheets:
        ws = wb.add_worksheet(name)
        widths: dict[int, int] = {}
        for r, row in enumerate(rows):
            bold = header_row is not None and r == header_row - 1
            for c, value in enumerate(row):
                shown = None if value is None else xlsx_value(value)
                if shown is None or shown == "":
                    continue
                if isinstance(shown, str):
                    ws.write_string(r, c, shown, style(None, bold))
                elif isinstance(shown, dt.date):
                    ws.write_datetime(r, c, shown, style("yyyy-mm-dd", bold))
                elif isinstance(shown, numbers.Real):
                    ws.write_number(r, c, shown, style("0.0%" if isinstance(shown, Share) else None, bold))
                else:
                    shown = str(shown)
                    ws.write_string(r, c, shown, style(None, bold))
                widths[c] = max(widths.get(c, 0), min(60, len(str(shown))))
        for c, w in widths.items():
            ws.set_column(c, c, max(8, w + 2))
        if header_row is not None and rows:
            ws.freeze_panes(header_row, 0)
            last = max(len(r) for r in rows[header_row - 1:header_row]) - 1
            ws.autofilter(header_row - 1, 0, max(header_row, len(rows)) - 1, max(last, 0))
    wb.close()
    return _normalise_zip(raw.getvalue())


def _normalise_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed entry timestamps and attributes, entries in the same order."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_EPOCH)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            fixed.create_system = 3
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()

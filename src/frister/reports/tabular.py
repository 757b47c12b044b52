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

import csv
import datetime as dt
import io
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
    buf = io.BytesIO()
    text = io.TextIOWrapper(buf, encoding="utf-8-sig", newline="")
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
    an auto-filter over the rows below it.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.writer.excel import ExcelWriter

    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    for name, rows, header_row in sheets:
        ws = wb.create_sheet(title=name)
        widths: dict[int, int] = {}
        for r_index, row in enumerate(rows, 1):
            for c_index, value in enumerate(row, 1):
                if value is None:
                    continue
                cell = ws.cell(row=r_index, column=c_index, value=xlsx_value(value))
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # never a formula, whatever the text
                if isinstance(value, dt.date):
                    cell.number_format = "yyyy-mm-dd"
                elif isinstance(value, Share):
                    cell.number_format = "0.0%"
                if header_row is not None and r_index == header_row:
                    cell.font = bold
                widths[c_index] = max(widths.get(c_index, 0), min(60, len(str(cell.value))))
        for c_index, w in widths.items():
            ws.column_dimensions[get_column_letter(c_index)].width = max(8, w + 2)
        if header_row is not None and rows:
            ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
            last = get_column_letter(max(len(r) for r in rows[header_row - 1:header_row]))
            ws.auto_filter.ref = f"A{header_row}:{last}{max(header_row, len(rows))}"
    fixed = dt.datetime(stamp.year, stamp.month, stamp.day)
    wb.properties.creator = "frister"
    wb.properties.lastModifiedBy = "frister"
    wb.properties.title = title
    wb.properties.created = fixed
    wb.properties.modified = fixed
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).save()  # not save_workbook(): it stamps 'modified' with the clock
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

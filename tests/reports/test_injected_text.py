"""A line break in a unit name, a caseworker code or a breach action does not start a line
(or a row) of its own in any report: CSV, XLSX or HTML.

The values are written into the database directly, not through the importer.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone

from openpyxl import load_workbook
from sqlalchemy import update

from report_fixture import AS_OF, H1_END, H1_START, TEMPLATES
from frister.breaches.service import BreachKey, explain
from frister.reports.audit import audit_csv, audit_html, audit_xlsx, build_audit
from frister.reports.monthly import monthly_html
from frister.reports.periodic import annual_html
from frister.store.tables import cases as case_table

INJECTED = "\nBcc: evil@attacker.example\nSubject: pwned"
SHOWN = "\\nBcc: evil@attacker.example\\nSubject: pwned"
NOW = datetime(2025, 8, 2, 9, 0, tzinfo=timezone.utc)


def own_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith(("Bcc:", "Subject:"))]


def test_injected_text_stays_inside_its_cell_in_every_report(municipality, rules):
    with municipality.begin() as conn:
        conn.execute(update(case_table).values(unit=case_table.c.unit + INJECTED, caseworker=case_table.c.caseworker + INJECTED))
        explain(conn, BreachKey("B-1", "investigation_deadline", "U1"), "complex_case", "Ringt\r\nSubject: pwned",
                NOW, by="leder1")
    with municipality.connect() as conn:
        report = build_audit(conn, rules, H1_START, H1_END, AS_OF)
        monthly = monthly_html(conn, rules, date(2025, 6, 1), AS_OF, TEMPLATES)
        annual = annual_html(conn, rules, 2025, 2, AS_OF, TEMPLATES)

    text = audit_csv(report).decode("utf-8-sig")
    assert own_lines(text) == []
    rows = list(csv.reader(io.StringIO(text.split("\r\n\r\n")[2]), delimiter=";"))
    assert len(rows) == 1 + len(report.rows)  # the header and one line per obligation, nothing more
    assert all("\n" not in cell and "\r" not in cell for row in rows for cell in row)
    assert {row[1] for row in rows[1:]} >= {f"mottak{SHOWN}", f"undersokelse{SHOWN}"}
    assert "Ringt\\r\\nSubject: pwned" in {row[-1] for row in rows}

    book = load_workbook(io.BytesIO(audit_xlsx(report)))
    cells = [c.value for ws in book for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert f"mottak{SHOWN}" in cells and not [v for v in cells if "\n" in v or "\r" in v]

    for html in (audit_html(report, TEMPLATES).decode("utf-8"), monthly, annual):
        assert own_lines(html) == []
        assert f"undersokelse{SHOWN}" in html

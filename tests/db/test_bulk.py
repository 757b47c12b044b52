"""Bulk inserts store every value as given, whichever of them are empty."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from frister.db.dialect import bulk_insert
from frister.evaluation.models import Obligation
from frister.evaluation.service import OBLIGATION_COLUMNS


def _row(case: str, seq: int, **values) -> tuple:
    row = dict.fromkeys(OBLIGATION_COLUMNS)
    row.update(case_id=case, rule="referral_review", subject="m1", period="", seq=seq, run_id=1, unit="mottak",
               status="open", due_on=dt.date(2026, 1, 8), days_late=0, rule_version="bvl2021",
               anchor_on=dt.date(2026, 1, 1), confidence="H")
    row.update(values)
    return tuple(row[c] for c in OBLIGATION_COLUMNS)


def test_rows_with_different_empty_columns_are_stored_value_for_value(engine):
    rows = [
        _row("BV-1", 1),  # every optional column empty
        _row("BV-1", 2, caseworker="ks1", met_on=dt.date(2026, 1, 9), status="late", days_late=1),
        _row("BV-2", 1, caseworker="ks2", extension_requested_on=dt.date(2026, 2, 1), extension_granted=True,
             extension_reason="særlige", extension_applied=False, reduction_note="", required=4, done=0),
        _row("BV-3", 1),  # the first pattern again, after another
        _row("BV-4", 1, caseworker="ks1", reduction_decided_on=dt.date(2026, 3, 1), reduction_applied=True,
             responsible="leader"),
    ]
    with engine.begin() as conn:
        bulk_insert(conn, Obligation.__table__, OBLIGATION_COLUMNS, iter(rows))
    with engine.connect() as conn:
        stored = conn.execute(select(*(Obligation.__table__.c[c] for c in OBLIGATION_COLUMNS))
                              .order_by(Obligation.case_id, Obligation.seq)).all()
    assert [tuple(r) for r in stored] == rows
    assert stored[2].extension_granted is True and stored[2].extension_applied is False
    assert stored[2].reduction_note == "" and stored[0].reduction_note is None  # empty text is not NULL

"""The tables of the case facts, made from the vocabulary (:mod:`frister.facts.vocabulary`).

``cases`` has one row per case; each recorded subject type has a table of its own
(``referrals``, ``investigations``, …) with ``(case_id, id)`` as its key, so a case's
facts and a range of cases are read with index range scans. A list of dates (visits,
plan evaluations) is one :class:`~frister.db.base.DayList` column of its subject's row.
No names, national identity numbers or addresses are stored; the birth date is kept only
to compute age limits and is never shown.

The baseline migration creates these tables as reviewed code; ``alembic check`` (CI)
proves that the two agree.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, DateTime, ForeignKeyConstraint, Integer, String, Table, Text

from frister.db.base import Base, DayList
from frister.facts.vocabulary import CASE_FIELDS, RECORDED, FieldSpec

_TYPES = {"date": Date, "fixed_date": Date, "dates": DayList, "bool": Boolean, "choice": lambda: String(32),
          "text": lambda: String(64), "period": lambda: String(32)}


def _column(f: FieldSpec) -> Column:
    return Column(f.name, _TYPES[f.kind](), nullable=not f.required)


metadata = Base.metadata

cases = Table(
    "cases", metadata,
    *(Column(f.name, String(64), primary_key=True) if f.name == "case_id" else _column(f) for f in CASE_FIELDS),
    # sha256 of the case's canonical JSON: re-importing an unchanged case is a no-op.
    Column("fingerprint", String(64), nullable=False),
    Column("source", String(64)),  # the source it came from (``sources``); NULL: one that says nothing
)

# What a source (a case system's export, the register's XML) says it delivers: the date
# from which its history is complete and the facts it never carries (``not_delivered``,
# ``referrals.feedback_sent_on`` …, comma-separated). Rules that need those facts, or
# whose anchor lies before that date, give ``not_evaluated`` for its cases.
sources = Table(
    "sources", metadata,
    Column("name", String(64), primary_key=True),
    Column("extracted_on", Date),
    Column("complete_from", Date),
    Column("not_delivered", Text),
)

# The register's XML delivers snapshots: per case, the last document taken (its
# ``Barnevern/@Id``, ``@ForrigeId`` and ``DatoUttrekk``, UTC), so that an older snapshot
# never overwrites a newer one and a gap in the chain is seen. Kept when a deletion
# removes the case's facts (``deleted``), so that a replayed older snapshot cannot bring
# it back. No foreign key: the facts may be gone.
register_snapshots = Table(
    "register_snapshots", metadata,
    Column("case_id", String(64), primary_key=True),
    Column("document_id", String(36), nullable=False),
    Column("previous_id", String(36)),
    Column("extracted_at", DateTime, nullable=False),
    Column("deleted", Boolean, nullable=False),
)

SUBJECT_TABLES: dict[str, Table] = {
    st.name: Table(
        st.table, metadata,
        Column("case_id", String(64), primary_key=True),
        Column("id", String(64), primary_key=True),
        *(_column(f) for f in st.stored),
        ForeignKeyConstraint(["case_id"], ["cases.case_id"], ondelete="CASCADE"),
    )
    for st in RECORDED
}

# Parents before children (foreign keys).
FACT_TABLES: tuple[Table, ...] = (cases, *SUBJECT_TABLES.values())

# A case inserted, updated or deleted since an evaluation run last took the log.
# Written by triggers on ``cases`` (see the baseline migration), never by Python code,
# so every writer is covered: the importer, the demo and benchmark loaders, plain SQL.
# A run deletes the rows it acts on, in its own transaction. A case may be logged more
# than once.
case_changes = Table(
    "case_changes", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(64), nullable=False),
)

"""Tables for case facts (import contract v1).

One row per case; child tables carry ``case_id`` as the leading key column so that a
case's facts, and a range of cases, are read with index range scans. Subject ids are
unique within a case (``(case_id, id)``). Lists of dates (evaluations, visits) are
rows of their own. No names, national identity numbers or addresses are stored; the
birth date is kept only to compute age limits and is never shown.
"""

from __future__ import annotations



from sqlalchemy import Boolean, ForeignKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from frister.db.base import Base, CaseRef, Code, Day, SubjectRef


class Case(Base):
    __tablename__ = "cases"

    case_id: Mapped[CaseRef] = mapped_column(primary_key=True)
    unit: Mapped[str] = mapped_column(String(64))
    caseworker: Mapped[str | None] = mapped_column(String(64))
    birth_date: Mapped[Day | None]
    aftercare_assessed_on: Mapped[Day | None]
    # sha256 of the case's canonical JSON: re-importing an unchanged case is a no-op.
    fingerprint: Mapped[str] = mapped_column(String(64))


class CaseChange(Base):
    """A case inserted, updated or deleted since an evaluation run last took the log.

    Written by triggers on ``cases`` (migration 0007), never by Python code, so every
    writer is covered: the importer (which inserts a new case's row and updates a
    replaced one's), the demo and benchmark loaders, plain SQL. A run deletes the rows
    it acts on, in its own transaction
    (:func:`frister.evaluation.service.evaluate_and_store`). A case may be logged more
    than once. A later migration that rebuilds ``cases``
    with ``batch_alter_table`` on SQLite drops the triggers and must create them again.
    """

    __tablename__ = "case_changes"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[CaseRef]


def _case_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["case_id"], ["cases.case_id"], ondelete="CASCADE")


class Referral(Base):
    __tablename__ = "referrals"
    __table_args__ = (_case_fk(),)

    case_id: Mapped[CaseRef] = mapped_column(primary_key=True)
    id: Mapped[SubjectRef] = mapped_column(primary_key=True)
    received_on: Mapped[Day]
    concluded_on: Mapped[Day | None]
    conclusion: Mapped[Code | None]
    feedback_sent_on: Mapped[Day | None]


class Investigation(Base):
    __tablename__ = "investigations"
    __table_args__ = (_case_fk(),)

    case_id: Mapped[CaseRef] = mapped_column(primary_key=True)
    id: Mapped[SubjectRef] = mapped_column(primary_key=True)
    referral_id: Mapped[SubjectRef | None]
    started_on: Mapped[Day]
    concluded_on: Mapped[Day | None]
    conclusion: Mapped[Code | None]
    review_after_closing: Mapped[bool] = mapped_column(Boolean, default=False)
    reviewed_after_closing_on: Mapped[Day | None]
    # The extension decision (investigation + extension, 1:1).
    extension_requested_on: Mapped[Day | None]
    extension_granted: Mapped[bool | None] = mapped_column(Boolean)
    extension_reason: Mapped[Code | None]


class Measure(Base):
    __tablename__ = "measures"
    __table_args__ = (_case_fk(),)

    case_id: Mapped[CaseRef] = mapped_column(primary_key=True)
    id: Mapped[SubjectRef] = mapped_column(primary_key=True)
    kind: Mapped[Code]
    decided_on: Mapped[Day]
    ended_on: Mapped[Day | None]
    plan_made_on: Mapped[Day | None]


class MeasureEvaluation(Base):
    __tablename__ = "measure_evaluations"
    __table_args__ = (
        ForeignKeyConstraint(["case_id", "measure_id"], ["measures.case_id", "measures.id"], ondelete="CASCADE"),
    )

    case_id: Mapped[CaseRef] = mapped_column(primary_key=True)
    measure_id: Mapped[SubjectRef] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True)
    evaluated_on: Mapped[Day]


class CareOrder(Base):
    __tablename__ = "care_orders"
    __table_args__ = (_case_fk(),)

    case_id: Mapped[CaseRef] = mapped_column(primary_key=True)
    id: Mapped[SubjectRef] = mapped_column(primary_key=True)
    decided_on: Mapped[Day]
    implemented_on: Mapped[Day | None]
    care_plan_made_on: Mapped[Day | None]


class EmergencyDecision(Base):
    __tablename__ = "emergency_decisions"
    __table_args__ = (_case_fk(),)

    case_id: Mapped[CaseRef] = mapped_column(primary_key=True)
    id: Mapped[SubjectRef] = mapped_column(primary_key=True)
    kind: Mapped[Code]
    decided_on: Mapped[Day]
    petition_sent_on: Mapped[Day | None]


class Placement(Base):
    __tablename__ = "placements"
    __table_args__ = (_case_fk(),)

    case_id: Mapped[CaseRef] = mapped_column(primary_key=True)
    id: Mapped[SubjectRef] = mapped_column(primary_key=True)
    kind: Mapped[Code]
    started_on: Mapped[Day]
    ended_on: Mapped[Day | None]
    followup_reduced_on: Mapped[Day | None]
    supervision_reduced_on: Mapped[Day | None]
    supervision_municipality: Mapped[str | None] = mapped_column(String(16))


class PlacementVisit(Base):
    __tablename__ = "placement_visits"
    __table_args__ = (
        ForeignKeyConstraint(["case_id", "placement_id"], ["placements.case_id", "placements.id"], ondelete="CASCADE"),
    )

    case_id: Mapped[CaseRef] = mapped_column(primary_key=True)
    placement_id: Mapped[SubjectRef] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # followup | supervision
    seq: Mapped[int] = mapped_column(primary_key=True)
    visited_on: Mapped[Day]



"""Stored evaluation results.

``evaluation_runs`` has one row per evaluation (as-of date, rules fingerprint, counts).
``obligations`` holds the current status of every obligation, one row per obligation
key ``(case_id, rule, subject, period, seq)`` as of the latest run that evaluated its
case (``run_id`` is the run that wrote it). The explanation is not stored (the core is pure: a report re-evaluates),
nor the legal basis (it is per rule version: ``RuleSet`` by ``(rule, rule_version)``).
Escalation and reports query it.
``breach_reasons`` keeps a leader's assessment of a deadline, by the same key, across
runs: recorded before the due date (cause, corrective action, a decision such as an
extension) it is the assessment the routine asks for; after the breach the same row is
its explanation and the deviation's follow-up (owner, action due date, status; closing
it stops its notices). ``acknowledgements`` records who acknowledged which stage of a
deadline's notices, when and with what note; that stage is not repeated.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from frister.db.base import Base, CaseRef, Code, Day, Instant, RuleRef, SubjectRef


class EvaluationRun(Base):
    __tablename__ = "evaluation_runs"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # evaluate | nightly
    as_of: Mapped[Day]
    started_at: Mapped[Instant]
    finished_at: Mapped[Instant | None]
    status: Mapped[str] = mapped_column(String(16))  # running | succeeded | failed
    rules_fingerprint: Mapped[str] = mapped_column(String(64))
    cases: Mapped[int] = mapped_column(Integer, default=0)
    obligations: Mapped[int] = mapped_column(Integer, default=0)
    met: Mapped[int] = mapped_column(Integer, default=0)
    late: Mapped[int] = mapped_column(Integer, default=0)
    open: Mapped[int] = mapped_column(Integer, default=0)
    overdue: Mapped[int] = mapped_column(Integer, default=0)
    not_evaluated: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    # full: every case evaluated; incremental: only changed cases and those whose results expired.
    mode: Mapped[str] = mapped_column(String(16), default="full", server_default="full")
    evaluated: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # cases evaluated by this run


class Obligation(Base):
    __tablename__ = "obligations"
    __table_args__ = (
        # Every query by due date also names the status (escalation, breaches): no
        # index on due_on alone, which each written row would pay for (migration 0008).
        Index("ix_obligations_status_due_on", "status", "due_on"),
        # A unit's worklist: its open and overdue deadlines by due date.
        Index("ix_obligations_unit_status_due_on", "unit", "status", "due_on"),
        # The overdue rows by the run that wrote them: a night's escalation reads those
        # changed since the last night (``status = 'overdue' AND run_id > N``). Partial,
        # so that PostgreSQL cannot take it for the open ones due soon; ``status`` in it
        # so that SQLite, which plans without statistics, sees the equality (migration 0010).
        Index("ix_obligations_overdue_run_id", "status", "run_id",
              sqlite_where=text("status = 'overdue'"), postgresql_where=text("status = 'overdue'")),
    )

    case_id: Mapped[CaseRef] = mapped_column(primary_key=True)
    rule: Mapped[RuleRef] = mapped_column(primary_key=True)
    subject: Mapped[SubjectRef] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(8), primary_key=True)  # '' when not a visit period
    seq: Mapped[int] = mapped_column(primary_key=True)
    # The run that wrote the row, in its transaction; no foreign key (see migration 0007).
    # An incremental run leaves a row that is still right as it was, older run and all.
    run_id: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(64))  # the unit that held the step
    caseworker: Mapped[str | None] = mapped_column(String(64))
    municipality: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[Code]
    due_on: Mapped[Day]
    met_on: Mapped[Day | None]
    days_late: Mapped[int] = mapped_column(Integer)
    required: Mapped[int | None] = mapped_column(Integer)
    done: Mapped[int | None] = mapped_column(Integer)
    rule_version: Mapped[str] = mapped_column(String(32))
    anchor_on: Mapped[Day]
    confidence: Mapped[str] = mapped_column(String(1))
    extension_requested_on: Mapped[Day | None]
    extension_granted: Mapped[bool | None] = mapped_column(Boolean)
    extension_reason: Mapped[Code | None]
    extension_applied: Mapped[bool | None] = mapped_column(Boolean)
    reduction_decided_on: Mapped[Day | None]
    reduction_applied: Mapped[bool | None] = mapped_column(Boolean)
    reduction_note: Mapped[str | None] = mapped_column(Text)
    responsible: Mapped[str | None] = mapped_column(String(16))


class BreachReason(Base):
    __tablename__ = "breach_reasons"

    case_id: Mapped[CaseRef] = mapped_column(primary_key=True)
    rule: Mapped[RuleRef] = mapped_column(primary_key=True)
    subject: Mapped[SubjectRef] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(8), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True)
    reason: Mapped[Code]
    action: Mapped[str | None] = mapped_column(Text)
    explained_at: Mapped[Instant]
    explained_by: Mapped[str | None] = mapped_column(String(64))
    decision: Mapped[str | None] = mapped_column(String(32))  # e.g. extension (breaches.DECISIONS)
    # The deviation's follow-up: who, by when, and where it stands (open | in_progress | closed).
    owner: Mapped[str | None] = mapped_column(String(64))
    follow_up_by: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    status_note: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[Instant | None]
    closed_by: Mapped[str | None] = mapped_column(String(64))


class BreachHistory(Base):
    """Every assessment and follow-up status ever recorded for a deadline, append-only,
    each with its author: the audit evidence of who said what when (``breach_reasons``
    holds only the latest word)."""

    __tablename__ = "breach_history"
    __table_args__ = (Index("ix_breach_history_key", "case_id", "rule", "subject", "period", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[CaseRef]
    rule: Mapped[RuleRef]
    subject: Mapped[SubjectRef]
    period: Mapped[str] = mapped_column(String(8))
    seq: Mapped[int]
    recorded_at: Mapped[Instant]
    recorded_by: Mapped[str] = mapped_column(String(64))
    event: Mapped[Code]  # assessed | status | acknowledged | ack_withdrawn
    reason: Mapped[Code | None]
    action: Mapped[str | None] = mapped_column(Text)
    decision: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str | None] = mapped_column(String(16))
    stage: Mapped[Code | None]  # acknowledged | ack_withdrawn: the ladder stage
    note: Mapped[str | None] = mapped_column(Text)


class Acknowledgement(Base):
    """A leader's acknowledgement of one stage of a deadline's notices: no repeat of that
    stage is created (or sent) after it; the next stage still is."""

    __tablename__ = "acknowledgements"

    case_id: Mapped[CaseRef] = mapped_column(primary_key=True)
    rule: Mapped[RuleRef] = mapped_column(primary_key=True)
    subject: Mapped[SubjectRef] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(8), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True)
    stage: Mapped[Code] = mapped_column(primary_key=True)
    acknowledged_at: Mapped[Instant]
    acknowledged_by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)




class CaseEvaluation(Base):
    """When each case was last evaluated, from which facts, and until when that holds.

    A nightly run re-evaluates a case only when its facts changed (it is logged in
    ``case_changes``) or its results expire (``stable_until`` before the run's as-of
    date; NULL means they never do). See :mod:`frister.engine.evaluate`.
    ``fingerprint`` tells from which facts the row was made.
    """

    __tablename__ = "case_evaluations"
    __table_args__ = (Index("ix_case_evaluations_stable_until", "stable_until"),)

    # No foreign key to ``cases``: when the importer replaces or removes a case, the
    # row stays (with the counts the run's totals were made of) until the next run,
    # told by ``case_changes``, replaces or deletes it.
    case_id: Mapped[CaseRef] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    evaluated_as_of: Mapped[Day]
    stable_until: Mapped[Day | None]
    # The case's obligations as of ``evaluated_as_of`` per status (met ones are not
    # stored in ``obligations``; these make the run's totals without re-evaluating).
    met: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    late: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    open: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    overdue: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    not_evaluated: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

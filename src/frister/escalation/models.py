"""The outbox: one row per notice, and one row per e-mail attempt.

A notice is identified by ``(case_id, rule, subject, period, seq, stage, repeat, role)``:
the obligation key, the ladder stage, the repeat number (0 for the first repeat due,
counted from the due date) and the recipient role. The unique constraint makes "create
once" a database guarantee. ``ordinal`` numbers the notices actually created for an
obligation, stage and role (1 for the first), and is what an e-mail shows.

Life of a notice (``status``)::

    pending --claim--> sending --server accepted--> sent
       |                  |--not delivered (4xx, unreachable)--> pending (attempts+1, next_attempt_at)
       |                  |--sent whole, no reply--> uncertain --backoff, resent as it was--> sending
       |                  +--refused for good / attempts used up--> dead
       |                                          |--frister notices resend--> pending (ready now)
       |                                          +--(a part once uncertain)--> uncertain (ready now)
       +-- obligation met or no longer in the stage's state --> cancelled

Only ``pending`` notices are cancelled or re-addressed: an ``uncertain`` one may be in
the recipient's inbox, and is only ever resent as the same e-mail (same Message-ID).

A claim stores the run, the digest key, the Message-ID and the part of the digest
("del 2 av 7") on the row before anything is sent, so a run killed after the claim resends the very same e-mail (same
Message-ID) on the next run. The rows are the audit trail; ``deliveries`` records
every e-mail attempt (recipient, Message-ID, outcome, SMTP code) without content, and
every requeue by an operator (outcome ``requeued``, no run).
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from frister.db.base import Base, CaseRef, Code, Day, Instant, RuleRef, SubjectRef

NOTICE_STATUSES = ("pending", "sending", "uncertain", "sent", "dead", "cancelled")
WAITING = ("pending", "sending", "uncertain")  # not delivered (yet), not given up


class Notice(Base):
    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint("case_id", "rule", "subject", "period", "seq", "stage", "repeat", "role"),
        Index("ix_notices_status_recipient", "status", "recipient"),
        Index("ix_notices_digest_key", "digest_key"),  # a digest part's rows, when sending and recording
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    case_id: Mapped[CaseRef]
    rule: Mapped[RuleRef]
    subject: Mapped[SubjectRef]
    period: Mapped[str] = mapped_column(String(8))  # '' when not a visit period
    seq: Mapped[int] = mapped_column(Integer)
    stage: Mapped[Code]
    repeat: Mapped[int] = mapped_column(Integer)  # part of the key: counts from the due date
    # 1 for the first notice of this obligation and stage to this role, 2 for the next, …
    # (not cancelled ones): what the e-mail shows, so an old breach's first notice reads as a first.
    ordinal: Mapped[int] = mapped_column(Integer)
    role: Mapped[Code]
    recipient: Mapped[str] = mapped_column(String(254))
    # What the e-mail says (copied, so the outbox stays readable whatever happens to the case).
    unit: Mapped[str] = mapped_column(String(64))
    caseworker: Mapped[str | None] = mapped_column(String(64))
    due_on: Mapped[Day]
    fire_on: Mapped[Day]  # the day the stage became due
    basis: Mapped[str] = mapped_column(String(400))
    duty: Mapped[str] = mapped_column(String(16), default="law", server_default="law")  # law | guidance | local
    created_run_id: Mapped[int] = mapped_column(ForeignKey("nightly_runs.id"))
    created_at: Mapped[Instant]
    status: Mapped[Code]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[Instant | None]
    claimed_run_id: Mapped[int | None] = mapped_column(ForeignKey("nightly_runs.id"))
    digest_key: Mapped[str | None] = mapped_column(String(64))
    message_id: Mapped[str | None] = mapped_column(String(200))
    digest_part: Mapped[int | None] = mapped_column(Integer)  # "del 2 av 7": the part …
    digest_parts: Mapped[int | None] = mapped_column(Integer)  # … and how many parts its claim made
    sent_at: Mapped[Instant | None]
    last_error: Mapped[str | None] = mapped_column(String(200))


class Delivery(Base):
    """One e-mail attempt (a digest to one recipient), or one requeue of a part's
    notices by an operator (``run_id`` NULL, outcome ``requeued``)."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("nightly_runs.id"))  # NULL: a requeue
    recipient: Mapped[str] = mapped_column(String(254))
    digest_key: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(200))
    notices: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[Code]  # sent | transient | uncertain | permanent | requeued
    code: Mapped[int | None] = mapped_column(Integer)  # SMTP reply code when there was one
    error: Mapped[str | None] = mapped_column(String(200))
    attempted_at: Mapped[Instant]


UNIT_MAIL_KINDS = ("visit_plan", "weekly_worklist")


class UnitMail(Base):
    """One periodic e-mail to a unit's leader: the monthly visit plan (``visit_plan``,
    ``period`` ``YYYY-MM``) or the weekly worklist (``weekly_worklist``, ``YYYY-Www``).

    The unique key ``(kind, unit, recipient, period)`` makes "once per unit, recipient
    and month (week)" a database guarantee. ``content`` is the e-mail's context as JSON,
    fixed when the row is created (case references, rule titles, dates and counts only),
    so a resend after a crash is the same e-mail under the same Message-ID. Statuses and
    their moves are those of :class:`Notice` (see :mod:`frister.escalation.unit_mails`).
    """

    __tablename__ = "unit_mails"
    __table_args__ = (
        UniqueConstraint("kind", "unit", "recipient", "period"),
        Index("ix_unit_mails_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    kind: Mapped[Code]
    unit: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(254))
    period: Mapped[str] = mapped_column(String(8))
    role: Mapped[Code]
    as_of: Mapped[Day]  # the night it was made from
    content: Mapped[str] = mapped_column(Text)
    created_run_id: Mapped[int] = mapped_column(ForeignKey("nightly_runs.id"))
    created_at: Mapped[Instant]
    status: Mapped[Code]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[Instant | None]
    claimed_run_id: Mapped[int | None] = mapped_column(ForeignKey("nightly_runs.id"))
    message_id: Mapped[str] = mapped_column(String(200))
    sent_at: Mapped[Instant | None]
    last_error: Mapped[str | None] = mapped_column(String(200))

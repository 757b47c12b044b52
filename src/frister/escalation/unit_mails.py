"""Periodic e-mails to unit leaders (the monthly visit plan, the weekly worklist):
created once, sent exactly once.

**When.** ``unit_mails:`` in the escalation config (:class:`~frister.escalation.config.UnitMails`)
says which kinds are on and their day: the visit plan from ``day_of_month`` to the end of
each month, the weekly worklist from ``weekday`` to the end of each ISO week. A night that
sends (a working day, see ``delivery.send_on``) creates every mail due and not yet
created, so a mail whose day had no e-mail (a Sunday, a holiday, a night that failed) is
carried to the next working night of the same month or week, never lost; a month or week
that passed without any working night that ran is not mailed afterwards (its content
would be stale).

**To whom.** Each leader of the organisation file holding units (``avdelingsleder``,
``teamleder``) gets one mail per unit it holds, made from that unit's worklist (the unit
and the units below it). A unit with nothing to say gets none (no visit missing; an empty
worklist). The leader's other addresses and a deputy who stands in are in copy.

**Exactly once.** Rows of ``unit_mails`` are unique on ``(kind, unit, recipient,
period)`` and are created in the night's transaction, with the content and the
Message-ID fixed. Sending follows the protocol of :mod:`frister.escalation.outbox`, one
e-mail per row:

1. rows left ``sending`` by a killed run are resent first (same content, same
   Message-ID), then ``uncertain`` rows whose backoff has ended;
2. a ``pending`` row is **claimed** by ``UPDATE … WHERE id = … AND status = 'pending'``
   (a row count of 0: another sender has it, skip), then sent, then **recorded** in its
   own transaction with a ``deliveries`` row: ``sent``; ``pending`` with backoff after a
   transient failure; ``uncertain`` (resent as it was) when the server never answered;
   ``dead`` after a permanent refusal or ``delivery.max_attempts``.

Killed between the server's acceptance and the record, that one e-mail goes again with
the same Message-ID (mail clients collapse it); killed anywhere else, exactly once. A mail
that failed for now waits for the next run (no retries within the night).

``fail_at(step)`` is called at ``mail_claimed``, ``mail_sent`` and ``mail_recorded``, for
tests to simulate a crash there.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import Connection, Engine, and_, func, insert, select, update

from frister.engine.results import BREACH_STATUSES
from frister.escalation.config import Ladder
from frister.escalation.models import WAITING, Delivery, UnitMail
from frister.escalation.outbox import message_id_for
from frister.evaluation.models import BreachReason, Obligation
from frister.notify.transport import SendError, Transport
from frister.notify.unit_mail import UnitMailRenderer, visit_plan_content, weekly_content
from frister.organisation import LEADING, Organisation
from frister.rules.model import RuleSet
from frister.worklist import worklist

log = logging.getLogger("frister.escalation")

SOON_WEEKS = 2  # "due within 14 days"


def mail_key(kind: str, unit: str, recipient: str, period: str) -> str:
    """The mail's key in ``deliveries`` and the source of its Message-ID."""
    return hashlib.sha256(f"{kind}:{unit}:{recipient.lower()}:{period}".encode()).hexdigest()


def due_kinds(ladder: Ladder, as_of: dt.date) -> list[tuple[str, str]]:
    """``[(kind, period)]`` of the unit mails due on ``as_of``."""
    mails = ladder.unit_mails
    due = [("visit_plan", mails.visit_plan_period(as_of)), ("weekly_worklist", mails.weekly_period(as_of))]
    return [(kind, period) for kind, period in due if period]


def _recipients(organisation: Organisation) -> list[tuple[str, str, str]]:
    """``(unit, address, role)`` for each unit held by a leader, in the file's order."""
    out = []
    for leader in organisation.leaders:
        if leader.role in LEADING:
            out.extend((unit, leader.email, leader.role) for unit in leader.units)
    return list(dict.fromkeys(out))


def _breach_counts(conn: Connection, units: list[str]) -> tuple[int, int]:
    """``(without a reason, open deviations)`` among the breaches of ``units`` in the latest
    evaluation: no reason recorded (``frister breach list --unexplained``), and a recorded
    deviation still ``open`` or ``in_progress`` (``frister breach deviations``)."""
    O, B = Obligation, BreachReason
    joined = (select(func.count()).select_from(O)
              .outerjoin(B, and_(B.case_id == O.case_id, B.rule == O.rule, B.subject == O.subject,
                                 B.period == O.period, B.seq == O.seq))
              .where(O.status.in_(BREACH_STATUSES), O.unit.in_(units)))
    unexplained = conn.execute(joined.where(B.reason.is_(None))).scalar_one()
    still_open = conn.execute(joined.where(B.status.in_(("open", "in_progress")))).scalar_one()
    return unexplained, still_open


def create_unit_mails(conn: Connection, rules: RuleSet, ladder: Ladder, organisation: Organisation,
                      as_of: dt.date, run_id: int, now: dt.datetime, sender: str) -> int:
    """Create the unit mails due on ``as_of`` that do not exist yet (in the caller's
    transaction, after the night's evaluation); returns how many were created."""
    due = due_kinds(ladder, as_of)
    if not due:
        return 0
    existing = {tuple(r) for r in conn.execute(
        select(UnitMail.kind, UnitMail.unit, UnitMail.recipient, UnitMail.period)
        .where(UnitMail.period.in_([period for _, period in due])))}
    shown = ladder.delivery.lines_per_email
    contents: dict[tuple[str, str], dict | None] = {}  # (kind, unit): the same for every recipient

    def content_of(kind: str, unit: str) -> dict | None:
        if (kind, unit) not in contents:
            if kind == "visit_plan":  # the visit periods only, not the whole worklist
                made = worklist(conn, rules, unit, weeks=SOON_WEEKS, organisation=organisation, kinds=("visits",))
                contents[kind, unit] = visit_plan_content(made, unit, organisation.name(unit), shown)
            else:
                made = worklist(conn, rules, unit, weeks=SOON_WEEKS, organisation=organisation)
                counts = _breach_counts(conn, list(made.units) or [unit])
                contents[kind, unit] = weekly_content(made, unit, organisation.name(unit), *counts, shown)
        return contents[kind, unit]

    rows = []
    for unit, recipient, role in _recipients(organisation):
        for kind, period in due:
            if (kind, unit, recipient, period) in existing:
                continue
            content = content_of(kind, unit)
            if content is None:
                continue
            key = mail_key(kind, unit, recipient, period)
            rows.append({"kind": kind, "unit": unit, "recipient": recipient, "period": period, "role": role,
                         "as_of": as_of, "content": json.dumps(content, ensure_ascii=False, sort_keys=True),
                         "created_run_id": run_id, "created_at": now, "status": "pending", "attempts": 0,
                         "message_id": message_id_for(key, sender)})
    if rows:
        conn.execute(insert(UnitMail), rows)
    return len(rows)


def waiting_unit_mails(conn: Connection) -> int:
    """Unit mails not delivered yet and not given up."""
    return conn.execute(select(func.count()).select_from(UnitMail).where(UnitMail.status.in_(WAITING))).scalar_one()


@dataclass
class MailCounts:
    sent: int = 0
    failed: int = 0


class UnitMailSender:
    """Sends the unit mails that are due now, for one run (see the module docstring)."""

    def __init__(self, engine: Engine, run_id: int, as_of: dt.date, transport: Transport,
                 renderer: UnitMailRenderer, organisation: Organisation, ladder: Ladder, sender: str,
                 now: Callable[[], dt.datetime], fail_at: Callable[[str], None] | None = None):
        self.engine = engine
        self.run_id = run_id
        self.as_of = as_of
        self.transport = transport
        self.renderer = renderer
        self.organisation = organisation
        self.delivery = ladder.delivery
        self.sender = sender
        self.now = now
        self.fail_at = fail_at or (lambda step: None)
        self.counts = MailCounts()

    def send_all(self) -> MailCounts:
        now = self.now()
        with self.engine.connect() as conn:
            abandoned = conn.execute(select(UnitMail.id).where(UnitMail.status == "sending")
                                     .order_by(UnitMail.id)).scalars().all()
            uncertain = conn.execute(select(UnitMail.id).where(
                UnitMail.status == "uncertain",
                UnitMail.next_attempt_at.is_(None) | (UnitMail.next_attempt_at <= now)).order_by(UnitMail.id)
            ).scalars().all()
            ready = conn.execute(select(UnitMail.id).where(
                UnitMail.status == "pending",
                UnitMail.next_attempt_at.is_(None) | (UnitMail.next_attempt_at <= now)).order_by(UnitMail.id)
            ).scalars().all()
        for mail_id in abandoned:
            log.info("resending unit mail %d left unfinished by an earlier run", mail_id)
            self._send(mail_id)
        for mail_id in uncertain:
            if self._claim(mail_id, "uncertain"):
                self._send(mail_id)
        for mail_id in ready:
            if self._claim(mail_id, "pending"):
                self.fail_at("mail_claimed")
                self._send(mail_id)
        return self.counts

    def _claim(self, mail_id: int, status: str) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(update(UnitMail).where(UnitMail.id == mail_id, UnitMail.status == status)
                                .values(status="sending", claimed_run_id=self.run_id)).rowcount == 1

    def _send(self, mail_id: int) -> None:
        with self.engine.connect() as conn:
            row = conn.execute(select(UnitMail).where(UnitMail.id == mail_id)).one()
        if row.status != "sending":
            return
        self.organisation.check(row.recipient)
        message = self.renderer.render(row.kind, json.loads(row.content), row.role, self.sender, row.recipient,
                                       row.message_id, self.now())
        copies = self.organisation.copies_for(row.recipient, self.as_of)
        for address in copies:
            self.organisation.check(address)
        if copies:
            message["Cc"] = ", ".join(copies)
        error: SendError | None = None
        try:
            self.transport.send(message)
        except SendError as exc:
            error = exc
        else:
            self.fail_at("mail_sent")
        self._record(row, error)
        self.fail_at("mail_recorded")

    def _record(self, row, error: SendError | None) -> None:
        now = self.now()
        attempts = row.attempts + 1
        if error is None:
            outcome, values = "sent", {"status": "sent", "sent_at": now, "last_error": None, "next_attempt_at": None}
            self.counts.sent += 1
        else:
            self.counts.failed += 1
            outcome = "uncertain" if error.uncertain else "permanent" if error.permanent else "transient"
            dead = error.permanent or attempts >= self.delivery.max_attempts
            later = now + dt.timedelta(minutes=self.delivery.backoff(attempts))
            values = {"status": "dead" if dead else "uncertain" if error.uncertain else "pending",
                      "next_attempt_at": None if dead else later,
                      "last_error": (f"possibly delivered: {error}" if dead and error.uncertain else str(error))[:200]}
            log.warning("unit mail %d not delivered (%s)", row.id, error)
        with self.engine.begin() as conn:
            conn.execute(update(UnitMail).where(UnitMail.id == row.id, UnitMail.status == "sending")
                         .values(attempts=attempts, **values))
            conn.execute(insert(Delivery).values(
                run_id=self.run_id, recipient=row.recipient,
                digest_key=mail_key(row.kind, row.unit, row.recipient, row.period), message_id=row.message_id,
                notices=0, outcome=outcome, code=error.code if error else None,
                error=str(error)[:200] if error else None, attempted_at=now))


def overdue_unit_mails(conn: Connection, now: dt.datetime, grace: dt.timedelta) -> tuple[int, int]:
    """``(waiting, dead)``: unit mails waiting since before ``now - grace``, and dead ones
    (for ``frister health``, as :func:`frister.escalation.backlog.overdue` for notices)."""
    waiting = conn.execute(select(func.count()).select_from(UnitMail).where(
        UnitMail.status.in_(WAITING), UnitMail.created_at <= now - grace)).scalar_one()
    dead = conn.execute(select(func.count()).select_from(UnitMail).where(UnitMail.status == "dead")).scalar_one()
    return waiting, dead


def requeue_dead_unit_mails(conn: Connection, now: dt.datetime) -> int:
    """Make every dead unit mail ready for the next run with a fresh round of attempts,
    in the caller's transaction. Its content and Message-ID are those it was created
    with, so one that may have been delivered is resent as the same e-mail. Each gets a
    ``deliveries`` row (outcome ``requeued``, no run)."""
    dead = conn.execute(select(UnitMail.id, UnitMail.kind, UnitMail.unit, UnitMail.recipient, UnitMail.period,
                               UnitMail.message_id).where(UnitMail.status == "dead")).all()
    for r in dead:
        conn.execute(update(UnitMail).where(UnitMail.id == r.id, UnitMail.status == "dead")
                     .values(status="pending", attempts=0, next_attempt_at=None))
        conn.execute(insert(Delivery).values(
            run_id=None, recipient=r.recipient, digest_key=mail_key(r.kind, r.unit, r.recipient, r.period),
            message_id=r.message_id, notices=0, outcome="requeued", code=None, error=None, attempted_at=now))
    return len(dead)

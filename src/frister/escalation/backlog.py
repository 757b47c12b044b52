"""What the outbox has not delivered: how much, since when, and by whom to look at.

A notice is **waiting** while it is ``pending``, ``sending`` or ``uncertain`` (not
delivered yet, not given up) and **dead** once given up. It is **overdue for delivery**
when it has been waiting since longer than a grace (``FRISTER_DELIVERY_GRACE``): the
night that created it should have delivered it by then. A dead notice is overdue
whatever its age: nothing sends it again until an operator requeues it
(:func:`requeue`). These are what ``frister health``, ``frister runs`` and the metrics
report; none of them shows more of a notice than its case reference, rule, stage and
recipient role.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterator, Sequence

from sqlalchemy import Connection, case, func, insert, select, update

from frister.clock import utc
from frister.errors import FristerError
from frister.escalation.models import WAITING, Delivery, Notice


def waiting_count(conn: Connection) -> int:
    """How many notices are waiting (not delivered, not dead)."""
    return conn.execute(select(func.count()).select_from(Notice).where(Notice.status.in_(WAITING))).scalar_one()


def status_counts(conn: Connection) -> dict[str, int]:
    """Notices by status (only the statuses that occur)."""
    return dict(conn.execute(select(Notice.status, func.count()).group_by(Notice.status)).all())


@dataclass(frozen=True)
class Overdue:
    """The notices overdue for delivery: ``waiting`` since before the grace began
    (``oldest``: the oldest one's creation, or None) and ``dead``."""

    waiting: int
    oldest: dt.datetime | None
    dead: int

    def __bool__(self) -> bool:
        return bool(self.waiting or self.dead)


def overdue(conn: Connection, now: dt.datetime, grace: dt.timedelta) -> Overdue:
    """What is overdue for delivery at ``now`` with a grace of ``grace``."""
    waiting, oldest = conn.execute(
        select(func.count(), func.min(Notice.created_at))
        .where(Notice.status.in_(WAITING), Notice.created_at <= now - grace)
    ).one()
    dead = conn.execute(select(func.count()).select_from(Notice).where(Notice.status == "dead")).scalar_one()
    return Overdue(waiting, utc(oldest) if oldest is not None else None, dead)


# --- listing ---------------------------------------------------------------------------

SHOWN = {"waiting": WAITING, "dead": ("dead",)}


@dataclass(frozen=True)
class NoticeRow:
    """What an operator sees of a notice: no address, no unit, no caseworker."""

    id: int
    status: str
    case_id: str
    rule: str
    stage: str
    role: str
    attempts: int
    created_at: dt.datetime
    next_attempt_at: dt.datetime | None
    last_error: str | None


def list_notices(conn: Connection, shown: str, limit: int) -> tuple[list[NoticeRow], int]:
    """The ``shown`` notices (``waiting`` or ``dead``), oldest first, at most ``limit``
    of them, and how many there are."""
    where = Notice.status.in_(SHOWN[shown])
    total = conn.execute(select(func.count()).select_from(Notice).where(where)).scalar_one()
    rows = conn.execute(
        select(Notice.id, Notice.status, Notice.case_id, Notice.rule, Notice.stage, Notice.role, Notice.attempts,
               Notice.created_at, Notice.next_attempt_at, Notice.last_error)
        .where(where).order_by(Notice.created_at, Notice.id).limit(limit)
    ).all()
    return [NoticeRow(*r) for r in rows], total


# --- requeueing ------------------------------------------------------------------------

REQUEUABLE = ("dead", "pending", "uncertain")


@dataclass(frozen=True)
class Requeued:
    pending: int  # ready to be claimed into a new digest
    uncertain: int  # ready to be resent as the e-mail they were in, same Message-ID


def requeue(conn: Connection, ids: Sequence[int] | None, now: dt.datetime) -> Requeued:
    """Make notices ready to send at the next run, in the caller's transaction: the
    given ``ids`` (dead or waiting ones), or every dead notice (``ids`` None).

    * A dead notice goes back to ``pending`` with its attempts reset (a fresh round of
      ``max_attempts``), unless its e-mail may have been delivered once (an attempt of
      its part was ``uncertain``): then its whole part goes back to ``uncertain``, to be
      resent as that e-mail, under its Message-ID, never in a new digest.
    * A waiting notice (``pending`` or ``uncertain``) is made ready now: its backoff is
      cleared (an uncertain one's with its whole part).

    Each part requeued gets a ``deliveries`` row (outcome ``requeued``, no run, the
    number of its notices requeued). Raises :class:`FristerError`, changing nothing,
    for an unknown id or a notice that is sent, cancelled or being sent."""
    columns = (Notice.id, Notice.status, Notice.recipient, Notice.digest_key, Notice.message_id)
    if ids is None:
        picked = conn.execute(select(*columns).where(Notice.status == "dead")).all()
    else:
        wanted = sorted(set(ids))
        picked = [r for chunk in _chunks(wanted)
                  for r in conn.execute(select(*columns).where(Notice.id.in_(chunk))).all()]
        missing = sorted(set(wanted) - {r.id for r in picked})
        if missing:
            raise FristerError(f"no notice {', '.join(map(str, missing[:20]))}")
        wrong = [r for r in picked if r.status not in REQUEUABLE]
        if wrong:
            more = f" ({len(wrong) - 1} more like it)" if len(wrong) > 1 else ""
            raise FristerError(f"notice {wrong[0].id} is {wrong[0].status}: only dead or waiting notices "
                               f"can be resent{more}")
    keys = sorted({r.digest_key for r in picked if r.digest_key is not None})
    once_uncertain = {key for chunk in _chunks(keys) for key in conn.execute(
        select(Delivery.digest_key).where(Delivery.digest_key.in_(chunk), Delivery.outcome == "uncertain")
        .distinct()).scalars()}
    # A part once uncertain goes back whole, as the e-mail it was; the rest one by one.
    whole = [r for key in sorted(once_uncertain) for r in conn.execute(
        select(*columns).where(Notice.digest_key == key, Notice.status.in_(REQUEUABLE))).all()]
    single = [r for r in picked if r.digest_key not in once_uncertain]
    fresh = case((Notice.status == "dead", 0), else_=Notice.attempts)  # a dead notice starts again
    for status, rows in (("uncertain", whole), ("pending", single)):
        for chunk in _chunks([r.id for r in rows]):
            conn.execute(update(Notice).where(Notice.id.in_(chunk), Notice.status.in_(REQUEUABLE))
                         .values(status=status, next_attempt_at=None, attempts=fresh))
    per_part: dict[tuple[str, str, str], int] = {}
    for r in (*whole, *single):
        part = (r.recipient, r.digest_key or "", r.message_id or "")
        per_part[part] = per_part.get(part, 0) + 1
    for (recipient, key, message_id), count in sorted(per_part.items()):
        conn.execute(insert(Delivery).values(
            run_id=None, recipient=recipient, digest_key=key, message_id=message_id, notices=count,
            outcome="requeued", code=None, error=None, attempted_at=now))
    return Requeued(len(single), len(whole))


def _chunks(values: Sequence, size: int = 1000) -> Iterator[Sequence]:
    for start in range(0, len(values), size):
        yield values[start:start + size]

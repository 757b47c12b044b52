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

from sqlalchemy import Connection, func, select

from frister.clock import utc
from frister.escalation.models import WAITING, Notice


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

"""Derive the notices that are due from the stored obligations (state, not events).

Called inside the nightly run's transaction, right after the obligations were
replaced, so the notices are committed together with the results they come from.

Policy, stated once:

* A stage *before* the due date concerns an ``open`` obligation; a stage *after* it an
  ``overdue`` one. Statuses ``met`` and ``late`` (done, in time or not) get no notice:
  a notice that became due for a deadline met meanwhile is never created.
* A stage is due on ``due_on + offset``. Every stage that is due as of the run and
  concerns the obligation's current status is created if its key does not exist yet.
  So a run after days of downtime creates every notice that became due in the gap,
  once; a run on the same day again creates nothing.
* A repeating stage (``repeat_every``) has repeats 0, 1, 2, … due every N days; only
  the latest repeat due is created. A missed repeat is not caught up: the latest one
  says the same ("still overdue").
* One notice row per role. When two roles resolve to the same address (a unit with
  no leader falls back to the barnevernsjef), only the first role's row is created,
  so nobody reads the same line twice.
* A ``pending`` notice whose obligation no longer is in the stage's state (met, late,
  gone, or back to open after a corrected import), or whose role has no address any
  more, is ``cancelled``; the other pending notices go to the role's *current* address
  (the recipients file is re-read every run).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import Connection, insert, or_, select, update

from frister.escalation.config import Ladder, Recipients, Stage
from frister.escalation.models import Notice
from frister.evaluation.models import Obligation

INSERT_BATCH = 2000

ObligationKey = tuple[str, str, str, str, int]
NoticeKey = tuple[str, str, str, str, int, str, int, str]


@dataclass
class DeriveCounts:
    due: int = 0
    created: int = 0
    existing: int = 0
    cancelled: int = 0


def due_points(stage: Stage, due_on: dt.date, status: str, as_of: dt.date) -> tuple[int, dt.date] | None:
    """The ``(repeat, fire_on)`` of ``stage`` due as of ``as_of`` for an obligation in
    ``status`` due on ``due_on``, or None when the stage is not (or no longer) due."""
    if not stage.concerns(status):
        return None
    first = due_on + dt.timedelta(days=stage.offset)
    if first > as_of:
        return None
    if not stage.repeat_every:
        return 0, first
    n = (as_of - first).days // stage.repeat_every
    return n, first + dt.timedelta(days=n * stage.repeat_every)


def derive_notices(
    conn: Connection,
    ladder: Ladder,
    recipients: Recipients,
    as_of: dt.date,
    run_id: int,
    now: Callable[[], dt.datetime],
) -> DeriveCounts:
    """Create the notices due as of ``as_of`` and cancel the pending ones no longer due.

    Runs in the caller's transaction. Returns the counts; ``due == created + existing``.
    """
    counts = DeriveCounts()
    # Only notices of obligations that can get a notice now can collide with a new one;
    # the outbox of met deadlines (most of it, after a while) is not read.
    existing: set[NoticeKey] = {
        tuple(row) for row in conn.execute(
            select(Notice.case_id, Notice.rule, Notice.subject, Notice.period, Notice.seq,
                   Notice.stage, Notice.repeat, Notice.role)
            .join(Obligation, (Obligation.case_id == Notice.case_id) & (Obligation.rule == Notice.rule)
                  & (Obligation.subject == Notice.subject) & (Obligation.period == Notice.period)
                  & (Obligation.seq == Notice.seq))
            .where(Obligation.status.in_(("open", "overdue")))
        )
    }
    horizon = as_of + dt.timedelta(days=ladder.max_lead_days)
    stmt = (
        select(Obligation.case_id, Obligation.rule, Obligation.subject, Obligation.period, Obligation.seq,
               Obligation.status, Obligation.due_on, Obligation.unit, Obligation.caseworker, Obligation.basis)
        .where(or_(Obligation.status == "overdue", (Obligation.status == "open") & (Obligation.due_on <= horizon)))
        .order_by(Obligation.case_id, Obligation.rule, Obligation.subject, Obligation.period, Obligation.seq)
    )
    current: dict[ObligationKey, str] = {}
    batch: list[dict] = []
    created_at = now()
    for case_id, rule, subject, period, seq, status, due_on, unit, caseworker, basis in conn.execute(stmt):
        key: ObligationKey = (case_id, rule, subject, period, seq)
        current[key] = status
        for stage in ladder.stages_for(rule):
            point = due_points(stage, due_on, status, as_of)
            if point is None:
                continue
            repeat, fire_on = point
            addresses: set[str] = set()
            for role in stage.to:
                address = recipients.address(role, unit)
                if address is None or address in addresses:
                    continue
                addresses.add(address)
                counts.due += 1
                nkey: NoticeKey = (*key, stage.name, repeat, role)
                if nkey in existing:
                    counts.existing += 1
                    continue
                recipients.check(address)
                existing.add(nkey)
                counts.created += 1
                batch.append({
                    "case_id": case_id, "rule": rule, "subject": subject, "period": period, "seq": seq,
                    "stage": stage.name, "repeat": repeat, "role": role, "recipient": address,
                    "unit": unit, "caseworker": caseworker, "due_on": due_on, "fire_on": fire_on,
                    "basis": basis, "created_run_id": run_id, "created_at": created_at,
                    "status": "pending", "attempts": 0,
                })
                if len(batch) >= INSERT_BATCH:
                    conn.execute(insert(Notice), batch)
                    batch = []
    if batch:
        conn.execute(insert(Notice), batch)
    counts.cancelled = _refresh_pending(conn, ladder, recipients, current)
    return counts


def _refresh_pending(conn: Connection, ladder: Ladder, recipients: Recipients,
                     current: dict[ObligationKey, str]) -> int:
    """Cancel the pending notices no longer due, and send the others to the role's
    current address (a new leader gets what is still waiting). Returns the cancelled."""
    stale: list[int] = []
    moved: list[tuple[int, str]] = []
    rows = conn.execute(
        select(Notice.id, Notice.case_id, Notice.rule, Notice.subject, Notice.period, Notice.seq, Notice.stage,
               Notice.role, Notice.unit, Notice.recipient)
        .where(Notice.status == "pending")
    ).all()
    for nid, case_id, rule, subject, period, seq, stage_name, role, unit, recipient in rows:
        status = current.get((case_id, rule, subject, period, seq))
        stage = next((s for s in ladder.stages_for(rule) if s.name == stage_name), None)
        address = recipients.address(role, unit)
        if status is None or (stage is not None and not stage.concerns(status)) or address is None:
            stale.append(nid)
        elif address != recipient:
            moved.append((nid, address))
    for nid, address in moved:
        conn.execute(update(Notice).where(Notice.id == nid, Notice.status == "pending").values(recipient=address))
    for i in range(0, len(stale), 500):
        conn.execute(
            update(Notice).where(Notice.id.in_(stale[i:i + 500]), Notice.status == "pending")
            .values(status="cancelled", last_error="no longer due, or no recipient for its role")
        )
    return len(stale)

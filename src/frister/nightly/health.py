"""The night's health: what ``frister health`` checks and the Drift page shows.

Healthy: the last completed nightly run (succeeded or degraded) finished no longer ago
than ``max_age``, and no notice is overdue for delivery (none waiting longer than the
grace, none dead; :func:`frister.escalation.backlog.overdue`), and the same for the unit
leaders' periodic e-mails (:func:`frister.escalation.unit_mails.overdue_unit_mails`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Connection, distinct, func, select

from frister.clock import local_text, utc
from frister.escalation.backlog import overdue
from frister.escalation.unit_mails import overdue_unit_mails
from frister.nightly.models import COMPLETED, NightlyRun
from frister.store.tables import case_changes


@dataclass(frozen=True)
class Health:
    summary: str | None  # the last completed run, or None when there is none
    problems: list[str] = field(default_factory=list)
    changed_cases: int = 0  # imported since the last run, waiting for the next one

    @property
    def ok(self) -> bool:
        return not self.problems


def check(conn: Connection, now: dt.datetime, max_age: dt.timedelta, grace: dt.timedelta,
          max_age_text: str, grace_text: str) -> Health:
    last = conn.execute(
        select(NightlyRun.id, NightlyRun.as_of, NightlyRun.finished_at, NightlyRun.status)
        .where(NightlyRun.status.in_(COMPLETED)).order_by(NightlyRun.finished_at.desc()).limit(1)
    ).first()
    latest = conn.execute(select(NightlyRun.id, NightlyRun.status).order_by(NightlyRun.id.desc()).limit(1)).first()
    waiting = conn.execute(select(func.count(distinct(case_changes.c.case_id)))).scalar_one()
    late = overdue(conn, now, grace)
    problems = []
    summary = None
    if last is None:
        problems.append("no completed nightly run recorded")
    else:
        hours = (now - utc(last.finished_at)).total_seconds() / 3600
        note = f" (latest run {latest.id}: {latest.status})" if latest is not None and latest.id != last.id else ""
        summary = (f"last completed run {last.id} (as of {last.as_of.isoformat()}, {last.status}) "
                   f"finished {hours:.1f} h ago{note}")
        if now - utc(last.finished_at) > max_age:
            problems.append(f"last completed run {last.id} (as of {last.as_of.isoformat()}, {last.status}) "
                            f"finished {hours:.1f} h ago, more than {max_age_text}{note}")
    if late.waiting:
        problems.append(f"{late.waiting} notice(s) waiting for delivery for more than {grace_text} (the oldest "
                        f"since {local_text(late.oldest)} Europe/Oslo): see 'frister notices --status waiting'")
    if late.dead:
        problems.append(f"{late.dead} dead notice(s), never delivered: see 'frister notices --status dead', "
                        "then 'frister notices resend'")
    mails_waiting, mails_dead = overdue_unit_mails(conn, now, grace)
    if mails_waiting:
        problems.append(f"{mails_waiting} unit mail(s) (visit plan, weekly worklist) waiting for delivery for "
                        f"more than {grace_text}")
    if mails_dead:
        problems.append(f"{mails_dead} dead unit mail(s), never delivered: 'frister notices resend --all-dead' "
                        "requeues them")
    return Health(summary, problems, waiting)

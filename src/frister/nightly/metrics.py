"""The night in Prometheus metrics (text exposition format, version 0.0.4).

``frister metrics`` prints them, or writes them whole (temporary file, then rename)
for node_exporter's textfile collector. Gauges only, counts and times, never case
data:

* ``frister_last_success_timestamp_seconds``: when the last run that succeeded ended
  (Unix time; 0 before the first), and ``frister_last_completed_timestamp_seconds``
  likewise for a succeeded or degraded one;
* ``frister_last_run_duration_seconds``: how long the latest finished run took;
* ``frister_last_run_status{status=…}``: 1 for the latest run's status, 0 for the others;
* ``frister_notices{status=…}``: the outbox by status;
* ``frister_notices_overdue_for_delivery``: waiting longer than the delivery grace, or dead;
* ``frister_cases_changed_waiting``: cases changed since the last run (the next one
  re-evaluates them).

An alert on ``time() - frister_last_success_timestamp_seconds > 26 * 3600`` or on
``frister_notices_overdue_for_delivery > 0`` covers what ``frister health`` checks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, distinct, func, select

from frister.clock import utc
from frister.escalation.backlog import overdue, status_counts
from frister.escalation.models import NOTICE_STATUSES
from frister.nightly.models import COMPLETED, NightlyRun
from frister.store.tables import case_changes

RUN_STATUSES = ("running", "succeeded", "degraded", "failed", "interrupted")


@dataclass(frozen=True)
class Metric:
    name: str
    help: str
    samples: tuple[tuple[dict[str, str], float], ...]


def collect(conn: Connection, now: dt.datetime, grace: dt.timedelta) -> list[Metric]:
    """Every metric, as the database says at ``now``."""
    def finished(statuses) -> float:
        last = conn.execute(select(func.max(NightlyRun.finished_at)).where(NightlyRun.status.in_(statuses))).scalar()
        return utc(last).timestamp() if last is not None else 0.0

    latest = conn.execute(select(NightlyRun.status).order_by(NightlyRun.id.desc()).limit(1)).scalar()
    took = conn.execute(select(NightlyRun.started_at, NightlyRun.finished_at)
                        .where(NightlyRun.finished_at.is_not(None)).order_by(NightlyRun.id.desc()).limit(1)).first()
    notices = status_counts(conn)
    late = overdue(conn, now, grace)
    changed = conn.execute(select(func.count(distinct(case_changes.c.case_id)))).scalar_one()
    return [
        Metric("frister_last_success_timestamp_seconds", "When the last nightly run that succeeded finished.",
               (({}, finished(("succeeded",))),)),
        Metric("frister_last_completed_timestamp_seconds",
               "When the last nightly run that completed (succeeded or degraded) finished.",
               (({}, finished(COMPLETED)),)),
        Metric("frister_last_run_duration_seconds", "How long the latest finished nightly run took.",
               (({}, (utc(took.finished_at) - utc(took.started_at)).total_seconds() if took else 0.0),)),
        Metric("frister_last_run_status", "1 for the status of the latest nightly run.",
               tuple(({"status": s}, 1.0 if s == latest else 0.0) for s in RUN_STATUSES)),
        Metric("frister_notices", "Notices in the outbox by status.",
               tuple(({"status": s}, float(notices.get(s, 0))) for s in NOTICE_STATUSES)),
        Metric("frister_notices_overdue_for_delivery",
               "Notices waiting for delivery longer than the grace, or dead.",
               (({}, float(late.waiting + late.dead)),)),
        Metric("frister_cases_changed_waiting", "Cases changed since the last run, for the next one.",
               (({}, float(changed)),)),
    ]


def exposition(metrics: list[Metric]) -> str:
    """The text exposition format: ``# HELP``, ``# TYPE … gauge``, one line per sample."""
    lines = []
    for m in metrics:
        lines += [f"# HELP {m.name} {m.help}", f"# TYPE {m.name} gauge"]
        for labels, value in m.samples:
            shown = ",".join(f'{k}="{v}"' for k, v in labels.items())
            lines.append(f"{m.name}{{{shown}}} {_number(value)}" if shown else f"{m.name} {_number(value)}")
    return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)

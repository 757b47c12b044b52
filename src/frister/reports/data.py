"""What every report reads: results evaluated on the fly, with breach reasons attached.

**As-of date of the data.** Reports do not read the stored ``obligations``: those
reflect one as-of date only (the latest run). Instead a report evaluates every stored
case with the pure core (:func:`frister.evaluation.service.results_for`) as of one
explicit date, the *as-of date of the data*, and keeps the results whose due date (or,
for "concluded in the period" figures, whose met date) falls in the report's window.
Deadlines due in the past are thereby shown with their final outcome as known on that
date, which is what an inspection or a status report asks for, and the same facts,
rules and as-of date always give the same report. The CLI defaults the as-of date to
the as-of date of the latest successful evaluation run (the date the imported data is
current to), else today; ``--as-of`` pins it. Every report states it in its header.

Snapshot figures (children with support measures and plans) are read from the case
facts on a snapshot date ``S`` (the end of the period, or the as-of date when earlier),
counting only events dated on or before ``S``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import Connection

from frister.breaches.service import Explanation, reasons_by_key
from frister.calendar import add_months
from frister.engine.core import evaluate_case
from frister.engine.results import BREACH_STATUSES, Result
from frister.evaluation.service import latest_run
from frister.facts.model import CaseFacts
from frister.rules.model import RuleSet
from frister.store.facts import iter_case_facts

VISIT_RULES = ("foster_home_followup_visits", "foster_home_supervision_visits")


@dataclass(frozen=True, slots=True)
class Row:
    """One result with what the reports add to it."""

    result: Result
    reason: str | None = None  # a reason code, only for breaches
    action: str | None = None
    placed_on: dt.date | None = None  # visit rules: the placement's start

    @property
    def is_breach(self) -> bool:
        return self.result.status in BREACH_STATUSES


@dataclass(frozen=True, slots=True)
class ChildSnapshot:
    """One child (case) with a support measure active on the snapshot date."""

    case_id: str
    unit: str
    has_plan: bool  # an active support measure has a plan made on or before the date
    plan_eligible: bool  # with a plan and measures running for at least 3 months
    evaluated: bool  # eligible, and a plan evaluation in the 6 months up to the date


@dataclass
class ReportData:
    as_of: dt.date
    fingerprint: str
    start: dt.date
    end: dt.date
    rows: list[Row] = field(default_factory=list)
    snapshots: dict[dt.date, list[ChildSnapshot]] = field(default_factory=dict)
    units: list[str] = field(default_factory=list)

    def due_between(self, start: dt.date, end: dt.date) -> list[Row]:
        return [r for r in self.rows if start <= r.result.due_on <= end]


def default_as_of(conn: Connection, today: dt.date) -> dt.date:
    """The as-of date of the latest successful evaluation run, else ``today``."""
    run = latest_run(conn)
    return run.as_of if run is not None else today


def support_snapshot(case: CaseFacts, day: dt.date) -> ChildSnapshot | None:
    """The child's support-measure figures on ``day`` (None without an active support measure)."""
    active = [
        m for m in case.measures
        if m.kind == "support" and m.decided_on <= day and (m.ended_on is None or m.ended_on > day)
    ]
    if not active:
        return None
    with_plan = [m for m in active if m.plan_made_on is not None and m.plan_made_on <= day]
    three_months_ago = add_months(day, -3)
    eligible = [m for m in with_plan if m.decided_on <= three_months_ago]
    window_start = add_months(day + dt.timedelta(days=1), -6)
    evaluated = any(window_start <= e <= day for m in eligible for e in m.evaluations)
    return ChildSnapshot(case.case_id, case.unit, bool(with_plan), bool(eligible), evaluated)


def collect(conn: Connection, rules: RuleSet, as_of: dt.date, start: dt.date, end: dt.date,
            snapshot_days: tuple[dt.date, ...] = ()) -> ReportData:
    """Evaluate every stored case as of ``as_of``; keep results due or met in ``[start, end]``.

    Streams the cases (constant memory per case); only the kept rows and the snapshot
    figures stay in memory. Breach reasons are attached by obligation key.
    """
    reasons = reasons_by_key(conn)
    data = ReportData(as_of=as_of, fingerprint=rules.fingerprint, start=start, end=end)
    data.snapshots = {d: [] for d in snapshot_days}
    units: set[str] = set()
    rule_list = tuple(rules)
    for case in iter_case_facts(conn):
        units.add(case.unit)
        placed = {p.id: p.started_on for p in case.placements}
        for r in evaluate_case(rule_list, case, as_of):
            in_window = start <= r.due_on <= end or (r.met_on is not None and start <= r.met_on <= end)
            if not in_window:
                continue
            explanation: Explanation | None = reasons.get(r.key) if r.is_breach else None
            data.rows.append(Row(
                result=r,
                reason=explanation.reason if explanation else None,
                action=explanation.action if explanation else None,
                placed_on=placed.get(r.subject) if r.rule in VISIT_RULES else None,
            ))
        for day in snapshot_days:
            snap = support_snapshot(case, day)
            if snap is not None:
                data.snapshots[day].append(snap)
    data.units = sorted(units)
    return data


def group_by_unit(rows: list[Row]) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        out[r.result.unit].append(r)
    return out

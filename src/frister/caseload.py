"""Caseload: active cases and open deadlines per caseworker and unit, on a date and at
the end of each of the last twelve months.

**An active case** on day D is a case with at least one *open subject* on D, where a
subject is open from its start to its end (both as recorded, events after D unknown):

========================  ==================  ===========================================
subject                   open from           until
========================  ==================  ===========================================
referral (melding)        ``received_on``     ``concluded_on`` (reviewed)
investigation             ``started_on``      ``concluded_on``
measure (support, care)   ``decided_on``      ``ended_on``
placement                 ``started_on``      ``ended_on``
care order                ``decided_on``      the child's 18th birthday (it lapses then)
========================  ==================  ===========================================

A subject is open on its start day and no longer on its end day. A case counts once
for each caseworker and once for each unit holding one of its open subjects (the unit
and caseworker of the step, else the case's), and once in the service's total; a
unit's figure in the tree (:mod:`frister.organisation`) counts a case once however many
of its teams hold it. Emergency decisions are not counted: the placement or measure
that follows them is.

**Open deadlines** are the obligations ``open`` or ``overdue`` on D, evaluated as of D
by the one evaluator (:mod:`frister.engine.evaluate`), credited like the lines of the
worklist: to the unit and caseworker holding their step.

The twelve months: the last day of each of the eleven months before D's month, then D.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from sqlalchemy import Connection

from frister.calendar import add_months, birthday, to_day
from frister.engine.evaluate import Evaluation
from frister.engine.results import STATUSES
from frister.evaluation.parallel import map_evaluations
from frister.organisation import Organisation
from frister.rules.model import RuleSet

OPEN = (("referral", "received_on", "concluded_on"), ("investigation", "started_on", "concluded_on"),
        ("measure", "decided_on", "ended_on"), ("placement", "started_on", "ended_on"),
        ("care_order", "decided_on", None))
_OPEN_STATUSES = (STATUSES.index("open"), STATUSES.index("overdue"))


def month_ends(day: dt.date, months: int = 12) -> list[dt.date]:
    """The last day of each of the ``months - 1`` months before ``day``'s, then ``day``."""
    first = day.replace(day=1)
    return [add_months(first, 1 - k) - dt.timedelta(days=1) for k in range(months - 1, 0, -1)] + [day]


@dataclass
class Caseload:
    as_of: dt.date
    days: list[dt.date]  # the month ends, the last one the as-of date
    # (unit, caseworker or "") -> active cases on each day; and the service's total
    active: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    unit_active: dict[str, list[int]] = field(default_factory=dict)  # by the tree, a case once
    total: list[int] = field(default_factory=list)
    open_deadlines: dict[tuple[str, str], int] = field(default_factory=dict)  # open + overdue on as_of
    overdue: dict[tuple[str, str], int] = field(default_factory=dict)

    def unit_deadlines(self, units: list[str], which: str = "open") -> int:
        source = self.open_deadlines if which == "open" else self.overdue
        return sum(n for (u, _), n in source.items() if u in units)

    def caseworkers(self, units: list[str]) -> list[tuple[str, str]]:
        """The (unit, caseworker) keys held in ``units`` that have active cases or open
        deadlines on the as-of date, by unit then caseworker."""
        keys = {k for k, v in self.active.items() if v[-1]} | set(self.open_deadlines)
        return sorted(k for k in keys if k[0] in units)


def caseload(conn: Connection, rules: RuleSet, as_of: dt.date, organisation: Organisation | None = None,
             workers: int = 2) -> Caseload:
    """Count active cases on each month end and open deadlines on ``as_of`` (see the module)."""
    days = month_ends(as_of)
    result = Caseload(as_of, days, total=[0] * len(days))
    ancestors = (lambda unit: organisation.chain(unit)) if organisation else (lambda unit: [unit])
    for part in map_evaluations(conn, rules, as_of, partial(_count, days=[to_day(d) for d in days]), workers):
        pairs, per_unit_cases, total, deadlines = part
        for key, counts in pairs.items():
            row = result.active.setdefault(key, [0] * len(days))
            for i, n in enumerate(counts):
                row[i] += n
        for i, n in enumerate(total):
            result.total[i] += n
        for i, held in enumerate(per_unit_cases):  # per day: case -> the units holding it
            counted: dict[str, set] = {}
            for case, units in held.items():
                for unit in {a for u in units for a in ancestors(u)}:
                    counted.setdefault(unit, set()).add(case)
            for unit, cases in counted.items():
                result.unit_active.setdefault(unit, [0] * len(days))[i] += len(cases)
        for (unit, caseworker, status), n in deadlines.items():
            result.open_deadlines[(unit, caseworker)] = result.open_deadlines.get((unit, caseworker), 0) + n
            if status == STATUSES.index("overdue"):
                result.overdue[(unit, caseworker)] = result.overdue.get((unit, caseworker), 0) + n
    return result


def _count(ev: Evaluation, days: list[int]):
    """In a worker: per day the active (case, unit, caseworker) pairs, counted per
    (unit, caseworker); the units holding each case (for the tree); the service total;
    and the open deadlines on the as-of date per (unit, caseworker, status)."""
    batch = ev.batch
    birth = batch.cases["child_birth_date"]
    pairs: dict[tuple[str, str], list[int]] = {}
    per_unit: list[dict[int, set]] = [dict() for _ in days]
    total = []
    for i, day in enumerate(days):
        case_parts, unit_parts, worker_parts = [], [], []
        for name, start, end in OPEN:
            t = batch.tables[name]
            if not len(t):
                continue
            begins = t.fields[start]
            ends = t.fields[end] if end else birthday(birth[t.case], 18)
            open_now = (begins <= day) & (ends > day)  # a missing start is NONE: never open
            case_parts.append(t.case[open_now])
            unit_parts.append(t.unit[open_now])
            worker_parts.append(t.caseworker[open_now])
        if not case_parts:
            total.append(0)
            continue
        case = np.concatenate(case_parts)
        unit = np.concatenate(unit_parts)
        worker = np.array([w or "" for w in np.concatenate(worker_parts)], dtype=object)
        total.append(len(np.unique(case)))
        seen = set(zip(case.tolist(), unit.tolist(), worker.tolist()))
        for _, u, w in seen:
            pairs.setdefault((u, w), [0] * len(days))[i] += 1
        for c, u, _ in seen:
            per_unit[i].setdefault(c, set()).add(u)
    deadlines: dict[tuple[str, str, int], int] = {}
    for p in ev.parts:
        mine = np.isin(p.status, _OPEN_STATUSES)
        if not mine.any():
            continue
        rows = p.row[mine]
        for u, w, s in zip(p.table.unit[rows].tolist(), p.table.caseworker[rows].tolist(), p.status[mine].tolist()):
            key = (u, w or "", int(s))
            deadlines[key] = deadlines.get(key, 0) + 1
    # Case numbers are per batch: make them global with the batch's first case id.
    offset = batch.case_ids[0] if batch.case_ids else ""
    per_unit_global = [{(offset, c): units for c, units in held.items()} for held in per_unit]
    return pairs, per_unit_global, total, deadlines

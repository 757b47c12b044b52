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
    count = counter(as_of, organisation)
    return merge(as_of, month_ends(as_of), map_evaluations(conn, rules, as_of, count, workers))


def counter(day: dt.date, organisation: Organisation | None = None):
    """The function that counts one evaluated batch for :func:`merge` (picklable, so it
    can run where the batch was evaluated, e.g. as a report's ``also``): active cases at
    the month ends up to ``day``, open deadlines as the batch was evaluated."""
    chains = {code: tuple(organisation.chain(code)) for code in organisation.units} if organisation else {}
    return partial(_count, days=tuple(to_day(d) for d in month_ends(day)), chains=chains)


def merge(as_of: dt.date, days: list[dt.date], parts) -> Caseload:
    """The :class:`Caseload` of the batches' counts. A case lives in one batch, so the
    batches' counts of cases add up."""
    n = len(days)
    result = Caseload(as_of, days, total=[0] * n)
    for pairs, per_unit, total, deadlines in parts:
        for target, source in ((result.active, pairs), (result.unit_active, per_unit)):
            for key, counts in source.items():
                row = target.setdefault(key, [0] * n)
                for i, c in enumerate(counts):
                    row[i] += int(c)
        for i, c in enumerate(total):
            result.total[i] += int(c)
        for (unit, caseworker, status), c in deadlines.items():
            key = (unit, caseworker)
            result.open_deadlines[key] = result.open_deadlines.get(key, 0) + c
            if status == STATUSES.index("overdue"):
                result.overdue[key] = result.overdue.get(key, 0) + c
    return result


def _codes(values: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Labels and the index of each value in them (None counts as "")."""
    labels, index = np.unique(np.where(values == None, "", values).astype(str), return_inverse=True)  # noqa: E711
    return labels.tolist(), index.reshape(-1).astype(np.int64)


def _count(ev: Evaluation, days: tuple[int, ...], chains: dict[str, tuple[str, ...]]):
    """In a worker: per (unit, caseworker) and per unit of the tree (``chains``: a unit's
    code and those above it) the active cases on each day; the batch's active cases per
    day; the open and overdue deadlines per (unit, caseworker, status)."""
    batch = ev.batch
    birth = batch.cases["child_birth_date"]
    parts = [(t, t.fields[start], t.fields[end] if end else birthday(birth[t.case], 18))
             for name, start, end in OPEN if len((t := batch.tables[name]))]
    n = len(days)
    if not parts:
        return {}, {}, [0] * n, _deadlines(ev)
    case = np.concatenate([t.case for t, _, _ in parts]).astype(np.int64)
    begins = np.concatenate([b for _, b, _ in parts])
    ends = np.concatenate([e for _, _, e in parts])
    units, unit = _codes(np.concatenate([t.unit for t, _, _ in parts]))
    workers, worker = _codes(np.concatenate([t.caseworker for t, _, _ in parts]))
    # The tree: each unit label's chain as codes into ``tree`` (a unit outside the file: itself).
    tree = sorted({a for u in units for a in chains.get(u, (u,))} - {""})
    chain = [[tree.index(a) for a in chains.get(u, (u,)) if a] for u in units]
    lengths = np.array([len(c) for c in chain], dtype=np.int64)
    flat = np.array([a for c in chain for a in c], dtype=np.int64)
    first = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    pair_key = unit * len(workers) + worker
    npairs = len(units) * len(workers)
    pairs = np.zeros((npairs, n), dtype=np.int64)
    per_unit = np.zeros((len(tree), n), dtype=np.int64)
    total = []
    for i, day in enumerate(days):
        now = (begins <= day) & (ends > day)  # a missing start is NONE: never open
        c, k, u = case[now], pair_key[now], unit[now]
        total.append(len(np.unique(c)))
        seen = np.unique(c * npairs + k) % npairs  # a case once per (unit, caseworker)
        pairs[:, i] = np.bincount(seen, minlength=npairs)
        held = np.unique(c * len(units) + u)  # (case, unit) once
        hc, hu = held // len(units), held % len(units)
        reps = lengths[hu]
        offset = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
        above = flat[np.repeat(first[hu], reps) + offset]
        once = np.unique(np.repeat(hc, reps) * max(len(tree), 1) + above) % max(len(tree), 1)  # a case once per unit
        per_unit[:, i] = np.bincount(once, minlength=len(tree))
    active = {(units[j // len(workers)], workers[j % len(workers)]): row.tolist()
              for j, row in enumerate(pairs) if row.any()}
    return active, {tree[j]: row.tolist() for j, row in enumerate(per_unit) if row.any()}, total, _deadlines(ev)


def _deadlines(ev: Evaluation) -> dict[tuple[str, str, int], int]:
    """The open and overdue obligations of a batch per (unit, caseworker, status)."""
    out: dict[tuple[str, str, int], int] = {}
    for p in ev.parts:
        mine = np.isin(p.status, _OPEN_STATUSES)
        if not mine.any():
            continue
        rows = p.row[mine]
        units, unit = _codes(p.table.unit[rows])
        workers, worker = _codes(p.table.caseworker[rows])
        status = p.status[mine].astype(np.int64)
        keys, counts = np.unique((unit * len(workers) + worker) * len(STATUSES) + status, return_counts=True)
        for key, c in zip(keys.tolist(), counts.tolist()):
            pair, st = divmod(key, len(STATUSES))
            k = (units[pair // len(workers)], workers[pair % len(workers)], st)
            out[k] = out.get(k, 0) + c
    return out

"""Evaluate the stored cases and store the results: the one run loop.

:func:`evaluate_and_store` is what ``frister evaluate`` and every night run, inside the
caller's transaction (readers see either the previous run's obligations or this run's,
never a mix). Its steps:

1. **Start the run**: take the run's turn, record it, read the previous run.
2. **Choose the scope**: every case (a *full* run: the first, after a change of rules,
   or when going back in time), or only the cases whose facts changed since the last
   run (logged in ``case_changes`` by the database) and those whose results expired
   (``stable_until`` before the as-of date; see :mod:`frister.engine.evaluate`).
3. **Per part** of the scope, on worker processes when it pays
   (:mod:`frister.evaluation.parallel`): read what is stored for its cases, evaluate
   them, and compare: a :class:`Delta` of the obligations to delete and insert and the
   case records to write. Only what is gone, new or different is written (an overdue
   one's ``days_late`` aside: readers take it from :func:`shown_days_late`).
4. **Write** each part's delta as it comes.
5. **Finish**: the run's totals (the previous run's, less the counts of the cases
   re-evaluated, plus their new counts) and its record.

The obligations stored are the same whatever the scope (apart from ``run_id`` and the
days late of overdue ones); the work is proportional to the scope.

**What is stored.** ``obligations`` holds what needs attention or was broken: every
obligation that is ``open``, ``overdue`` or ``late``. An obligation met in time is
counted (per case in ``case_evaluations``, in total on the run) but not stored; anything
that wants it (reports, ``frister evaluate``) evaluates the facts again.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass, field
from itertools import repeat
from typing import Callable, Iterator, Sequence

import numpy as np

from sqlalchemy import Connection, Date, Engine, delete, insert, select, update
from sqlalchemy.orm import Session

from frister.calendar import from_day
from frister.db import dialect
from frister.engine.batch import batch_from_records
from frister.engine.evaluate import Evaluation, evaluate, iso_text
from frister.engine.results import STATUSES, Result
from frister.evaluation.models import CaseEvaluation, EvaluationRun, Obligation
from frister.evaluation.parallel import Part, map_evaluations, map_parts, parts_of
from frister.rules.model import RuleSet
from frister.store.facts import read_batches
from frister.store.tables import case_changes

STORED_STATUSES = ("late", "open", "overdue")
OBLIGATION_COLUMNS = tuple(c.name for c in Obligation.__table__.columns)
OBLIGATION_KEY = tuple(c.name for c in Obligation.__table__.primary_key.columns)
CASE_EVALUATION_COLUMNS = ("case_id", "fingerprint", "evaluated_as_of", "stable_until") + STATUSES
# The columns compared to tell whether a stored obligation is still right.
COMPARED_COLUMNS = tuple(c for c in OBLIGATION_COLUMNS if c != "run_id")
_RUN_ID = OBLIGATION_COLUMNS.index("run_id")
_STATUS, _DAYS_LATE = COMPARED_COLUMNS.index("status"), COMPARED_COLUMNS.index("days_late")
_STORED_COUNTS = tuple(STATUSES.index(s) for s in STORED_STATUSES)
_QUOTED_STATUSES = ", ".join(f'"{s}"' for s in STATUSES)  # "open" is a word SQL knows


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class RunSummary:
    run_id: int | None
    as_of: dt.date
    cases: int = 0  # stored cases
    obligations: int = 0  # obligations as of the run (met ones included, though not stored)
    by_status: Counter = field(default_factory=Counter)
    mode: str = "full"
    evaluated: int = 0  # cases this run evaluated (all of them in a full run)

    def line(self) -> str:
        counts = ", ".join(f"{self.by_status.get(s, 0)} {s}" for s in STATUSES)
        scope = "" if self.mode == "full" else f" ({self.evaluated} re-evaluated)"
        return (f"evaluated {self.cases} case(s){scope} as of {self.as_of.isoformat()}: "
                f"{self.obligations} obligations ({counts})")


@dataclass
class Totals:
    """Cases with stored results and their obligations per status (in STATUSES order)."""

    cases: int = 0
    by_status: list[int] = field(default_factory=lambda: [0] * len(STATUSES))

    def add(self, counts: Sequence[int], sign: int = 1) -> None:
        self.cases += sign
        for i, n in enumerate(counts):
            self.by_status[i] += sign * n

    def merge(self, other: "Totals") -> None:
        self.cases += other.cases
        self.by_status = [a + b for a, b in zip(self.by_status, other.by_status)]


@dataclass
class Delta:
    """What a run writes for a part of its cases: obligation keys to delete and rows to
    insert, case records to update or insert and the ids whose record goes, and how the
    run's totals move. Plain lists: it may cross from a worker process."""

    deleted: list[tuple] = field(default_factory=list)
    inserted: list[tuple] = field(default_factory=list)
    updated: list[tuple] = field(default_factory=list)
    new: list[tuple] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    totals: Totals = field(default_factory=Totals)
    evaluated: int = 0


# --- 1.–5. the run ---------------------------------------------------------------------------


def evaluate_and_store(conn: Connection, rules: RuleSet, as_of: dt.date, kind: str = "evaluate",
                       now: Callable[[], dt.datetime] = utcnow, incremental: bool = False,
                       workers: int = 2) -> RunSummary:
    """Evaluate and store inside the caller's transaction (see the module docstring).
    ``incremental`` asks for the changed and expired cases only; it falls back to a
    full run when there is no earlier run with the same rules or ``as_of`` is earlier."""
    run_id, previous = _start(conn, rules, as_of, kind, now)
    full = not (incremental and previous is not None and previous.rules_fingerprint == rules.fingerprint
                and previous.as_of <= as_of)
    totals = Totals() if full else Totals(previous.cases, [getattr(previous, s) for s in STATUSES])
    evaluated = 0
    result_tables = [Obligation.__table__, CaseEvaluation.__table__]
    if full:
        _empty_results(conn)
    with dialect.rebuilt_indexes(conn, result_tables) if full else nullcontext():
        parts = parts_of(conn, None if full else _stale_ids(conn, as_of), workers)
        for delta in map_parts(conn, parts, _work(tuple(rules), as_of, run_id), workers):
            _write(conn, delta)
            totals.merge(delta.totals)
            evaluated += delta.evaluated
    summary = RunSummary(run_id, as_of, totals.cases, sum(totals.by_status),
                         Counter({s: n for s, n in zip(STATUSES, totals.by_status) if n}),
                         "full" if full else "incremental", evaluated)
    conn.execute(update(EvaluationRun).where(EvaluationRun.id == run_id).values(
        finished_at=now(), status="succeeded", mode=summary.mode, cases=summary.cases,
        obligations=summary.obligations, evaluated=evaluated, **dict(zip(STATUSES, totals.by_status))))
    return summary


def _start(conn: Connection, rules: RuleSet, as_of: dt.date, kind: str, now) -> tuple[int, EvaluationRun | None]:
    """1. Take the run's turn, record the run and read the previous one (once the turn
    is held, so that an incremental run's totals start from it)."""
    dialect.serialise_runs(conn, EvaluationRun.__tablename__)
    run_id = conn.execute(insert(EvaluationRun).values(
        kind=kind, as_of=as_of, started_at=now(), status="running", rules_fingerprint=rules.fingerprint,
        cases=0, obligations=0, mode="full", evaluated=0, **dict.fromkeys(STATUSES, 0),
    ).returning(EvaluationRun.id)).scalar_one()
    return run_id, latest_run(conn)


def _empty_results(conn: Connection) -> None:
    """2. (full) Every case is read after this, so every logged change is seen."""
    conn.execute(delete(case_changes))
    conn.execute(delete(Obligation))
    conn.execute(delete(CaseEvaluation))


def _stale_ids(conn: Connection, as_of: dt.date) -> list[str]:
    """2. (incremental) The cases logged in ``case_changes`` (this takes the log's rows,
    inside the run's transaction: a change committed meanwhile stays for the next run)
    and those whose results expired by ``as_of`` (an index range on ``stable_until``)."""
    changed = conn.execute(delete(case_changes).returning(case_changes.c.case_id)).scalars().all()
    e = CaseEvaluation
    expired = conn.execute(select(e.case_id).where(e.stable_until < as_of)).scalars().all()
    return sorted(set(changed).union(expired))


def _work(rules: tuple, as_of: dt.date, run_id: int):
    """3. What is done with one part, on whichever process: ``(connection, part) -> deltas``."""

    def work(conn: Connection, part: Part) -> Iterator[Delta]:
        if part.case_ids is None:  # a range of every case; nothing is stored for them
            for batch in read_batches(conn, after=part.after, until=part.until):
                yield compare(evaluate(rules, batch, as_of), Stored(), run_id)
            return
        with dialect.planned_for_key_lookups(conn):
            for i in range(0, len(part.case_ids), part.chunk):
                ids = part.case_ids[i:i + part.chunk]
                stored = Stored.read(conn, ids)
                batch = next(read_batches(conn, ids), None) or batch_from_records([])  # all removed
                yield compare(evaluate(rules, batch, as_of), stored, run_id)

    return work


def rows_to_store(ev: Evaluation, run_id: int) -> tuple[list[tuple], list[tuple]]:
    """The obligations not met in time (database-ready tuples in
    :data:`OBLIGATION_COLUMNS` order) and a record per case (in
    :data:`CASE_EVALUATION_COLUMNS` order) of an evaluated batch."""
    cols = ev.columns(STORED_STATUSES)
    obligations: list[tuple] = []
    if cols:
        cols["run_id"] = repeat(run_id)
        obligations = list(zip(*(cols[name] for name in OBLIGATION_COLUMNS)))
    b = ev.batch
    as_of = from_day(ev.as_of).isoformat()
    until = iso_text(ev.stable_until).tolist()
    cases = list(zip(b.case_ids, b.fingerprints, repeat(as_of), until, *ev.case_counts().T.tolist()))
    return obligations, cases


def compare(ev: Evaluation, stored: "Stored", run_id: int) -> Delta:
    """3. What makes the stored rows of a batch's cases its evaluation's: an obligation
    is deleted, inserted, or deleted and inserted again only when it is gone, new or
    different; a case's record is updated, inserted or deleted."""
    obligations, cases = rows_to_store(ev, run_id)
    counts = ev.case_counts()
    delta = Delta(evaluated=len(cases),
                  totals=Totals(len(cases), counts.sum(axis=0).tolist() if len(cases) else [0] * len(STATUSES)))
    for before in stored.counts.values():
        delta.totals.add(before, -1)
    if not stored.obligations and not stored.counts:  # nothing stored for these cases (a full run)
        delta.inserted, delta.new = obligations, cases
        return delta
    old = stored.obligations
    for row in obligations:
        key = row[:len(OBLIGATION_KEY)]
        before = old.pop(key, None)
        if before is None or before != _compared(row):
            delta.inserted.append(row)
            if before is not None:
                delta.deleted.append(key)
    delta.deleted.extend(old)  # no longer stored: met, or the case is gone
    for row in cases:
        (delta.updated if row[0] in stored.counts else delta.new).append(row)
    delta.gone = sorted(set(stored.counts).difference(row[0] for row in cases))
    return delta


def _compared(row: tuple) -> tuple:
    """An obligations row as compared with the stored one (no run id)."""
    return _comparable(row[:_RUN_ID] + row[_RUN_ID + 1:])


def _comparable(values: tuple) -> tuple:
    """The days late of an overdue obligation grow every night and are not compared."""
    if values[_STATUS] == "overdue":
        return values[:_DAYS_LATE] + (None,) + values[_DAYS_LATE + 1:]
    return values


@dataclass
class Stored:
    """What is stored for some cases: their obligations (key → :func:`_comparable`
    values, dates as ``YYYY-MM-DD`` text as they are written) and their counts per
    status in ``case_evaluations``."""

    obligations: dict[tuple, tuple] = field(default_factory=dict)
    counts: dict[str, tuple] = field(default_factory=dict)

    @classmethod
    def read(cls, conn: Connection, case_ids: list[str]) -> "Stored":
        """The case records first, then the obligations of the cases whose record
        counts stored ones (``late``, ``open``, ``overdue``): every run writes a case's
        record and its stored obligations together, so a record that counts none means
        there are none."""
        sql = dialect.Reader(conn)
        cols = ", ".join(sql.date_text(c.name) if isinstance(c.type, Date) else f'"{c.name}"'
                         for c in Obligation.__table__.columns if c.name in COMPARED_COLUMNS)
        where, params = sql.among(case_ids)
        cur = conn.connection.driver_connection.cursor()
        try:
            with dialect.gc_paused():
                cur.execute(f"SELECT case_id, {_QUOTED_STATUSES} "
                            f"FROM {CaseEvaluation.__tablename__} WHERE {where}", params)
                counts = {row[0]: row[1:] for row in cur.fetchall()}
                holding = [c for c in case_ids if any(counts.get(c, (0,) * len(STATUSES))[i] for i in _STORED_COUNTS)]
                obligations = {}
                if holding:
                    where, params = sql.among(holding)
                    cur.execute(f"SELECT {cols} FROM {Obligation.__tablename__} WHERE {where}", params)
                    obligations = {row[:len(OBLIGATION_KEY)]: _comparable(row) for row in cur.fetchall()}
        finally:
            cur.close()
        return cls(obligations, counts)


def _write(conn: Connection, delta: Delta) -> None:
    """4. Write one part's delta."""
    key_types = {"seq": "int"}
    dialect.delete_keys(conn, Obligation.__tablename__, [(k, key_types.get(k, "text")) for k in OBLIGATION_KEY],
                        delta.deleted)
    dialect.bulk_insert(conn, Obligation.__table__, OBLIGATION_COLUMNS, delta.inserted, ready=True)
    types = ("text", "date", "date") + ("int",) * len(STATUSES)
    dialect.update_rows(conn, CaseEvaluation.__tablename__, ("case_id", "text"),
                        list(zip(CASE_EVALUATION_COLUMNS[1:], types)), delta.updated)
    dialect.delete_keys(conn, CaseEvaluation.__tablename__, [("case_id", "text")], [(c,) for c in delta.gone])
    dialect.bulk_insert(conn, CaseEvaluation.__table__, CASE_EVALUATION_COLUMNS, delta.new, ready=True)


# --- around a run ---------------------------------------------------------------------------


def run_evaluation(engine: Engine, rules: RuleSet, as_of: dt.date, kind: str = "evaluate",
                   now: Callable[[], dt.datetime] = utcnow, incremental: bool = False) -> RunSummary:
    """:func:`evaluate_and_store` in a transaction of its own."""
    with engine.begin() as conn:
        summary = evaluate_and_store(conn, rules, as_of, kind, now, incremental)
    if summary.mode == "full":
        dialect.after_bulk_write(engine, [Obligation.__tablename__, CaseEvaluation.__tablename__,
                                          case_changes.name])
    return summary


def results_for(conn: Connection, rules: RuleSet, as_of: dt.date, case_ids: Sequence[str] | None = None
                ) -> Iterator[Result]:
    """The results of every stored case (or the given ones), evaluated as of ``as_of``."""
    rule_list = tuple(rules)
    for batch in read_batches(conn, case_ids):
        yield from evaluate(rule_list, batch, as_of).results()


def count_obligations(conn: Connection, rules: RuleSet, as_of: dt.date, workers: int = 2,
                      by_duty: bool = False) -> Counter:
    """Evaluate every stored case as of ``as_of`` and store nothing: obligations per
    ``(rule, status)`` (``by_duty``: per ``(rule, kind of duty, status)``). What
    ``frister evaluate --no-store --format summary`` shows."""
    counts: Counter = Counter()
    for part in map_evaluations(conn, rules, as_of, lambda ev: _rule_status_counts(ev, by_duty), workers):
        counts.update(part)
    return counts


def _rule_status_counts(ev: Evaluation, by_duty: bool) -> Counter:
    counts: Counter = Counter()
    for part in ev.parts:
        duties = np.array([v.duty for v in part.rule.versions], dtype=object)[part.version] if by_duty else None
        for duty in sorted(set(duties)) if by_duty else [None]:
            mine = part.status if duty is None else part.status[duties == duty]
            for status, n in enumerate(np.bincount(mine, minlength=len(STATUSES)).tolist()):
                if n or duty is None:
                    counts[(part.rule.id, STATUSES[status]) if duty is None else (part.rule.id, duty,
                                                                                    STATUSES[status])] += n
    return counts


def shown_days_late(status: str, due_on: dt.date, stored: int, as_of: dt.date) -> int:
    """The days late of a stored obligation as of ``as_of`` (the latest run's date).

    An ``overdue`` obligation grows a day later every night without changing otherwise,
    so its stored ``days_late`` is as of the run that last evaluated its case, and
    readers show ``as_of − due_on``; rewriting every overdue row every night would make
    a night's work proportional to the whole backlog. Other statuses are stored as they
    are (``late``: done − due; ``open``: 0)."""
    return (as_of - due_on).days if status == "overdue" else stored


def latest_run(conn: Connection, kind: str | None = None) -> EvaluationRun | None:
    stmt = select(EvaluationRun).where(EvaluationRun.status == "succeeded").order_by(EvaluationRun.id.desc()).limit(1)
    if kind:
        stmt = stmt.where(EvaluationRun.kind == kind)
    with Session(bind=conn) as s:
        run = s.execute(stmt).scalar_one_or_none()
        if run is not None:
            s.expunge(run)
        return run

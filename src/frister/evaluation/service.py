"""Evaluate every stored case and store the results (the adapter around the evaluators).

A run reads the cases out of the database in chunks, evaluates them, and writes the
results in batches, all in one transaction: readers see either the previous run's
obligations or this run's, never a mix. The run record (as-of date, rules fingerprint,
counts) is committed with them. Evaluating the same facts as of the same date gives
identical obligation rows.

**What is stored.** ``obligations`` holds what needs attention or was broken: every
obligation that is ``open``, ``overdue`` or ``late``. An obligation met in time is
counted (per case in ``case_evaluations``, in total on the run) but not stored: at
national scale that is 85 % of ten years of history, and anything that wants it
(reports, ``frister evaluate --case``) recomputes it from the facts, the core being pure.

**Which evaluator.** Runs use the columnar evaluator (:mod:`frister.engine.columnar`,
read by :mod:`frister.store.columns`); with ``on_result`` (the CLI shows every result
with its explanation) the run goes through the pure core case by case instead. Both
store the same rows (``tests/evaluation/test_service.py`` checks it).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import repeat
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from sqlalchemy import Connection, Date, Engine, Index, delete, insert, select, text, update

from frister.db.bulk import bulk_insert, gc_paused
from frister.db.engine import vacuum
from frister.engine import columnar
from frister.engine.core import evaluate_case, evaluate_case_until
from frister.engine.results import STATUSES, Result
from frister.evaluation.models import CaseEvaluation, EvaluationRun, Obligation
from frister.evaluation.parallel import can_fork, map_evaluations, map_parts
from frister.rules.model import RuleSet
from frister.store.columns import ARRAY_PARAMETER as _ARRAY, among, iter_batches
from frister.store.facts import iter_case_facts
from frister.store.models import CaseChange

WRITE_BATCH = 5000
REPLACE_CHUNK = 5000  # cases an incremental run replaces at a time (in one process)
INCREMENTAL_PARALLEL_FROM = 2000  # stale cases: from here on, workers read and compare (_map_deltas)
PIPELINE_CHUNK = 1000  # cases a worker reads and compares at a time, so writing starts early
LOOKUP_PAGE_COST = 1.1  # PostgreSQL's random_page_cost for an incremental run (see _favour_key_lookups)
STORED_STATUSES = ("late", "open", "overdue")
_STORED = tuple(columnar.STATUS_NAMES.index(s) for s in STORED_STATUSES)


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


OBLIGATION_COLUMNS = (
    "case_id", "rule", "subject", "period", "seq", "run_id", "unit", "caseworker", "status", "due_on", "met_on",
    "days_late", "required", "done", "rule_version", "anchor_on", "confidence",
    "extension_requested_on", "extension_granted", "extension_reason", "extension_applied",
    "reduction_decided_on", "reduction_applied", "reduction_note", "responsible",
)
CASE_EVALUATION_COLUMNS = ("case_id", "fingerprint", "evaluated_as_of", "stable_until") + STATUSES


def obligation_values(r: Result, run_id: int) -> tuple:
    """The ``obligations`` row of a result, in :data:`OBLIGATION_COLUMNS` order."""
    return (
        r.case_id, r.rule, r.subject, r.period or "", r.seq, run_id, r.unit, r.caseworker, r.status, r.due_on,
        r.met_on, r.days_late, r.required, r.done, r.rule_version, r.anchor_on, r.confidence,
        r.extension_requested_on, r.extension_granted, r.extension_reason, r.extension_applied,
        r.reduction_decided_on, r.reduction_applied, r.reduction_note, r.responsible,
    )


def results_for(conn: Connection, rules: RuleSet, as_of: dt.date, case_ids=None) -> Iterator[Result]:
    """Stream the results of every stored case (or the given ones)."""
    rule_list = tuple(rules)
    for case in iter_case_facts(conn, case_ids):
        yield from evaluate_case(rule_list, case, as_of)


def count_obligations(conn: Connection, rules: RuleSet, as_of: dt.date, workers: int = 2) -> Counter:
    """Evaluate every stored case as of ``as_of`` and store nothing: obligations per
    ``(rule, status)``. What ``frister evaluate --no-store --format summary`` shows.
    Large sets are evaluated by ``workers`` processes (:mod:`frister.evaluation.parallel`)."""
    counts: Counter = Counter()
    for part in map_evaluations(conn, rules, as_of, _rule_status_counts, workers):
        counts.update(part)
    return counts


def _rule_status_counts(ev: columnar.Evaluation) -> Counter:
    counts: Counter = Counter()
    for part in ev.parts:
        for status, n in enumerate(np.bincount(part.status, minlength=4).tolist()):
            counts[(part.rule.id, columnar.STATUS_NAMES[status])] += n
    return counts


def evaluate_and_store(
    conn: Connection,
    rules: RuleSet,
    as_of: dt.date,
    kind: str = "evaluate",
    now: Callable[[], dt.datetime] = utcnow,
    on_result: Callable[[Result], None] | None = None,
    incremental: bool = False,
    workers: int = 2,
) -> RunSummary:
    """Evaluate the cases and store the obligations, inside the caller's transaction.

    A full run evaluates every case and replaces every obligation. An incremental run
    (``incremental=True``, used by the nightly job) evaluates only the cases whose facts
    changed since they were last evaluated or whose results expired by ``as_of`` (see
    :func:`frister.engine.evaluate_case_until`), and writes only those of their obligations
    that are new, gone or different (:meth:`_Writer.take`). The stored obligations are
    then the same as a full run would store (apart from ``run_id``, and ``days_late`` of
    overdue ones, which readers take from :func:`shown_days_late`); the work is
    proportional to what changed plus what falls due. It falls
    back to a full run when there is no earlier run with the same rules, or when
    ``as_of`` is before the last run's.

    ``on_result`` sees every result this run computes (all of them in a full run).
    Without it, a full run of many cases, and an incremental run of a few thousand,
    reads and evaluates on ``workers`` processes (:mod:`frister.evaluation.parallel`)
    while this one writes.
    """
    # One run at a time, and the previous run read once the lock is held: an incremental
    # run's totals start from it. PostgreSQL: a table lock that runs take and readers do
    # not conflict with. SQLite: inserting the run record takes the database's one write
    # lock before the previous run is read.
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"LOCK TABLE {EvaluationRun.__tablename__} IN SHARE ROW EXCLUSIVE MODE"))
    run_id = conn.execute(
        insert(EvaluationRun).values(
            kind=kind, as_of=as_of, started_at=now(), status="running", rules_fingerprint=rules.fingerprint,
            cases=0, obligations=0, met=0, late=0, open=0, overdue=0, mode="full", evaluated=0,
        ).returning(EvaluationRun.id)
    ).scalar_one()
    previous = latest_run(conn)
    mode = "incremental" if incremental and previous is not None and previous.rules_fingerprint == rules.fingerprint \
        and previous.as_of <= as_of else "full"
    summary = RunSummary(run_id, as_of, mode=mode)
    rule_list = tuple(rules)
    writer = _Writer(conn, run_id, as_of, collect=mode != "full")
    rebuild: list[Index] = []
    totals = _Totals()

    def core(cases: Iterable) -> None:  # with on_result: case by case through the pure core
        for case, fingerprint in cases:
            results, until = evaluate_case_until(rule_list, case, as_of)
            writer.case(case.case_id, fingerprint, until, results)
            for r in results:
                on_result(r)

    if mode == "full":
        rebuild = _drop_secondary_indexes(conn)
        # Every case is read after this statement, so every logged change is seen.
        conn.execute(delete(CaseChange))
        conn.execute(delete(Obligation))
        conn.execute(delete(CaseEvaluation))
        if on_result is None:
            for rows in map_evaluations(conn, rule_list, as_of, _rows_to_store, workers):
                with gc_paused():
                    writer.rows(*rows)
        else:
            core(iter_case_facts(conn, with_fingerprint=True))
            writer.flush()
    else:
        totals = _Totals.of_run(previous)
        ids = _stale_ids(conn, as_of)
        with _favour_key_lookups(conn):
            if on_result is None:
                for delta in _map_deltas(conn, rule_list, as_of, run_id, ids, workers):
                    writer.apply(delta)
            else:
                for delta in _deltas(conn, ids, REPLACE_CHUNK, writer,
                                     lambda part: core(iter_case_facts(conn, part, with_fingerprint=True))):
                    writer.apply(delta)
    summary.evaluated = writer.evaluated
    for index in rebuild:
        index.create(conn)
    if mode == "full" and conn.dialect.name == "postgresql":
        # Both tables were rewritten: fresh statistics, or the next nights' lookups of a
        # few thousand cases are planned as sequential scans of the whole table.
        conn.execute(text(f"ANALYZE {Obligation.__tablename__}, {CaseEvaluation.__tablename__}"))
    totals.merge(writer.totals)
    summary.cases = totals.cases
    summary.by_status = Counter({s: n for s, n in totals.by_status.items() if n})
    summary.obligations = sum(summary.by_status.values())
    conn.execute(
        update(EvaluationRun).where(EvaluationRun.id == run_id).values(
            finished_at=now(), status="succeeded", mode=mode, cases=summary.cases, obligations=summary.obligations,
            evaluated=summary.evaluated, **{s: summary.by_status.get(s, 0) for s in STATUSES},
        )
    )
    return summary


def shown_days_late(status: str, due_on: dt.date, stored: int, as_of: dt.date) -> int:
    """The days late of a stored obligation as of ``as_of`` (the latest run's date).

    An ``overdue`` obligation grows a day later every night without changing otherwise,
    so its stored ``days_late`` is as of the run that last evaluated its case, and
    readers show ``as_of − due_on``; rewriting every overdue row every night would make
    a nightly run's work proportional to the whole backlog. Other statuses are stored as
    they are (``late``: done − due; ``open``: 0)."""
    return (as_of - due_on).days if status == "overdue" else stored


def _drop_secondary_indexes(conn: Connection) -> list[Index]:
    """Before a full rewrite on SQLite: drop the secondary indexes of the two result
    tables, to be built again in one pass each at the end (a sort, instead of a random
    B-tree insert per row: a full run at a million cases went from 31 s to 21 s). The
    drop is part of the run's transaction, so a failed run leaves them as they were,
    and readers (WAL) keep the last committed tables, indexes included. Not on
    PostgreSQL, where dropping an index would lock every reader out until the run ends."""
    if conn.dialect.name != "sqlite":
        return []
    indexes = [*Obligation.__table__.indexes, *CaseEvaluation.__table__.indexes]
    for index in indexes:
        index.drop(conn)
    return indexes


@contextmanager
def _favour_key_lookups(conn: Connection) -> Iterator[None]:
    """On PostgreSQL, while an incremental run reads and writes its cases by key: the
    planner's ``random_page_cost`` at most :data:`LOOKUP_PAGE_COST`, for this
    transaction only (``set_config(…, true)``), then as it was.

    With the default (4, priced for spinning disks), a list of a few thousand case ids,
    1 % of a million, is planned as a sequential scan of every fact table and a hash
    of all of ``case_evaluations``: a night's work proportional to the whole database
    again. 1.1 is the usual setting for SSDs and for data that is in memory; a server
    set lower keeps its own. At a million cases the night went from 2.4–2.8 s to 1.9–2.1 s."""
    if conn.dialect.name != "postgresql":
        yield
        return
    before = conn.exec_driver_sql("SELECT current_setting('random_page_cost')").scalar_one()
    if float(before) > LOOKUP_PAGE_COST:
        conn.exec_driver_sql(f"SELECT set_config('random_page_cost', '{LOOKUP_PAGE_COST}', true)")
    yield
    conn.exec_driver_sql("SELECT set_config('random_page_cost', %(v)s, true)", {"v": before})


def _map_deltas(conn: Connection, rules: tuple, as_of: dt.date, run_id: int, case_ids: list[str],
                workers: int) -> Iterator["_Delta"]:
    """What to write for the given cases (an incremental run through the columnar
    evaluator), part by part. From :data:`INCREMENTAL_PARALLEL_FROM` cases on, ``workers``
    processes each read, evaluate and compare a contiguous share of them in parts of
    :data:`PIPELINE_CHUNK` cases, while this process writes the parts as they come:
    at a million cases with 1 % changed, reading and comparing was more than half of a
    night's work in one process, and writing the rest (``bench/README.md``)."""
    if not case_ids:
        return
    if len(case_ids) < INCREMENTAL_PARALLEL_FROM or not can_fork(conn, workers):
        yield from _columnar_deltas(conn, rules, as_of, run_id, case_ids, REPLACE_CHUNK)
        return
    share = -(-len(case_ids) // workers)
    shares = [case_ids[i:i + share] for i in range(0, len(case_ids), share)]

    def work(c: Connection, part: list[str]) -> Iterator[_Delta]:
        with _favour_key_lookups(c):
            yield from _columnar_deltas(c, rules, as_of, run_id, part, PIPELINE_CHUNK)

    yield from map_parts(conn, shares, work)


def _columnar_deltas(conn: Connection, rules: tuple, as_of: dt.date, run_id: int, case_ids: list[str],
                     chunk: int) -> Iterator["_Delta"]:
    """:func:`_deltas` with the columnar evaluator."""
    collector = _Writer(conn, run_id, as_of, collect=True)

    def evaluate(part: list[str]) -> None:
        for batch in iter_batches(conn, part):
            collector.rows(*_rows_to_store(columnar.evaluate_batch(rules, batch, as_of)))

    return _deltas(conn, case_ids, chunk, collector, evaluate)


def _deltas(conn: Connection, case_ids: list[str], chunk: int, collector: "_Writer",
            evaluate: Callable[[list[str]], None]) -> Iterator["_Delta"]:
    """Read what is stored for ``chunk`` cases at a time, let ``evaluate`` collect their
    rows into ``collector``, and yield what to write to make the one the other
    (:meth:`_Writer.take`)."""
    for i in range(0, len(case_ids), chunk):
        part = case_ids[i:i + chunk]
        stored = _Stored.read(conn, part)
        evaluate(part)
        yield collector.take(stored)


def _stale_ids(conn: Connection, as_of: dt.date) -> list[str]:
    """The cases to re-evaluate, in ``case_id`` order: those logged in ``case_changes``
    (inserted, replaced or deleted since the last run: this takes the log's rows, inside
    the run's transaction) and those whose results expired by ``as_of`` (an index range
    on ``stable_until``). Both are proportional to what changed, not to all cases. A
    change committed by an import after the log was taken stays for the next run."""
    changed = conn.execute(delete(CaseChange).returning(CaseChange.case_id)).scalars().all()
    e = CaseEvaluation
    expired = conn.execute(select(e.case_id).where(e.stable_until < as_of)).scalars().all()
    return sorted(set(changed).union(expired))


class _Totals:
    """A run's totals: the cases with stored results and their obligations per status.

    A full run counts what it writes. An incremental run starts from the previous run's
    totals, takes away the stored counts of the cases it re-evaluates (read by key) and
    adds those it writes: the same figures as summing every ``case_evaluations`` row,
    without reading them all
    (``tests/evaluation/test_incremental.py`` checks it)."""

    def __init__(self, cases: int = 0, by_status: dict[str, int] | None = None):
        self.cases = cases
        self.by_status = {s: (by_status or {}).get(s, 0) for s in STATUSES}

    @classmethod
    def of_run(cls, run: EvaluationRun) -> "_Totals":
        return cls(run.cases, {s: getattr(run, s) for s in STATUSES})

    def add(self, counts: Sequence[int], sign: int = 1) -> None:
        """One case's counts per status (in :data:`STATUSES` order)."""
        self.cases += sign
        for s, n in zip(STATUSES, counts):
            self.by_status[s] += sign * n

    def merge(self, other: "_Totals") -> None:
        self.cases += other.cases
        for s in STATUSES:
            self.by_status[s] += other.by_status[s]


def _rows_to_store(ev: columnar.Evaluation) -> tuple[dict[str, list], list[list]]:
    """What a run stores of an evaluated batch, as plain lists (they may cross processes):
    the obligations not met in time by column, and per case its id, fingerprint,
    ``stable_until`` and counts per status."""
    b = ev.batch
    cases = [b.case_ids, b.fingerprints, columnar.iso_text(ev.stable_until).tolist(), *ev.case_counts().T.tolist()]
    return ev.columns(_STORED), cases


@dataclass
class _Delta:
    """What an incremental run writes for a part of its cases (see :meth:`_Writer.take`):
    obligation keys to delete and rows to insert, case records to update or insert and
    case ids whose record goes, and how the run's totals move. Plain lists: it may
    cross from a worker process."""

    deleted: list[tuple]
    inserted: list[tuple]
    updated: list[tuple]
    new: list[tuple]
    gone: list[str]
    totals: "_Totals"
    evaluated: int


class _Writer:
    """Writes a run's rows.

    A full run inserts them in batches into the emptied tables. An incremental run
    collects the rows of a part of its cases, compares them with what was stored for
    those cases (:meth:`take`) and writes only what differs (:meth:`apply`): most of a
    re-evaluated case's obligations are as they were (a breach closed years ago, an
    overdue visit period), and deleting and inserting them again is random B-tree work
    in every index of the table, which dominated a repeated night at a million cases."""

    def __init__(self, conn: Connection, run_id: int, as_of: dt.date, collect: bool = False):
        self.conn, self.run_id, self.as_of, self.collect = conn, run_id, as_of.isoformat(), collect
        self.obligations: list[tuple] = []  # in OBLIGATION_COLUMNS order, database-ready
        self.cases: list[tuple] = []  # in CASE_EVALUATION_COLUMNS order, database-ready
        self.totals = _Totals()  # what this writer wrote (less what it replaced)
        self.evaluated = 0

    def case(self, case_id: str, fingerprint: str, until: dt.date | None, results: list[Result]) -> None:
        """One case evaluated by the core."""
        counts = Counter(r.status for r in results)
        self.cases.append((case_id, fingerprint, self.as_of, _iso(until)) + tuple(counts.get(s, 0) for s in STATUSES))
        self.obligations.extend(tuple(map(_iso, obligation_values(r, self.run_id)))
                                for r in results if r.status in STORED_STATUSES)
        if not self.collect:
            self.evaluated += 1
            if len(self.obligations) >= WRITE_BATCH or len(self.cases) >= WRITE_BATCH:
                self.flush()

    def rows(self, cols: dict[str, list], cases: list[list]) -> None:
        """The rows of a batch evaluated by the columnar evaluator (:func:`_rows_to_store`)."""
        obligations: Iterable[tuple] = ()
        if cols:
            cols["run_id"] = repeat(self.run_id)
            obligations = zip(*(cols[name] for name in OBLIGATION_COLUMNS))
        case_ids, fingerprints, until, *counts = cases
        case_rows = zip(case_ids, fingerprints, repeat(self.as_of), until, *counts)
        if self.collect:
            self.obligations.extend(obligations)
            self.cases.extend(case_rows)
            return
        self.evaluated += len(case_ids)
        self.totals.cases += len(case_ids)
        for s, column in zip(STATUSES, counts):
            self.totals.by_status[s] += sum(column)
        bulk_insert(self.conn, Obligation.__table__, OBLIGATION_COLUMNS, obligations, ready=True)
        bulk_insert(self.conn, CaseEvaluation.__table__, CASE_EVALUATION_COLUMNS, case_rows, ready=True)

    def flush(self) -> None:
        """Insert what :meth:`case` collected (a full run)."""
        for row in self.cases:
            self.totals.add(row[4:])
        bulk_insert(self.conn, Obligation.__table__, OBLIGATION_COLUMNS, self.obligations, ready=True)
        bulk_insert(self.conn, CaseEvaluation.__table__, CASE_EVALUATION_COLUMNS, self.cases, ready=True)
        self.obligations, self.cases = [], []

    def take(self, stored: "_Stored") -> _Delta:
        """What makes the stored rows of the cases read into ``stored`` those collected
        since, and nothing else (a case collected but not stored is new, one stored but
        not collected is gone): an obligation is deleted, inserted, or deleted and
        inserted again only when it is gone, new or different (``run_id`` aside, and the
        days late of one overdue before and after: readers take them from
        :func:`shown_days_late`); a case's record is updated, inserted or deleted.
        Empties what was collected."""
        deleted, inserted = [], []
        old = stored.obligations
        for row in self.obligations:
            key = row[:5]
            before = old.pop(key, None)
            if before is None or before != _compared(row):
                inserted.append(row)
                if before is not None:
                    deleted.append(key)
        deleted.extend(old)  # no longer stored: met, or the case is gone

        totals = _Totals()
        for counts in stored.counts.values():
            totals.add(counts, -1)
        updated, new = [], []
        for row in self.cases:
            totals.add(row[4:])
            (updated if row[0] in stored.counts else new).append(row)
        gone = sorted(set(stored.counts).difference(row[0] for row in self.cases))
        delta = _Delta(deleted, inserted, updated, new, gone, totals, len(self.cases))
        self.obligations, self.cases = [], []
        return delta

    def apply(self, delta: _Delta) -> None:
        """Write what :meth:`take` found to differ (an incremental run)."""
        _delete_obligations(self.conn, delta.deleted)
        bulk_insert(self.conn, Obligation.__table__, OBLIGATION_COLUMNS, delta.inserted, ready=True)
        _replace_case_evaluations(self.conn, delta.updated, delta.gone)
        bulk_insert(self.conn, CaseEvaluation.__table__, CASE_EVALUATION_COLUMNS, delta.new, ready=True)
        self.totals.merge(delta.totals)
        self.evaluated += delta.evaluated


# The obligation columns compared to tell whether a stored row is still right.
COMPARED_COLUMNS = tuple(c for c in OBLIGATION_COLUMNS if c != "run_id")
_RUN_ID = OBLIGATION_COLUMNS.index("run_id")
_STATUS, _DAYS_LATE = COMPARED_COLUMNS.index("status"), COMPARED_COLUMNS.index("days_late")
_STORED_COUNTS = tuple(STATUSES.index(s) for s in STORED_STATUSES)  # in a case record's counts


def _compared(row: tuple) -> tuple:
    """An ``obligations`` row (:data:`OBLIGATION_COLUMNS` order) as compared with the
    stored one (:data:`COMPARED_COLUMNS` order; see :func:`_comparable`)."""
    return _comparable(row[:_RUN_ID] + row[_RUN_ID + 1:])


def _comparable(values: tuple) -> tuple:
    """The days late of an overdue obligation grow every night and are not compared."""
    if values[_STATUS] == "overdue":
        return values[:_DAYS_LATE] + (None,) + values[_DAYS_LATE + 1:]
    return values


def _iso(value):
    return value.isoformat() if isinstance(value, dt.date) else value


class _Stored:
    """What is stored for some cases before an incremental run replaces it: their
    obligations (key → :func:`_comparable` values, dates as ``YYYY-MM-DD`` text as they
    are written) and their counts per status in ``case_evaluations``."""

    def __init__(self, obligations: dict[tuple, tuple], counts: dict[str, tuple]):
        self.obligations, self.counts = obligations, counts

    @classmethod
    def read(cls, conn: Connection, case_ids: list[str]) -> "_Stored":
        """The case records first, then the obligations of the cases whose record counts
        any stored ones (``late``, ``open``, ``overdue``) or that have no record. Every
        run writes a case's record and its stored obligations together, so a record that
        counts none means there are none; a case without a record may still have some
        (a database from before migration 0007, whose importer's cascade took the record
        and left the obligations). About half of the cases a night re-evaluates have
        none, and each case id asked for is a descent of the obligations' primary key."""
        pg = conn.dialect.name == "postgresql"
        dates = {c.name for c in Obligation.__table__.columns if isinstance(c.type, Date)}
        cols = ", ".join(f"to_char({c}, 'YYYY-MM-DD')" if pg and c in dates else c for c in COMPARED_COLUMNS)
        where, params = among(conn.dialect.name, case_ids)
        cur = conn.connection.driver_connection.cursor()
        try:
            with gc_paused():
                cur.execute(f"SELECT case_id, {', '.join(_quoted(s) for s in STATUSES)} "
                            f"FROM {CaseEvaluation.__tablename__} WHERE {where}", params)
                counts = {row[0]: row[1:] for row in cur.fetchall()}
                holding = [case_id for case_id in case_ids
                           if case_id not in counts or any(counts[case_id][i] for i in _STORED_COUNTS)]
                obligations = {}
                if holding:
                    where, params = among(conn.dialect.name, holding)
                    cur.execute(f"SELECT {cols} FROM {Obligation.__tablename__} WHERE {where}", params)
                    obligations = {row[:5]: _comparable(row) for row in cur.fetchall()}
        finally:
            cur.close()
        return cls(obligations, counts)


def _quoted(name: str) -> str:
    return f'"{name}"'


def _delete_obligations(conn: Connection, keys: list[tuple]) -> None:
    if not keys:
        return
    table = Obligation.__tablename__
    if conn.dialect.name == "postgresql":
        with conn.connection.driver_connection.cursor() as cur:
            cur.execute(f"DELETE FROM {table} o USING unnest({_ARRAY}::text[], {_ARRAY}::text[], {_ARRAY}::text[], "
                        f"{_ARRAY}::text[], {_ARRAY}::int[]) AS k(case_id, rule, subject, period, seq) "
                        f"WHERE (o.case_id, o.rule, o.subject, o.period, o.seq) "
                        f"= (k.case_id, k.rule, k.subject, k.period, k.seq)", [list(c) for c in zip(*keys)])
        return
    conn.connection.driver_connection.executemany(
        f"DELETE FROM {table} WHERE case_id = ? AND rule = ? AND subject = ? AND period = ? AND seq = ?", keys)


def _replace_case_evaluations(conn: Connection, updated: list[tuple], gone: list[str]) -> None:
    """Update the records of re-evaluated cases (rows in :data:`CASE_EVALUATION_COLUMNS`
    order) and delete those of cases no longer stored."""
    table = CaseEvaluation.__tablename__
    names = CASE_EVALUATION_COLUMNS[1:]
    dbapi = conn.connection.driver_connection
    if updated and conn.dialect.name == "postgresql":
        types = ("text", "date", "date", "int", "int", "int", "int")
        with dbapi.cursor() as cur:
            cur.execute(f"UPDATE {table} c SET " + ", ".join(f"{_quoted(n)} = v.{_quoted(n)}" for n in names)
                        + f" FROM unnest({_ARRAY}::text[], " + ", ".join(f"{_ARRAY}::{t}[]" for t in types)
                        + ") AS v(case_id, " + ", ".join(_quoted(n) for n in names) + ") WHERE c.case_id = v.case_id",
                        [list(c) for c in zip(*updated)])
    elif updated:
        dbapi.executemany(f"UPDATE {table} SET " + ", ".join(f"{_quoted(n)} = ?" for n in names)
                          + " WHERE case_id = ?", (row[1:] + row[:1] for row in updated))
    if gone:
        where, params = among(conn.dialect.name, gone)
        conn.exec_driver_sql(f"DELETE FROM {table} WHERE {where}", tuple(params))


def run_evaluation(engine: Engine, rules: RuleSet, as_of: dt.date, kind: str = "evaluate",
                   now: Callable[[], dt.datetime] = utcnow,
                   on_result: Callable[[Result], None] | None = None,
                   incremental: bool = False) -> RunSummary:
    """:func:`evaluate_and_store` in a transaction of its own."""
    with engine.begin() as conn:
        summary = evaluate_and_store(conn, rules, as_of, kind, now, on_result, incremental)
    vacuum_after(engine, summary)
    return summary


def vacuum_after(engine: Engine, summary: RunSummary) -> None:
    """After a full run has committed, on PostgreSQL: ``VACUUM`` the two result tables,
    and the change log the run emptied (after a bulk load, a row per case).

    A full run deletes every stored row and writes them again. Until the dead rows are
    vacuumed, the next statements that touch them prune their pages and index entries
    as they go: the first incremental night after a full run at a million cases spent
    1.4 s of its 4.9 s deleting ten thousand cases' rows, 0.2 s after a ``VACUUM``
    (2.9 s, once). Autovacuum would get there, but not on a schedule, and it may be off.

    Not after an incremental run: the rows it leaves dead are few and spread out, and at
    a million cases the next night was no faster after a ``VACUUM`` (0.82–0.84 s against
    0.78–0.80 s; ``bench/README.md``, "The tenth pass")."""
    if summary.mode == "full":
        vacuum(engine, (Obligation.__tablename__, CaseEvaluation.__tablename__, CaseChange.__tablename__))


def latest_run(conn: Connection, kind: str | None = None) -> EvaluationRun | None:
    stmt = select(EvaluationRun).where(EvaluationRun.status == "succeeded").order_by(EvaluationRun.id.desc()).limit(1)
    if kind:
        stmt = stmt.where(EvaluationRun.kind == kind)
    from sqlalchemy.orm import Session

    with Session(bind=conn) as s:
        run = s.execute(stmt).scalar_one_or_none()
        if run is not None:
            s.expunge(run)
        return run

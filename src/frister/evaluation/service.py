"""Evaluate every stored case and store the results (the adapter around the pure core).

A run streams the cases out of the database in chunks, evaluates them with
:func:`frister.engine.evaluate_case`, and writes the results in batches, all in one
transaction: readers see either the previous run's obligations or this run's, never
a mix. The run record (as-of date, rules fingerprint, counts) is committed with them.
Evaluating the same facts as of the same date gives identical obligation rows.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterator

from sqlalchemy import Connection, Date, Engine, Integer, cast, delete, func, insert, literal, or_, select, update

from frister.db.bulk import bulk_insert
from frister.engine.core import evaluate_case, evaluate_case_until
from frister.engine.results import STATUSES, Result
from frister.evaluation.models import CaseEvaluation, EvaluationRun, Obligation
from frister.rules.model import RuleSet
from frister.store.facts import CHUNK, iter_case_facts
from frister.store.models import Case

WRITE_BATCH = 5000


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class RunSummary:
    run_id: int | None
    as_of: dt.date
    cases: int = 0  # stored cases
    obligations: int = 0  # stored obligations after the run
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
CASE_EVALUATION_COLUMNS = ("case_id", "fingerprint", "evaluated_as_of", "stable_until")


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


def evaluate_and_store(
    conn: Connection,
    rules: RuleSet,
    as_of: dt.date,
    kind: str = "evaluate",
    now: Callable[[], dt.datetime] = utcnow,
    on_result: Callable[[Result], None] | None = None,
    incremental: bool = False,
) -> RunSummary:
    """Evaluate the cases and store the obligations, inside the caller's transaction.

    A full run evaluates every case and replaces every obligation. An incremental run
    (``incremental=True``, used by the nightly job) evaluates only the cases whose facts
    changed since they were last evaluated or whose results expired by ``as_of`` (see
    :func:`frister.engine.evaluate_case_until`), replaces their obligations, and brings
    ``days_late`` of every other overdue obligation up to ``as_of`` in one statement.
    The stored obligations are then the same as a full run would store (apart from
    ``run_id``); the work is proportional to what changed plus what falls due. It falls
    back to a full run when there is no earlier run with the same rules, or when
    ``as_of`` is before the last run's.

    ``on_result`` sees every result this run computes (all of them in a full run).
    """
    previous = latest_run(conn)
    mode = "incremental" if incremental and previous is not None and previous.rules_fingerprint == rules.fingerprint \
        and previous.as_of <= as_of else "full"
    run_id = conn.execute(
        insert(EvaluationRun).values(
            kind=kind, as_of=as_of, started_at=now(), status="running", rules_fingerprint=rules.fingerprint,
            cases=0, obligations=0, met=0, late=0, open=0, overdue=0, mode=mode, evaluated=0,
        ).returning(EvaluationRun.id)
    ).scalar_one()
    summary = RunSummary(run_id, as_of, mode=mode)
    rule_list = tuple(rules)
    writer = _Writer(conn, run_id, as_of)
    if mode == "full":
        conn.execute(delete(Obligation))
        conn.execute(delete(CaseEvaluation))
        chunks = _all_chunks(conn)
    else:
        chunks = _stale_chunks(conn, as_of)
    for ids, cases in chunks:
        if mode == "incremental":
            conn.execute(delete(Obligation).where(Obligation.case_id.in_(ids)))
            conn.execute(delete(CaseEvaluation).where(CaseEvaluation.case_id.in_(ids)))
        for case, fingerprint in cases:
            summary.evaluated += 1
            results, until = evaluate_case_until(rule_list, case, as_of)
            writer.case(case.case_id, fingerprint, until)
            for r in results:
                writer.result(r)
                if on_result is not None:
                    on_result(r)
        writer.flush()
    writer.flush(final=True)
    if mode == "incremental":
        conn.execute(
            update(Obligation).where(Obligation.status == "overdue").values(days_late=_days_since_due(conn, as_of))
        )
    summary.cases = conn.execute(select(func.count()).select_from(Case)).scalar_one()
    summary.by_status = Counter(dict(conn.execute(
        select(Obligation.status, func.count()).group_by(Obligation.status)).all()))
    summary.obligations = sum(summary.by_status.values())
    conn.execute(
        update(EvaluationRun).where(EvaluationRun.id == run_id).values(
            finished_at=now(), status="succeeded", cases=summary.cases, obligations=summary.obligations,
            evaluated=summary.evaluated, **{s: summary.by_status.get(s, 0) for s in STATUSES},
        )
    )
    return summary


def _days_since_due(conn: Connection, as_of: dt.date):
    """``as_of − due_on`` in days, as SQL for this database."""
    if conn.dialect.name == "postgresql":
        return literal(as_of, Date) - Obligation.due_on
    return cast(func.julianday(literal(as_of.isoformat())) - func.julianday(Obligation.due_on), Integer)


def _all_chunks(conn: Connection):
    chunk: list = []
    for item in iter_case_facts(conn, with_fingerprint=True):
        chunk.append(item)
        if len(chunk) >= CHUNK:
            yield [f.case_id for f, _ in chunk], chunk
            chunk = []
    if chunk:
        yield [f.case_id for f, _ in chunk], chunk


def _stale_chunks(conn: Connection, as_of: dt.date):
    """The cases to re-evaluate: new or changed facts, or results that expired by ``as_of``."""
    e = CaseEvaluation
    stale = conn.execute(
        select(Case.case_id).outerjoin(e, e.case_id == Case.case_id)
        .where(or_(e.case_id.is_(None), e.fingerprint != Case.fingerprint, e.stable_until < as_of))
        .order_by(Case.case_id)
    ).scalars().all()
    for i in range(0, len(stale), CHUNK):
        ids = stale[i:i + CHUNK]
        yield ids, list(iter_case_facts(conn, ids, with_fingerprint=True))


class _Writer:
    """Batches obligation and case-evaluation rows."""

    def __init__(self, conn: Connection, run_id: int, as_of: dt.date):
        self.conn, self.run_id, self.as_of = conn, run_id, as_of
        self.obligations: list[dict] = []
        self.cases: list[dict] = []

    def result(self, r: Result) -> None:
        self.obligations.append(obligation_values(r, self.run_id))

    def case(self, case_id: str, fingerprint: str, until: dt.date | None) -> None:
        self.cases.append((case_id, fingerprint, self.as_of, until))

    def flush(self, final: bool = False) -> None:
        if self.obligations and (final or len(self.obligations) >= WRITE_BATCH):
            bulk_insert(self.conn, Obligation.__table__, OBLIGATION_COLUMNS, self.obligations)
            self.obligations = []
        if self.cases and (final or len(self.cases) >= WRITE_BATCH):
            bulk_insert(self.conn, CaseEvaluation.__table__, CASE_EVALUATION_COLUMNS, self.cases)
            self.cases = []


def run_evaluation(engine: Engine, rules: RuleSet, as_of: dt.date, kind: str = "evaluate",
                   now: Callable[[], dt.datetime] = utcnow,
                   on_result: Callable[[Result], None] | None = None,
                   incremental: bool = False) -> RunSummary:
    """:func:`evaluate_and_store` in a transaction of its own."""
    with engine.begin() as conn:
        return evaluate_and_store(conn, rules, as_of, kind, now, on_result, incremental)


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

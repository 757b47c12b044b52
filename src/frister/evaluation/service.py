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

from sqlalchemy import Connection, Engine, delete, insert, select, update

from frister.engine.core import evaluate_case
from frister.engine.results import STATUSES, Result
from frister.evaluation.models import EvaluationRun, Obligation
from frister.rules.model import RuleSet
from frister.store.facts import iter_case_facts

WRITE_BATCH = 5000


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class RunSummary:
    run_id: int | None
    as_of: dt.date
    cases: int = 0
    obligations: int = 0
    by_status: Counter = field(default_factory=Counter)

    def line(self) -> str:
        counts = ", ".join(f"{self.by_status.get(s, 0)} {s}" for s in STATUSES)
        return f"evaluated {self.cases} case(s) as of {self.as_of.isoformat()}: {self.obligations} obligations ({counts})"


def obligation_row(r: Result, run_id: int) -> dict:
    return {
        "case_id": r.case_id, "rule": r.rule, "subject": r.subject, "period": r.period or "", "seq": r.seq,
        "run_id": run_id, "unit": r.unit, "caseworker": r.caseworker, "status": r.status, "due_on": r.due_on,
        "met_on": r.met_on, "days_late": r.days_late, "required": r.required, "done": r.done,
        "rule_version": r.rule_version, "anchor_on": r.anchor_on, "basis": r.basis[:400],
        "confidence": r.confidence, "explanation": r.explanation,
        "extension_requested_on": r.extension_requested_on, "extension_granted": r.extension_granted,
        "extension_reason": r.extension_reason, "extension_applied": r.extension_applied,
        "reduction_decided_on": r.reduction_decided_on, "reduction_applied": r.reduction_applied,
        "reduction_note": r.reduction_note, "responsible": r.responsible,
    }


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
) -> RunSummary:
    """Evaluate all cases and replace the stored obligations, inside the caller's transaction.

    ``on_result`` sees every result as it is written (for printing or notices).
    """
    run_id = conn.execute(
        insert(EvaluationRun).values(
            kind=kind, as_of=as_of, started_at=now(), status="running", rules_fingerprint=rules.fingerprint,
            cases=0, obligations=0, met=0, late=0, open=0, overdue=0,
        ).returning(EvaluationRun.id)
    ).scalar_one()
    summary = RunSummary(run_id, as_of)
    conn.execute(delete(Obligation))
    batch: list[dict] = []
    rule_list = tuple(rules)
    for case in iter_case_facts(conn):
        summary.cases += 1
        for r in evaluate_case(rule_list, case, as_of):
            summary.obligations += 1
            summary.by_status[r.status] += 1
            batch.append(obligation_row(r, run_id))
            if on_result is not None:
                on_result(r)
        if len(batch) >= WRITE_BATCH:
            conn.execute(insert(Obligation), batch)
            batch = []
    if batch:
        conn.execute(insert(Obligation), batch)
    conn.execute(
        update(EvaluationRun).where(EvaluationRun.id == run_id).values(
            finished_at=now(), status="succeeded", cases=summary.cases, obligations=summary.obligations,
            **{s: summary.by_status.get(s, 0) for s in STATUSES},
        )
    )
    return summary


def run_evaluation(engine: Engine, rules: RuleSet, as_of: dt.date, kind: str = "evaluate",
                   now: Callable[[], dt.datetime] = utcnow,
                   on_result: Callable[[Result], None] | None = None) -> RunSummary:
    """:func:`evaluate_and_store` in a transaction of its own."""
    with engine.begin() as conn:
        return evaluate_and_store(conn, rules, as_of, kind, now, on_result)


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

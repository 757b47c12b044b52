"""Reading and writing case facts in bulk.

Reading streams cases in chunks of consecutive ``case_id``s: one query per table per
chunk (a primary-key range scan), never a query per case, so memory stays bounded
and the cost stays close to scanning the columns the engine needs.

Writing brings a case's stored rows to its new facts and touches only the rows that
differ: a new case is inserted; of a stored one, rows that are gone are deleted, rows
that changed are updated and new rows inserted (:func:`replace_cases`). Callers own
the transaction.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Iterator, Sequence

from sqlalchemy import Connection, Table, and_, bindparam, delete, insert, select, tuple_, update

from frister.facts.model import (
    CareOrder,
    CaseFacts,
    EmergencyDecision,
    Extension,
    Investigation,
    Measure,
    Placement,
    Referral,
)
from frister.store import models as m

CHUNK = 2000
DELETE_CHUNK = 500


def _rows_by_case(conn: Connection, stmt) -> dict[str, list]:
    out: dict[str, list] = defaultdict(list)
    for row in conn.execute(stmt):
        out[row[0]].append(row)
    return out


def iter_case_facts(conn: Connection, case_ids: Sequence[str] | None = None, chunk: int = CHUNK,
                    with_fingerprint: bool = False) -> Iterator:
    """Every case (or the given ones), in ``case_id`` order, as :class:`CaseFacts`
    (or ``(CaseFacts, fingerprint)`` pairs with ``with_fingerprint``)."""
    if case_ids is not None:
        wanted = sorted(set(case_ids))
        for i in range(0, len(wanted), chunk):
            part = wanted[i:i + chunk]
            yield from _load_chunk(conn, m.Case.case_id.in_(part), lambda t: t.case_id.in_(part), with_fingerprint)
        return
    last: str | None = None
    while True:
        stmt = select(m.Case.case_id).order_by(m.Case.case_id).limit(chunk)
        if last is not None:
            stmt = stmt.where(m.Case.case_id > last)
        ids = conn.execute(stmt).scalars().all()
        if not ids:
            return
        lo, hi = ids[0], ids[-1]
        yield from _load_chunk(conn, m.Case.case_id.between(lo, hi), lambda t: t.case_id.between(lo, hi), with_fingerprint)
        last = hi
        if len(ids) < chunk:
            return


def _load_chunk(conn: Connection, case_filter, child_filter, with_fingerprint: bool = False) -> Iterator:
    cases = conn.execute(
        select(m.Case.case_id, m.Case.unit, m.Case.caseworker, m.Case.birth_date, m.Case.aftercare_assessed_on,
               m.Case.fingerprint)
        .where(case_filter).order_by(m.Case.case_id)
    ).all()
    R, I, Me, E, C, A, P, V = (m.Referral, m.Investigation, m.Measure, m.MeasureEvaluation, m.CareOrder,
                               m.EmergencyDecision, m.Placement, m.PlacementVisit)
    referrals = _rows_by_case(conn, select(R.case_id, R.id, R.received_on, R.concluded_on, R.conclusion,
                                           R.feedback_sent_on).where(child_filter(R)).order_by(R.case_id, R.id))
    investigations = _rows_by_case(conn, select(
        I.case_id, I.id, I.started_on, I.referral_id, I.extension_requested_on, I.extension_granted,
        I.extension_reason, I.concluded_on, I.conclusion, I.review_after_closing, I.reviewed_after_closing_on,
    ).where(child_filter(I)).order_by(I.case_id, I.id))
    measures = _rows_by_case(conn, select(Me.case_id, Me.id, Me.kind, Me.decided_on, Me.ended_on, Me.plan_made_on)
                             .where(child_filter(Me)).order_by(Me.case_id, Me.id))
    evaluations: dict[tuple[str, str], list] = defaultdict(list)
    for row in conn.execute(select(E.case_id, E.measure_id, E.evaluated_on).where(child_filter(E))):
        evaluations[(row[0], row[1])].append(row[2])
    care_orders = _rows_by_case(conn, select(C.case_id, C.id, C.decided_on, C.implemented_on, C.care_plan_made_on)
                                .where(child_filter(C)).order_by(C.case_id, C.id))
    emergencies = _rows_by_case(conn, select(A.case_id, A.id, A.kind, A.decided_on, A.petition_sent_on)
                                .where(child_filter(A)).order_by(A.case_id, A.id))
    placements = _rows_by_case(conn, select(
        P.case_id, P.id, P.kind, P.started_on, P.ended_on, P.followup_reduced_on, P.supervision_reduced_on,
        P.supervision_municipality,
    ).where(child_filter(P)).order_by(P.case_id, P.id))
    visits: dict[tuple[str, str, str], list] = defaultdict(list)
    for row in conn.execute(select(V.case_id, V.placement_id, V.kind, V.visited_on).where(child_filter(V))):
        visits[(row[0], row[1], row[2])].append(row[3])

    for case_id, unit, caseworker, birth_date, aftercare_on, fingerprint in cases:
        facts = CaseFacts(
            case_id=case_id,
            unit=unit,
            caseworker=caseworker,
            birth_date=birth_date,
            aftercare_assessed_on=aftercare_on,
            referrals=tuple(Referral(r[1], r[2], r[3], r[4], r[5]) for r in referrals.get(case_id, ())),
            investigations=tuple(
                Investigation(
                    id=r[1], started_on=r[2], referral_id=r[3],
                    extension=Extension(r[4], bool(r[5]), r[6]) if r[4] is not None else None,
                    concluded_on=r[7], conclusion=r[8], review_after_closing=bool(r[9]),
                    reviewed_after_closing_on=r[10],
                )
                for r in investigations.get(case_id, ())
            ),
            measures=tuple(
                Measure(r[1], r[2], r[3], r[4], r[5], tuple(sorted(evaluations.get((case_id, r[1]), ()))))
                for r in measures.get(case_id, ())
            ),
            care_orders=tuple(CareOrder(r[1], r[2], r[3], r[4]) for r in care_orders.get(case_id, ())),
            emergency_decisions=tuple(EmergencyDecision(r[1], r[2], r[3], r[4]) for r in emergencies.get(case_id, ())),
            placements=tuple(
                Placement(
                    r[1], r[2], r[3], r[4], r[5], r[6], r[7],
                    tuple(sorted(visits.get((case_id, r[1], "followup"), ()))),
                    tuple(sorted(visits.get((case_id, r[1], "supervision"), ()))),
                )
                for r in placements.get(case_id, ())
            ),
        )
        yield (facts, fingerprint) if with_fingerprint else facts


def stored_fingerprints(conn: Connection, case_ids: Iterable[str]) -> dict[str, str]:
    ids = list(case_ids)
    if not ids:
        return {}
    rows = conn.execute(select(m.Case.case_id, m.Case.fingerprint).where(m.Case.case_id.in_(ids)))
    return {r[0]: r[1] for r in rows}


# Parents before children (foreign keys).
FACT_TABLES = (m.Case, m.Referral, m.Investigation, m.Measure, m.MeasureEvaluation, m.CareOrder,
               m.EmergencyDecision, m.Placement, m.PlacementVisit)


def replace_cases(conn: Connection, batch: Sequence[tuple[CaseFacts, str]]) -> set[str]:
    """Store the facts of every case in ``batch`` (facts, fingerprint) in place of what
    is stored for it, writing only the rows that differ.

    A changed case in an export usually differs by a row or two (a new referral, a
    visit, a conclusion); deleting and inserting all of its rows again rewrote every
    fact table and every index for it, and on PostgreSQL left dead rows that the next
    night's reads of exactly those cases had to step over and prune (at a million
    cases with 1 % changed, a worker's fact reads in the night right after an import:
    1.0 s; 0.4 s after a ``VACUUM``; 0.6 s with this importer).

    Row by row, per table: a stored row whose key is not in the new facts is deleted
    (children first), one whose values differ is updated, a new one is inserted
    (parents first). The case row itself is updated, so the triggers on ``cases`` log
    the case as changed.

    Returns the names of the tables in which rows were updated or deleted: on
    PostgreSQL they hold dead row versions until a ``VACUUM``
    (:func:`frister.importer.import_file` runs one once the import has committed)."""
    if not batch:
        return set()
    rows = _fact_rows(batch)
    ids = [f.case_id for f, _ in batch]
    cases = m.Case.__table__
    plans = [(cases, _differences(conn, cases, ids, rows[m.Case]))]
    new_cases = {r["case_id"] for r in plans[0][1][2]}
    stored = [i for i in ids if i not in new_cases]  # a new case has no stored rows to read
    plans += [(model.__table__, _differences(conn, model.__table__, stored, rows.get(model, ())))
              for model in FACT_TABLES[1:]]
    for table, (gone, _, _) in reversed(plans):
        key = tuple_(*table.primary_key.columns)
        for i in range(0, len(gone), DELETE_CHUNK):  # a few hundred keys per statement: SQLite's bound values are limited
            conn.execute(delete(table).where(key.in_(gone[i:i + DELETE_CHUNK])))
    for table, (_, changed, new) in plans:
        if changed:
            key = list(table.primary_key.columns)
            values = [c for c in table.columns if not c.primary_key]
            conn.execute(
                update(table).where(and_(*(c == bindparam(f"k_{c.name}") for c in key)))
                .values({c.name: bindparam(f"v_{c.name}") for c in values}),
                [{**{f"k_{c.name}": r[c.name] for c in key}, **{f"v_{c.name}": r[c.name] for c in values}}
                 for r in changed],
            )
        if new:
            conn.execute(insert(table), new)
    return {table.name for table, (gone, changed, _) in plans if gone or changed}


def _differences(conn: Connection, table: Table, case_ids: list[str], rows: Sequence[dict]) -> tuple[list, list, list]:
    """What makes ``table``'s stored rows of ``case_ids`` the given ones: the keys of
    the stored rows to delete, the rows to update, the rows to insert."""
    columns = list(table.columns)
    key = [c.name for c in table.primary_key.columns]
    stored = {}
    for i in range(0, len(case_ids), CHUNK):
        for row in conn.execute(select(*columns).where(table.c.case_id.in_(case_ids[i:i + CHUNK]))).mappings():
            stored[tuple(row[name] for name in key)] = tuple(row[c.name] for c in columns)
    changed, new = [], []
    for r in rows:
        k = tuple(r[name] for name in key)
        before = stored.pop(k, None)
        if before is None:
            new.append(r)
        elif before != tuple(r[c.name] for c in columns):
            changed.append(r)
    return list(stored), changed, new


def _fact_rows(batch: Sequence[tuple[CaseFacts, str]]) -> dict[type, list[dict]]:
    """The rows of every table for the cases in ``batch``, as dicts by column name."""
    rows: dict[type, list[dict]] = defaultdict(list)
    for f, fingerprint in batch:
        rows[m.Case].append({
            "case_id": f.case_id, "unit": f.unit, "caseworker": f.caseworker, "birth_date": f.birth_date,
            "aftercare_assessed_on": f.aftercare_assessed_on, "fingerprint": fingerprint,
        })
        for r in f.referrals:
            rows[m.Referral].append({
                "case_id": f.case_id, "id": r.id, "received_on": r.received_on, "concluded_on": r.concluded_on,
                "conclusion": r.conclusion, "feedback_sent_on": r.feedback_sent_on,
            })
        for i in f.investigations:
            ext = i.extension
            rows[m.Investigation].append({
                "case_id": f.case_id, "id": i.id, "referral_id": i.referral_id, "started_on": i.started_on,
                "concluded_on": i.concluded_on, "conclusion": i.conclusion,
                "review_after_closing": i.review_after_closing,
                "reviewed_after_closing_on": i.reviewed_after_closing_on,
                "extension_requested_on": ext.requested_on if ext else None,
                "extension_granted": ext.granted if ext else None,
                "extension_reason": ext.reason if ext else None,
            })
        for me in f.measures:
            rows[m.Measure].append({
                "case_id": f.case_id, "id": me.id, "kind": me.kind, "decided_on": me.decided_on,
                "ended_on": me.ended_on, "plan_made_on": me.plan_made_on,
            })
            for n, d in enumerate(me.evaluations, 1):
                rows[m.MeasureEvaluation].append({"case_id": f.case_id, "measure_id": me.id, "seq": n, "evaluated_on": d})
        for c in f.care_orders:
            rows[m.CareOrder].append({
                "case_id": f.case_id, "id": c.id, "decided_on": c.decided_on, "implemented_on": c.implemented_on,
                "care_plan_made_on": c.care_plan_made_on,
            })
        for e in f.emergency_decisions:
            rows[m.EmergencyDecision].append({
                "case_id": f.case_id, "id": e.id, "kind": e.kind, "decided_on": e.decided_on,
                "petition_sent_on": e.petition_sent_on,
            })
        for p in f.placements:
            rows[m.Placement].append({
                "case_id": f.case_id, "id": p.id, "kind": p.kind, "started_on": p.started_on, "ended_on": p.ended_on,
                "followup_reduced_on": p.followup_reduced_on, "supervision_reduced_on": p.supervision_reduced_on,
                "supervision_municipality": p.supervision_municipality,
            })
            for kind, dates in (("followup", p.followup_visits), ("supervision", p.supervision_visits)):
                for n, d in enumerate(dates, 1):
                    rows[m.PlacementVisit].append({
                        "case_id": f.case_id, "placement_id": p.id, "kind": kind, "seq": n, "visited_on": d,
                    })
    return rows

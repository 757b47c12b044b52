"""Case facts in the database: replacing cases, and reading them as batches.

Writing brings a case's stored rows to its new facts and touches only the rows that
differ: a new case is inserted; of a stored one, rows that are gone are deleted, rows
that changed are updated and new rows inserted (:func:`replace_cases`). The case row
itself is updated, so the triggers on ``cases`` log the case as changed. Callers own
the transaction.

Reading streams batches of consecutive ``case_id``s (:func:`read_batches`): one query
per table per batch (a primary-key range scan), through the driver's own cursor
straight into columns (:class:`frister.engine.batch.Batch`), with dates as day numbers
computed by the database and lists of dates parsed in bulk.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterator, Sequence

import numpy as np
from sqlalchemy import Connection, and_, bindparam, delete, func, insert, select, tuple_, update

from frister.calendar import NONE, first_of_month, to_day
from frister.db.dialect import Reader, bulk_insert, gc_paused
from frister.engine.batch import Batch, DateLists, Subjects, derive, object_array
from frister.facts.contract import Case, Header
from frister.facts.vocabulary import CASE_FIELDS, RECORDED, case_row, subject_rows
from frister.store.tables import FACT_TABLES, SUBJECT_TABLES, cases, sources

CHUNK = 20_000  # cases per batch read
KEYS_PER_STATEMENT = 500  # SQLite's bound values are limited


# --- writing ---------------------------------------------------------------------------


def stored_fingerprints(conn: Connection, case_ids: Sequence[str]) -> dict[str, str]:
    if not case_ids:
        return {}
    rows = conn.execute(select(cases.c.case_id, cases.c.fingerprint).where(cases.c.case_id.in_(list(case_ids))))
    return {r[0]: r[1] for r in rows}


def replace_cases(conn: Connection, batch: Sequence[tuple[Case, str]], source: str | None = None) -> set[str]:
    """Store the facts of every case in ``batch`` (record, fingerprint), from ``source``,
    in place of what is stored for it, writing only the rows that differ; returns the
    names of the tables in which rows were updated or deleted."""
    if not batch:
        return set()
    rows: dict[str, list[dict]] = {t.name: [] for t in FACT_TABLES}
    for record, fingerprint in batch:
        rows[cases.name].append({**case_row(record), "fingerprint": fingerprint, "source": source})
        for st, row in subject_rows(record):
            rows[st.table].append({"case_id": record.case_id, **row})
    ids = [record.case_id for record, _ in batch]
    plans = [(cases, _differences(conn, cases, ids, rows[cases.name]))]
    new_cases = {r["case_id"] for r in plans[0][1][2]}
    stored = [i for i in ids if i not in new_cases]  # a new case has no stored rows to read
    plans += [(t, _differences(conn, t, stored, rows[t.name])) for t in FACT_TABLES[1:]]
    for table, (gone, _, _) in reversed(plans):  # children first
        key = tuple_(*table.primary_key.columns)
        for i in range(0, len(gone), KEYS_PER_STATEMENT):
            conn.execute(delete(table).where(key.in_(gone[i:i + KEYS_PER_STATEMENT])))
    for table, (_, changed, new) in plans:  # parents first
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
            names = [c.name for c in table.columns]
            bulk_insert(conn, table, names, ([r[n] for n in names] for r in new))
    return {table.name for table, (gone, changed, _) in plans if gone or changed}


def remove_cases(conn: Connection, case_ids: Sequence[str]) -> int:
    """Delete the facts of the given cases; returns how many were stored. The one way
    a case leaves frister: a full import that no longer holds it, a purge after the
    retention period, an importer of another format that is told of a deletion.

    * **Now**, in the caller's transaction: the ``cases`` row and, by cascade, every
      subject row (referrals, investigations, …). The triggers on ``cases`` log each
      case in ``case_changes``.
    * **By the next evaluation run** (a night, or ``frister evaluate``), told by that
      log: the case's stored obligations and its ``case_evaluations`` record; pending
      notices about it are cancelled. Until then they are the latest run's results, as
      for any other change of facts (a run's totals are made of those records).
    * **Kept**: the breach register (``breach_reasons``), the notices sent and their
      attempts, and the runs: the history the audit needs. Reports are made from the
      facts, so a removed case no longer appears in any report, of any period."""
    removed = 0
    ids = sorted(set(case_ids))
    for i in range(0, len(ids), KEYS_PER_STATEMENT):
        removed += conn.execute(delete(cases).where(cases.c.case_id.in_(ids[i:i + KEYS_PER_STATEMENT]))).rowcount
    return removed


def stored_case_ids(conn: Connection) -> Iterator[str]:
    """Every stored case id, in order, streamed."""
    result = conn.execute(select(cases.c.case_id).order_by(cases.c.case_id),
                          execution_options={"stream_results": True})
    for (case_id,) in result:
        yield case_id


def _differences(conn: Connection, table, case_ids: list[str], rows: Sequence[dict]) -> tuple[list, list, list]:
    """What makes ``table``'s stored rows of ``case_ids`` the given ones: the keys of
    the stored rows to delete, the rows to update, the rows to insert."""
    columns = list(table.columns)
    key = [c.name for c in table.primary_key.columns]
    stored = {}
    for i in range(0, len(case_ids), KEYS_PER_STATEMENT):
        part = case_ids[i:i + KEYS_PER_STATEMENT]
        for row in conn.execute(select(*columns).where(table.c.case_id.in_(part))).mappings():
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


# --- reading ---------------------------------------------------------------------------


def read_cases(conn: Connection, case_ids: Sequence[str] | None = None) -> list[Case]:
    """The stored cases (or the given ones) as contract records, in ``case_id`` order:
    for showing one case, and for tests. Bulk work reads :func:`read_batches`."""
    where = (lambda t: t.c.case_id.in_(list(case_ids))) if case_ids is not None else (lambda t: True)
    docs: dict[str, dict] = {}
    for row in conn.execute(select(cases).where(where(cases)).order_by(cases.c.case_id)).mappings():
        docs[row["case_id"]] = _nested(CASE_FIELDS, row)
    for st in RECORDED:
        t = SUBJECT_TABLES[st.name]
        for row in conn.execute(select(t).where(where(t)).order_by(t.c.case_id, t.c.id)).mappings():
            if row["case_id"] in docs:
                docs[row["case_id"]].setdefault(st.table, []).append({"id": row["id"], **_nested(st.stored, row)})
    return [Case.model_validate(doc, strict=False) for doc in docs.values()]  # from the database: checked


def _nested(fields, row) -> dict:
    """A record (part) from a flat row: each field at its path, absent when empty."""
    doc: dict = {}
    for f in fields:
        value = row[f.name]
        if value is None or value == ():
            continue
        place = doc
        for name in f.path[:-1]:
            place = place.setdefault(name, {})
        place[f.path[-1]] = value
    return doc


def case_count(conn: Connection) -> int:
    return conn.exec_driver_sql(f"SELECT count(*) FROM {cases.name}").scalar_one()


def read_batches(conn: Connection, case_ids: Sequence[str] | None = None, chunk: int | None = None,
                 after: str = "", until: str | None = None) -> Iterator[Batch]:
    """Every case (or the given ones), ``chunk`` cases per batch (default :data:`CHUNK`),
    in ``case_id`` order; ``after``/``until`` limit it to ``after < case_id <= until``."""
    chunk = chunk or CHUNK
    sql = Reader(conn)
    known = read_sources(conn)
    cur = conn.connection.driver_connection.cursor()
    columns = ", ".join(_select(sql, f) for f in CASE_FIELDS)
    try:
        if case_ids is not None:
            wanted = sorted(set(case_ids))
            for i in range(0, len(wanted), chunk):
                where, params = sql.among(wanted[i:i + chunk])
                with gc_paused():
                    cur.execute(f"SELECT {columns}, fingerprint, source FROM cases WHERE {where} ORDER BY case_id", params)
                    rows = cur.fetchall()
                    batch = _batch(cur, sql, rows, where, params, known) if rows else None
                if batch is not None:
                    yield batch
            return
        last = after
        upto = "" if until is None else f" AND case_id <= {sql.mark}"
        while True:
            with gc_paused():
                cur.execute(f"SELECT {columns}, fingerprint, source FROM cases WHERE case_id > {sql.mark}{upto} "
                            f"ORDER BY case_id LIMIT {int(chunk)}", (last,) if until is None else (last, until))
                rows = cur.fetchall()
                if not rows:
                    return
                bounds = (rows[0][0], rows[-1][0])
                batch = _batch(cur, sql, rows, f"case_id BETWEEN {sql.mark} AND {sql.mark}", bounds, known)
            yield batch
            last = bounds[1]
            if len(rows) < chunk:
                return
    finally:
        cur.close()


def holders(conn: Connection) -> tuple[set[str], set[str]]:
    """Every unit and caseworker code that holds a case or a step in the stored facts."""
    held = holdings(conn)
    return set(held.units), {k for caseworkers in held.units.values() for k in caseworkers}


@dataclass
class Holdings:
    """Who holds what in the stored facts: per unit, the cases and steps it holds by
    caseworker code ('' when none is given); per municipality number, its cases."""

    units: dict[str, Counter] = field(default_factory=dict)
    municipalities: Counter = field(default_factory=Counter)


def holdings(conn: Connection) -> Holdings:
    """Count the cases and steps each unit and caseworker holds (a step without a unit of
    its own is held by its case's unit, and is counted there through the case)."""
    held = Holdings()
    for table in FACT_TABLES:
        rows = conn.execute(select(table.c.unit, table.c.caseworker, func.count())
                            .where(table.c.unit.is_not(None)).group_by(table.c.unit, table.c.caseworker))
        for unit, caseworker, n in rows:
            held.units.setdefault(unit, Counter())[caseworker or ""] += n
    held.municipalities.update(dict(conn.execute(
        select(cases.c.municipality, func.count()).group_by(cases.c.municipality)).all()))
    return held


def read_sources(conn: Connection) -> dict[str, tuple[int, frozenset[str]]]:
    """Every source: its complete-from day (NONE: complete) and the facts it does not deliver."""
    return {name: (to_day(complete_from), frozenset(filter(None, (not_delivered or "").split(","))))
            for name, complete_from, not_delivered in conn.execute(
                select(sources.c.name, sources.c.complete_from, sources.c.not_delivered))}


def save_source(conn: Connection, header: Header) -> None:
    """Record what a source says it delivers (its latest header replaces the earlier)."""
    conn.execute(delete(sources).where(sources.c.name == header.source))
    conn.execute(insert(sources).values(name=header.source, extracted_on=header.extracted_on,
                                        complete_from=header.complete_from,
                                        not_delivered=",".join(sorted(header.not_delivered)) or None))


def split_points(conn: Connection, parts: int, total: int) -> list[str]:
    """``parts - 1`` case ids that cut the ``total`` cases into ``parts`` runs of about equal size."""
    points: list[str] = []
    for k in range(1, parts):
        row = conn.exec_driver_sql(
            f"SELECT case_id FROM cases ORDER BY case_id LIMIT 1 OFFSET {int(total * k // parts)}").first()
        if row is not None and (not points or row[0] > points[-1]):
            points.append(row[0])
    return points


def _select(sql: Reader, f) -> str:
    return sql.day(f.name) if f.kind in ("date", "fixed_date") else f.name


def _values(kind: str, values: tuple):
    """A column of the batch from what the database returned for it."""
    if kind in ("date", "fixed_date"):
        if values and not isinstance(values[0], int):  # text (SQLite), day numbers otherwise
            return parse_days(values)
        return np.fromiter(values, dtype=np.int64, count=len(values))
    if kind == "dates":
        return parse_day_lists(values)
    if kind == "bool":
        return np.fromiter((bool(v) for v in values), dtype=bool, count=len(values))
    return object_array(values)


def _batch(cur, sql: Reader, rows: list[tuple], where: str, params,
           known: dict[str, tuple[int, frozenset[str]]]) -> Batch:
    """The facts of the cases in ``rows`` (rows of ``cases``), one query per subject
    table under the condition ``where``."""
    columns = list(zip(*rows))
    case_ids = list(columns[0])
    fields = {f.name: _values(f.kind, columns[i]) for i, f in enumerate(CASE_FIELDS)}
    fields["source"] = object_array(columns[-1])
    position = {c: i for i, c in enumerate(case_ids)}
    tables = {}
    for st in RECORDED:
        names = ", ".join(_select(sql, f) for f in st.stored)
        cur.execute(f"SELECT case_id, id, {names} FROM {SUBJECT_TABLES[st.name].name} WHERE {where}", params)
        got = cur.fetchall()
        cols = list(zip(*got)) if got else [()] * (2 + len(st.stored))
        owner = np.fromiter(map(position.__getitem__, cols[0]), dtype=np.int64, count=len(got))
        tables[st.name] = Subjects(st.name, owner, list(cols[1]),
                                   {f.name: _values(f.kind, cols[2 + i]) for i, f in enumerate(st.stored)})
    named = {s for s in columns[-1] if s is not None}
    return derive(case_ids, fields, tables, list(columns[-2]), {s: known[s] for s in named if s in known})


def _iso_days(text: str) -> np.ndarray:
    """Day numbers of ``YYYY-MM-DD,YYYY-MM-DD,…`` (every date ten characters and a
    separator); ``0000-00-00`` stands for no date (:data:`~frister.calendar.NONE`)."""
    chars = np.frombuffer((text + ",").encode("ascii"), dtype=np.uint8).reshape(-1, 11)
    digits = chars[:, [0, 1, 2, 3, 5, 6, 8, 9]].astype(np.int64) - 48
    year = digits[:, 0] * 1000 + digits[:, 1] * 100 + digits[:, 2] * 10 + digits[:, 3]
    month = digits[:, 4] * 10 + digits[:, 5]
    days = first_of_month(year * 12 + month - 1) + digits[:, 6] * 10 + digits[:, 7] - 1
    return np.where(month > 0, days, NONE)


def parse_days(texts: Sequence[str | None]) -> np.ndarray:
    """Day numbers of ``YYYY-MM-DD`` texts (None or ``0000-00-00``: :data:`~frister.calendar.NONE`)."""
    if not texts:
        return np.zeros(0, dtype=np.int64)
    if None in texts:
        texts = [t or "0000-00-00" for t in texts]
    return _iso_days(",".join(texts))


def parse_day_lists(texts: Sequence[str | None]) -> DateLists:
    """:class:`DateLists` from one ``YYYY-MM-DD,YYYY-MM-DD,…`` text (or NULL) per row,
    parsed in bulk: every date is ten characters and a separator."""
    counts = np.fromiter(((len(t) + 1) // 11 if t else 0 for t in texts), dtype=np.int64, count=len(texts))
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    if not offsets[-1]:
        return DateLists(offsets, np.zeros(0, dtype=np.int64))
    values = _iso_days(",".join(t for t in texts if t))
    owner = np.repeat(np.arange(len(texts), dtype=np.int64), counts)
    order = np.lexsort((values, owner))  # sorted within each row, whoever wrote the text
    return DateLists(offsets, values[order])


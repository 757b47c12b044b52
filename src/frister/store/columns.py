"""Reading case facts as columns (:class:`frister.engine.columnar.Batch`), in bulk.

The columnar counterpart of :func:`frister.store.facts.iter_case_facts`: the same
tables and columns, chunk by chunk of consecutive ``case_id``s (a primary-key range
scan per table), but straight from the driver's cursor into numpy arrays, with no
object per subject. Two things are left to the database because it does them in C:

* dates arrive as day numbers (days since 1970-01-01), ``NULL`` as
  :data:`~frister.engine.columnar.NONE`;
* the lists of dates (visits, plan evaluations) arrive as one comma-separated string
  per placement/measure (``group_concat``/``string_agg``), which numpy parses in one
  call: 7.8 million visit dates at national scale become 0.4 million strings.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
from sqlalchemy import Connection

from frister.db.bulk import gc_paused
from frister.engine.columnar import NONE, Batch, DateLists, Table, finish_batch, object_array

CHUNK = 20_000
# psycopg's placeholder for a list sent as a PostgreSQL array in binary. In text
# (``%s``) the driver tests every element against a regular expression to quote it,
# 0.6 ms per thousand case ids, and every part of an incremental run sends a dozen such
# lists (its reads by case id, the updates and deletes of its results).
ARRAY_PARAMETER = "%b"
_EPOCH_DAYS = "{col} - DATE '1970-01-01'"


class _Dialect:
    def __init__(self, conn: Connection):
        self.name = conn.dialect.name
        if self.name not in ("sqlite", "postgresql"):
            raise NotImplementedError(f"columnar reading is not implemented for {self.name}")
        self.mark = "?" if self.name == "sqlite" else "%s"

    def day(self, col: str) -> str:
        if self.name == "sqlite":
            expr = f"CAST(julianday({col}) - 2440587.5 AS INTEGER)"
        else:
            expr = _EPOCH_DAYS.format(col=col)
        return f"COALESCE({expr}, {int(NONE)})"

    def among(self, case_ids: list[str]) -> tuple[str, Sequence]:
        return among(self.name, case_ids)

    def day_list(self, col: str) -> str:
        """The day numbers of a group, as text: ``"19000,19091,…"`` (any order)."""
        if self.name == "sqlite":
            return f"group_concat(CAST(julianday({col}) - 2440587.5 AS INTEGER))"
        return f"string_agg(({_EPOCH_DAYS.format(col=col)})::text, ',')"


def among(dialect: str, case_ids: list[str]) -> tuple[str, Sequence]:
    """``case_id`` among the given ones, as a condition and its parameters for the
    driver's cursor (one array parameter on PostgreSQL: thousands of placeholders cost
    more to send than to run).

    On PostgreSQL the array goes in binary (``%b``, see :data:`ARRAY_PARAMETER`)."""
    if dialect == "sqlite":
        return f"case_id IN ({', '.join('?' * len(case_ids))})", list(case_ids)
    return f"case_id = ANY({ARRAY_PARAMETER})", (list(case_ids),)


def iter_batches(conn: Connection, case_ids: Sequence[str] | None = None, chunk: int = CHUNK,
                 after: str = "", until: str | None = None) -> Iterator[Batch]:
    """Every case (or the given ones), ``chunk`` cases per batch, in ``case_id`` order;
    ``after``/``until`` limit it to the cases with ``after < case_id <= until``."""
    d = _Dialect(conn)
    cur = conn.connection.driver_connection.cursor()
    try:
        cases_sql = (f"SELECT case_id, unit, caseworker, {d.day('birth_date')}, {d.day('aftercare_assessed_on')}, "
                     f"fingerprint FROM cases")
        if case_ids is not None:
            wanted = sorted(set(case_ids))
            for i in range(0, len(wanted), chunk):
                part = wanted[i:i + chunk]
                where, params = d.among(part)
                with gc_paused():
                    cur.execute(f"{cases_sql} WHERE {where} ORDER BY case_id", params)
                    cases = cur.fetchall()
                    batch = _batch(cur, d, cases, where, params, by_id=True) if cases else None
                if batch is not None:
                    yield batch
            return
        last = after
        upto = "" if until is None else f" AND case_id <= {d.mark}"
        while True:
            with gc_paused():
                cur.execute(f"{cases_sql} WHERE case_id > {d.mark}{upto} ORDER BY case_id LIMIT {int(chunk)}",
                            (last,) if until is None else (last, until))
                cases = cur.fetchall()
                if not cases:
                    return
                lo, hi = cases[0][0], cases[-1][0]
                batch = _batch(cur, d, cases, f"case_id BETWEEN {d.mark} AND {d.mark}", (lo, hi))
            yield batch
            last = hi
            if len(cases) < chunk:
                return
    finally:
        cur.close()


def split_points(conn: Connection, parts: int, total: int) -> list[str]:
    """``parts - 1`` case ids that cut the ``total`` cases into ``parts`` runs of about
    equal size."""
    points = []
    for k in range(1, parts):
        row = conn.exec_driver_sql(
            f"SELECT case_id FROM cases ORDER BY case_id LIMIT 1 OFFSET {int(total * k // parts)}").first()
        if row is not None and (not points or row[0] > points[-1]):
            points.append(row[0])
    return points


def _columns(cur, sql: str, params, width: int) -> list[tuple]:
    cur.execute(sql, params)
    rows = cur.fetchall()
    return list(zip(*rows)) if rows else [()] * width


def _child_where(d: _Dialect, parent_case_ids: tuple) -> tuple[str, Sequence] | None:
    """The condition for a child table (visits, plan evaluations) of scattered cases:
    only the cases with a row in its parent table (placements, measures), or ``None``
    if there are none. Each case id in a list is a descent of the table's index, and
    most cases have no placement (80 %) or measure (57 %). At a million cases, the two
    tables took 0.08–0.13 s instead of 0.14–0.20 s of reading the facts of a night's
    10,236 cases (``bench/README.md``, "The seventh pass")."""
    owners = sorted(set(parent_case_ids))
    return d.among(owners) if owners else None


def _days(values: tuple) -> np.ndarray:
    return np.fromiter(values, dtype=np.int64, count=len(values))


def _case_index(position: dict[str, int], case_ids: tuple) -> np.ndarray:
    return np.fromiter(map(position.__getitem__, case_ids), dtype=np.int64, count=len(case_ids))


def _joined(days: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``days`` at ``rows`` (rows of another table), :data:`NONE` where a row is -1 (none)."""
    out = np.full(len(rows), NONE, dtype=np.int64)
    found = rows >= 0
    out[found] = days[rows[found]]
    return out


def _date_lists(rows: int, owners: list[int], texts: list[str]) -> DateLists:
    """One :class:`DateLists` from (owner row, "day,day,…") pairs, sorted by row and day."""
    if not texts:
        return DateLists(np.zeros(rows + 1, dtype=np.int64), np.zeros(0, dtype=np.int64))
    counts = np.fromiter((t.count(",") + 1 for t in texts), dtype=np.int64, count=len(texts))
    values = np.fromstring(",".join(texts), dtype=np.int64, sep=",")
    owner = np.repeat(np.array(owners, dtype=np.int64), counts)
    low = int(values.min())
    span = int(values.max()) - low + 1
    keys = np.sort(owner * span + (values - low))  # by row, then by day
    per_row = np.bincount(owner, minlength=rows)
    offsets = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(per_row, out=offsets[1:])
    return DateLists(offsets, keys % span + low)


def _batch(cur, d: _Dialect, cases: list[tuple], where: str, params, by_id: bool = False) -> Batch:
    """The facts of ``cases`` (rows of ``cases``), read with one query per table under
    the condition ``where``. ``by_id``: ``where`` lists the cases by id (an incremental
    run's scattered cases), and a table of dates is then asked only for the cases its
    parent table had rows for (:func:`_child_where`)."""
    case_ids, units, caseworkers, birth, aftercare, fingerprints = zip(*cases)
    position = {c: i for i, c in enumerate(case_ids)}
    day = d.day

    def child_where(parents: tuple) -> tuple[str, Sequence] | None:
        return _child_where(d, parents) if by_id else (where, params)

    c = _columns(cur, f"SELECT case_id, id, {day('received_on')}, {day('concluded_on')}, conclusion, "
                      f"{day('feedback_sent_on')} FROM referrals WHERE {where}", params, 6)
    referral_row = {key: i for i, key in enumerate(zip(c[0], c[1]))}
    referral = Table(_case_index(position, c[0]), list(c[1]), {
        "received_on": _days(c[2]), "concluded_on": _days(c[3]), "conclusion": object_array(c[4]),
        "feedback_sent_on": _days(c[5]),
    })
    tables = {"referral": referral}

    # The investigation's referral (same case) is joined here, from the referrals just
    # read: a join in the database looked each one up again in referrals' index.
    c = _columns(cur, f"SELECT case_id, id, {day('started_on')}, referral_id, {day('extension_requested_on')}, "
                      f"extension_granted, extension_reason, {day('concluded_on')}, conclusion, "
                      f"review_after_closing, {day('reviewed_after_closing_on')} "
                      f"FROM investigations WHERE {where}", params, 11)
    of_referral = np.fromiter((referral_row.get(key, -1) for key in zip(c[0], c[3])), dtype=np.int64, count=len(c[0]))
    tables["investigation"] = Table(_case_index(position, c[0]), list(c[1]), {
        "started_on": _days(c[2]), "concluded_on": _days(c[7]), "conclusion": object_array(c[8]),
        "review_after_closing": np.array([bool(x) for x in c[9]], dtype=bool),
        "reviewed_after_closing_on": _days(c[10]),
        "referral_received_on": _joined(referral.fields["received_on"], of_referral),
        "referral_concluded_on": _joined(referral.fields["concluded_on"], of_referral),
        "extension_requested_on": _days(c[4]),
        "extension_granted": np.array([bool(x) for x in c[5]], dtype=bool),
        "extension_reason": object_array(c[6]),
    })

    c = _columns(cur, f"SELECT case_id, id, kind, {day('decided_on')}, {day('ended_on')}, {day('plan_made_on')} "
                      f"FROM measures WHERE {where}", params, 6)
    measure_row = {key: i for i, key in enumerate(zip(c[0], c[1]))}
    wanted = child_where(c[0])
    e = _columns(cur, f"SELECT case_id, measure_id, {d.day_list('evaluated_on')} FROM measure_evaluations "
                      f"WHERE {wanted[0]} GROUP BY case_id, measure_id", wanted[1], 3) if wanted else [()] * 3
    tables["measure"] = Table(_case_index(position, c[0]), list(c[1]), {
        "kind": object_array(c[2]), "decided_on": _days(c[3]), "ended_on": _days(c[4]), "plan_made_on": _days(c[5]),
        "evaluations": _date_lists(len(c[0]), [measure_row[k] for k in zip(e[0], e[1])], list(e[2])),
    })

    c = _columns(cur, f"SELECT case_id, id, {day('decided_on')}, {day('implemented_on')}, {day('care_plan_made_on')} "
                      f"FROM care_orders WHERE {where}", params, 5)
    tables["care_order"] = Table(_case_index(position, c[0]), list(c[1]), {
        "decided_on": _days(c[2]), "implemented_on": _days(c[3]), "care_plan_made_on": _days(c[4]),
    })

    c = _columns(cur, f"SELECT case_id, id, kind, {day('decided_on')}, {day('petition_sent_on')} "
                      f"FROM emergency_decisions WHERE {where}", params, 5)
    tables["emergency_decision"] = Table(_case_index(position, c[0]), list(c[1]), {
        "kind": object_array(c[2]), "decided_on": _days(c[3]), "petition_sent_on": _days(c[4]),
    })

    c = _columns(cur, f"SELECT case_id, id, kind, {day('started_on')}, {day('ended_on')}, "
                      f"{day('followup_reduced_on')}, {day('supervision_reduced_on')}, supervision_municipality "
                      f"FROM placements WHERE {where}", params, 8)
    placement_row = {key: i for i, key in enumerate(zip(c[0], c[1]))}
    wanted = child_where(c[0])
    v = _columns(cur, f"SELECT case_id, placement_id, kind, {d.day_list('visited_on')} FROM placement_visits "
                      f"WHERE {wanted[0]} GROUP BY case_id, placement_id, kind", wanted[1], 4) if wanted else [()] * 4
    lists: dict[str, tuple[list, list]] = {"followup": ([], []), "supervision": ([], [])}
    for cid, pid, kind, text in zip(*v) if v[0] else ():
        owners, texts = lists[kind]
        owners.append(placement_row[(cid, pid)])
        texts.append(text)
    tables["placement"] = Table(_case_index(position, c[0]), list(c[1]), {
        "kind": object_array(c[2]), "started_on": _days(c[3]), "ended_on": _days(c[4]),
        "followup_reduced_on": _days(c[5]), "supervision_reduced_on": _days(c[6]),
        "supervision_municipality": object_array(c[7]),
        "followup_visits": _date_lists(len(c[0]), *lists["followup"]),
        "supervision_visits": _date_lists(len(c[0]), *lists["supervision"]),
    })
    return finish_batch(case_ids, units, caseworkers, _days(birth), _days(aftercare), tables, list(fingerprints))

"""A batch of cases as columns: what the evaluator reads.

A :class:`Batch` holds the cases of a batch (ids, units, caseworkers, birth dates) and
one :class:`Subjects` table per subject type of the vocabulary
(:mod:`frister.facts.vocabulary`): row ``i`` of ``tables["placement"]`` is one
placement, ``case[i]`` the position of its case in the batch, and ``fields`` its
columns by the vocabulary's names. Dates are day numbers (:mod:`frister.calendar`),
lists of dates :class:`DateLists`, flags bool arrays, codes and text object arrays.

Batches come from the database (:func:`frister.store.facts.read_batches`) or from case
records (:func:`batch_from_records`: the legal examples, a single case); both end in
:func:`derive`, which adds what no record holds: ``ended``, an investigation's linked
referral, the child subject and the list of every event date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from frister.calendar import NONE, birthday, days, to_day
from frister.facts.contract import Case
from frister.facts.vocabulary import CASE_FIELDS, RECORDED, SUBJECTS, case_row, event_fields, subject_rows


@dataclass
class DateLists:
    """A list of days per row, sorted within each row: ``values[offsets[i]:offsets[i+1]]``."""

    offsets: np.ndarray
    values: np.ndarray

    def keys(self, rows: int, as_of: int) -> "Keys":
        """The days up to ``as_of``, as sorted composite keys (see :class:`Keys`)."""
        counts = np.diff(self.offsets)
        owner = np.repeat(np.arange(rows, dtype=np.int64), counts)
        keep = self.values <= as_of
        vals, owner = self.values[keep], owner[keep]
        base = min(int(vals.min()) if vals.size else as_of, as_of) - 1
        span = max(int(vals.max()) if vals.size else as_of, as_of) - base + 2
        # Sorted already: rows in order, days sorted within each row (the invariant).
        return Keys(owner * span + (vals - base), base, span)

    def owners(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.offsets) - 1, dtype=np.int64), np.diff(self.offsets))

    def row(self, i: int) -> np.ndarray:
        return self.values[self.offsets[i]:self.offsets[i + 1]]


@dataclass
class Keys:
    """Listed days as ``row * span + (day - base)``, sorted: one ``searchsorted`` finds
    a day within a row. Every key's offset is in ``1 … span - 2``; probes are clipped to
    ``0 … span - 1``, so a probe before (after) every day of the row stays in its row."""

    keys: np.ndarray
    base: int
    span: int

    def probe(self, rows: np.ndarray, day: np.ndarray) -> np.ndarray:
        return rows * self.span + np.clip(day - self.base, 0, self.span - 1)

    def first_after(self, rows: np.ndarray, after: np.ndarray) -> np.ndarray:
        """Per row, its first listed day strictly after ``after`` (NONE when there is none)."""
        keys = self.keys
        pos = np.searchsorted(keys, self.probe(rows, after), side="right")
        hit = np.full(len(rows), NONE, dtype=np.int64)
        if not len(keys):
            return hit
        k = keys[np.minimum(pos, len(keys) - 1)]
        same = (pos < len(keys)) & (k // self.span == rows)
        hit[same] = k[same] % self.span + self.base
        return hit

    def count(self, rows: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
        """Per row, how many listed days fall in ``first … last``."""
        lo = np.searchsorted(self.keys, self.probe(rows, first), side="left")
        hi = np.searchsorted(self.keys, self.probe(rows, last), side="right")
        return hi - lo

    def last_up_to(self, rows: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Per row, its last listed day on or before ``day`` (NONE when there is none)."""
        keys = self.keys
        pos = np.searchsorted(keys, self.probe(rows, day), side="right") - 1
        hit = np.full(len(rows), NONE, dtype=np.int64)
        if not len(keys):
            return hit
        k = keys[np.maximum(pos, 0)]
        same = (pos >= 0) & (k // self.span == rows)
        hit[same] = k[same] % self.span + self.base
        return hit


@dataclass
class Subjects:
    """The subjects of one type in a batch: row i is one referral, placement, …"""

    subject: str  # the subject type (frister.facts.vocabulary.SUBJECTS)
    case: np.ndarray  # position of the row's case in the batch
    ids: list[str]
    fields: dict[str, object]  # name -> np.ndarray (days int64, bool, or object) or DateLists
    ended: np.ndarray | None = None  # the day the subject ended (not masked), if it can end
    unit: np.ndarray | None = None  # who held this step: its own unit, else the case's (derive)
    caseworker: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class Batch:
    case_ids: list[str]
    cases: dict[str, np.ndarray]  # the case fields (frister.facts.vocabulary.CASE_FIELDS) by name
    tables: dict[str, Subjects]
    fingerprints: list[str]  # as stored ("" for a batch of records)
    event_days: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # (case, day): every event
    # per source named in cases["source"]: (complete-from day or NONE, the facts it does not deliver)
    sources: dict[str, tuple[int, frozenset[str]]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.case_ids)

    @property
    def birth(self) -> np.ndarray:
        return self.cases["child_birth_date"]


def object_array(values) -> np.ndarray:
    """A 1-d object array of ``values`` (strings, None) without numpy guessing a dtype."""
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def date_lists(per_row: Sequence[Sequence]) -> DateLists:
    """:class:`DateLists` from one sorted sequence of dates per row."""
    counts = np.fromiter((len(x) for x in per_row), dtype=np.int64, count=len(per_row))
    offsets = np.zeros(len(per_row) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return DateLists(offsets, days(d for row in per_row for d in row))


def column(kind: str, values: Sequence):
    """A batch column of the vocabulary's ``kind`` from Python values."""
    if kind in ("date", "fixed_date"):
        return days(values)
    if kind == "dates":
        return date_lists(values)
    if kind == "bool":
        return np.fromiter((bool(v) for v in values), dtype=bool, count=len(values))
    return object_array(values)


def batch_from_records(records: Sequence[Case], fingerprints: Sequence[str] | None = None,
                       source: tuple[str, int, frozenset[str]] | None = None) -> Batch:
    """A batch of contract records (the legal examples, a case on its own, tests), all
    from ``source`` (name, complete-from day, facts not delivered) when one is given."""
    rows = [case_row(r) for r in records]
    cases = {f.name: column(f.kind, [row[f.name] for row in rows]) for f in CASE_FIELDS}
    cases["source"] = object_array([source[0] if source else None] * len(records))
    per_type: dict[str, tuple[list[int], list[dict]]] = {st.name: ([], []) for st in RECORDED}
    for position, record in enumerate(records):
        for st, row in subject_rows(record):
            owners, items = per_type[st.name]
            owners.append(position)
            items.append(row)
    tables = {}
    for st in RECORDED:
        owners, items = per_type[st.name]
        tables[st.name] = Subjects(st.name, np.array(owners, dtype=np.int64), [r["id"] for r in items],
                                   {f.name: column(f.kind, [r[f.name] for r in items]) for f in st.stored})
    return derive([r.case_id for r in records], cases, tables, fingerprints,
                  {source[0]: source[1:]} if source else {})


def derive(case_ids: list[str], cases: dict[str, np.ndarray], tables: dict[str, Subjects],
           fingerprints: Sequence[str] | None = None,
           sources: dict[str, tuple[int, frozenset[str]]] | None = None) -> Batch:
    """The batch, with what every source derives the same way: when a subject ended, an
    investigation's linked referral, the child subject, and every event date."""
    for st in RECORDED:
        t = tables[st.name]
        if st.ends_with:
            t.ended = t.fields[st.ends_with]
    _link_referrals(tables["investigation"], tables["referral"])
    tables["child"] = _children(len(case_ids), cases, tables)
    for t in tables.values():  # contract v2: the unit and caseworker that held the step
        for name in ("unit", "caseworker"):
            own = t.fields.get(name)
            held = cases[name][t.case]
            setattr(t, name, held if own is None else np.where(own != None, own, held))  # noqa: E711
    batch = Batch(list(case_ids), cases, tables, list(fingerprints) if fingerprints is not None else [""] * len(case_ids),
                  sources=sources or {})
    for st, f in event_fields():
        if st is None:
            batch.event_days.append((np.arange(len(case_ids), dtype=np.int64), cases[f.name]))
            continue
        t, value = tables[st.name], tables[st.name].fields[f.name]
        if isinstance(value, DateLists):
            batch.event_days.append((t.case[value.owners()], value.values))
        else:
            batch.event_days.append((t.case, value))
    return batch


def _link_referrals(investigations: Subjects, referrals: Subjects) -> None:
    """An investigation's ``referral_received_on``/``referral_concluded_on``: the dates
    of the referral its ``referral_id`` names in the same case (NONE without one); and a
    referral's ``investigation_concluded_on``."""
    position = {(int(c), i): row for row, (c, i) in enumerate(zip(referrals.case, referrals.ids))}
    of = np.fromiter((position.get((int(c), r), -1) for c, r in
                      zip(investigations.case, investigations.fields["referral_id"])),
                     dtype=np.int64, count=len(investigations))
    found = of >= 0
    for mine, theirs in (("referral_received_on", "received_on"), ("referral_concluded_on", "concluded_on")):
        out = np.full(len(of), NONE, dtype=np.int64)
        out[found] = referrals.fields[theirs][of[found]]
        investigations.fields[mine] = out
    # A referral's investigation concluded: the earliest conclusion of one that names it
    # (the earliest, so that masking it as of a date leaves the first one known by then).
    concluded = np.full(len(referrals), NONE, dtype=np.int64)
    np.minimum.at(concluded, of[found], investigations.fields["concluded_on"][found])
    referrals.fields["investigation_concluded_on"] = concluded


def _children(n: int, cases: dict[str, np.ndarray], tables: dict[str, Subjects]) -> Subjects:
    """The child as a subject (aftercare): each case with a birth date and any measure,
    placement or care order. ``measures_from`` is the earliest start of any of them;
    the child's measures end with the latest end, unless one is still running (a care
    order has no end in the contract)."""
    birth = cases["child_birth_date"]
    starts = np.full(n, NONE, dtype=np.int64)
    ends = np.full(n, -NONE, dtype=np.int64)
    open_ended = np.zeros(n, dtype=bool)
    has = np.zeros(n, dtype=bool)
    for name, start, end in (("measure", "decided_on", "ended_on"), ("placement", "started_on", "ended_on"),
                             ("care_order", "decided_on", None)):
        t = tables[name]
        np.minimum.at(starts, t.case, t.fields[start])
        has[t.case] = True
        if end is None:
            open_ended[t.case] = True
        else:
            e = t.fields[end]
            open_ended[t.case[e >= NONE]] = True
            real = e < NONE
            np.maximum.at(ends, t.case[real], e[real])
    rows = np.nonzero(has & (birth < NONE))[0]
    return Subjects("child", rows, ["barn"] * len(rows), {
        "eighteenth_birthday": birthday(birth[rows], 18),
        "measures_from": starts[rows],
        "aftercare_assessed_on": cases["aftercare_assessed_on"][rows],
    }, ended=np.where(open_ended[rows], NONE, ends[rows]))


def field_kind(subject: str, name: str) -> str:
    return SUBJECTS[subject].fields[name].kind


__all__ = ["Batch", "DateLists", "Keys", "Subjects", "batch_from_records", "column", "derive", "object_array",
           "to_day"]

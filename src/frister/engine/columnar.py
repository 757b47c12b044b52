"""The columnar evaluator: the pure core's semantics over whole columns at once.

:mod:`frister.engine.core` evaluates one case at a time with plain Python objects; it is
the reference, and what explains a single result. At national scale (a million cases,
a decade of history) that costs far more than reading the data, so full evaluations use
this module instead: the same three rule kinds, driven by the same rule files, computed
with numpy over every subject of a batch of cases at once. ``tests/engine/test_columnar.py``
proves that both give the same results and the same ``stable_until`` dates.

Dates are ``int64`` day numbers (days since 1970-01-01); :data:`NONE` stands for "no
date" and is larger than every real day, so ``day <= as_of`` is False for it and
"known as of" is one comparison. A batch (:class:`Batch`) holds the cases and one
:class:`Table` per subject type, as built by :func:`batch_from_facts` (tests, small
sets) or by :mod:`frister.store.columns` (straight from the database).

What this module does not produce: the ``explanation`` text (re-evaluate the case with
the core to show it). Everything else of a :class:`~frister.engine.results.Result` is
here, and :meth:`Evaluation.results` builds them when wanted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Iterable, Iterator, Sequence

import numpy as np

from frister.calendar import next_working_day
from frister.engine.core import _reduction_check
from frister.engine.results import Result
from frister.facts.model import CaseFacts
from frister.facts.subjects import SUBJECTS
from frister.rules.model import Rule, RuleVersion

NONE = np.int64(1 << 40)
_EPOCH = date(1970, 1, 1).toordinal()
STATUS_NAMES = ("met", "late", "open", "overdue")
MET, LATE, OPEN, OVERDUE = range(4)


def to_day(d: date | None) -> int:
    return int(NONE) if d is None else d.toordinal() - _EPOCH


def from_day(x) -> date | None:
    return None if x >= NONE else date.fromordinal(int(x) + _EPOCH)


def days(values: Iterable[date | None]) -> np.ndarray:
    return np.fromiter((to_day(v) for v in values), dtype=np.int64)


# --- calendar over columns (same policy as frister.calendar) --------------------------


def _valid(fn):
    """Apply ``fn`` to the real days of an array, keeping :data:`NONE` as it is."""

    def apply(d: np.ndarray, *args) -> np.ndarray:
        out = np.full(d.shape, NONE, dtype=np.int64)
        ok = d < NONE
        if ok.any():
            out[ok] = fn(d[ok], *args)
        return out

    return apply


def _month_index(d: np.ndarray) -> np.ndarray:
    """year * 12 + month - 1 of real days."""
    m = d.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return m + 1970 * 12


def _first_of_month(month_index: np.ndarray) -> np.ndarray:
    return (np.asarray(month_index, dtype=np.int64) - 1970 * 12).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def _add_months(d: np.ndarray, months) -> np.ndarray:
    mi = _month_index(d)
    day0 = d - _first_of_month(mi)  # 0-based day of month
    target = mi + months
    first = _first_of_month(target)
    last_day0 = _first_of_month(target + 1) - first - 1
    return first + np.minimum(day0, last_day0)


add_months = _valid(_add_months)


def add_period(d: np.ndarray, period) -> np.ndarray:
    if period.unit == "days":
        return np.where(d < NONE, d + period.amount, NONE)
    if period.unit == "weeks":
        return np.where(d < NONE, d + 7 * period.amount, NONE)
    return add_months(d, period.months())


def subtract_period(d: np.ndarray, period) -> np.ndarray:
    if period.unit == "days":
        return np.where(d < NONE, d - period.amount, NONE)
    if period.unit == "weeks":
        return np.where(d < NONE, d - 7 * period.amount, NONE)
    return add_months(d, -period.months())


def _next_working_days(d: np.ndarray) -> np.ndarray:
    uniq, inverse = np.unique(d, return_inverse=True)
    mapped = np.array([x if x >= NONE else to_day(next_working_day(from_day(x))) for x in uniq], dtype=np.int64)
    return mapped[inverse]


def known(d: np.ndarray, as_of: int) -> np.ndarray:
    """The days that had happened by ``as_of``; the others become :data:`NONE`."""
    return np.where(d <= as_of, d, NONE)


# --- the data -----------------------------------------------------------------------


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


@dataclass
class Table:
    """The subjects of one type in a batch: row i is one referral, placement, …"""

    case: np.ndarray  # position of the row's case in the batch
    ids: list[str]
    fields: dict[str, object]  # name -> np.ndarray (days int64, bool, or object) or DateLists
    ended: np.ndarray | None = None  # the day the subject ended (not masked), if it can end
    subject: str = ""  # the subject type (frister.facts.subjects.SUBJECTS)

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class Batch:
    case_ids: list[str]
    units: list[str]
    caseworkers: list[str | None]
    birth: np.ndarray
    tables: dict[str, Table]
    fingerprints: list[str] | None = None
    event_days: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # (case, day): every event

    def __len__(self) -> int:
        return len(self.case_ids)


def _lists(per_row: Sequence[Sequence[date]]) -> DateLists:
    counts = np.fromiter((len(x) for x in per_row), dtype=np.int64, count=len(per_row))
    offsets = np.zeros(len(per_row) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    values = days(d for row in per_row for d in sorted(row))
    return DateLists(offsets, values)


def object_array(values) -> np.ndarray:
    """A 1-d object array of ``values`` (strings, None) without numpy guessing a dtype."""
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def batch_from_facts(cases: Sequence[CaseFacts]) -> Batch:
    """A batch from :class:`CaseFacts` (tests and small sets; the database has its own reader)."""
    def rows(attr):
        out = [(i, s) for i, c in enumerate(cases) for s in getattr(c, attr)]
        return np.fromiter((i for i, _ in out), dtype=np.int64, count=len(out)), [s for _, s in out]

    tables: dict[str, Table] = {}
    ci, refs = rows("referrals")
    tables["referral"] = Table(ci, [r.id for r in refs], {
        "received_on": days(r.received_on for r in refs), "concluded_on": days(r.concluded_on for r in refs),
        "feedback_sent_on": days(r.feedback_sent_on for r in refs), "conclusion": object_array([r.conclusion for r in refs]),
    })
    ci, invs = rows("investigations")
    linked = [cases[c].referral(i.referral_id) for c, i in zip(ci, invs)]
    tables["investigation"] = Table(ci, [i.id for i in invs], {
        "started_on": days(i.started_on for i in invs), "concluded_on": days(i.concluded_on for i in invs),
        "conclusion": object_array([i.conclusion for i in invs]),
        "review_after_closing": np.array([i.review_after_closing for i in invs], dtype=bool),
        "reviewed_after_closing_on": days(i.reviewed_after_closing_on for i in invs),
        "referral_received_on": days(r.received_on if r else None for r in linked),
        "referral_concluded_on": days(r.concluded_on if r else None for r in linked),
        "extension_requested_on": days(i.extension.requested_on if i.extension else None for i in invs),
        "extension_granted": np.array([bool(i.extension and i.extension.granted) for i in invs], dtype=bool),
        "extension_reason": object_array([i.extension.reason if i.extension else None for i in invs]),
    })
    ci, ms = rows("measures")
    tables["measure"] = Table(ci, [m.id for m in ms], {
        "kind": object_array([m.kind for m in ms]), "decided_on": days(m.decided_on for m in ms),
        "ended_on": days(m.ended_on for m in ms), "plan_made_on": days(m.plan_made_on for m in ms),
        "evaluations": _lists([m.evaluations for m in ms]),
    })
    ci, cos = rows("care_orders")
    tables["care_order"] = Table(ci, [c.id for c in cos], {
        "decided_on": days(c.decided_on for c in cos), "implemented_on": days(c.implemented_on for c in cos),
        "care_plan_made_on": days(c.care_plan_made_on for c in cos),
    })
    ci, es = rows("emergency_decisions")
    tables["emergency_decision"] = Table(ci, [e.id for e in es], {
        "kind": object_array([e.kind for e in es]), "decided_on": days(e.decided_on for e in es),
        "petition_sent_on": days(e.petition_sent_on for e in es),
    })
    ci, ps = rows("placements")
    tables["placement"] = Table(ci, [p.id for p in ps], {
        "kind": object_array([p.kind for p in ps]), "started_on": days(p.started_on for p in ps),
        "ended_on": days(p.ended_on for p in ps), "followup_reduced_on": days(p.followup_reduced_on for p in ps),
        "supervision_reduced_on": days(p.supervision_reduced_on for p in ps),
        "supervision_municipality": object_array([p.supervision_municipality for p in ps]),
        "followup_visits": _lists([p.followup_visits for p in ps]),
        "supervision_visits": _lists([p.supervision_visits for p in ps]),
    })
    return finish_batch(
        [c.case_id for c in cases], [c.unit for c in cases], [c.caseworker for c in cases],
        days(c.birth_date for c in cases), days(c.aftercare_assessed_on for c in cases), tables,
    )


# The recorded events of each stored table (what can change an evaluation when it
# happens): mirrors frister.engine.core._all_event_dates.
EVENT_FIELDS = {
    "referral": ("received_on", "concluded_on", "feedback_sent_on"),
    "investigation": ("started_on", "concluded_on", "reviewed_after_closing_on", "extension_requested_on"),
    "measure": ("decided_on", "ended_on", "plan_made_on", "evaluations"),
    "care_order": ("decided_on", "implemented_on", "care_plan_made_on"),
    "emergency_decision": ("decided_on", "petition_sent_on"),
    "placement": ("started_on", "ended_on", "followup_reduced_on", "supervision_reduced_on",
                  "followup_visits", "supervision_visits"),
}
_ENDED = {"measure": "ended_on", "placement": "ended_on"}


def finish_batch(case_ids, units, caseworkers, birth, aftercare, tables: dict[str, Table],
                 fingerprints=None) -> Batch:
    """Add what every reader derives the same way: ``ended``, the child subject, the events."""
    n = len(case_ids)
    for name, col in _ENDED.items():
        tables[name].ended = tables[name].fields[col]
    # The child (aftercare): cases with a birth date and any measure, placement or care order.
    starts = np.full(n, NONE, dtype=np.int64)
    ends = np.full(n, -NONE, dtype=np.int64)
    open_ended = np.zeros(n, dtype=bool)
    has = np.zeros(n, dtype=bool)
    for name, start, end in (("measure", "decided_on", "ended_on"), ("placement", "started_on", "ended_on"),
                             ("care_order", "decided_on", None)):
        t = tables[name]
        np.minimum.at(starts, t.case, t.fields[start])
        has[t.case] = True
        if end is None:  # contract v1 has no end of a care order
            open_ended[t.case] = True
        else:
            e = t.fields[end]
            open_ended[t.case[e >= NONE]] = True
            real = e < NONE
            np.maximum.at(ends, t.case[real], e[real])
    child_cases = np.nonzero(has & (birth < NONE))[0]
    tables["child"] = Table(child_cases, ["barn"] * len(child_cases), {
        "eighteenth_birthday": add_months(birth[child_cases], 12 * 18),
        "measures_from": starts[child_cases],
        "aftercare_assessed_on": aftercare[child_cases],
    }, ended=np.where(open_ended[child_cases], NONE, ends[child_cases]))
    for name, t in tables.items():
        t.subject = name
    batch = Batch(list(case_ids), list(units), list(caseworkers), birth, tables, fingerprints)
    batch.event_days.append((np.arange(n, dtype=np.int64), aftercare))
    for name, cols in EVENT_FIELDS.items():
        t = tables[name]
        for col in cols:
            value = t.fields[col]
            if isinstance(value, DateLists):
                batch.event_days.append((np.repeat(t.case, np.diff(value.offsets)), value.values))
            else:
                batch.event_days.append((t.case, value))
    return batch


# --- results ------------------------------------------------------------------------


@dataclass
class Part:
    """The obligations of one rule over a batch, one array element per obligation."""

    rule: Rule
    table: Table
    row: np.ndarray
    due: np.ndarray
    met: np.ndarray
    status: np.ndarray
    days_late: np.ndarray
    version: np.ndarray
    anchor: np.ndarray
    seq: np.ndarray | None = None
    period: np.ndarray | None = None  # label code: year * 10 + (1, 2 half-year; 5..8 quarter 1..4)
    required: np.ndarray | None = None
    done: np.ndarray | None = None
    ext_requested: np.ndarray | None = None
    ext_applied: np.ndarray | None = None  # -1 not applicable, 0, 1
    red_decided: np.ndarray | None = None
    red_valid: np.ndarray | None = None  # -1 not applicable, 0, 1
    red_why: dict | None = None  # (row, version) -> why the reduction is not valid (or None)

    def __len__(self) -> int:
        return len(self.row)


def period_label(code: int) -> str:
    year, k = divmod(int(code), 10)
    return f"{year}-H{k}" if k <= 2 else f"{year}-Q{k - 4}"


@dataclass
class Evaluation:
    batch: Batch
    as_of: int
    parts: list[Part]
    stable_until: np.ndarray  # per case; NONE = never

    def counts(self) -> np.ndarray:
        """Obligations per status (``met, late, open, overdue``)."""
        total = np.zeros(4, dtype=np.int64)
        for p in self.parts:
            total += np.bincount(p.status, minlength=4)
        return total

    def results(self, statuses: Iterable[int] = (MET, LATE, OPEN, OVERDUE)) -> Iterator[Result]:
        """The :class:`Result` of every obligation whose status is in ``statuses``
        (``explanation`` left empty: see the module docstring)."""
        wanted = np.array(sorted(set(statuses)), dtype=np.int8)
        b = self.batch
        for p in self.parts:
            rule, t = p.rule, p.table
            for i in np.nonzero(np.isin(p.status, wanted))[0]:
                row = int(p.row[i])
                case = int(t.case[row])
                version: RuleVersion = rule.versions[int(p.version[i])]
                extra: dict = {}
                if p.ext_applied is not None and p.ext_applied[i] >= 0:
                    extra.update(
                        extension_requested_on=from_day(p.ext_requested[i]),
                        extension_granted=bool(t.fields["extension_granted"][row]),
                        extension_reason=t.fields["extension_reason"][row],
                        extension_applied=bool(p.ext_applied[i]),
                    )
                if p.red_valid is not None and p.red_valid[i] >= 0:
                    valid = bool(p.red_valid[i])
                    note = _reduction_note(version, valid, p.red_why.get((row, int(p.version[i]))))
                    extra.update(reduction_decided_on=from_day(p.red_decided[i]), reduction_applied=valid,
                                 reduction_note=note)
                if rule.responsible:
                    extra["responsible"] = t.fields[rule.responsible][row]
                yield Result(
                    case_id=b.case_ids[case], rule=rule.id, subject=t.ids[row],
                    period=period_label(p.period[i]) if p.period is not None else None,
                    seq=int(p.seq[i]) if p.seq is not None else 1,
                    due_on=from_day(p.due[i]), met_on=from_day(p.met[i]), status=STATUS_NAMES[p.status[i]],
                    days_late=int(p.days_late[i]),
                    required=int(p.required[i]) if p.required is not None else None,
                    done=int(p.done[i]) if p.done is not None else None,
                    rule_version=version.name, unit=b.units[case], caseworker=b.caseworkers[case],
                    anchor_on=from_day(p.anchor[i]), basis=version.basis, confidence=version.confidence,
                    explanation="", **extra,
                )

    def case_counts(self) -> np.ndarray:
        """Obligations per case and status: shape ``(cases, 4)``."""
        out = np.zeros((len(self.batch), 4), dtype=np.int64)
        for p in self.parts:
            np.add.at(out, (p.table.case[p.row], p.status), 1)
        return out

    def columns(self, statuses: Iterable[int]) -> dict[str, list]:
        """The obligations whose status is in ``statuses`` as database-ready columns
        (``obligations`` column name → list; dates as ISO text, None for no value), built
        column by column without a Python object per obligation field."""
        wanted = np.array(sorted(set(statuses)), dtype=np.int8)
        b = self.batch
        case_ids, units, caseworkers = object_array(b.case_ids), object_array(b.units), object_array(b.caseworkers)
        chunks: list[dict[str, np.ndarray]] = []
        for p in self.parts:
            idx = np.nonzero(np.isin(p.status, wanted))[0]
            if not len(idx):
                continue
            rule, t = p.rule, p.table
            rows = p.row[idx]
            cases = t.case[rows]
            n = len(idx)
            version = p.version[idx]
            col = {
                "case_id": case_ids[cases], "rule": _repeat(rule.id, n), "subject": object_array(t.ids)[rows],
                "period": _labels(p.period[idx]) if p.period is not None else _repeat("", n),
                "seq": p.seq[idx].astype(object) if p.seq is not None else _repeat(1, n),
                "unit": units[cases], "caseworker": caseworkers[cases],
                "status": _STATUS_OBJECTS[p.status[idx]], "due_on": iso_text(p.due[idx]), "met_on": iso_text(p.met[idx]),
                "days_late": p.days_late[idx].astype(object),
                "required": p.required[idx].astype(object) if p.required is not None else _repeat(None, n),
                "done": p.done[idx].astype(object) if p.done is not None else _repeat(None, n),
                "rule_version": object_array([v.name for v in rule.versions])[version],
                "anchor_on": iso_text(p.anchor[idx]),
                "confidence": object_array([v.confidence for v in rule.versions])[version],
                "responsible": t.fields[rule.responsible][rows] if rule.responsible else _repeat(None, n),
            }
            none = _repeat(None, n)
            col.update(extension_requested_on=none, extension_granted=none, extension_reason=none,
                       extension_applied=none, reduction_decided_on=none, reduction_applied=none,
                       reduction_note=none)
            if p.ext_applied is not None:
                asked = p.ext_applied[idx] >= 0
                col["extension_requested_on"] = iso_text(p.ext_requested[idx])
                col["extension_granted"] = _bools(t.fields["extension_granted"][rows], asked)
                col["extension_reason"] = np.where(asked, t.fields["extension_reason"][rows], None)
                col["extension_applied"] = _bools(p.ext_applied[idx] == 1, asked)
            if p.red_valid is not None:
                valid = p.red_valid[idx]
                has = valid >= 0
                col["reduction_decided_on"] = iso_text(np.where(has, p.red_decided[idx], NONE))
                col["reduction_applied"] = _bools(valid == 1, has)
                notes = _repeat(None, n)
                for i in np.nonzero(has)[0]:
                    notes[i] = _reduction_note(rule.versions[int(version[i])], bool(valid[i] == 1),
                                               p.red_why.get((int(rows[i]), int(version[i]))))
                col["reduction_note"] = notes
            chunks.append(col)
        if not chunks:
            return {}
        return {name: np.concatenate([c[name] for c in chunks]).tolist() for name in chunks[0]}

    def stable_until_dates(self) -> list[date | None]:
        return [from_day(x) for x in self.stable_until]


_STATUS_OBJECTS = np.array(STATUS_NAMES, dtype=object)


def _reduction_note(version: RuleVersion, valid: bool, why: str | None) -> str | None:
    """The result's reduction note, worded as :func:`frister.engine.core._visits` words it."""
    if not valid:
        return f"Reduksjon ikke lagt til grunn: {why}"
    if version.reduction.consent_required:
        return "barnets samtykke kreves, men registreres ikke i importen og er ikke kontrollert"
    return None


def _repeat(value, n: int) -> np.ndarray:
    out = np.empty(n, dtype=object)
    out[:] = [value] * n
    return out


def iso_text(d: np.ndarray) -> np.ndarray:
    """Days as ``YYYY-MM-DD`` text (None for :data:`NONE`)."""
    out = np.where(d < NONE, d, 0).astype("datetime64[D]").astype(str).astype(object)
    out[d >= NONE] = None
    return out


def _bools(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    out = values.astype(bool).astype(object)
    out[~present] = None
    return out


def _labels(codes: np.ndarray) -> np.ndarray:
    uniq, inverse = np.unique(codes, return_inverse=True)
    return object_array([period_label(c) for c in uniq])[inverse]


def _status(due: np.ndarray, met: np.ndarray, as_of: int) -> tuple[np.ndarray, np.ndarray]:
    status = np.where(met < NONE, np.where(met <= due, MET, LATE), np.where(as_of <= due, OPEN, OVERDUE)).astype(np.int8)
    late = np.where(status == LATE, met - due, np.where(status == OVERDUE, as_of - due, 0))
    return status, late


# --- evaluation ----------------------------------------------------------------------


class _Limits:
    """Collects (case, last stable day) pairs; the case's ``stable_until`` is the minimum."""

    def __init__(self, n: int):
        self.until = np.full(n, NONE, dtype=np.int64)

    def add(self, cases: np.ndarray, day: np.ndarray) -> None:
        if len(cases):
            np.minimum.at(self.until, cases, day)


def evaluate_batch(rules: Iterable[Rule], batch: Batch, as_of: date) -> Evaluation:
    """Every rule over every case of ``batch`` as of ``as_of`` (see the module docstring)."""
    day = to_day(as_of)
    limits = _Limits(len(batch))
    parts: list[Part] = []
    for rule in rules:
        table = batch.tables[rule.subject]
        if rule.kind == "deadline":
            part = _deadline(rule, table, batch, day, limits)
        elif rule.kind == "rolling":
            part = _rolling(rule, table, day)
        else:
            part = _visits(rule, table, batch, day, limits)
        open_ = part.status == OPEN
        limits.add(table.case[part.row[open_]], part.due[open_])
        parts.append(part)
    for cases, d in batch.event_days:
        later = (d > day) & (d < NONE)
        limits.add(cases[later], d[later] - 1)
    return Evaluation(batch, day, parts, limits.until)


def _field(table: Table, name: str, as_of: int) -> np.ndarray:
    """A date field as the core's ``_first_recorded`` sees it: events masked to what
    was known as of the day, fixed dates (the 18th birthday) as they are."""
    value = table.fields[name]
    return known(value, as_of) if SUBJECTS[table.subject].fields[name].kind == "date" else value


def _first_recorded(names: Sequence[str], table: Table, as_of: int) -> np.ndarray:
    out = np.full(len(table), NONE, dtype=np.int64)
    for name in names:
        v = _field(table, name, as_of)
        take = (out >= NONE) & (v < NONE)
        out[take] = v[take]
    return out


def _version_index(rule: Rule, d: np.ndarray) -> np.ndarray:
    out = np.full(d.shape, -1, dtype=np.int64)
    for k, v in enumerate(rule.versions):
        hit = (d >= to_day(v.valid_from)) & (d < NONE) & (out < 0)
        if v.valid_to is not None:
            hit &= d <= to_day(v.valid_to)
        out[hit] = k
    return out


def _applies(rule: Rule, table: Table) -> np.ndarray:
    ok = np.ones(len(table), dtype=bool)
    for name, values in rule.applies_when:
        col = table.fields[name]
        ok &= np.fromiter((v in values for v in col), dtype=bool, count=len(table))
    return ok


def _empty_part(rule: Rule, table: Table) -> Part:
    z = np.zeros(0, dtype=np.int64)
    return Part(rule, table, z, z, z, z.astype(np.int8), z, z, z)


def _deadline(rule: Rule, table: Table, batch: Batch, as_of: int, limits: _Limits) -> Part:
    start = _first_recorded(rule.starts, table, as_of)
    vidx = _version_index(rule, start)
    candidates = _applies(rule, table) & (vidx >= 0)
    pieces = []
    has_ext = "extension_requested_on" in table.fields
    for k, version in enumerate(rule.versions):
        rows = np.nonzero(candidates & (vidx == k))[0]
        if version.anchor:
            anchor = _first_recorded(version.anchor, table, as_of)[rows]
        else:
            anchor = start[rows]
        keep = anchor < NONE
        rows, anchor = rows[keep], anchor[keep]
        clock = add_period(anchor, version.anchor_offset) if version.anchor_offset is not None else anchor
        if version.lead_time is not None:
            due = subtract_period(clock, version.lead_time)
        elif version.period is not None:
            due = add_period(clock, version.period)
        else:  # a period per kind; a kind without one has nothing to track
            due = np.full(len(rows), NONE, dtype=np.int64)
            kinds = table.fields["kind"][rows]
            for kind, period in version.period_by_kind:
                hit = kinds == kind
                due[hit] = add_period(clock[hit], period)
            keep = due < NONE
            rows, anchor, clock, due = rows[keep], anchor[keep], clock[keep], due[keep]
        if version.not_before is not None:
            floor = known(table.fields[version.not_before][rows], as_of)
            keep = floor < NONE
            rows, anchor, clock, due, floor = rows[keep], anchor[keep], clock[keep], due[keep], floor[keep]
            due = np.maximum(due, floor)
        ext_req = ext_applied = None
        if version.extension is not None and has_ext:
            ext_req = known(table.fields["extension_requested_on"][rows], as_of)
            asked = ext_req < NONE
            granted = table.fields["extension_granted"][rows]
            applied = asked & granted
            if version.extension.requested_by_due:
                applied &= ext_req <= due
            due = np.where(applied, add_period(clock, version.extension.period), due)
            ext_applied = np.where(asked, applied.astype(np.int8), -1).astype(np.int8)
        if rule.roll_to_working_day:
            due = _next_working_days(due)
        keep = np.ones(len(rows), dtype=bool)
        if rule.opens_before_due is not None:
            opens = subtract_period(due, rule.opens_before_due)
            hidden = as_of < opens
            limits.add(table.case[rows[hidden]], opens[hidden] - 1)
            keep &= ~hidden
        if table.ended is not None:
            ended = known(table.ended[rows], as_of)
            keep &= ~((ended < NONE) & (due > ended))
        rows, anchor, due = rows[keep], anchor[keep], due[keep]
        if ext_req is not None:
            ext_req, ext_applied = ext_req[keep], ext_applied[keep]
        met = known(table.fields[version.met_by][rows], as_of) if version.met_by else np.full(len(rows), NONE)
        pieces.append((k, rows, anchor, due, met, ext_req, ext_applied))
    return _concat(rule, table, pieces, as_of, with_ext=has_ext and any(v.extension for v in rule.versions))


def _concat(rule: Rule, table: Table, pieces, as_of: int, with_ext: bool) -> Part:
    if not pieces:
        return _empty_part(rule, table)
    rows = np.concatenate([p[1] for p in pieces])
    due = np.concatenate([p[3] for p in pieces])
    met = np.concatenate([p[4] for p in pieces]).astype(np.int64)
    status, late = _status(due, met, as_of)
    part = Part(rule, table, rows, due, met, status, late,
                np.concatenate([np.full(len(p[1]), p[0], dtype=np.int64) for p in pieces]),
                np.concatenate([p[2] for p in pieces]))
    if with_ext:
        part.ext_requested = np.concatenate([p[5] if p[5] is not None else np.full(len(p[1]), NONE) for p in pieces])
        part.ext_applied = np.concatenate([p[6] if p[6] is not None else np.full(len(p[1]), -1, dtype=np.int8)
                                           for p in pieces])
    return part


def _rolling(rule: Rule, table: Table, as_of: int) -> Part:
    start = _first_recorded(rule.starts, table, as_of)
    first = _version_index(rule, start)
    ended = known(table.ended, as_of) if table.ended is not None else np.full(len(table), NONE)
    ok = _applies(rule, table) & (first >= 0)
    out = []
    for k in sorted(set(first[ok].tolist())):
        events = table.fields[rule.versions[k].met_by]
        keys = events.keys(len(table), as_of)
        rows = np.nonzero(ok & (first == k))[0]
        anchor = start[rows]
        seq = 1
        while len(rows):
            v = _version_index(rule, anchor)
            keep = v >= 0
            rows, anchor, v = rows[keep], anchor[keep], v[keep]
            due = np.full(len(rows), NONE, dtype=np.int64)
            for j, version in enumerate(rule.versions):
                hit = v == j
                if hit.any():
                    due[hit] = add_period(anchor[hit], version.period)
            if rule.roll_to_working_day:
                due = _next_working_days(due)
            keep = ~((ended[rows] < NONE) & (due > ended[rows]))
            rows, anchor, v, due = rows[keep], anchor[keep], v[keep], due[keep]
            met = keys.first_after(rows, anchor)
            out.append((rows, np.full(len(rows), seq), due, met, v, anchor))
            going = met < NONE
            rows, anchor = rows[going], met[going]
            seq += 1
    if not out:
        part = _empty_part(rule, table)
        part.seq = np.zeros(0, dtype=np.int64)
        return part
    rows, seq, due, met, v, anchor = (np.concatenate([o[i] for o in out]) for i in range(6))
    status, late = _status(due, met, as_of)
    return Part(rule, table, rows, due, met, status, late, v, anchor, seq=seq)


def _visits(rule: Rule, table: Table, batch: Batch, as_of: int, limits: _Limits) -> Part:
    start = known(table.fields["started_on"], as_of)
    rows = np.nonzero(_applies(rule, table) & (start < NONE))[0]
    start = start[rows]
    ended = known(table.ended[rows], as_of) if table.ended is not None else np.full(len(rows), NONE)
    if rule.until_age is not None:
        birth = batch.birth[table.case[rows]]
        limit = add_months(birth, 12 * rule.until_age)
        use = (birth < NONE) & ((ended >= NONE) | (limit < ended))
        ended = np.where(use, limit, ended)
    # The counting periods: first-year quarters (when the rule has them), then half-years.
    sm = _month_index(start)
    if rule.first_year_quarterly:
        q0 = sm // 3
        ql = _month_index(_add_months(start, 12) - 1) // 3
        nq = ql - q0 + 1
        after_m = (ql + 1) * 3
        after = _first_of_month(after_m)
    else:
        q0 = np.zeros(len(rows), dtype=np.int64)
        nq = np.zeros(len(rows), dtype=np.int64)
        after_m, after = sm, start
    h0 = after_m // 6
    as_of_h = int(_month_index(np.array([as_of]))[0]) // 6
    nh = np.maximum(as_of_h + 2 - h0, 0)
    count = nq + nh
    owner = np.repeat(np.arange(len(rows)), count)
    first_of_group = np.cumsum(count) - count
    local = np.arange(len(owner)) - np.repeat(first_of_group, count)
    is_q = local < nq[owner]
    start_m = np.where(is_q, (q0[owner] + local) * 3, (h0[owner] + local - nq[owner]) * 6)
    end_m = start_m + np.where(is_q, 3, 6)
    pstart = _first_of_month(start_m)
    pend = _first_of_month(end_m) - 1
    counted = np.maximum(pstart, np.where(is_q, start[owner], after[owner]))
    over_end = (ended[owner] < NONE) & (pend > ended[owner])
    fail = over_end | (counted > as_of)
    big = np.iinfo(np.int64).max
    first_fail = np.full(len(rows), big, dtype=np.int64)
    np.minimum.at(first_fail, owner[fail], local[fail])
    stop = local == first_fail[owner]
    waiting = stop & ~over_end  # the period after the last one: it appears when its counting begins
    limits.add(table.case[rows[owner[waiting]]], counted[waiting] - 1)
    v = _version_index(rule, pstart)
    keep = (local < first_fail[owner]) & (v >= 0)
    owner, is_q, start_m, pstart, pend, counted, v = (x[keep] for x in (owner, is_q, start_m, pstart, pend, counted, v))
    per_half = np.array([ver.per_half_year or 0 for ver in rule.versions], dtype=np.int64)[v]
    reduced_to = np.array([ver.reduced_per_half_year if ver.reduced_per_half_year is not None else big
                           for ver in rule.versions], dtype=np.int64)[v]
    first_quarter_end = _first_of_month(start_m + 3) - 1
    quarters = np.where(is_q, 1, 1 + (first_quarter_end >= counted))
    required = np.where(is_q, 1, np.minimum(per_half, quarters))
    subject_rows = rows[owner]
    red_decided = red_valid = None
    red_why: dict = {}
    if rule.reduced_on:
        decided = known(table.fields[rule.reduced_on][rows], as_of)
        valid_by_version = np.zeros((len(rule.versions), len(rows)), dtype=bool)
        birth_all = batch.birth[table.case[rows]]
        for i in np.nonzero(decided < NONE)[0]:
            for k, ver in enumerate(rule.versions):
                why = _reduction_check(rule, ver, from_day(start[i]), from_day(decided[i]), from_day(birth_all[i]))
                valid_by_version[k, i] = why is None
                red_why[(int(rows[i]), k)] = why
        red_decided = decided[owner]
        applies = (red_decided < NONE) & (red_decided <= pend)
        valid = valid_by_version[v, owner]
        red_valid = np.where(applies, valid.astype(np.int8), -1).astype(np.int8)
        cut = applies & valid & ~is_q & (reduced_to < required)
        required = np.where(cut, reduced_to, required)
        red_decided = np.where(applies, red_decided, NONE)
    done = table.fields[rule.visits].keys(len(table), as_of).count(subject_rows, counted, pend)
    status = np.where(done >= required, MET, np.where(as_of <= pend, OPEN, OVERDUE)).astype(np.int8)
    late = np.where(status == OVERDUE, as_of - pend, 0)
    year, month0 = np.divmod(start_m, 12)
    code = year * 10 + np.where(is_q, 5 + month0 // 3, 1 + month0 // 6)
    return Part(rule, table, subject_rows, pend, np.full(len(pend), NONE), status, late, v, counted,
                period=code, required=required, done=done, red_decided=red_decided, red_valid=red_valid,
                red_why=red_why)

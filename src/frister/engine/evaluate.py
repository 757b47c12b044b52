"""The evaluator: ``evaluate(rules, batch, as_of) -> Evaluation``, the one implementation
of each rule kind's semantics.

Pure: no database, no clock, no e-mail. It works on whole columns (:mod:`frister.engine.batch`):
every referral, investigation or placement of a batch at once, dates as day numbers. A
single case is a batch of one (:func:`evaluate_case`); the legal examples, ``frister
evaluate``, the reports and the nightly run all go through this module. Wherever an
array idiom stands for a legal "if", a comment says so.

Policy beyond RULES.md, stated once here:

* **As of a date means as known on that date.** Every event dated after ``as_of`` is
  treated as not (yet) having happened: a deadline met later is ``open``/``overdue``
  as of an earlier date, a visit after ``as_of`` is not counted, a subject whose
  clock starts after ``as_of`` has no obligation yet. Re-evaluating a past date after
  newer imports therefore gives what could have been known then.
* **Law version** is the one in force on the rule's ``starts`` date (the date the
  clock starts from); for visit periods, on the period's first day.
* **Extensions** (investigations): a granted extension replaces the period with the
  extended one from the same anchor. When the rule says ``requested_by_due`` (the
  default), a request made after the original due date is not applied: the breach
  had already happened. The result says so.
* **Partial visit periods**: a half-year that the counting window covers only in part
  requires one visit per calendar quarter of it that the window touches, never more
  than the half-year minimum (RULES.md states this for the end of the first year; we
  apply it to a placement's first half-year too).
* **A valid reduction** applies from the period in which it was decided.

**Stable until.** Each case also gets the last date D ≥ ``as_of`` for which evaluating
it as of D gives the same results, except ``days_late`` of ``overdue`` ones (simply
D − due date); NONE means never (every obligation is settled). It is the earliest of:
an open obligation's due date (it turns overdue the day after); the day before a visit
period's counting begins; the day before a deadline becomes visible
(``opens_before_due``); the day before any recorded event dated after ``as_of``. The
nightly run re-evaluates a case only when its facts changed or this date has passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from frister.calendar import (NONE, add_months, add_period, first_of_month, from_day, known, month_index,
                              next_working_day, subtract_period, to_day)
from frister.engine.batch import Batch, Subjects, batch_from_records, field_kind, object_array
from frister.engine.results import STATUSES, Result
from frister.facts.contract import Case
from frister.rules.model import Rule, RuleVersion

MET, LATE, OPEN, OVERDUE = range(4)


@dataclass
class Part:
    """The obligations of one rule over a batch, one array element per obligation."""

    rule: Rule
    table: Subjects
    row: np.ndarray  # the subject's row in ``table``
    due: np.ndarray
    met: np.ndarray
    status: np.ndarray
    days_late: np.ndarray
    version: np.ndarray  # index into rule.versions
    anchor: np.ndarray
    anchor_from: np.ndarray | None = None  # deadlines: index into the version's anchor fields
    seq: np.ndarray | None = None
    period: np.ndarray | None = None  # label code: year * 10 + (1, 2 half-year; 5..8 quarter 1..4)
    required: np.ndarray | None = None
    done: np.ndarray | None = None
    ext_requested: np.ndarray | None = None
    ext_applied: np.ndarray | None = None  # -1 not applicable, 0, 1
    red_decided: np.ndarray | None = None
    red_valid: np.ndarray | None = None  # -1 not applicable, 0, 1
    red_why: np.ndarray | None = None  # why a reduction is not valid (VALID, TOO_EARLY, …)

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

    def case_counts(self) -> np.ndarray:
        """Obligations per case and status: shape ``(cases, 4)``."""
        out = np.zeros((len(self.batch), 4), dtype=np.int64)
        for p in self.parts:
            np.add.at(out, (p.table.case[p.row], p.status), 1)
        return out

    def results(self, statuses: Iterable[str] = STATUSES,
                where: Callable[[Part], np.ndarray] | None = None) -> Iterator[Result]:
        """The :class:`Result` of every obligation whose status is in ``statuses`` (and,
        with ``where``, for which ``where(part)`` is True), in rule order, then subject,
        then period or sequence."""
        wanted = np.array(sorted(STATUSES.index(s) for s in set(statuses)), dtype=np.int8)
        b = self.batch
        units, caseworkers = b.cases["unit"], b.cases["caseworker"]
        for p in self.parts:
            rule, t = p.rule, p.table
            keep = np.isin(p.status, wanted)
            if where is not None:
                keep &= where(p)
            for i in np.nonzero(keep)[0]:
                row = int(p.row[i])
                case = int(t.case[row])
                k = int(p.version[i])
                version: RuleVersion = rule.versions[k]
                extra: dict = {}
                if rule.kind == "deadline":
                    extra["anchor_field"] = (version.anchor or rule.starts)[int(p.anchor_from[i])]
                elif rule.kind == "rolling":
                    extra["anchor_field"] = rule.starts[int(p.anchor_from[i])] if p.seq[i] == 1 else version.met_by
                if "kind" in t.fields:
                    extra["subject_kind"] = t.fields["kind"][row]
                if p.ext_applied is not None and p.ext_applied[i] >= 0:
                    extra.update(
                        extension_requested_on=from_day(p.ext_requested[i]),
                        extension_granted=bool(t.fields["extension_granted"][row]),
                        extension_reason=t.fields["extension_reason"][row],
                        extension_applied=bool(p.ext_applied[i]),
                    )
                if p.red_valid is not None and p.red_valid[i] >= 0:
                    valid = bool(p.red_valid[i])
                    extra.update(reduction_decided_on=from_day(p.red_decided[i]), reduction_applied=valid,
                                 reduction_note=reduction_note(version, int(p.red_why[i]), p.red_decided[i]))
                if rule.responsible:
                    extra["responsible"] = t.fields[rule.responsible][row]
                yield Result(
                    case_id=b.case_ids[case], rule=rule.id, subject=t.ids[row],
                    period=period_label(p.period[i]) if p.period is not None else None,
                    seq=int(p.seq[i]) if p.seq is not None else 1,
                    due_on=from_day(p.due[i]), met_on=from_day(p.met[i]), status=STATUSES[p.status[i]],
                    days_late=int(p.days_late[i]),
                    required=int(p.required[i]) if p.required is not None else None,
                    done=int(p.done[i]) if p.done is not None else None,
                    rule_version=version.name, unit=units[case], caseworker=caseworkers[case],
                    anchor_on=from_day(p.anchor[i]), basis=version.basis, confidence=version.confidence, **extra,
                )

    def columns(self, statuses: Iterable[str]) -> dict[str, list]:
        """The obligations whose status is in ``statuses`` as database-ready columns
        (``obligations`` column name → list; dates as ISO text, None for no value), built
        column by column without a Python object per obligation field."""
        wanted = np.array(sorted(STATUSES.index(s) for s in set(statuses)), dtype=np.int8)
        b = self.batch
        case_ids, units, caseworkers = object_array(b.case_ids), b.cases["unit"], b.cases["caseworker"]
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
            none = _repeat(None, n)
            col = {
                "case_id": case_ids[cases], "rule": _repeat(rule.id, n), "subject": object_array(t.ids)[rows],
                "period": _labels(p.period[idx]) if p.period is not None else _repeat("", n),
                "seq": p.seq[idx].astype(object) if p.seq is not None else _repeat(1, n),
                "unit": units[cases], "caseworker": caseworkers[cases],
                "status": _STATUS_OBJECTS[p.status[idx]], "due_on": iso_text(p.due[idx]),
                "met_on": iso_text(p.met[idx]), "days_late": p.days_late[idx].astype(object),
                "required": p.required[idx].astype(object) if p.required is not None else none,
                "done": p.done[idx].astype(object) if p.done is not None else none,
                "rule_version": object_array([v.name for v in rule.versions])[version],
                "anchor_on": iso_text(p.anchor[idx]),
                "confidence": object_array([v.confidence for v in rule.versions])[version],
                "responsible": t.fields[rule.responsible][rows] if rule.responsible else none,
                "extension_requested_on": none, "extension_granted": none, "extension_reason": none,
                "extension_applied": none, "reduction_decided_on": none, "reduction_applied": none,
                "reduction_note": none,
            }
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
                    notes[i] = reduction_note(rule.versions[int(version[i])], int(p.red_why[idx[i]]),
                                              p.red_decided[idx[i]])
                col["reduction_note"] = notes
            chunks.append(col)
        if not chunks:
            return {}
        return {name: np.concatenate([c[name] for c in chunks]).tolist() for name in chunks[0]}


def evaluate(rules: Iterable[Rule], batch: Batch, as_of: date) -> Evaluation:
    """Every rule over every case of ``batch`` as of ``as_of`` (see the module docstring)."""
    day = to_day(as_of)
    limits = _Limits(len(batch))
    parts: list[Part] = []
    for rule in rules:
        table = batch.tables[rule.subject]
        if rule.kind == "deadline":
            part = _deadline(rule, table, day, limits)
        elif rule.kind == "rolling":
            part = _rolling(rule, table, day)
        else:
            part = _visits(rule, table, batch, day, limits)
        open_ = part.status == OPEN
        limits.add(table.case[part.row[open_]], part.due[open_])  # an open one turns overdue after its due date
        parts.append(part)
    for cases, d in batch.event_days:
        later = (d > day) & (d < NONE)
        limits.add(cases[later], d[later] - 1)  # a recorded event after as_of changes the evaluation then
    return Evaluation(batch, day, parts, limits.until)


def evaluate_case(rules: Iterable[Rule], case: Case, as_of: date) -> list[Result]:
    """One case's results (a batch of one)."""
    return list(evaluate(rules, batch_from_records([case]), as_of).results())


def evaluate_records(rules: Iterable[Rule], cases: Sequence[Case], as_of: date) -> Evaluation:
    return evaluate(rules, batch_from_records(cases), as_of)


# --- helpers ------------------------------------------------------------------------


class _Limits:
    """Collects (case, last stable day) pairs; the case's ``stable_until`` is the minimum."""

    def __init__(self, n: int):
        self.until = np.full(n, NONE, dtype=np.int64)

    def add(self, cases: np.ndarray, day: np.ndarray) -> None:
        if len(cases):
            np.minimum.at(self.until, cases, day)


_STATUS_OBJECTS = np.array(STATUSES, dtype=object)


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
    """RULES.md: met (done by due), late (done after), open (not done, as_of ≤ due), overdue."""
    status = np.where(met < NONE, np.where(met <= due, MET, LATE), np.where(as_of <= due, OPEN, OVERDUE))
    late = np.where(status == LATE, met - due, np.where(status == OVERDUE, as_of - due, 0))
    return status.astype(np.int8), late


def _field(table: Subjects, name: str, as_of: int) -> np.ndarray:
    """A date field as known on ``as_of``: events after it masked, fixed dates (the 18th
    birthday) as they are."""
    value = table.fields[name]
    return known(value, as_of) if field_kind(table.subject, name) == "date" else value


def _first_recorded(names: Sequence[str], table: Subjects, as_of: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the first of ``names`` recorded (known as of the day), and which one it was."""
    out = np.full(len(table), NONE, dtype=np.int64)
    which = np.zeros(len(table), dtype=np.int8)
    for k, name in enumerate(names):
        v = _field(table, name, as_of)
        take = (out >= NONE) & (v < NONE)
        out[take] = v[take]
        which[take] = k
    return out, which


def _version_index(rule: Rule, d: np.ndarray) -> np.ndarray:
    """The version in force on each day (-1: none)."""
    out = np.full(d.shape, -1, dtype=np.int64)
    for k, v in enumerate(rule.versions):
        hit = (d >= to_day(v.valid_from)) & (d < NONE) & (out < 0)
        if v.valid_to is not None:
            hit &= d <= to_day(v.valid_to)
        out[hit] = k
    return out


def _applies(rule: Rule, table: Subjects) -> np.ndarray:
    ok = np.ones(len(table), dtype=bool)
    for name, values in rule.applies_when:
        col = table.fields[name]
        ok &= np.fromiter((v in values for v in col), dtype=bool, count=len(table))
    return ok


def _empty(rule: Rule, table: Subjects, **extra) -> Part:
    z = np.zeros(0, dtype=np.int64)
    return Part(rule, table, z, z, z, z.astype(np.int8), z, z, z, **extra)


# --- one-off deadlines --------------------------------------------------------------


def _deadline(rule: Rule, table: Subjects, as_of: int, limits: _Limits) -> Part:
    start, start_from = _first_recorded(rule.starts, table, as_of)
    vidx = _version_index(rule, start)
    candidates = _applies(rule, table) & (vidx >= 0)
    has_ext = "extension_requested_on" in table.fields
    with_ext = has_ext and any(v.extension for v in rule.versions)
    pieces = []
    for k, version in enumerate(rule.versions):
        rows = np.nonzero(candidates & (vidx == k))[0]
        if version.anchor:
            anchor, anchor_from = (x[rows] for x in _first_recorded(version.anchor, table, as_of))
        else:
            anchor, anchor_from = start[rows], start_from[rows]
        keep = anchor < NONE  # no anchor recorded: nothing to track yet
        rows, anchor, anchor_from = rows[keep], anchor[keep], anchor_from[keep]
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
        if version.not_before is not None:  # due no earlier than that event; none yet: nothing to track
            floor = known(table.fields[version.not_before][rows], as_of)
            due = np.where(floor < NONE, np.maximum(due, floor), NONE)
        keep = due < NONE
        rows, anchor, anchor_from, clock, due = rows[keep], anchor[keep], anchor_from[keep], clock[keep], due[keep]
        ext_req = np.full(len(rows), NONE, dtype=np.int64)
        ext_applied = np.full(len(rows), -1, dtype=np.int8)
        if version.extension is not None and has_ext:
            ext_req = known(table.fields["extension_requested_on"][rows], as_of)
            asked = ext_req < NONE
            applied = asked & table.fields["extension_granted"][rows]  # granted, and (by default) asked in time
            if version.extension.requested_by_due:
                applied &= ext_req <= due
            due = np.where(applied, add_period(clock, version.extension.period), due)
            ext_applied = np.where(asked, applied.astype(np.int8), -1).astype(np.int8)
        if rule.roll_to_working_day:
            due = next_working_day(due)
        keep = np.ones(len(rows), dtype=bool)
        if rule.opens_before_due is not None:  # not shown before it opens; it appears then
            opens = subtract_period(due, rule.opens_before_due)
            hidden = as_of < opens
            limits.add(table.case[rows[hidden]], opens[hidden] - 1)
            keep &= ~hidden
        if table.ended is not None:  # RULES.md: nothing due after the subject ended
            ended = known(table.ended[rows], as_of)
            keep &= ~((ended < NONE) & (due > ended))
        met = known(table.fields[version.met_by][rows], as_of) if version.met_by else np.full(len(rows), NONE)
        pieces.append((k, rows[keep], anchor[keep], anchor_from[keep], due[keep], met[keep], ext_req[keep],
                       ext_applied[keep]))
    if not pieces:
        return _empty(rule, table, anchor_from=np.zeros(0, dtype=np.int8))
    k, rows, anchor, anchor_from, due, met, ext_req, ext_applied = (
        np.concatenate([np.full(len(p[1]), p[0], dtype=np.int64) for p in pieces]),
        *(np.concatenate([p[i] for p in pieces]) for i in range(1, 8)))
    order = np.argsort(rows, kind="stable")
    k, rows, anchor, anchor_from, due, met, ext_req, ext_applied = (
        x[order] for x in (k, rows, anchor, anchor_from, due, met, ext_req, ext_applied))
    status, late = _status(due, met, as_of)
    part = Part(rule, table, rows, due, met, status, late, k, anchor, anchor_from=anchor_from)
    if with_ext:
        part.ext_requested, part.ext_applied = ext_req, ext_applied
    return part


# --- rolling deadlines --------------------------------------------------------------


def _rolling(rule: Rule, table: Subjects, as_of: int) -> Part:
    start, start_from = _first_recorded(rule.starts, table, as_of)
    first = _version_index(rule, start)
    ended = known(table.ended, as_of) if table.ended is not None else np.full(len(table), NONE)
    ok = _applies(rule, table) & (first >= 0)
    out = []
    for k in sorted(set(first[ok].tolist())):
        keys = table.fields[rule.versions[k].met_by].keys(len(table), as_of)
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
                due = next_working_day(due)
            keep = ~((ended[rows] < NONE) & (due > ended[rows]))  # none due after the subject ended
            rows, anchor, v, due = rows[keep], anchor[keep], v[keep], due[keep]
            met = keys.first_after(rows, anchor)  # an event on or before the anchor cannot satisfy the next one
            out.append((rows, np.full(len(rows), seq), due, met, v, anchor, start_from[rows]))
            going = met < NONE  # while one is open or overdue, no later one is generated
            rows, anchor = rows[going], met[going]
            seq += 1
    if not out:
        return _empty(rule, table, seq=np.zeros(0, dtype=np.int64), anchor_from=np.zeros(0, dtype=np.int8))
    rows, seq, due, met, v, anchor, anchor_from = (np.concatenate([o[i] for o in out]) for i in range(7))
    order = np.lexsort((seq, rows))
    rows, seq, due, met, v, anchor, anchor_from = (x[order] for x in (rows, seq, due, met, v, anchor, anchor_from))
    status, late = _status(due, met, as_of)
    return Part(rule, table, rows, due, met, status, late, v, anchor, anchor_from=anchor_from, seq=seq)


# --- visit frequencies ----------------------------------------------------------------


# Why a recorded reduction of the visit minimum is not valid (0: it is).
VALID, NOT_IN_VERSION, TOO_EARLY, NO_BIRTH_DATE, TOO_YOUNG = range(5)


def reduction_validity(version: RuleVersion, start: np.ndarray, decided: np.ndarray,
                       birth: np.ndarray) -> np.ndarray:
    """Per placement, why a reduction decided on ``decided`` is not valid under
    ``version`` (:data:`VALID` when it is): the version must allow one, the child must
    have been placed more than the minimum time on the decision date and (where the
    version says) have reached the minimum age by then."""
    if version.reduction is None or version.reduced_per_half_year is None:
        return np.full(len(decided), NOT_IN_VERSION, dtype=np.int8)
    spec = version.reduction
    why = np.full(len(decided), VALID, dtype=np.int8)
    if spec.min_age is not None:
        why = np.where(add_months(birth, 12 * spec.min_age) > decided, TOO_YOUNG, why)  # not yet that old
        why = np.where(birth >= NONE, NO_BIRTH_DATE, why)
    return np.where(decided <= add_period(start, spec.min_time_placed), TOO_EARLY, why).astype(np.int8)


def reduction_note(version: RuleVersion, why: int, decided: int) -> str | None:
    """The result's note on a reduction of the visit minimum (bokmål)."""
    on = from_day(decided).isoformat()
    spec = version.reduction
    if why == VALID:
        if spec.consent_required:
            return "barnets samtykke kreves, men registreres ikke i importen og er ikke kontrollert"
        return None
    reason = {
        NOT_IN_VERSION: lambda: f"{version.name} gir ikke adgang til reduksjon",
        TOO_EARLY: lambda: f"vedtatt {on}, før barnet hadde vært plassert mer enn {spec.min_time_placed.norwegian}",
        NO_BIRTH_DATE: lambda: "fødselsdato ikke registrert, så alderskravet kan ikke kontrolleres",
        TOO_YOUNG: lambda: f"vedtatt {on}, før barnet hadde fylt {spec.min_age} år",
    }[why]()
    return f"Reduksjon ikke lagt til grunn: {reason}"


def _visits(rule: Rule, table: Subjects, batch: Batch, as_of: int, limits: _Limits) -> Part:
    start = known(table.fields["started_on"], as_of)
    rows = np.nonzero(_applies(rule, table) & (start < NONE))[0]
    start = start[rows]
    ended = known(table.ended[rows], as_of) if table.ended is not None else np.full(len(rows), NONE)
    if rule.until_age is not None:  # the duty ends on the day the child turns until_age
        birth = batch.birth[table.case[rows]]
        limit = add_months(birth, 12 * rule.until_age)
        use = (birth < NONE) & ((ended >= NONE) | (limit < ended))
        ended = np.where(use, limit, ended)
    # The counting periods of each placement: first-year quarters (when the rule has
    # them), then half-years, up to the period after the as-of date's.
    sm = month_index(start)
    if rule.first_year_quarterly:
        q0 = sm // 3
        ql = month_index(add_months(start, 12) - 1) // 3
        nq = ql - q0 + 1
        after_m = (ql + 1) * 3
        after = first_of_month(after_m)
    else:
        q0 = np.zeros(len(rows), dtype=np.int64)
        nq = np.zeros(len(rows), dtype=np.int64)
        after_m, after = sm, start
    h0 = after_m // 6
    as_of_h = int(month_index(np.array([as_of]))[0]) // 6
    nh = np.maximum(as_of_h + 2 - h0, 0)
    count = nq + nh
    owner = np.repeat(np.arange(len(rows)), count)
    first_of_group = np.cumsum(count) - count
    local = np.arange(len(owner)) - np.repeat(first_of_group, count)
    is_q = local < nq[owner]
    start_m = np.where(is_q, (q0[owner] + local) * 3, (h0[owner] + local - nq[owner]) * 6)
    end_m = start_m + np.where(is_q, 3, 6)
    pstart = first_of_month(start_m)
    pend = first_of_month(end_m) - 1
    counted = np.maximum(pstart, np.where(is_q, start[owner], after[owner]))
    over_end = (ended[owner] < NONE) & (pend > ended[owner])  # RULES.md: no obligation due after the duty ended
    fail = over_end | (counted > as_of)  # a period whose counting has not begun has no obligation yet
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
    first_quarter_end = first_of_month(start_m + 3) - 1
    quarters = np.where(is_q, 1, 1 + (first_quarter_end >= counted))  # quarters of the half-year counted
    required = np.where(is_q, 1, np.minimum(per_half, quarters))
    subject_rows = rows[owner]
    red_decided = red_valid = red_why = None
    if rule.reduced_on:
        decided = known(table.fields[rule.reduced_on][rows], as_of)
        birth_all = batch.birth[table.case[rows]]
        why_by_version = np.stack([reduction_validity(ver, start, decided, birth_all) for ver in rule.versions])
        red_decided = decided[owner]
        applies = (red_decided < NONE) & (red_decided <= pend)  # from the period in which it was decided
        red_why = why_by_version[v, owner]
        valid = red_why == VALID
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

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

from frister.calendar import (NONE, Period, add_months, add_period, birthday, first_of_month, from_day, known,
                              month_index, next_working_day, subtract_period, to_day)
from frister.engine.batch import Batch, Subjects, batch_from_records, field_kind, object_array
from frister.engine.results import STATUSES, Result
from frister.facts.contract import Case
from frister.facts.vocabulary import SUBJECTS
from frister.rules.model import Rule, RuleVersion

MET, LATE, OPEN, OVERDUE, NOT_EVALUATED = range(5)


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
    clock: np.ndarray | None = None  # deadlines: when the clock started (anchor, offset, cap)
    seq: np.ndarray | None = None
    period: np.ndarray | None = None  # label code: year * 10 + (1, 2 half-year; 5..8 quarter 1..4)
    required: np.ndarray | None = None
    done: np.ndarray | None = None
    ext_requested: np.ndarray | None = None
    ext_applied: np.ndarray | None = None  # -1 not applicable, 0, 1
    red_decided: np.ndarray | None = None
    red_valid: np.ndarray | None = None  # -1 not applicable, 0, 1
    red_why: np.ndarray | None = None  # why a reduction is not valid (VALID, TOO_EARLY, …)
    why_not: np.ndarray | None = None  # why not evaluated: a WHY_NOT code (0: evaluated)

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
        """Obligations per status (in :data:`STATUSES` order)."""
        total = np.zeros(len(STATUSES), dtype=np.int64)
        for p in self.parts:
            total += np.bincount(p.status, minlength=len(STATUSES))
        return total

    def case_counts(self) -> np.ndarray:
        """Obligations per case and status: shape ``(cases, len(STATUSES))``."""
        out = np.zeros((len(self.batch), len(STATUSES)), dtype=np.int64)
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
        municipalities = b.cases["municipality"]
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
                if p.clock is not None:
                    extra["clock_on"] = from_day(p.clock[i])
                if p.why_not is not None and p.why_not[i]:
                    extra["not_evaluated"] = not_evaluated_text(rule, b, case, int(p.why_not[i]))
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
                    rule_version=version.name, unit=t.unit[row], caseworker=t.caseworker[row],
                    municipality=municipalities[case],
                    anchor_on=from_day(p.anchor[i]), basis=version.basis, confidence=version.confidence,
                    duty=version.duty, **extra,
                )

    def columns(self, statuses: Iterable[str]) -> dict[str, list]:
        """The obligations whose status is in ``statuses`` as database-ready columns
        (``obligations`` column name → list; dates as ISO text, None for no value), built
        column by column without a Python object per obligation field."""
        wanted = np.array(sorted(STATUSES.index(s) for s in set(statuses)), dtype=np.int8)
        b = self.batch
        case_ids, municipalities = object_array(b.case_ids), b.cases["municipality"]
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
                "unit": t.unit[rows], "caseworker": t.caseworker[rows], "municipality": municipalities[cases],
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
        _mark_not_evaluable(part, batch)
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


# --- what the source delivers ------------------------------------------------------

NOT_DELIVERED, BEFORE_COMPLETE = 1, 2  # why an obligation is not evaluated


def rule_inputs(rule: Rule) -> frozenset[str]:
    """The facts a rule reads, as a source names them in ``not_delivered``
    (``referrals.feedback_sent_on``; the child's are the case's ``aftercare.assessed_on``)."""
    names = {*rule.starts, *(k for k, _ in rule.applies_when), rule.visits, rule.reduced_on, rule.consent,
             rule.restarts_on}
    for v in rule.versions:
        names.update((*v.anchor, v.met_by, v.not_before, v.interval_from))
        if v.anchor_not_after:
            names.add(v.anchor_not_after[0])
    return _delivered_as(rule, names)


def _delivered_as(rule: Rule, names) -> frozenset[str]:
    st = SUBJECTS[rule.subject]
    names.discard(None)
    out = set()
    for n in names:
        f = st.fields[n]
        if f.derived_from or st.derived:
            out.add(f.derived_from)
        elif f.path:
            out.add(f"{st.table}.{f.delivered_as}")
    return frozenset(out - {""})


def _mark_not_evaluable(part: Part, batch: Batch) -> None:
    """RULES.md: an obligation whose rule reads a fact its case's source does not deliver,
    or whose anchor lies before the date from which the source's history is complete,
    is ``not_evaluated`` (never overdue on missing data)."""
    if not batch.sources or not len(part):
        return
    inputs = rule_inputs(part.rule)
    # The child's consent is read only where a reduction is recorded: without one the
    # full minimum applies, whatever the source says of consent.
    consent = _delivered_as(part.rule, {part.rule.consent}) if part.rule.consent else frozenset()
    reduced = part.red_decided < NONE if part.red_decided is not None else np.ones(len(part), dtype=bool)
    source = batch.cases["source"][part.table.case[part.row]]
    why = np.zeros(len(part), dtype=np.int8)
    for name, (complete_from, not_delivered) in batch.sources.items():
        mine = source == name
        if (inputs - consent) & not_delivered:
            why[mine] = NOT_DELIVERED
            continue
        if consent & not_delivered:
            why[mine & reduced] = NOT_DELIVERED
        if complete_from < NONE:
            why[mine & (why == 0) & (part.anchor < complete_from)] = BEFORE_COMPLETE
    if why.any():
        part.why_not = why
        part.status = np.where(why > 0, NOT_EVALUATED, part.status).astype(np.int8)
        part.days_late = np.where(why > 0, 0, part.days_late)


def not_evaluated_text(rule: Rule, batch: Batch, case: int, why: int) -> str:
    name = batch.cases["source"][case]
    complete_from, not_delivered = batch.sources[name]
    if why == NOT_DELIVERED:
        return f"kilden {name} leverer ikke {', '.join(sorted(rule_inputs(rule) & not_delivered))}"
    return f"før {from_day(complete_from).isoformat()}, da historikken i kilden {name} begynner"


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
        hit = np.zeros(len(table), dtype=bool)
        for value in values:  # element-wise ==, as `in` compares; None equals no value named
            hit |= col == value
        ok &= hit
    return ok


def _empty(rule: Rule, table: Subjects, **extra) -> Part:
    z = np.zeros(0, dtype=np.int64)
    return Part(rule, table, z, z, z, z.astype(np.int8), z, z, z, **extra)


# --- one-off deadlines --------------------------------------------------------------


def _clock(version: RuleVersion, rule: Rule, table: Subjects, rows: np.ndarray, anchor: np.ndarray,
           anchor_from: np.ndarray, as_of: int) -> np.ndarray:
    """When the clock starts: the anchor, plus the version's offset (for every anchor,
    or only for the anchor field it names), and no later than ``anchor_not_after``."""
    clock = add_period(anchor, version.anchor_offset) if version.anchor_offset is not None else anchor
    names = version.anchor or rule.starts
    for field, period in version.anchor_offsets:  # only where the anchor came from that field
        hit = anchor_from == names.index(field)
        clock = np.where(hit, add_period(anchor, period), clock)
    if version.anchor_not_after is not None:
        field, plus = version.anchor_not_after
        cap = add_period(_field(table, field, as_of)[rows], plus)
        clock = np.where(cap < clock, cap, clock)  # NONE (no such date) caps nothing
    return clock


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
        clock = _clock(version, rule, table, rows, anchor, anchor_from, as_of)
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
        pieces.append((np.full(int(keep.sum()), k, dtype=np.int64), rows[keep], anchor[keep], anchor_from[keep],
                       clock[keep], due[keep], met[keep], ext_req[keep], ext_applied[keep]))
    if not pieces:
        return _empty(rule, table, anchor_from=np.zeros(0, dtype=np.int8), clock=np.zeros(0, dtype=np.int64))
    columns = [np.concatenate([p[i] for p in pieces]) for i in range(9)]
    order = np.argsort(columns[1], kind="stable")  # in subject order
    k, rows, anchor, anchor_from, clock, due, met, ext_req, ext_applied = (x[order] for x in columns)
    status, late = _status(due, met, as_of)
    part = Part(rule, table, rows, due, met, status, late, k, anchor, anchor_from=anchor_from, clock=clock)
    if with_ext:
        part.ext_requested, part.ext_applied = ext_req, ext_applied
    return part


# --- rolling deadlines --------------------------------------------------------------


def _add_recorded(days: np.ndarray, periods: np.ndarray) -> np.ndarray:
    """Each day plus its row's recorded period (``6 months``; None: NONE)."""
    out = np.full(len(days), NONE, dtype=np.int64)
    for text in set(periods.tolist()) - {None}:
        hit = periods == text
        out[hit] = add_period(days[hit], Period.parse(text))
    return out


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
                    if version.interval_from:  # the plan's own interval, when it is longer
                        own = _add_recorded(anchor[hit], table.fields[version.interval_from][rows[hit]])
                        due[hit] = np.where((own < NONE) & (own > due[hit]), own, due[hit])
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
VALID, NOT_IN_VERSION, TOO_EARLY, NO_BIRTH_DATE, TOO_YOUNG, NO_CONSENT = range(6)


def reduction_validity(version: RuleVersion, start: np.ndarray, decided: np.ndarray, birth: np.ndarray,
                       consent: np.ndarray) -> np.ndarray:
    """Per placement, why a reduction decided on ``decided`` is not valid under
    ``version`` (:data:`VALID` when it is), the first condition that fails: the version
    must allow one; the child must have been placed more than the minimum time on the
    decision date, and (where the version says) have reached the minimum age then, and
    the child's consent must be recorded."""
    if version.reduction is None or version.reduced_per_half_year is None:
        return np.full(len(decided), NOT_IN_VERSION, dtype=np.int8)
    spec = version.reduction
    why = np.full(len(decided), VALID, dtype=np.int8)
    if spec.consent_required:
        why = np.where(consent, why, NO_CONSENT)  # no consent recorded
    if spec.min_age is not None:
        why = np.where(birthday(birth, spec.min_age) > decided, TOO_YOUNG, why)  # not yet that old
        why = np.where(birth >= NONE, NO_BIRTH_DATE, why)
    return np.where(decided <= add_period(start, spec.min_time_placed), TOO_EARLY, why).astype(np.int8)


def reduction_note(version: RuleVersion, why: int, decided: int) -> str | None:
    """The result's note on a reduction of the visit minimum (bokmål; None when valid)."""
    if why == VALID:
        return None
    on = from_day(decided).isoformat()
    spec = version.reduction
    reason = {
        NOT_IN_VERSION: lambda: f"{version.name} gir ikke adgang til reduksjon",
        TOO_EARLY: lambda: f"vedtatt {on}, før barnet hadde vært plassert mer enn {spec.min_time_placed.norwegian}",
        NO_CONSENT: lambda: "barnets samtykke er ikke registrert",
        NO_BIRTH_DATE: lambda: "fødselsdato ikke registrert, så alderskravet kan ikke kontrolleres",
        TOO_YOUNG: lambda: f"vedtatt {on}, før barnet hadde fylt {spec.min_age} år",
    }[why]()
    return f"Reduksjon ikke lagt til grunn: {reason}"


def pro_rata(minimum: np.ndarray, covered: np.ndarray, days: np.ndarray) -> np.ndarray:
    """RULES.md: the minimum for a period the duty covers in part, rounded half up:
    ``minimum × days covered / days in the period``."""
    return (2 * minimum * covered + days) // (2 * days)


def _expand(first: np.ndarray, last: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each i, the indexes ``first[i] … last[i]``: ``(owner, index)`` arrays."""
    count = np.maximum(last - first + 1, 0)
    owner = np.repeat(np.arange(len(first)), count)
    step = np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count)
    return owner, first[owner] + step


def _last_day(rule: Rule, table: Subjects, batch: Batch, rows: np.ndarray, as_of: int) -> np.ndarray:
    """The duty's last day per placement: the placement's end, or for a duty that runs
    «frem til barnet fyller 18 år» the day before that birthday, whichever comes first
    (NONE: it runs on)."""
    last = known(table.ended[rows], as_of) if table.ended is not None else np.full(len(rows), NONE)
    if rule.until_age is not None:
        birth = batch.birth[table.case[rows]]
        until = np.where(birth < NONE, birthday(birth, rule.until_age) - 1, NONE)
        last = np.minimum(last, until)
    return last


def _half_years(start: np.ndarray, last: np.ndarray, as_of: int):
    """The calendar half-years of each placement's duty, up to the one after as-of's:
    ``(owner, first day, last day, period code, first day counted, due)``."""
    through = np.minimum(np.where(last < NONE, month_index(last) // 6, as_of), month_index(as_of) // 6 + 1)
    owner, half = _expand(month_index(start) // 6, through)
    pstart, pend = first_of_month(half * 6), first_of_month(half * 6 + 6) - 1
    year, h = np.divmod(half, 2)
    counted = np.maximum(pstart, start[owner])
    due = np.minimum(pend, last[owner])
    return owner, pstart, pend, year * 10 + 1 + h, counted, due, np.ones(len(owner), dtype=np.int64)


def _first_year_quarters(rule: Rule, table: Subjects, rows: np.ndarray, start: np.ndarray, last: np.ndarray,
                         as_of: int):
    """The calendar quarters of each placement's first twelve months, and of the twelve
    months after each move to a new foster home (``restarts_on``; a first year ends when
    the next begins): ``(owner, first day, last day, period code, first day counted,
    due, seq)``; ``seq`` numbers the first years of a placement."""
    w_owner, w_first = np.arange(len(rows)), start
    if rule.restarts_on:
        moves = table.fields[rule.restarts_on]
        of_row = np.full(len(table), -1, dtype=np.int64)
        of_row[rows] = np.arange(len(rows))
        owner = of_row[moves.owners()]
        keep = (owner >= 0) & (moves.values <= as_of)
        owner, day = owner[keep], moves.values[keep]
        keep = day > start[owner]
        w_owner, w_first = np.concatenate([w_owner, owner[keep]]), np.concatenate([w_first, day[keep]])
        order = np.lexsort((w_first, w_owner))
        w_owner, w_first = w_owner[order], w_first[order]
    nxt = np.full(len(w_first), NONE, dtype=np.int64)
    same = w_owner[1:] == w_owner[:-1]
    nxt[:-1][same] = w_first[1:][same]
    w_last = np.minimum(np.minimum(add_months(w_first, 12) - 1, nxt - 1), last[w_owner])
    seq = np.arange(len(w_owner)) - np.searchsorted(w_owner, w_owner) + 1  # 1, 2, … within each placement
    through = np.minimum(np.where(w_last < NONE, month_index(w_last) // 3, as_of), month_index(as_of) // 3 + 1)
    w, quarter = _expand(month_index(w_first) // 3, through)
    pstart, pend = first_of_month(quarter * 3), first_of_month(quarter * 3 + 3) - 1
    year, q = np.divmod(quarter, 4)
    return (w_owner[w], pstart, pend, year * 10 + 5 + q, np.maximum(pstart, w_first[w]),
            np.minimum(pend, w_last[w]), seq[w])


def _visits(rule: Rule, table: Subjects, batch: Batch, as_of: int, limits: _Limits) -> Part:
    start = known(table.fields["started_on"], as_of)
    rows = np.nonzero(_applies(rule, table) & (start < NONE))[0]
    start = start[rows]
    last = _last_day(rule, table, batch, rows, as_of)
    periods = _first_year_quarters if rule.first_year_quarters else (lambda r, t, rows_, *a: _half_years(*a))
    owner, pstart, pend, code, counted, due, seq = periods(rule, table, rows, start, last, as_of)
    # A period whose counting has not begun has no obligation yet: it appears then. One
    # that begins after the duty's last day never has one.
    within = counted <= due
    waiting = within & (counted > as_of)
    limits.add(table.case[rows[owner[waiting]]], counted[waiting] - 1)
    v = _version_index(rule, pstart)
    keep = within & ~waiting & (v >= 0)
    owner, pstart, pend, code, counted, due, seq, v = (x[keep] for x in (owner, pstart, pend, code, counted, due,
                                                                         seq, v))
    if rule.first_year_quarters:
        required = np.array([ver.per_quarter or 0 for ver in rule.versions], dtype=np.int64)[v]
    else:
        required = np.array([ver.per_half_year or 0 for ver in rule.versions], dtype=np.int64)[v]
    red_decided = red_valid = red_why = None
    if rule.reduced_on:
        decided = known(table.fields[rule.reduced_on][rows], as_of)
        consent = table.fields[rule.consent][rows] if rule.consent else np.zeros(len(rows), dtype=bool)
        birth = batch.birth[table.case[rows]]
        why_by_version = np.stack([reduction_validity(ver, start, decided, birth, consent) for ver in rule.versions])
        red_decided = decided[owner]
        applies = (red_decided < NONE) & (red_decided <= pend)  # from the period in which it was decided
        red_why = why_by_version[v, owner]
        red_valid = np.where(applies, (red_why == VALID).astype(np.int8), -1).astype(np.int8)
        reduced = np.array([ver.reduced_per_half_year or 0 for ver in rule.versions], dtype=np.int64)[v]
        required = np.where(red_valid == 1, np.minimum(reduced, required), required)
        red_decided = np.where(applies, red_decided, NONE)
    if not rule.first_year_quarters:  # a half-year the duty covers in part: pro rata
        required = pro_rata(required, due - counted + 1, pend - pstart + 1)
    keep = required > 0  # a period that requires no visit gives no obligation
    subject_rows = rows[owner]
    done = table.fields[rule.visits].keys(len(table), as_of).count(subject_rows[keep], counted[keep], due[keep])
    required, due, counted, v, code, seq, subject_rows = (x[keep] for x in (required, due, counted, v, code, seq,
                                                                              subject_rows))
    if red_decided is not None:
        red_decided, red_valid, red_why = red_decided[keep], red_valid[keep], red_why[keep]
    status = np.where(done >= required, MET, np.where(as_of <= due, OPEN, OVERDUE)).astype(np.int8)
    late = np.where(status == OVERDUE, as_of - due, 0)
    return Part(rule, table, subject_rows, due, np.full(len(due), NONE), status, late, v, counted,
                seq=seq, period=code, required=required, done=done, red_decided=red_decided, red_valid=red_valid,
                red_why=red_why)

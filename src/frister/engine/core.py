"""The pure evaluation core: ``evaluate(rules, facts, as_of) -> results``.

No database, no clock, no e-mail: plain data in, plain data out, so any past
evaluation can be reproduced exactly.

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
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Iterable, Iterator

from frister.calendar import (
    CalendarPeriod,
    add_months,
    add_period,
    age_on,
    half_years_from,
    next_working_day,
    quarter_of,
    quarters_from,
    subtract_period,
)
from frister.engine.results import Result, Status
from frister.facts.model import CaseFacts
from frister.facts.subjects import SUBJECTS, SubjectType
from frister.rules.model import Rule, RuleSet, RuleVersion


def evaluate(rules: RuleSet | Iterable[Rule], facts: CaseFacts | Iterable[CaseFacts], as_of: date) -> list[Result]:
    """Evaluate every rule for every case as of ``as_of``; results in a stable order."""
    if isinstance(facts, CaseFacts):
        facts = (facts,)
    return list(iter_results(rules, facts, as_of))


def iter_results(rules: RuleSet | Iterable[Rule], facts: Iterable[CaseFacts], as_of: date) -> Iterator[Result]:
    """Like :func:`evaluate`, streaming: one case at a time, constant memory."""
    rule_list = tuple(rules)
    for case in facts:
        yield from evaluate_case(rule_list, case, as_of)


def evaluate_case(rules: Iterable[Rule], case: CaseFacts, as_of: date) -> list[Result]:
    return _evaluate(rules, case, as_of, None)


def evaluate_case_until(rules: Iterable[Rule], case: CaseFacts, as_of: date) -> tuple[list[Result], date | None]:
    """The case's results as of ``as_of``, and the last date they stay valid.

    ``stable_until`` is the last date D ≥ ``as_of`` for which ``evaluate_case(rules, case, D)``
    gives the same results, except ``days_late`` of ``overdue`` results (which is simply
    D − due date). None means never: every obligation of the case is settled. It is the
    earliest of: an open obligation's due date (it turns overdue the day after); the day
    before a visit period's counting begins; the day before a deadline becomes visible
    (``opens_before_due``); the day before any recorded event dated after ``as_of``.
    The incremental nightly run re-evaluates a case only when its facts changed or this
    date has passed.
    """
    limits: list[date] = []
    results = _evaluate(rules, case, as_of, limits)
    future = _first_event_after(case, as_of)
    if future is not None:
        limits.append(future - timedelta(days=1))
    return results, (min(limits) if limits else None)


def _evaluate(rules: Iterable[Rule], case: CaseFacts, as_of: date, limits: list[date] | None) -> list[Result]:
    out: list[Result] = []
    for rule in rules:
        subject_type = SUBJECTS[rule.subject]
        for subject in subject_type.iterate(case):
            if not _applies(rule, case, subject, subject_type):
                continue
            if rule.kind == "deadline":
                r = _deadline(rule, subject_type, case, subject, as_of, limits)
                if r is not None:
                    out.append(r)
            elif rule.kind == "rolling":
                out.extend(_rolling(rule, subject_type, case, subject, as_of))
            else:
                out.extend(_visits(rule, subject_type, case, subject, as_of, limits))
    if limits is not None:
        limits.extend(r.due_on for r in out if r.status == "open")
    return out


def _first_event_after(case: CaseFacts, as_of: date) -> date | None:
    """The earliest recorded event dated after ``as_of`` (it will change the evaluation)."""
    later = [d for d in _all_event_dates(case) if d is not None and d > as_of]
    return min(later) if later else None


def _all_event_dates(case: CaseFacts) -> Iterator[date | None]:
    yield case.aftercare_assessed_on
    for r in case.referrals:
        yield from (r.received_on, r.concluded_on, r.feedback_sent_on)
    for i in case.investigations:
        yield from (i.started_on, i.concluded_on, i.reviewed_after_closing_on)
        if i.extension is not None:
            yield i.extension.requested_on
    for m in case.measures:
        yield from (m.decided_on, m.ended_on, m.plan_made_on)
        yield from m.evaluations
    for c in case.care_orders:
        yield from (c.decided_on, c.implemented_on, c.care_plan_made_on)
    for e in case.emergency_decisions:
        yield from (e.decided_on, e.petition_sent_on)
    for p in case.placements:
        yield from (p.started_on, p.ended_on, p.followup_reduced_on, p.supervision_reduced_on)
        yield from p.followup_visits
        yield from p.supervision_visits


# --- helpers ------------------------------------------------------------------------


def _applies(rule: Rule, case: CaseFacts, subject, st: SubjectType) -> bool:
    for name, values in rule.applies_when:
        if st.fields[name].get(case, subject) not in values:
            return False
    return True


def _known(day: date | None, as_of: date) -> date | None:
    """An event's date if it had happened by ``as_of``."""
    return day if day is not None and day <= as_of else None


def _first_recorded(names: tuple[str, ...], st: SubjectType, case: CaseFacts, subject, as_of: date) -> tuple[date | None, str | None]:
    for name in names:
        spec = st.fields[name]
        value = spec.get(case, subject)
        if spec.kind == "date":
            value = _known(value, as_of)
        if value is not None:
            return value, name
    return None, None


def _ended(st: SubjectType, case: CaseFacts, subject, as_of: date) -> date | None:
    return _known(st.ended(case, subject), as_of) if st.ended is not None else None


def _status(due: date, met_on: date | None, as_of: date) -> tuple[Status, int]:
    if met_on is not None:
        if met_on <= due:
            return "met", 0
        return "late", (met_on - due).days
    if as_of <= due:
        return "open", 0
    return "overdue", (as_of - due).days


def _label(st: SubjectType, name: str | None) -> str:
    return st.fields[name].label if name else "?"


# --- one-off deadlines --------------------------------------------------------------


def _deadline(rule: Rule, st: SubjectType, case: CaseFacts, subject, as_of: date,
              limits: list[date] | None = None) -> Result | None:
    start, start_name = _first_recorded(rule.starts, st, case, subject, as_of)
    if start is None:
        return None
    version = rule.version_on(start)
    if version is None:
        return None
    anchor, anchor_name = (start, start_name) if not version.anchor else _first_recorded(
        version.anchor, st, case, subject, as_of
    )
    if anchor is None:
        return None
    words = [f"{_label(st, anchor_name)} {anchor.isoformat()}"]
    clock = anchor
    if version.anchor_offset is not None:
        clock = add_period(anchor, version.anchor_offset)
        words.append(f"+ {version.anchor_offset.norwegian}")
    if version.lead_time is not None:
        due = subtract_period(clock, version.lead_time)
        words.append(f"− {version.lead_time.norwegian}")
    else:
        period = version.period_for(getattr(subject, "kind", None))
        if period is None:  # a kind the rule has no period for: nothing to track
            return None
        due = add_period(clock, period)
        words.append(f"+ {period.norwegian}")
    if version.not_before is not None:
        floor = _known(st.fields[version.not_before].get(case, subject), as_of)
        if floor is None:
            return None
        if floor > due:
            due = floor
            words.append(f"(tidligst {_label(st, version.not_before)} {floor.isoformat()})")

    ext_fields: dict = {}
    extension = getattr(subject, "extension", None) if version.extension is not None else None
    if extension is not None and _known(extension.requested_on, as_of) is not None:
        ext_fields = {
            "extension_requested_on": extension.requested_on,
            "extension_granted": extension.granted,
            "extension_reason": extension.reason,
            "extension_applied": False,
        }
        if not extension.granted:
            words.append("(forlengelse søkt, ikke innvilget)")
        elif version.extension.requested_by_due and extension.requested_on > due:
            words.append(f"(forlengelse søkt {extension.requested_on.isoformat()}, etter fristen {due.isoformat()}: ikke lagt til grunn)")
        else:
            due = add_period(clock, version.extension.period)
            ext_fields["extension_applied"] = True
            words.append(f"forlenget til {version.extension.period.norwegian} totalt")

    if rule.roll_to_working_day:
        rolled = next_working_day(due)
        if rolled != due:
            words.append(f"(flyttet fra {due.isoformat()} til neste virkedag)")
            due = rolled
    if rule.opens_before_due is not None:
        opens = subtract_period(due, rule.opens_before_due)
        if as_of < opens:
            if limits is not None:
                limits.append(opens - timedelta(days=1))
            return None
    ended = _ended(st, case, subject, as_of)
    if ended is not None and due > ended:
        return None

    met_on = _known(st.fields[version.met_by].get(case, subject), as_of) if version.met_by else None
    status, days_late = _status(due, met_on, as_of)
    explanation = f"Frist {due.isoformat()}: " + " ".join(words) + f". {version.basis} ({version.name})."
    return Result(
        case_id=case.case_id, rule=rule.id, subject=subject.id, period=None, seq=1,
        due_on=due, met_on=met_on, status=status, days_late=days_late, required=None, done=None,
        rule_version=version.name, unit=case.unit, caseworker=case.caseworker, anchor_on=anchor,
        basis=version.basis, confidence=version.confidence, explanation=explanation, **ext_fields,
    )


# --- rolling deadlines --------------------------------------------------------------


def _rolling(rule: Rule, st: SubjectType, case: CaseFacts, subject, as_of: date) -> list[Result]:
    out: list[Result] = []
    start, start_name = _first_recorded(rule.starts, st, case, subject, as_of)
    if start is None:
        return out
    ended = _ended(st, case, subject, as_of)
    first_version = rule.version_on(start)
    if first_version is None:
        return out
    events_name = first_version.met_by
    events = sorted(d for d in st.fields[events_name].get(case, subject) if d <= as_of)
    anchor, anchor_label = start, _label(st, start_name)
    seq = 1
    i = 0
    while True:
        version = rule.version_on(anchor)
        if version is None:
            break
        due = add_period(anchor, version.period)
        if rule.roll_to_working_day:
            due = next_working_day(due)
        if ended is not None and due > ended:
            break
        while i < len(events) and events[i] <= anchor:
            i += 1  # an evaluation on or before the anchor cannot satisfy the next one
        met_on = events[i] if i < len(events) else None
        status, days_late = _status(due, met_on, as_of)
        explanation = (
            f"Frist {due.isoformat()}: {anchor_label} {anchor.isoformat()} + {version.period.norwegian}"
            f" (evaluering nr. {seq}). {version.basis} ({version.name})."
        )
        out.append(Result(
            case_id=case.case_id, rule=rule.id, subject=subject.id, period=None, seq=seq,
            due_on=due, met_on=met_on, status=status, days_late=days_late, required=None, done=None,
            rule_version=version.name, unit=case.unit, caseworker=case.caseworker, anchor_on=anchor,
            basis=version.basis, confidence=version.confidence, explanation=explanation,
        ))
        if met_on is None:
            break  # while one is open or overdue, no later one is generated
        anchor, anchor_label = met_on, _label(st, events_name)
        seq += 1
    return out


# --- visit frequencies ----------------------------------------------------------------


def _windows(rule: Rule, start: date) -> Iterator[tuple[CalendarPeriod, date]]:
    """The counting periods of a placement, without end: (period, first day counted in it)."""
    if rule.first_year_quarterly:
        first_year_last_day = add_months(start, 12) - timedelta(days=1)
        last_quarter = quarter_of(first_year_last_day)
        for q in quarters_from(start):
            if q.start > last_quarter.start:
                break
            yield q, max(q.start, start)
        after = last_quarter.end + timedelta(days=1)
    else:
        after = start
    for h in half_years_from(after):
        yield h, max(h.start, after)


def _reduction_check(rule: Rule, version: RuleVersion, placement_start: date, decided: date, birth: date | None) -> str | None:
    """None when a reduction decided on ``decided`` is valid, else why it is not (bokmål)."""
    spec = version.reduction
    if spec is None or version.reduced_per_half_year is None:
        return f"{version.name} gir ikke adgang til reduksjon"
    limit = add_period(placement_start, spec.min_time_placed)
    if decided <= limit:
        return f"vedtatt {decided.isoformat()}, før barnet hadde vært plassert mer enn {spec.min_time_placed.norwegian}"
    if spec.min_age is not None:
        if birth is None:
            return "fødselsdato ikke registrert, så alderskravet kan ikke kontrolleres"
        if age_on(birth, decided) < spec.min_age:
            return f"vedtatt {decided.isoformat()}, før barnet hadde fylt {spec.min_age} år"
    return None


def _visits(rule: Rule, st: SubjectType, case: CaseFacts, placement, as_of: date,
            limits: list[date] | None = None) -> list[Result]:
    out: list[Result] = []
    start = _known(placement.started_on, as_of)
    if start is None:
        return out
    ended = _ended(st, case, placement, as_of)
    if rule.until_age is not None and case.birth_date is not None:
        limit = add_months(case.birth_date, 12 * rule.until_age)  # the day the child turns 18
        if ended is None or limit < ended:
            ended = limit
    visits = [d for d in st.fields[rule.visits].get(case, placement) if d <= as_of]
    reduced_on = _known(st.fields[rule.reduced_on].get(case, placement), as_of) if rule.reduced_on else None
    responsible = st.fields[rule.responsible].get(case, placement) if rule.responsible else None

    for period, counted_from in _windows(rule, start):
        if ended is not None and period.end > ended:
            break  # RULES.md: no obligation due after the subject ended
        if counted_from > as_of:
            # A period whose counting has not begun has no obligation yet; it appears then.
            if limits is not None:
                limits.append(counted_from - timedelta(days=1))
            break
        version = rule.version_on(period.start)
        if version is None:
            continue
        quarters = sum(1 for q in period.quarters() if q.end >= counted_from)
        if period.kind == "Q":
            required, basis_word = 1, "første år: 1 per kvartal"
        else:
            required = min(version.per_half_year, quarters)
            basis_word = f"{version.per_half_year} per halvår"
            if required < version.per_half_year:
                basis_word += f", {quarters} kvartal(er) av halvåret telles"
        red_fields: dict = {}
        if reduced_on is not None and reduced_on <= period.end:
            why_not = _reduction_check(rule, version, start, reduced_on, case.birth_date)
            red_fields = {"reduction_decided_on": reduced_on, "reduction_applied": why_not is None}
            if why_not is None:
                notes = []
                if version.reduction.consent_required:
                    notes.append("barnets samtykke kreves, men registreres ikke i importen og er ikke kontrollert")
                if period.kind == "H" and version.reduced_per_half_year < required:
                    required = version.reduced_per_half_year
                    basis_word = f"redusert til {required} per halvår (vedtak {reduced_on.isoformat()})"
                red_fields["reduction_note"] = "; ".join(notes) or None
            else:
                red_fields["reduction_note"] = f"Reduksjon ikke lagt til grunn: {why_not}"
                basis_word += f"; reduksjon ikke gyldig ({why_not})"
        done = sum(1 for d in visits if counted_from <= d <= period.end)
        if done >= required:
            status, days_late = "met", 0
        elif as_of <= period.end:
            status, days_late = "open", 0
        else:
            status, days_late = "overdue", (as_of - period.end).days
        explanation = (
            f"{period.label}: {required} besøk kreves ({basis_word}), {done} gjennomført"
            f" fra {counted_from.isoformat()} til {period.end.isoformat()}. {version.basis} ({version.name})."
        )
        out.append(Result(
            case_id=case.case_id, rule=rule.id, subject=placement.id, period=period.label, seq=1,
            due_on=period.end, met_on=None, status=status, days_late=days_late, required=required,
            done=done, rule_version=version.name, unit=case.unit, caseworker=case.caseworker,
            anchor_on=counted_from, basis=version.basis, confidence=version.confidence,
            explanation=explanation, responsible=responsible, **red_fields,
        ))
    return out

"""``explain(rule, result)``: one result's reasoning in bokmål, rendered on demand.

Nothing stores an explanation: the CLI, the reports and the e-mails' detail ask for it
when they show a result. It is rebuilt from the result and its rule version: the anchor
and the field it came from, the period (and offset or lead time), why an extension was
or was not applied, for a visit period how many visits it required and why (quarters
counted, a reduction and whether it was valid), the legal basis and the version.
"""

from __future__ import annotations

from frister.calendar import add_period, next_working_day, parse_period_label, subtract_period
from frister.engine.results import Result
from frister.facts.vocabulary import SUBJECTS
from frister.rules.model import Rule, RuleVersion


def explain(rule: Rule, result: Result) -> str:
    version = next(v for v in rule.versions if v.name == result.rule_version)
    if rule.kind == "visits":
        text = _visits(version, result)
    elif rule.kind == "rolling":
        text = (f"Frist {result.due_on.isoformat()}: {_label(rule, result.anchor_field)} "
                f"{result.anchor_on.isoformat()} + {version.period.norwegian} (evaluering nr. {result.seq})")
    else:
        text = _deadline(rule, version, result)
    return f"{text}. {version.basis} ({version.name})."


def _label(rule: Rule, name: str | None) -> str:
    return SUBJECTS[rule.subject].fields[name].label if name else "?"


def _deadline(rule: Rule, version: RuleVersion, r: Result) -> str:
    words = [f"{_label(rule, r.anchor_field)} {r.anchor_on.isoformat()}"]
    clock = r.anchor_on
    offset = version.anchor_offset or dict(version.anchor_offsets).get(r.anchor_field)
    if offset is not None:
        clock = add_period(clock, offset)
        words.append(f"+ {offset.norwegian}")
    if r.clock_on is not None and r.clock_on != clock:  # capped by anchor_not_after
        field, plus = version.anchor_not_after
        clock = r.clock_on
        words.append(f"(men senest {_label(rule, field)} + {plus.norwegian}: {clock.isoformat()})")
    if version.lead_time is not None:
        due = subtract_period(clock, version.lead_time)
        words.append(f"− {version.lead_time.norwegian}")
    else:
        period = version.period_for(r.subject_kind)
        due = add_period(clock, period)
        words.append(f"+ {period.norwegian}")
    if r.extension_requested_on is not None:
        if not r.extension_granted:
            words.append("(forlengelse søkt, ikke innvilget)")
        elif not r.extension_applied:
            words.append(f"(forlengelse søkt {r.extension_requested_on.isoformat()}, etter fristen "
                         f"{due.isoformat()}: ikke lagt til grunn)")
        else:
            due = add_period(clock, version.extension.period)
            words.append(f"forlenget til {version.extension.period.norwegian} totalt")
    rolled = next_working_day(due) if rule.roll_to_working_day else due
    if version.not_before is not None and r.due_on > rolled:
        words.append(f"(tidligst {_label(rule, version.not_before)} {r.due_on.isoformat()})")
    elif rolled != due:
        words.append(f"(flyttet fra {due.isoformat()} til neste virkedag)")
    return f"Frist {r.due_on.isoformat()}: " + " ".join(words)


def _visits(version: RuleVersion, r: Result) -> str:
    period = parse_period_label(r.period)
    if period.kind == "Q":
        basis_word = "første år: 1 per kvartal"
    else:
        quarters = 1 + (period.quarters()[0].end >= r.anchor_on)
        basis_word = f"{version.per_half_year} per halvår"
        if min(version.per_half_year, quarters) < version.per_half_year:
            basis_word += f", {quarters} kvartal(er) av halvåret telles"
        if r.reduction_applied and r.required < min(version.per_half_year, quarters):
            basis_word = f"redusert til {r.required} per halvår (vedtak {r.reduction_decided_on.isoformat()})"
    if r.reduction_applied is False and r.reduction_note:
        why = r.reduction_note.removeprefix("Reduksjon ikke lagt til grunn: ")
        basis_word += f"; reduksjon ikke gyldig ({why})"
    return (f"{r.period}: {r.required} besøk kreves ({basis_word}), {r.done} gjennomført"
            f" fra {r.anchor_on.isoformat()} til {period.end.isoformat()}")


"""The vocabulary rules are written in: subjects and their named fields.

A *subject* is the thing an obligation is about (a referral, an investigation, a
measure, a care order, an emergency decision, a placement, or the child itself for
aftercare). Each subject type exposes a fixed set of named fields that rule files may
refer to (``anchor: received_on``, ``met_by: concluded_on``); the rule loader rejects
any other name, so a typo in a rule file is an error, not a silent never-met deadline.

Every field has a Norwegian label used in explanations ("melding mottatt").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Callable, Iterator

from frister.calendar import birthday
from frister.facts.model import CaseFacts

Accessor = Callable[[CaseFacts, Any], Any]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    kind: str  # "date" (an event), "fixed_date" (not an event), "dates", "bool", "choice", "text"
    label: str  # Norwegian, for explanations
    get: Accessor


@dataclass(frozen=True, slots=True)
class SubjectType:
    name: str
    label: str  # Norwegian
    fields: dict[str, FieldSpec]
    iterate: Callable[[CaseFacts], Iterator[Any]]
    ended: Accessor | None = None  # the date the subject ended, if it can end
    has_extension: bool = False

    def field(self, name: str) -> FieldSpec:
        return self.fields[name]


def _attr(name: str) -> Accessor:
    def get(case: CaseFacts, subject: Any) -> Any:
        return getattr(subject, name)

    get.__name__ = f"get_{name}"
    return get


def _fields(*specs: tuple[str, str, str] | FieldSpec) -> dict[str, FieldSpec]:
    out = {}
    for spec in specs:
        if not isinstance(spec, FieldSpec):
            name, kind, label = spec
            spec = FieldSpec(name, kind, label, _attr(name))
        out[spec.name] = spec
    return out


def _referral_of(case: CaseFacts, inv: Any):
    return case.referral(inv.referral_id)


def _referral_received(case: CaseFacts, inv: Any) -> date | None:
    ref = _referral_of(case, inv)
    return ref.received_on if ref else None


def _referral_concluded(case: CaseFacts, inv: Any) -> date | None:
    ref = _referral_of(case, inv)
    return ref.concluded_on if ref else None


@dataclass(frozen=True, slots=True)
class Child:
    """The child as a subject (aftercare). Exists only with a known birth date."""

    id: str
    eighteenth_birthday: date
    measures_until: date | None  # the latest end (None: still running) of any measure
    measures_from: date | None  # the earliest start of any measure, placement or care order
    aftercare_assessed_on: date | None


def _children(case: CaseFacts) -> Iterator[Child]:
    if case.birth_date is None:
        return
    starts: list[date] = []
    open_ended = False
    ends: list[date] = []
    for m in case.measures:
        starts.append(m.decided_on)
        if m.ended_on is None:
            open_ended = True
        else:
            ends.append(m.ended_on)
    for p in case.placements:
        starts.append(p.started_on)
        if p.ended_on is None:
            open_ended = True
        else:
            ends.append(p.ended_on)
    for o in case.care_orders:
        starts.append(o.decided_on)
        open_ended = True  # contract v1 has no end of a care order
    if not starts:
        return
    yield Child(
        id="barn",
        eighteenth_birthday=birthday(case.birth_date, 18),
        measures_until=None if open_ended else max(ends),
        measures_from=min(starts),
        aftercare_assessed_on=case.aftercare_assessed_on,
    )


SUBJECTS: dict[str, SubjectType] = {
    "referral": SubjectType(
        "referral",
        "melding",
        _fields(
            ("received_on", "date", "melding mottatt"),
            ("concluded_on", "date", "melding gjennomgått"),
            ("feedback_sent_on", "date", "tilbakemelding sendt"),
            ("conclusion", "choice", "konklusjon"),
        ),
        lambda case: iter(case.referrals),
    ),
    "investigation": SubjectType(
        "investigation",
        "undersøkelse",
        _fields(
            ("started_on", "date", "undersøkelse startet"),
            ("concluded_on", "date", "undersøkelse avsluttet"),
            ("conclusion", "choice", "konklusjon"),
            ("review_after_closing", "bool", "vedtak om ny vurdering"),
            ("reviewed_after_closing_on", "date", "ny vurdering gjort"),
            FieldSpec("referral_received_on", "date", "melding mottatt", _referral_received),
            FieldSpec("referral_concluded_on", "date", "melding konkludert med undersøkelse", _referral_concluded),
        ),
        lambda case: iter(case.investigations),
        has_extension=True,
    ),
    "measure": SubjectType(
        "measure",
        "tiltak",
        _fields(
            ("kind", "choice", "type tiltak"),
            ("decided_on", "date", "tiltak vedtatt"),
            ("ended_on", "date", "tiltak avsluttet"),
            ("plan_made_on", "date", "tiltaksplan laget"),
            ("evaluations", "dates", "evaluering"),
        ),
        lambda case: iter(case.measures),
        ended=_attr("ended_on"),
    ),
    "care_order": SubjectType(
        "care_order",
        "omsorgsovertakelse",
        _fields(
            ("decided_on", "date", "omsorgsovertakelse vedtatt"),
            ("implemented_on", "date", "omsorgsovertakelse iverksatt"),
            ("care_plan_made_on", "date", "omsorgsplan laget"),
        ),
        lambda case: iter(case.care_orders),
    ),
    "emergency_decision": SubjectType(
        "emergency_decision",
        "akuttvedtak",
        _fields(
            ("kind", "choice", "type akuttvedtak"),
            ("decided_on", "date", "akuttvedtak fattet"),
            ("petition_sent_on", "date", "begjæring sendt nemnda"),
        ),
        lambda case: iter(case.emergency_decisions),
    ),
    "placement": SubjectType(
        "placement",
        "plassering",
        _fields(
            ("kind", "choice", "type plassering"),
            ("started_on", "date", "plassering startet"),
            ("ended_on", "date", "plassering avsluttet"),
            ("followup_reduced_on", "date", "vedtak om redusert oppfølging"),
            ("supervision_reduced_on", "date", "vedtak om redusert tilsyn"),
            ("supervision_municipality", "text", "tilsynskommune"),
            ("followup_visits", "dates", "oppfølgingsbesøk"),
            ("supervision_visits", "dates", "tilsynsbesøk"),
        ),
        lambda case: iter(case.placements),
        ended=_attr("ended_on"),
    ),
    "child": SubjectType(
        "child",
        "barnet",
        _fields(
            ("eighteenth_birthday", "fixed_date", "barnet fyller 18 år"),
            ("measures_from", "date", "første tiltak"),
            ("aftercare_assessed_on", "date", "ettervern vurdert"),
        ),
        _children,
        ended=_attr("measures_until"),
    ),
}

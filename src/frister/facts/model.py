"""Case facts: the dates of one child's case at one service, as plain immutable data.

These mirror import contract v1 (``shared/domain/INTERCHANGE.md``). The engine reads
only these classes; the database layer and the importer build them. ``birth_date``
is needed to compute the 18th birthday (tilsyn, aftercare) and is never shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

REFERRAL_CONCLUSIONS = ("investigate", "closed", "closed_active_measures", "in_ongoing_investigation")
INVESTIGATION_CONCLUSIONS = ("measures", "petition", "closed", "closed_with_concern")
MEASURE_KINDS = ("support", "care")
EMERGENCY_KINDS = ("care", "behaviour", "trafficking")
PLACEMENT_KINDS = ("foster_home", "institution", "emergency")
REASON_CODES = (
    "holiday_absence",
    "hard_to_reach",
    "complex_case",
    "avoids_contact",
    "lack_of_capacity",
    "other",
)
REASON_LABELS = {
    "holiday_absence": "Ferieavvikling",
    "hard_to_reach": "Vanskelig å få kontakt med familie og barn",
    "complex_case": "Kompleks sak",
    "avoids_contact": "Familie eller barn unndrar seg kontakt",
    "lack_of_capacity": "Manglende kapasitet",
    "other": "Annet",
}


@dataclass(frozen=True, slots=True)
class Referral:
    id: str
    received_on: date
    concluded_on: date | None = None
    conclusion: str | None = None
    feedback_sent_on: date | None = None


@dataclass(frozen=True, slots=True)
class Extension:
    requested_on: date
    granted: bool
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Investigation:
    id: str
    started_on: date
    referral_id: str | None = None
    extension: Extension | None = None
    concluded_on: date | None = None
    conclusion: str | None = None
    review_after_closing: bool = False
    reviewed_after_closing_on: date | None = None


@dataclass(frozen=True, slots=True)
class Measure:
    id: str
    kind: str
    decided_on: date
    ended_on: date | None = None
    plan_made_on: date | None = None
    evaluations: tuple[date, ...] = ()


@dataclass(frozen=True, slots=True)
class CareOrder:
    id: str
    decided_on: date
    implemented_on: date | None = None
    care_plan_made_on: date | None = None


@dataclass(frozen=True, slots=True)
class EmergencyDecision:
    id: str
    kind: str
    decided_on: date
    petition_sent_on: date | None = None


@dataclass(frozen=True, slots=True)
class Placement:
    id: str
    kind: str
    started_on: date
    ended_on: date | None = None
    followup_reduced_on: date | None = None
    supervision_reduced_on: date | None = None
    supervision_municipality: str | None = None
    followup_visits: tuple[date, ...] = ()
    supervision_visits: tuple[date, ...] = ()


@dataclass(frozen=True, slots=True)
class CaseFacts:
    case_id: str
    unit: str
    caseworker: str | None = None
    birth_date: date | None = None
    referrals: tuple[Referral, ...] = ()
    investigations: tuple[Investigation, ...] = ()
    measures: tuple[Measure, ...] = ()
    care_orders: tuple[CareOrder, ...] = ()
    emergency_decisions: tuple[EmergencyDecision, ...] = ()
    placements: tuple[Placement, ...] = ()
    aftercare_assessed_on: date | None = None
    # The subjects by id, for references (an investigation's referral).
    _referrals_by_id: dict[str, Referral] = field(default=None, compare=False, repr=False)  # type: ignore[assignment]

    def referral(self, referral_id: str | None) -> Referral | None:
        if referral_id is None:
            return None
        index = self._referrals_by_id
        if index is None:
            index = {r.id: r for r in self.referrals}
            object.__setattr__(self, "_referrals_by_id", index)
        return index.get(referral_id)

"""Rules as immutable data, as compiled by :mod:`frister.rules.loader`.

Three kinds of rule make the whole vocabulary (no expression language):

``deadline``
    A one-off deadline: the clock starts at an event of the subject (``anchor``),
    runs for a ``period`` (or ends a ``lead_time`` before the anchor), may be
    extended, and is met by another event (``met_by``).
``rolling``
    A repeated deadline: each satisfying event starts the next period
    (plan evaluations: three months from the plan, then from each evaluation).
``visits``
    A minimum number of visits per calendar half-year (first-year quarters where the
    rule says so), with a reduction that is valid only under stated conditions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from frister.calendar import Period

Kind = Literal["deadline", "rolling", "visits"]
Confidence = Literal["V", "S", "U"]

CONFIDENCE_LABELS = {
    "V": "verifisert i offisiell tekst",
    "S": "kun sekundærkilde",
    "U": "ikke verifisert",
}


@dataclass(frozen=True, slots=True)
class ExtensionSpec:
    """A granted extension moves the due date to ``anchor + period`` (in total)."""

    period: Period
    requested_by_due: bool = True  # a request after the original due date cannot cure a breach


@dataclass(frozen=True, slots=True)
class ReductionSpec:
    """When a recorded reduction of the visit minimum is valid."""

    min_time_placed: Period  # strictly more than this, on the decision date
    min_age: int | None = None  # completed years on the decision date
    consent_required: bool = False  # not in contract v1: noted, cannot be checked


@dataclass(frozen=True, slots=True)
class RuleVersion:
    name: str
    valid_from: date
    valid_to: date | None
    basis: str
    confidence: Confidence
    # deadline / rolling
    anchor: tuple[str, ...] = ()
    anchor_offset: Period | None = None
    period: Period | None = None
    period_by_kind: tuple[tuple[str, Period], ...] = ()
    lead_time: Period | None = None
    not_before: str | None = None
    met_by: str | None = None
    extension: ExtensionSpec | None = None
    # visits
    per_half_year: int | None = None
    reduced_per_half_year: int | None = None
    reduction: ReductionSpec | None = None
    notes: tuple[str, ...] = ()

    def applies_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def period_for(self, kind: str | None) -> Period | None:
        if self.period is not None:
            return self.period
        for k, p in self.period_by_kind:
            if k == kind:
                return p
        return None


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    title: str
    kind: Kind
    subject: str
    confidence: Confidence
    versions: tuple[RuleVersion, ...]
    source: str  # the file it came from, for messages
    statutory: bool = True
    description: str = ""
    notes: tuple[str, ...] = ()
    applies_when: tuple[tuple[str, frozenset], ...] = ()
    starts: tuple[str, ...] = ()  # the fields that pick the law version (the clock's start)
    opens_before_due: Period | None = None
    roll_to_working_day: bool = False
    # visits
    visits: str | None = None
    reduced_on: str | None = None
    until_age: int | None = None
    responsible: str | None = None
    first_year_quarterly: bool = False

    def version_on(self, day: date) -> RuleVersion | None:
        """The version in force on ``day`` (versions never overlap; the loader checks)."""
        for v in self.versions:
            if v.applies_on(day):
                return v
        return None


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    fingerprint: str  # sha256 of the rule files, so a report says which rules made it
    directory: str = ""
    _by_id: dict[str, Rule] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id.update({r.id: r for r in self.rules})

    def __iter__(self):
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._by_id

    def get(self, rule_id: str) -> Rule:
        return self._by_id[rule_id]

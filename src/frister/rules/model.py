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
Duty = Literal["law", "guidance", "local"]
DUTIES: tuple[Duty, ...] = ("law", "guidance", "local")

DUTY_LABELS = {
    "law": "lovkrav",
    "guidance": "retningslinje",
    "local": "lokal rutine",
}

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
    consent_required: bool = False  # the child's consent must be recorded (the rule's ``consent`` field)


@dataclass(frozen=True, slots=True)
class LocalParameter:
    """A value the service sets in its local settings (``config/local.yaml``).

    ``default`` is shipped in the rule file; ``law`` is the value the law itself gives,
    if it gives one: a version that uses another value is the service's routine
    (duty ``local``), never presented as law."""

    name: str
    default: Period
    text: str
    law: Period | None = None
    value: Period | None = None  # in force: the local settings' value, else the default

    @property
    def in_force(self) -> Period:
        return self.value or self.default


@dataclass(frozen=True, slots=True)
class RuleVersion:
    name: str
    valid_from: date
    valid_to: date | None
    basis: str
    confidence: Confidence
    duty: Duty = "law"
    # deadline / rolling
    anchor: tuple[str, ...] = ()
    anchor_offset: Period | None = None  # added to the anchor, whichever field it came from
    anchor_offsets: tuple[tuple[str, Period], ...] = ()  # added only when the anchor came from that field
    anchor_not_after: tuple[str, Period] | None = None  # the anchor is at the latest that field + period
    period: Period | None = None
    period_by_kind: tuple[tuple[str, Period], ...] = ()
    lead_time: Period | None = None
    not_before: str | None = None
    met_by: str | None = None
    extension: ExtensionSpec | None = None
    interval_from: str | None = None  # rolling: a period field; a longer recorded interval applies
    # visits
    per_half_year: int | None = None
    per_quarter: int | None = None  # rules whose periods are the first year's quarters
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
    duty: Duty = "law"  # the rule's kind of duty; a version may say otherwise
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
    consent: str | None = None  # the child's recorded consent to a reduction
    first_year_quarters: bool = False  # periods: the quarters of the first 12 months only
    restarts_on: str | None = None  # a list of dates each of which starts a new first year
    # local routines: switched on or off, and the values the service set
    enabled: bool = True
    local_parameters: tuple[LocalParameter, ...] = ()
    @property
    def duties(self) -> tuple[Duty, ...]:
        """The kinds of duty of its versions, law first."""
        return tuple(d for d in DUTIES if any(v.duty == d for v in self.versions))

    def version_on(self, day: date) -> RuleVersion | None:
        """The version in force on ``day`` (versions never overlap; the loader checks)."""
        for v in self.versions:
            if v.applies_on(day):
                return v
        return None


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    fingerprint: str  # sha256 of the rule files and local settings, so a report says which rules made it
    directory: str = ""
    off: tuple[Rule, ...] = ()  # local routines the service switched off (listed, never evaluated)
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

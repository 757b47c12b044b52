"""The import contract: the one description of a case's facts.

Every other description of the facts is derived from these models: the validating
parser (:func:`frister.facts.parse.parse_case`), the vocabulary that rule files are
written in (:mod:`frister.facts.vocabulary`), the database tables
(:mod:`frister.store.tables`), the readers and writers (:mod:`frister.store.facts`), the
evaluator's columns (:mod:`frister.engine.batch`) and the published JSON Schema
(``frister contract schema``). Adding a fact is adding a field here (and a migration
for its column).

Every leaf is one of a few types (:data:`Day`, :data:`Days`, :data:`Flag`,
:func:`choice`, :data:`Ref`, :data:`Text`), validated strictly by pydantic from the JSON
text (a date is ``YYYY-MM-DD`` and nothing else, a flag ``true``/``false``); each carries
an :class:`Expect` that says, in an error message, *what was expected*: no message
contains a value from the record (a malformed birth date must not be echoed into a log).

``Fact(label, after=…)`` on a field gives its Norwegian label (used in explanations)
and, for a date, the field of the same subject it may not precede.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints, field_validator

REFERRAL_CONCLUSIONS = ("investigate", "closed", "closed_active_measures", "in_ongoing_investigation")
INVESTIGATION_CONCLUSIONS = ("measures", "petition", "closed", "closed_with_concern")
MEASURE_KINDS = ("support", "care")
EMERGENCY_KINDS = ("care", "behaviour", "trafficking")
PLACEMENT_KINDS = ("foster_home", "institution", "emergency")
REPORTER_KINDS = ("public", "private", "anonymous", "child", "other")
REASON_CODES = ("holiday_absence", "hard_to_reach", "complex_case", "avoids_contact", "lack_of_capacity", "other")
REASON_LABELS = {
    "holiday_absence": "Ferieavvikling",
    "hard_to_reach": "Vanskelig å få kontakt med familie og barn",
    "complex_case": "Kompleks sak",
    "avoids_contact": "Familie eller barn unndrar seg kontakt",
    "lack_of_capacity": "Manglende kapasitet",
    "other": "Annet",
}

DATE_EXPECTED = "expected a date YYYY-MM-DD"


@dataclass(frozen=True, slots=True)
class Fact:
    """A field's meaning: its label in bokmål, (dates) the field it may not precede, and
    ``kind`` when it differs from its type's: a date that is not an event (a birth date,
    which may lie after the as-of date when it is an expected one) is ``fixed_date``."""

    label: str
    after: str | None = None
    kind: str | None = None


@dataclass(frozen=True, slots=True)
class Expect:
    """What a leaf type expects, in the words of an error message (``expected …``)."""

    text: str
    kind: str  # date | dates | bool | choice | text (the vocabulary's field kinds)
    choices: tuple[str, ...] = ()


_CHAR = r"[^\x00-\x1f\x7f-\x9f\u2028\u2029]"  # any character but a control character or line separator
_TEXT = rf"^{_CHAR}*[^\s\x00-\x1f\x7f-\x9f\u2028\u2029]{_CHAR}*$"  # and not only blanks


def choice(*options: str):
    """A code from a fixed list."""
    return Annotated[Literal[options], Expect(f"expected one of {', '.join(options)}", "choice", options)]


def _text(max_len: int):
    return Annotated[str, StringConstraints(min_length=1, max_length=max_len, pattern=_TEXT),
                     Expect(f"expected a non-empty string of at most {max_len} characters without control "
                            "characters", "text")]


Day = Annotated[date, Expect(DATE_EXPECTED, "date")]
Days = Annotated[tuple[date, ...], AfterValidator(lambda days: tuple(sorted(days))),
                 Expect("expected a list of dates YYYY-MM-DD", "dates")]
Flag = Annotated[bool, Expect("expected true or false", "bool")]
Interval = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{0,2} (day|days|week|weeks|month|months|year|years)$"),
                     Expect("expected a period such as '6 months'", "period")]
Ref = _text(64)  # ids, units, caseworker codes
Municipality = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$"),
                         Expect("expected a municipality number of four digits", "text")]


class Record(BaseModel):
    """A part of a case record: unknown keys are errors (typos must not pass)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Subject(Record):
    """Something an obligation can be about; ``id`` is unique among its kind in a case.
    ``unit`` and ``caseworker`` (v2) are who held this step; absent, the case's own."""

    id: Ref
    unit: Annotated[Ref | None, Fact("enhet")] = None
    caseworker: Annotated[Ref | None, Fact("saksbehandler")] = None


class Referral(Subject):
    """Melding."""

    received_on: Annotated[Day, Fact("melding mottatt")]
    concluded_on: Annotated[Day | None, Fact("melding gjennomgått", after="received_on")] = None
    conclusion: Annotated[choice(*REFERRAL_CONCLUSIONS) | None, Fact("konklusjon")] = None
    feedback_sent_on: Annotated[Day | None, Fact("tilbakemelding sendt", after="received_on")] = None
    reporter: Annotated[choice(*REPORTER_KINDS) | None, Fact("melder")] = None
    obviously_unfounded: Annotated[Flag, Fact("åpenbart grunnløs")] = False
    feedback_after_investigation_on: Annotated[Day | None, Fact("tilbakemelding etter undersøkelsen sendt",
                                                                 after="received_on")] = None


class Extension(Record):
    """An investigation's extension decision (``granted`` false: requested, refused)."""

    requested_on: Annotated[Day, Fact("forlengelse søkt", after="started_on")]  # the investigation's
    granted: Annotated[Flag, Fact("forlengelse innvilget")]
    reason: Annotated[choice(*REASON_CODES) | None, Fact("grunn til forlengelse")] = None


class Investigation(Subject):
    """Undersøkelse."""

    referral_id: Annotated[Ref | None, Fact("melding")] = None
    started_on: Annotated[Day, Fact("undersøkelse startet")]
    extension: Extension | None = None
    concluded_on: Annotated[Day | None, Fact("undersøkelse avsluttet", after="started_on")] = None
    conclusion: Annotated[choice(*INVESTIGATION_CONCLUSIONS) | None, Fact("konklusjon")] = None
    review_after_closing: Annotated[Flag, Fact("vedtak om ny vurdering")] = False
    reviewed_after_closing_on: Annotated[Day | None, Fact("ny vurdering gjort", after="concluded_on")] = None


class Measure(Subject):
    """Tiltak: a support measure (hjelpetiltak) or a care measure."""

    kind: Annotated[choice(*MEASURE_KINDS), Fact("type tiltak")]
    decided_on: Annotated[Day, Fact("tiltak vedtatt")]
    ended_on: Annotated[Day | None, Fact("tiltak avsluttet", after="decided_on")] = None
    plan_made_on: Annotated[Day | None, Fact("tiltaksplan laget")] = None
    evaluations: Annotated[Days, Fact("evaluering")] = ()
    evaluation_interval: Annotated[Interval | None, Fact("planens evalueringsintervall")] = None


class CareOrder(Subject):
    """Omsorgsovertakelse."""

    decided_on: Annotated[Day, Fact("omsorgsovertakelse vedtatt")]
    implemented_on: Annotated[Day | None, Fact("omsorgsovertakelse iverksatt", after="decided_on")] = None
    care_plan_made_on: Annotated[Day | None, Fact("omsorgsplan laget")] = None


class EmergencyDecision(Subject):
    """Akuttvedtak."""

    kind: Annotated[choice(*EMERGENCY_KINDS), Fact("type akuttvedtak")]
    decided_on: Annotated[Day, Fact("akuttvedtak fattet")]
    petition_sent_on: Annotated[Day | None, Fact("begjæring sendt nemnda", after="decided_on")] = None


class Placement(Subject):
    """Plassering: foster home, institution or emergency placement."""

    kind: Annotated[choice(*PLACEMENT_KINDS), Fact("type plassering")]
    started_on: Annotated[Day, Fact("plassering startet")]
    ended_on: Annotated[Day | None, Fact("plassering avsluttet", after="started_on")] = None
    followup_reduced_on: Annotated[Day | None, Fact("vedtak om redusert oppfølging")] = None
    supervision_reduced_on: Annotated[Day | None, Fact("vedtak om redusert tilsyn")] = None
    supervision_reduction_consent: Annotated[Flag | None, Fact("barnets samtykke til redusert tilsyn")] = None
    supervision_municipality: Annotated[Municipality | None, Fact("tilsynskommune")] = None
    followup_visits: Annotated[Days, Fact("oppfølgingsbesøk")] = ()
    supervision_visits: Annotated[Days, Fact("tilsynsbesøk")] = ()
    home_moves: Annotated[Days, Fact("flyttet til nytt fosterhjem")] = ()


class Child(Record):
    birth_date: Annotated[Day | None, Fact("fødselsdato", kind="fixed_date")] = None


class Aftercare(Record):
    assessed_on: Annotated[Day | None, Fact("ettervern vurdert")] = None


class Case(Record):
    """One child's case at one service (one line of a contract file)."""

    case_id: Annotated[Ref, Fact("sak")]
    municipality: Annotated[Municipality | None, Fact("kommune")] = None
    unit: Annotated[Ref, Fact("enhet")]
    caseworker: Annotated[Ref | None, Fact("saksbehandler")] = None
    child: Child | None = None
    referrals: tuple[Referral, ...] = ()
    investigations: tuple[Investigation, ...] = ()
    measures: tuple[Measure, ...] = ()
    care_orders: tuple[CareOrder, ...] = ()
    emergency_decisions: tuple[EmergencyDecision, ...] = ()
    placements: tuple[Placement, ...] = ()
    aftercare: Aftercare | None = None

    @field_validator("child", "aftercare")
    @classmethod
    def _nothing_recorded(cls, value: Record | None) -> Record | None:
        """An object with nothing recorded in it is the same as none."""
        return None if value is not None and all(v is None for v in dict(value).values()) else value

    @property
    def birth_date(self) -> date | None:
        return self.child.birth_date if self.child else None


class Header(Record):
    """The optional first line of a contract v2 file: what the source delivers."""

    frister_export: Literal[2]
    source: Annotated[Ref, Fact("kilde")]
    extracted_on: Annotated[Day | None, Fact("uttrukket")] = None
    complete_from: Annotated[Day | None, Fact("historikk komplett fra")] = None
    not_delivered: tuple[Annotated[str, StringConstraints(pattern=r"^[a-z_]+(\.[a-z_]+){1,2}$")], ...] = ()


def json_schema() -> dict:
    """The JSON Schema of one case record (what ``frister contract schema`` prints)."""
    schema = Case.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "frister case record (import contract v2; every v1 record is one)"
    return schema

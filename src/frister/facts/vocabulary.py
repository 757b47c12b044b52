"""The vocabulary rules are written in, derived from the contract (:mod:`frister.facts.contract`).

A *subject* is what an obligation is about: a referral, an investigation, a measure, a
care order, an emergency decision, a placement (one row per item of the case record's
list), or the child itself (derived, for aftercare). Each subject type has named fields
that rule files refer to (``anchor: received_on``, ``met_by: concluded_on``); the rule
loader rejects any other name, so a typo in a rule file is an error, not a silent
never-met deadline.

A field of a nested object is flattened with its object's name as prefix
(``extension.requested_on`` is ``extension_requested_on``; the case's
``child.birth_date`` is ``child_birth_date``). The same flat names are the columns of
the database tables and of the evaluator's batches.

Some fields are not in the record and are derived in one place
(:func:`frister.engine.batch.derive`): an investigation's ``referral_received_on`` and
``referral_concluded_on`` (its linked referral's dates), a referral's
``investigation_concluded_on`` (when an investigation of it was concluded), and the whole
``child``.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from typing import Any, Iterator

from pydantic import BaseModel

from frister.facts import contract as c

# A field's kind: an event date (treated as unknown before it happened), a fixed date
# (not an event: the birth date, the 18th birthday), a list of event dates, a flag, a
# code, text, a period (``6 months``).
KINDS = ("date", "fixed_date", "dates", "bool", "choice", "text", "period")


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str  # flat name: column, batch field, rule vocabulary
    kind: str
    label: str  # bokmål, for explanations
    path: tuple[str, ...] = ()  # where it is in the record; () for a derived field
    required: bool = False
    after: str | None = None  # (dates) the field of the same subject it may not precede
    choices: tuple[str, ...] = ()
    derived_from: str = ""  # a derived field: the recorded fact it comes from (``referrals.received_on``)

    @property
    def delivered_as(self) -> str:
        """How a source names this fact in its ``not_delivered`` list, within its subject's
        table (a derived field: the fact it comes from)."""
        return self.derived_from or ".".join(self.path)

    def get(self, record: Any) -> Any:
        for name in self.path:
            if record is None:
                return None
            record = getattr(record, name)
        return record


@dataclass(frozen=True, slots=True)
class SubjectType:
    name: str
    label: str  # bokmål
    table: str  # its table (and its list's key in the case record); "" when derived
    fields: dict[str, FieldSpec]
    ends_with: str | None = None  # the field that says when the subject ended, if it can end
    stored: tuple[FieldSpec, ...] = field(default=())  # the fields kept in its table, in order

    @property
    def derived(self) -> bool:
        return not self.table


def _unwrap(annotation: Any) -> tuple[Any, list, bool]:
    """``(type, metadata, optional)`` of a field annotation: Annotated layers peeled,
    ``X | None`` noted."""
    metadata: list = []
    optional = False
    while True:
        if typing.get_origin(annotation) is typing.Annotated:
            metadata.extend(annotation.__metadata__)
            annotation = annotation.__origin__
            continue
        if typing.get_origin(annotation) in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            optional = optional or len(args) < len(typing.get_args(annotation))
            if len(args) == 1:
                annotation = args[0]
                continue
        return annotation, metadata, optional


def _of(metadata: list, kind: type):
    return next((m for m in metadata if isinstance(m, kind)), None)


def flat_fields(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> Iterator[FieldSpec]:
    """The leaf fields of ``model`` (nested objects flattened), in declaration order."""
    for name, info in model.model_fields.items():
        if not prefix and name == "id":
            continue
        annotation, metadata, optional = _unwrap(info.annotation if not info.metadata else
                                                 typing.Annotated[info.annotation, *info.metadata])
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from flat_fields(annotation, prefix + (name,))
            continue
        expect, fact = _of(metadata, c.Expect), _of(metadata, c.Fact)
        if expect is None or fact is None:
            continue  # a list of subjects: a table of its own
        flat = "_".join(prefix + (name,))
        yield FieldSpec(flat, fact.kind or expect.kind, fact.label, prefix + (name,),
                        info.is_required() and not prefix, fact.after, expect.choices)


def _subject(name: str, label: str, table: str, model: type[BaseModel], ends_with: str | None = None,
             derived: tuple[FieldSpec, ...] = ()) -> SubjectType:
    stored = tuple(flat_fields(model))
    return SubjectType(name, label, table, {f.name: f for f in (*stored, *derived)}, ends_with, stored)


CASE_FIELDS: tuple[FieldSpec, ...] = tuple(flat_fields(c.Case))

SUBJECTS: dict[str, SubjectType] = {
    "referral": _subject("referral", "melding", "referrals", c.Referral, derived=(
        FieldSpec("investigation_concluded_on", "date", "undersøkelsen av meldingen avsluttet",
                  derived_from="investigations.concluded_on"),
    )),
    "investigation": _subject("investigation", "undersøkelse", "investigations", c.Investigation, derived=(
        FieldSpec("referral_received_on", "date", "melding mottatt", derived_from="referrals.received_on"),
        FieldSpec("referral_concluded_on", "date", "melding konkludert med undersøkelse",
                  derived_from="referrals.concluded_on"),
    )),
    "measure": _subject("measure", "tiltak", "measures", c.Measure, ends_with="ended_on"),
    "care_order": _subject("care_order", "omsorgsovertakelse", "care_orders", c.CareOrder),
    "emergency_decision": _subject("emergency_decision", "akuttvedtak", "emergency_decisions",
                                   c.EmergencyDecision),
    "placement": _subject("placement", "plassering", "placements", c.Placement, ends_with="ended_on"),
    "child": SubjectType("child", "barnet", "", {f.name: f for f in (
        FieldSpec("eighteenth_birthday", "fixed_date", "barnet fyller 18 år", derived_from="child.birth_date"),
        FieldSpec("measures_from", "date", "første tiltak"),
        FieldSpec("aftercare_assessed_on", "date", "ettervern vurdert", derived_from="aftercare.assessed_on"),
    )}, ends_with="measures_until"),
}
RECORDED = tuple(s for s in SUBJECTS.values() if not s.derived)


def case_row(case: c.Case) -> dict[str, Any]:
    """The ``cases`` row of a record (without its fingerprint)."""
    return {f.name: f.get(case) for f in CASE_FIELDS}


def subject_rows(case: c.Case) -> Iterator[tuple[SubjectType, dict[str, Any]]]:
    """Every subject of a record as ``(type, row)``; a row has ``id`` and the stored fields."""
    for st in RECORDED:
        for item in getattr(case, st.table):
            row = {"id": item.id}
            for f in st.stored:
                row[f.name] = f.get(item)
            yield st, row


def event_fields() -> Iterator[tuple[SubjectType | None, FieldSpec]]:
    """Every recorded event (``date``/``dates``) field, with its subject (None: the case)."""
    for f in CASE_FIELDS:
        if f.kind in ("date", "dates"):
            yield None, f
    for st in RECORDED:
        for f in st.stored:
            if f.kind in ("date", "dates"):
                yield st, f

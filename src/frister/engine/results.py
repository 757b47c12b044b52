"""What the engine produces: one :class:`Result` per obligation.

An obligation is identified by ``(case_id, rule, subject, period, seq)``: ``period`` is
the visit period label (``2025-H1``, ``2025-Q3``) or None, and ``seq`` numbers the
obligations of a rolling rule (1 for the first evaluation of a plan, 2 for the next…;
1 for every other rule). The key is stable across runs, so a breach reason or a sent
notice stays attached to the same obligation while its status changes.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from typing import Literal

Status = Literal["met", "late", "open", "overdue", "not_evaluated"]
STATUSES: tuple[Status, ...] = ("met", "late", "open", "overdue", "not_evaluated")
BREACH_STATUSES: tuple[Status, ...] = ("late", "overdue")

STATUS_LABELS = {
    "met": "overholdt",
    "late": "fristbrudd (gjort for sent)",
    "open": "åpen",
    "overdue": "fristbrudd (ikke gjort)",
    "not_evaluated": "ikke vurdert",
}

JSON_KEYS = (
    "case_id", "rule", "subject", "period", "due_on", "met_on", "status", "days_late",
    "required", "done", "rule_version", "duty", "municipality", "unit", "caseworker",
)


@dataclass(frozen=True, slots=True)
class Result:
    case_id: str
    rule: str
    subject: str
    period: str | None
    seq: int
    due_on: date
    met_on: date | None
    status: Status
    days_late: int
    required: int | None
    done: int | None
    rule_version: str
    # Who held the step (its subject's unit and caseworker, else the case's), and what
    # explains the result (frister.engine.explain).
    unit: str
    caseworker: str | None
    anchor_on: date
    basis: str
    confidence: str
    duty: str = "law"  # law, guidance or local: what binds the service (the rule version's)
    municipality: str | None = None  # the case's municipality (kommunenummer), when the source gives it
    anchor_field: str | None = None  # the field the clock started from (deadlines, rolling)
    clock_on: date | None = None  # deadlines: when the clock started (anchor, offset, cap)
    not_evaluated: str | None = None  # why the status is not_evaluated (bokmål)
    subject_kind: str | None = None  # the subject's kind (measure, placement, …), if it has one
    extension_requested_on: date | None = None
    extension_granted: bool | None = None
    extension_reason: str | None = None
    extension_applied: bool | None = None
    reduction_decided_on: date | None = None
    reduction_applied: bool | None = None
    reduction_note: str | None = None
    responsible: str | None = None

    def __reduce__(self):
        # Pickled as its values, for the constructor: the dataclass default for a frozen
        # class with slots sets every field one by one, several times slower per result.
        return Result, tuple(getattr(self, name) for name in _FIELDS)

    @property
    def key(self) -> tuple[str, str, str, str, int]:
        return (self.case_id, self.rule, self.subject, self.period or "", self.seq)

    @property
    def is_breach(self) -> bool:
        return self.status in BREACH_STATUSES

    def to_json(self) -> dict:
        """The CLI's JSON object: exactly :data:`JSON_KEYS`, dates as ISO strings."""
        return {
            "case_id": self.case_id,
            "rule": self.rule,
            "subject": self.subject,
            "period": self.period,
            "due_on": self.due_on.isoformat(),
            "met_on": self.met_on.isoformat() if self.met_on else None,
            "status": self.status,
            "days_late": self.days_late,
            "required": self.required,
            "done": self.done,
            "rule_version": self.rule_version,
            "duty": self.duty,
            "municipality": self.municipality,
            "unit": self.unit,
            "caseworker": self.caseworker,
        }


_FIELDS = tuple(f.name for f in fields(Result))

"""Validate one contract-v1 case record and build :class:`CaseFacts` from it.

Used by the importer (one JSON line at a time) and by the YAML rule tests, so both
accept exactly the same shape. Every problem becomes a ``(field, expected)`` pair;
the caller adds file, line and case. No message contains a value from the record
(a wrong birth date must not be echoed into a log), only the field's path and what
was expected there.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Callable

from frister.facts.model import (
    EMERGENCY_KINDS,
    INVESTIGATION_CONCLUSIONS,
    MEASURE_KINDS,
    PLACEMENT_KINDS,
    REASON_CODES,
    REFERRAL_CONCLUSIONS,
    CareOrder,
    CaseFacts,
    EmergencyDecision,
    Extension,
    Investigation,
    Measure,
    Placement,
    Referral,
)

Problem = tuple[str, str]  # (field path, what was expected)

DATE_EXPECTED = "expected a date YYYY-MM-DD"


class _Record:
    """Reads fields of one JSON object, collecting problems instead of raising."""

    __slots__ = ("obj", "path", "problems", "as_of")

    def __init__(self, obj: dict, path: str, problems: list[Problem], as_of: date | None):
        self.obj = obj
        self.path = path
        self.problems = problems
        self.as_of = as_of

    def field(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def check_keys(self, allowed: frozenset[str]) -> None:
        for key in self.obj:
            if key not in allowed:
                # The key name is part of the schema, not case data, but clip it anyway.
                shown = key if isinstance(key, str) and len(key) <= 40 else "(long key)"
                self.problems.append((self.field(shown), "unknown field (contract v1 does not have it)"))

    def string(self, name: str, required: bool = False, max_len: int = 64) -> str | None:
        value = self.obj.get(name)
        if value is None:
            if required:
                self.problems.append((self.field(name), "required: expected a non-empty string"))
            return None
        if not isinstance(value, str) or not value.strip() or len(value) > max_len:
            self.problems.append((self.field(name), f"expected a non-empty string of at most {max_len} characters"))
            return None
        return value

    def choice(self, name: str, choices: tuple[str, ...], required: bool = False) -> str | None:
        value = self.obj.get(name)
        if value is None:
            if required:
                self.problems.append((self.field(name), f"required: expected one of {', '.join(choices)}"))
            return None
        if value not in choices:
            self.problems.append((self.field(name), f"expected one of {', '.join(choices)}"))
            return None
        return value

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self.obj.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.problems.append((self.field(name), "expected true or false"))
            return default
        return value

    def date(self, name: str, required: bool = False, not_future: bool = True) -> date | None:
        return self._date_value(self.obj.get(name), self.field(name), required, not_future)

    def _date_value(self, value: Any, where: str, required: bool, not_future: bool) -> date | None:
        if value is None:
            if required:
                self.problems.append((where, f"required: {DATE_EXPECTED}"))
            return None
        parsed = parse_iso_date(value)
        if parsed is None:
            self.problems.append((where, DATE_EXPECTED))
            return None
        if not_future and self.as_of is not None and parsed > self.as_of:
            self.problems.append((where, f"expected a date on or before the import's as-of date {self.as_of.isoformat()}"))
            return None
        return parsed

    def dates(self, name: str) -> tuple[date, ...]:
        value = self.obj.get(name)
        if value is None:
            return ()
        if not isinstance(value, list):
            self.problems.append((self.field(name), "expected a list of dates YYYY-MM-DD"))
            return ()
        out = []
        for i, item in enumerate(value):
            d = self._date_value(item, f"{self.field(name)}[{i}]", True, True)
            if d is not None:
                out.append(d)
        return tuple(sorted(out))

    def not_before(self, later: date | None, later_name: str, earlier: date | None, earlier_name: str) -> None:
        if later is not None and earlier is not None and later < earlier:
            self.problems.append((self.field(later_name), f"expected a date on or after {earlier_name}"))

    def sub(self, name: str) -> "_Record | None":
        value = self.obj.get(name)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.problems.append((self.field(name), "expected an object"))
            return None
        return _Record(value, self.field(name), self.problems, self.as_of)

    def items(self, name: str) -> list["_Record"]:
        value = self.obj.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problems.append((self.field(name), "expected a list of objects"))
            return []
        out = []
        for i, item in enumerate(value):
            where = f"{self.field(name)}[{i}]"
            if not isinstance(item, dict):
                self.problems.append((where, "expected an object"))
                continue
            out.append(_Record(item, where, self.problems, self.as_of))
        return out


def parse_iso_date(value: Any) -> date | None:
    """Strict ``YYYY-MM-DD`` (exactly ten characters); None when malformed."""
    if isinstance(value, date):  # YAML test files give real dates
        return value
    if not isinstance(value, str) or len(value) != 10 or value[4] != "-" or value[7] != "-":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


CASE_KEYS = frozenset(
    {"case_id", "unit", "caseworker", "child", "referrals", "investigations", "measures",
     "care_orders", "emergency_decisions", "placements", "aftercare"}
)
CHILD_KEYS = frozenset({"birth_date"})
AFTERCARE_KEYS = frozenset({"assessed_on"})
REFERRAL_KEYS = frozenset({"id", "received_on", "concluded_on", "conclusion", "feedback_sent_on"})
INVESTIGATION_KEYS = frozenset(
    {"id", "referral_id", "started_on", "extension", "concluded_on", "conclusion",
     "review_after_closing", "reviewed_after_closing_on"}
)
EXTENSION_KEYS = frozenset({"requested_on", "granted", "reason"})
MEASURE_KEYS = frozenset({"id", "kind", "decided_on", "ended_on", "plan_made_on", "evaluations"})
CARE_ORDER_KEYS = frozenset({"id", "decided_on", "implemented_on", "care_plan_made_on"})
EMERGENCY_KEYS = frozenset({"id", "kind", "decided_on", "petition_sent_on"})
PLACEMENT_KEYS = frozenset(
    {"id", "kind", "started_on", "ended_on", "followup_reduced_on", "supervision_reduced_on",
     "supervision_municipality", "followup_visits", "supervision_visits"}
)


def _unique_ids(records: list[_Record], problems: list[Problem], list_name: str) -> list[str | None]:
    seen: set[str] = set()
    ids: list[str | None] = []
    for r in records:
        rid = r.string("id", required=True)
        if rid is not None:
            if rid in seen:
                problems.append((r.field("id"), f"expected an id unique among this case's {list_name}"))
            seen.add(rid)
        ids.append(rid)
    return ids


def _build(records: list[_Record], make: Callable[[_Record, str], Any], list_name: str, problems: list[Problem]) -> tuple:
    out = []
    for r, rid in zip(records, _unique_ids(records, problems, list_name)):
        item = make(r, rid or "")
        if item is not None and rid is not None:
            out.append(item)
    return tuple(out)


def _referral(r: _Record, rid: str) -> Referral | None:
    r.check_keys(REFERRAL_KEYS)
    received = r.date("received_on", required=True)
    concluded = r.date("concluded_on")
    feedback = r.date("feedback_sent_on")
    conclusion = r.choice("conclusion", REFERRAL_CONCLUSIONS)
    r.not_before(concluded, "concluded_on", received, "received_on")
    r.not_before(feedback, "feedback_sent_on", received, "received_on")
    if received is None:
        return None
    return Referral(rid, received, concluded, conclusion, feedback)


def _investigation(r: _Record, rid: str) -> Investigation | None:
    r.check_keys(INVESTIGATION_KEYS)
    started = r.date("started_on", required=True)
    referral_id = r.string("referral_id")
    concluded = r.date("concluded_on")
    conclusion = r.choice("conclusion", INVESTIGATION_CONCLUSIONS)
    review = r.boolean("review_after_closing")
    reviewed = r.date("reviewed_after_closing_on")
    r.not_before(concluded, "concluded_on", started, "started_on")
    r.not_before(reviewed, "reviewed_after_closing_on", concluded, "concluded_on")
    extension = None
    ext = r.sub("extension")
    if ext is not None:
        ext.check_keys(EXTENSION_KEYS)
        requested = ext.date("requested_on", required=True)
        granted_raw = ext.obj.get("granted")
        if not isinstance(granted_raw, bool):
            r.problems.append((ext.field("granted"), "required: expected true or false"))
        reason = ext.choice("reason", REASON_CODES)
        ext.not_before(requested, "requested_on", started, f"{r.path}.started_on")
        if requested is not None and isinstance(granted_raw, bool):
            extension = Extension(requested, granted_raw, reason)
    if started is None:
        return None
    return Investigation(rid, started, referral_id, extension, concluded, conclusion, review, reviewed)


def _measure(r: _Record, rid: str) -> Measure | None:
    r.check_keys(MEASURE_KEYS)
    kind = r.choice("kind", MEASURE_KINDS, required=True)
    decided = r.date("decided_on", required=True)
    ended = r.date("ended_on")
    plan = r.date("plan_made_on")
    evaluations = r.dates("evaluations")
    r.not_before(ended, "ended_on", decided, "decided_on")
    if kind is None or decided is None:
        return None
    return Measure(rid, kind, decided, ended, plan, evaluations)


def _care_order(r: _Record, rid: str) -> CareOrder | None:
    r.check_keys(CARE_ORDER_KEYS)
    decided = r.date("decided_on", required=True)
    implemented = r.date("implemented_on")
    plan = r.date("care_plan_made_on")
    r.not_before(implemented, "implemented_on", decided, "decided_on")
    if decided is None:
        return None
    return CareOrder(rid, decided, implemented, plan)


def _emergency(r: _Record, rid: str) -> EmergencyDecision | None:
    r.check_keys(EMERGENCY_KEYS)
    kind = r.choice("kind", EMERGENCY_KINDS, required=True)
    decided = r.date("decided_on", required=True)
    petition = r.date("petition_sent_on")
    r.not_before(petition, "petition_sent_on", decided, "decided_on")
    if kind is None or decided is None:
        return None
    return EmergencyDecision(rid, kind, decided, petition)


def _placement(r: _Record, rid: str) -> Placement | None:
    r.check_keys(PLACEMENT_KEYS)
    kind = r.choice("kind", PLACEMENT_KINDS, required=True)
    started = r.date("started_on", required=True)
    ended = r.date("ended_on")
    followup_reduced = r.date("followup_reduced_on")
    supervision_reduced = r.date("supervision_reduced_on")
    municipality = r.string("supervision_municipality", max_len=16)
    followup = r.dates("followup_visits")
    supervision = r.dates("supervision_visits")
    r.not_before(ended, "ended_on", started, "started_on")
    if kind is None or started is None:
        return None
    return Placement(rid, kind, started, ended, followup_reduced, supervision_reduced, municipality,
                     followup, supervision)


def parse_case(obj: Any, as_of: date | None = None) -> tuple[CaseFacts | None, str | None, list[Problem]]:
    """Validate one case record.

    Returns ``(facts, case_id, problems)``; ``facts`` is None when there is any problem.
    ``as_of``, when given, rejects dates after it (an export cannot know the future).
    """
    problems: list[Problem] = []
    if not isinstance(obj, dict):
        return None, None, [("(record)", "expected a JSON object, one case per line")]
    rec = _Record(obj, "", problems, as_of)
    rec.check_keys(CASE_KEYS)
    case_id = rec.string("case_id", required=True)
    unit = rec.string("unit", required=True)
    caseworker = rec.string("caseworker")

    birth_date = None
    child = rec.sub("child")
    if child is not None:
        child.check_keys(CHILD_KEYS)
        birth_date = child.date("birth_date")
    aftercare_on = None
    aftercare = rec.sub("aftercare")
    if aftercare is not None:
        aftercare.check_keys(AFTERCARE_KEYS)
        aftercare_on = aftercare.date("assessed_on")

    referral_records = rec.items("referrals")
    referrals = _build(referral_records, _referral, "referrals", problems)
    investigation_records = rec.items("investigations")
    investigations = _build(investigation_records, _investigation, "investigations", problems)
    # Every declared id counts, so an invalid referral is not also reported as unknown.
    referral_ids = {r.obj.get("id") for r in referral_records}
    for inv_rec in investigation_records:
        ref = inv_rec.obj.get("referral_id")
        if isinstance(ref, str) and ref not in referral_ids:
            problems.append((inv_rec.field("referral_id"), "expected the id of a referral in this case"))
    measures = _build(rec.items("measures"), _measure, "measures", problems)
    care_orders = _build(rec.items("care_orders"), _care_order, "care_orders", problems)
    emergencies = _build(rec.items("emergency_decisions"), _emergency, "emergency_decisions", problems)
    placements = _build(rec.items("placements"), _placement, "placements", problems)

    if problems or case_id is None or unit is None:
        return None, case_id, problems
    facts = CaseFacts(
        case_id=case_id,
        unit=unit,
        caseworker=caseworker,
        birth_date=birth_date,
        referrals=referrals,
        investigations=investigations,
        measures=measures,
        care_orders=care_orders,
        emergency_decisions=emergencies,
        placements=placements,
        aftercare_assessed_on=aftercare_on,
    )
    return facts, case_id, problems

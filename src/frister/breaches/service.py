"""The breach register: the assessment of a deadline, before or after its due date; the
deviation's follow-up to closure; acknowledgements of notices.

A *breach* (avvik, fristbrudd) is an obligation whose status is ``late`` or ``overdue``
in the stored ``obligations`` (the latest evaluation run). A leader records for a
deadline a reason code (``facts.contract.REASON_CODES``: the cause), a corrective action
(free text) and, where the law allows, the decision taken (:data:`DECISIONS`, e.g. an
extension of an investigation). Recorded while the deadline is still ``open`` it is the
assessment the services' routine asks for *before* the breach («i forkant, for vurdering
av årsak og eventuelle korrigerende tiltak»), and the warning e-mails say it is done;
after the breach the same record is its explanation. It is stored in ``breach_reasons``
under the obligation key ``(case_id, rule, subject, period, seq)`` (``period`` is ``''``
for obligations that are not visit periods), which is stable across runs.

**Follow-up.** The record is also the deviation's follow-up: an owner, the date the
action is due (``follow_up_by``) and a status, ``open``, ``in_progress`` or ``closed``
with a note (:func:`set_status`). A closed deviation gets no more notices (the
derivation skips it and cancels what waits), and leaves the worklists; the audit
listing keeps it as the breach it was. A breach that can no longer be repaired (a
feedback never sent) is closed the same way, with the reason in the note.

**Acknowledgement.** :func:`acknowledge` records who acknowledged which stage of a
deadline's notices, when and with what note; that stage is not repeated, the next one
still fires. :func:`withdraw_acknowledgement` takes it back (the stage repeats again);
both are appended to ``breach_history`` with their author.

Contracts:

* :func:`explain` accepts obligations that exist in the latest run and are ``open``,
  ``late`` or ``overdue``; :func:`import_reasons` and :func:`set_status` only breaches
  and recorded assessments. Anything else is a :class:`FristerError` that says what was
  expected.
* :func:`import_reasons` is all-or-nothing: every line is validated first, and one
  invalid field rejects the whole file (``ImportRejected``, naming line and field).
  Values from the file are never echoed in messages.
* Recording a reason for a key that already has one replaces the reason, action and
  decision (the latest word wins) and keeps its follow-up status.
* **History.** Every assessment and status change is also appended to
  ``breach_history`` with its time and author (never updated or deleted; the audit
  listing shows it). The author (``by``, a user code or login, at most 64 characters)
  is required by every function that records.
* The free-text action and notes are for reports and the CLI only; nothing here sends
  them anywhere (an e-mail says only whether a reason is recorded).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from sqlalchemy import Connection, and_, delete, func, insert, select, tuple_, update

from frister.calendar import add_months
from frister.engine.results import BREACH_STATUSES
from frister.errors import FristerError, ImportRejected, ValidationIssue
from frister.escalation.models import Notice
from frister.evaluation.models import Acknowledgement, BreachHistory, BreachReason, Obligation
from frister.evaluation.service import latest_run, shown_days_late
from frister.facts.contract import REASON_CODES
from frister.text import NotUtf8, decode_utf8

MAX_ACTION = 2000
ASSESSABLE = ("open", *BREACH_STATUSES)  # a deadline can be assessed before its breach
FOLLOW_UP = ("open", "in_progress", "closed")
# Decisions a leader may record with an assessment, and the rules whose deadline they
# concern: an extension of an investigation (bvl21 § 2-2, bvl92 § 6-9) is decided
# before the deadline, or it cannot save it.
DECISIONS = {"extension": ("investigation_deadline",)}
IMPORT_FIELDS = ("case_id", "rule", "subject", "period", "seq", "reason", "action", "explained_by")
REQUIRED_IMPORT_FIELDS = ("case_id", "rule", "subject", "reason", "action")


@dataclass(frozen=True, slots=True, order=True)
class BreachKey:
    """The key of one obligation; ``period`` is ``''`` unless it is a visit period."""

    case_id: str
    rule: str
    subject: str
    period: str = ""
    seq: int = 1

    def __str__(self) -> str:
        parts = [self.case_id, self.rule, self.subject]
        if self.period:
            parts.append(self.period)
        if self.seq != 1:
            parts.append(f"#{self.seq}")
        return " ".join(parts)

    def as_tuple(self) -> tuple[str, str, str, str, int]:
        return (self.case_id, self.rule, self.subject, self.period, self.seq)


@dataclass(frozen=True, slots=True)
class Explanation:
    """A stored reason: code, corrective action and the deviation's follow-up status."""

    reason: str
    action: str | None
    follow_up: str = "open"


@dataclass(frozen=True, slots=True)
class BreachRow:
    key: BreachKey
    unit: str
    status: str
    due_on: dt.date
    met_on: dt.date | None
    days_late: int
    reason: str | None
    action: str | None
    follow_up: str | None = None  # open | in_progress | closed, when a reason is recorded


def _require_evaluation(conn: Connection) -> None:
    if conn.execute(select(Obligation.case_id).limit(1)).first() is None:
        raise FristerError("no evaluation is stored yet: run `frister evaluate` first")


def assessed_keys(conn: Connection, keys: Sequence[tuple[str, str, str, str, int]]) -> set[tuple]:
    """The obligation keys among ``keys`` that have a recorded reason (an assessment)."""
    B = BreachReason
    wanted = set(keys)
    case_ids = sorted({k[0] for k in wanted})
    found: set[tuple] = set()
    for i in range(0, len(case_ids), 500):
        for r in conn.execute(select(B.case_id, B.rule, B.subject, B.period, B.seq)
                              .where(B.case_id.in_(case_ids[i:i + 500]))):
            if tuple(r) in wanted:
                found.add(tuple(r))
    return found


def reasons_by_key(conn: Connection) -> dict[tuple[str, str, str, str, int], Explanation]:
    """Every stored reason by obligation key tuple (for the reports)."""
    rows = conn.execute(select(
        BreachReason.case_id, BreachReason.rule, BreachReason.subject, BreachReason.period, BreachReason.seq,
        BreachReason.reason, BreachReason.action, BreachReason.status,
    ))
    return {(r[0], r[1], r[2], r[3], r[4]): Explanation(r[5], r[6], r[7]) for r in rows}


def list_breaches(conn: Connection, unit: str | None = None, rule: str | None = None,
                  unexplained: bool = False) -> list[BreachRow]:
    """Breaches in the latest run, oldest due date first, with their reasons if any
    (days late as of the latest run's date)."""
    _require_evaluation(conn)
    O, B = Obligation, BreachReason
    stmt = (
        select(O.case_id, O.rule, O.subject, O.period, O.seq, O.unit, O.status, O.due_on, O.met_on, O.days_late,
               B.reason, B.action, B.status)
        .outerjoin(B, and_(B.case_id == O.case_id, B.rule == O.rule, B.subject == O.subject,
                           B.period == O.period, B.seq == O.seq))
        .where(O.status.in_(BREACH_STATUSES))
        .order_by(O.due_on, O.case_id, O.rule, O.subject, O.period, O.seq)
    )
    if unit:
        stmt = stmt.where(O.unit == unit)
    if rule:
        stmt = stmt.where(O.rule == rule)
    if unexplained:
        stmt = stmt.where(B.reason.is_(None))
    as_of = latest_run(conn).as_of
    return [
        BreachRow(BreachKey(r[0], r[1], r[2], r[3], r[4]), r[5], r[6], r[7], r[8],
                  shown_days_late(r[6], r[7], r[9], as_of), r[10], r[11], r[12])
        for r in conn.execute(stmt)
    ]


def resolve_key(conn: Connection, case_id: str, rule: str, subject: str,
                period: str | None = None, seq: int | None = None,
                accept: tuple[str, ...] = BREACH_STATUSES) -> BreachKey:
    """The one obligation in one of the ``accept`` statuses (default: a breach) matching
    the given parts; ``period``/``seq`` may be omitted when unambiguous."""
    _require_evaluation(conn)
    O = Obligation
    stmt = select(O.period, O.seq, O.status).where(O.case_id == case_id, O.rule == rule, O.subject == subject)
    if period is not None:
        stmt = stmt.where(O.period == period)
    if seq is not None:
        stmt = stmt.where(O.seq == seq)
    rows = conn.execute(stmt.order_by(O.period, O.seq)).all()
    wanted = BreachKey(case_id, rule, subject, period or "", seq or 1)
    if not rows:
        raise FristerError(f"no obligation {wanted} that is open or broken in the latest evaluation (met ones are "
                           "not breaches; check case, rule, subject, --period, --seq)")
    breaches = [r for r in rows if r[2] in accept]
    if not breaches:
        statuses = ", ".join(sorted({r[2] for r in rows}))
        expected = "open, late or overdue" if "open" in accept else "late or overdue"
        raise FristerError(f"obligation {wanted} is {statuses}; expected an obligation that is {expected}")
    if len(breaches) > 1:
        options = ", ".join(_describe(p, s) for p, s, _ in breaches)
        raise FristerError(f"several obligations match {case_id} {rule} {subject}: give --period/--seq ({options})")
    p, s, _ = breaches[0]
    return BreachKey(case_id, rule, subject, p, s)


def _describe(period: str, seq: int) -> str:
    return " ".join(x for x in (f"--period {period}" if period else "", f"--seq {seq}") if x)


def _check_reason(reason: str) -> None:
    if reason not in REASON_CODES:
        raise FristerError(f"unknown reason code; expected one of: {', '.join(REASON_CODES)}")


def _clean_action(action: str | None) -> str:
    text = (action or "").strip()
    if not text:
        raise FristerError("the corrective action must not be empty")
    if len(text) > MAX_ACTION:
        raise FristerError(f"the corrective action is longer than {MAX_ACTION} characters")
    return text


FOLLOW_UP_COLUMNS = ("owner", "follow_up_by", "status", "status_note", "closed_at", "closed_by")


def _check_author(by: str | None) -> str:
    text = (by or "").strip()
    if not text or len(text) > 64:
        raise FristerError("expected who records it (a user code or login of at most 64 characters)")
    return text


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One recorded assessment (``event`` ``assessed``) or status change (``status``)."""

    key: tuple[str, str, str, str, int]
    recorded_at: dt.datetime
    recorded_by: str
    event: str
    reason: str | None = None
    action: str | None = None
    decision: str | None = None
    status: str | None = None
    note: str | None = None
    stage: str | None = None  # acknowledged | ack_withdrawn


ASSESSMENT_EVENTS = ("assessed", "status")
ACK_EVENTS = ("acknowledged", "ack_withdrawn")


def history(conn: Connection, keys: Iterable[tuple[str, str, str, str, int]] | None = None,
            events: Sequence[str] = ASSESSMENT_EVENTS) -> list[HistoryEntry]:
    """The recorded history of ``keys`` (None: of every deadline), oldest first per key:
    the assessments and status changes, or the ``events`` asked for (:data:`ACK_EVENTS`:
    acknowledgements and their withdrawals, with the stage)."""
    H = BreachHistory
    cols = (H.case_id, H.rule, H.subject, H.period, H.seq, H.recorded_at, H.recorded_by, H.event, H.reason,
            H.action, H.decision, H.status, H.note, H.stage)
    wanted = set(keys) if keys is not None else None
    query = select(*cols).where(H.event.in_(events)).order_by(H.case_id, H.rule, H.subject, H.period, H.seq, H.id)
    if wanted is not None:
        case_ids = sorted({k[0] for k in wanted})
        rows = [r for i in range(0, len(case_ids), 500)
                for r in conn.execute(query.where(H.case_id.in_(case_ids[i:i + 500])))]
    else:
        rows = list(conn.execute(query))
    return [HistoryEntry(tuple(r[:5]), *r[5:]) for r in rows if wanted is None or tuple(r[:5]) in wanted]


def _upsert(conn: Connection, rows: Sequence[dict]) -> None:
    """Replace the reasons of the given keys, keeping each one's follow-up (owner, due
    date, status) unless the row gives it (delete + insert: portable and atomic in the
    caller's transaction), and append each to the history."""
    if rows:
        conn.execute(insert(BreachHistory), [
            {"case_id": r["case_id"], "rule": r["rule"], "subject": r["subject"], "period": r["period"],
             "seq": r["seq"], "recorded_at": r["explained_at"], "recorded_by": r["explained_by"],
             "event": "assessed", "reason": r["reason"], "action": r["action"], "decision": r.get("decision")}
            for r in rows])
    B = BreachReason
    keys = [(r["case_id"], r["rule"], r["subject"], r["period"], r["seq"]) for r in rows]
    kept: dict[tuple, dict] = {}
    for i in range(0, len(keys), 500):
        where = tuple_(B.case_id, B.rule, B.subject, B.period, B.seq).in_(keys[i:i + 500])
        for r in conn.execute(select(B.case_id, B.rule, B.subject, B.period, B.seq,
                                     *(getattr(B, c) for c in FOLLOW_UP_COLUMNS)).where(where)):
            kept[tuple(r[:5])] = dict(zip(FOLLOW_UP_COLUMNS, r[5:]))
        conn.execute(delete(B).where(where))
    if rows:
        empty = dict.fromkeys(FOLLOW_UP_COLUMNS) | {"status": "open"}
        conn.execute(insert(B), [empty | kept.get(k, {}) | {c: v for c, v in row.items() if v is not None
                                                           or c not in FOLLOW_UP_COLUMNS}
                                 for k, row in zip(keys, rows)])


def explain(conn: Connection, key: BreachKey, reason: str, action: str, at: dt.datetime,
            by: str | None = None, decision: str | None = None, owner: str | None = None,
            follow_up_by: dt.date | None = None) -> str:
    """Record the assessment of the deadline ``key`` (open, late or overdue now): the
    cause ``reason``, the corrective ``action``, and optionally the ``decision`` taken
    (:data:`DECISIONS`), the follow-up's ``owner`` and the date its action is due.
    Returns the obligation's status (an extension recorded for an overdue deadline does
    not save it: the caller says so)."""
    _check_reason(reason)
    text = _clean_action(action)
    by = _check_author(by)
    if decision is not None and key.rule not in DECISIONS.get(decision, ()):
        allowed = ", ".join(f"{d} ({', '.join(r)})" for d, r in DECISIONS.items())
        raise FristerError(f"decision {decision!r} does not apply to {key.rule}; expected one of: {allowed}")
    resolved = resolve_key(conn, key.case_id, key.rule, key.subject, key.period, key.seq, accept=ASSESSABLE)
    _upsert(conn, [{**_key_dict(resolved), "reason": reason, "action": text, "explained_at": at,
                    "explained_by": by, "decision": decision, "owner": owner, "follow_up_by": follow_up_by}])
    return _statuses(conn, [resolved.as_tuple()])[resolved.as_tuple()]


def set_status(conn: Connection, key: BreachKey, status: str, at: dt.datetime, by: str | None = None,
               note: str | None = None) -> None:
    """Move the deviation ``key`` (a recorded assessment) to ``status``; ``closed`` needs
    a note (what was done, or why the breach cannot be repaired) and stops its notices."""
    if status not in FOLLOW_UP:
        raise FristerError(f"unknown status; expected one of: {', '.join(FOLLOW_UP)}")
    text = (note or "").strip() or None
    if status == "closed" and text is None:
        raise FristerError("closing a deviation needs a note: what was done, or why it cannot be repaired")
    if text is not None and len(text) > MAX_ACTION:
        raise FristerError(f"the note is longer than {MAX_ACTION} characters")
    by = _check_author(by)
    B = BreachReason
    found = conn.execute(update(B).where(*(c == v for c, v in zip(
        (B.case_id, B.rule, B.subject, B.period, B.seq), key.as_tuple()))).values(
        status=status, status_note=text, closed_at=at if status == "closed" else None,
        closed_by=by if status == "closed" else None)).rowcount
    if not found:
        raise FristerError(f"no assessment is recorded for {key}: record one first (frister breach explain)")
    conn.execute(insert(BreachHistory).values(**_key_dict(key), recorded_at=at, recorded_by=by, event="status",
                                              status=status, note=text))


def acknowledge(conn: Connection, key: BreachKey, stage: str, at: dt.datetime, by: str,
                note: str | None = None) -> None:
    """Record that ``by`` acknowledged the ``stage`` notices of ``key``: that stage is
    not repeated. A notice of that stage must have been sent for the deadline."""
    if not by or len(by) > 64:
        raise FristerError("expected who acknowledges (--by, a user code of at most 64 characters)")
    n = Notice
    sent = conn.execute(select(n.id).where(*(c == v for c, v in zip(
        (n.case_id, n.rule, n.subject, n.period, n.seq), key.as_tuple())), n.stage == stage,
        n.status == "sent").limit(1)).first()
    if sent is None:
        raise FristerError(f"no {stage} notice has been sent for {key}: nothing to acknowledge")
    A = Acknowledgement
    text = (note or "").strip()[:MAX_ACTION] or None
    conn.execute(delete(A).where(*(c == v for c, v in zip(
        (A.case_id, A.rule, A.subject, A.period, A.seq), key.as_tuple())), A.stage == stage))
    conn.execute(insert(A).values(**_key_dict(key), stage=stage, acknowledged_at=at, acknowledged_by=by, note=text))
    conn.execute(insert(BreachHistory).values(**_key_dict(key), recorded_at=at, recorded_by=by,
                                              event="acknowledged", stage=stage, note=text))


def withdraw_acknowledgement(conn: Connection, key: BreachKey, stage: str, at: dt.datetime, by: str,
                             note: str | None = None) -> None:
    """Withdraw the acknowledgement of ``stage`` for ``key``: the stage repeats again
    from the next night (as its ladder says, counted from the last notice sent). The
    withdrawal is appended to ``breach_history`` with its author; the acknowledgement's
    own history row stays."""
    by = _check_author(by)
    A = Acknowledgement
    removed = conn.execute(delete(A).where(*(c == v for c, v in zip(
        (A.case_id, A.rule, A.subject, A.period, A.seq), key.as_tuple())), A.stage == stage)).rowcount
    if not removed:
        raise FristerError(f"the {stage} stage of {key} is not acknowledged: nothing to withdraw")
    conn.execute(insert(BreachHistory).values(**_key_dict(key), recorded_at=at, recorded_by=by,
                                              event="ack_withdrawn", stage=stage,
                                              note=(note or "").strip()[:MAX_ACTION] or None))


def deviation_counts(conn: Connection) -> dict[tuple[str, str], dict[str, int]]:
    """``{(rule, unit): {open, in_progress, closed, recurrences}}`` over the breaches of
    the latest evaluation: the recorded deviations by follow-up status, and the breaches
    that recur (the same case and rule broken again within 12 months of an earlier breach's
    due date, counted at the later one). For the reports and ``frister breach deviations``."""
    O, B = Obligation, BreachReason
    rows = conn.execute(
        select(O.rule, O.unit, B.status, func.count())
        .join(B, and_(B.case_id == O.case_id, B.rule == O.rule, B.subject == O.subject,
                      B.period == O.period, B.seq == O.seq))
        .where(O.status.in_(BREACH_STATUSES)).group_by(O.rule, O.unit, B.status))
    empty = dict.fromkeys((*FOLLOW_UP, "recurrences"), 0)
    out: dict[tuple[str, str], dict[str, int]] = {}
    for rule, unit, status, n in rows:
        out.setdefault((rule, unit), dict(empty))[status] = n
    breaches = list(conn.execute(select(O.case_id, O.rule, O.unit, O.due_on).where(O.status.in_(BREACH_STATUSES))))
    for (_, rule, unit, _), again in zip(breaches, recurring([(c, r, d) for c, r, _, d in breaches])):
        if again:
            out.setdefault((rule, unit), dict(empty))["recurrences"] += 1
    return out


RECURRENCE_MONTHS = 12


def recurring(breaches: Sequence[tuple[object, str, dt.date]]) -> list[bool]:
    """For each breach ``(case, rule, due date)``, whether it is a recurrence: the same
    case and rule broken before, with an earlier breach due at most
    :data:`RECURRENCE_MONTHS` months before it (on the same day of the month, or the
    month's last day when it has no such day: :func:`frister.calendar.add_months`). Two
    breaches of one case and rule due on the same day: the second one recurs. The one
    definition, for ``deviation_counts`` and the reports."""
    out = [False] * len(breaches)
    previous: tuple[object, str, dt.date] | None = None
    for i in sorted(range(len(breaches)), key=lambda i: (str(breaches[i][0]), breaches[i][1], breaches[i][2], i)):
        case, rule, due_on = breaches[i]
        if previous is not None and previous[:2] == (case, rule) and due_on <= add_months(previous[2], RECURRENCE_MONTHS):
            out[i] = True
        previous = breaches[i]
    return out


def _key_dict(key: BreachKey) -> dict:
    return {"case_id": key.case_id, "rule": key.rule, "subject": key.subject, "period": key.period, "seq": key.seq}


# --- import ---------------------------------------------------------------------------


def _rows(reader) -> Iterable[list[str] | csv.Error]:
    """The reader's rows, ending with the ``csv.Error`` if one stops it (a cell longer
    than the csv module takes, for one); its message holds no cell's content."""
    try:
        yield from reader
    except csv.Error as exc:
        yield exc


def _read_records(path: Path) -> Iterable[tuple[int, dict | None, str | None]]:
    """(line number, record or None, problem) for every data line of a CSV or JSONL file."""
    try:
        text = decode_utf8(path.read_bytes(), bom=True)
    except OSError as exc:
        raise FristerError(f"{path}: cannot read: {exc.strerror}") from None
    except NotUtf8 as exc:
        raise FristerError(f"{path}: line {exc.line}: not UTF-8 text (save the file as UTF-8)") from None
    if path.suffix.lower() == ".csv":
        first = text.split("\n", 1)[0]
        delimiter = ";" if first.count(";") > first.count(",") else ","
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            return
        header = [h.strip() for h in header]
        unknown = [h for h in header if h not in IMPORT_FIELDS]
        missing = [h for h in REQUIRED_IMPORT_FIELDS if h not in header]
        if unknown or missing or len(set(header)) != len(header):
            yield 1, None, f"header: expected the columns {', '.join(IMPORT_FIELDS)} (required: {', '.join(REQUIRED_IMPORT_FIELDS)}), each once"
            return
        for row in _rows(reader):
            if isinstance(row, csv.Error):  # the reader cannot go on after it
                too_long = "field larger than field limit" in str(row)
                yield reader.line_num, None, (f"row: expected CSV cells of at most {csv.field_size_limit()} "
                                              "characters" if too_long else "row: expected a CSV row")
                return
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                yield line, None, f"row: expected {len(header)} cells as in the header"
                continue
            yield line, {h: (v.strip() or None) for h, v in zip(header, row)}, None
        return
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            yield n, None, "line: expected one JSON object"
            continue
        if not isinstance(obj, dict):
            yield n, None, "line: expected one JSON object"
            continue
        yield n, obj, None


def import_reasons(conn: Connection, path: str | Path, at: dt.datetime, by: str) -> int:
    """Import reasons from a CSV (``,`` or ``;``, header row) or JSONL file, all or nothing.

    Fields: ``case_id``, ``rule``, ``subject``, ``reason``, ``action`` (required), and
    ``period`` (visit periods), ``seq`` (default 1), ``explained_by`` (default ``by``,
    who imports). Returns the number of reasons written. Raises :class:`ImportRejected`
    naming each bad line and field.
    """
    by = _check_author(by)
    path = Path(path)
    _require_evaluation(conn)
    source = path.name
    issues: list[ValidationIssue] = []
    parsed: list[tuple[int, dict]] = []
    seen: dict[tuple, int] = {}
    for line, rec, problem in _read_records(path):
        if problem is not None:
            field, expected = problem.split(": ", 1)
            issues.append(ValidationIssue(source, line, None, field, expected))
            continue
        case_id = rec.get("case_id") if isinstance(rec.get("case_id"), str) else None
        bad = len(issues)
        for name in rec:
            if name not in IMPORT_FIELDS:
                issues.append(ValidationIssue(source, line, case_id, name, "unknown field"))
        for name in ("case_id", "rule", "subject"):
            if not isinstance(rec.get(name), str) or not rec[name].strip():
                issues.append(ValidationIssue(source, line, case_id, name, "expected a non-empty text"))
        period = rec.get("period") or ""
        if not isinstance(period, str):
            issues.append(ValidationIssue(source, line, case_id, "period", "expected a period such as 2025-H1"))
        seq = rec.get("seq") if rec.get("seq") not in (None, "") else 1
        try:
            seq = int(seq)
            if seq < 1 or isinstance(rec.get("seq"), (bool, float)):
                raise ValueError
        except (TypeError, ValueError):
            issues.append(ValidationIssue(source, line, case_id, "seq", "expected a whole number ≥ 1"))
        if rec.get("reason") not in REASON_CODES:
            issues.append(ValidationIssue(source, line, case_id, "reason", f"expected one of {', '.join(REASON_CODES)}"))
        action = rec.get("action")
        if not isinstance(action, str) or not action.strip() or len(action.strip()) > MAX_ACTION:
            issues.append(ValidationIssue(source, line, case_id, "action",
                                          f"expected a non-empty text of at most {MAX_ACTION} characters"))
        author = rec.get("explained_by")
        if author is not None and (not isinstance(author, str) or len(author) > 64):
            issues.append(ValidationIssue(source, line, case_id, "explained_by", "expected a text of at most 64 characters"))
        if len(issues) > bad:
            continue
        key = (rec["case_id"].strip(), rec["rule"].strip(), rec["subject"].strip(), period.strip(), seq)
        if key in seen:
            issues.append(ValidationIssue(source, line, case_id, "case_id",
                                          f"the same obligation is already on line {seen[key]}"))
            continue
        seen[key] = line
        parsed.append((line, {"case_id": key[0], "rule": key[1], "subject": key[2], "period": key[3], "seq": key[4],
                              "reason": rec["reason"], "action": action.strip(), "explained_at": at,
                              "explained_by": (rec.get("explained_by") or "").strip() or by}))

    statuses = _statuses(conn, [k for k in seen])
    for line, row in parsed:
        key = (row["case_id"], row["rule"], row["subject"], row["period"], row["seq"])
        status = statuses.get(key)
        if status is None:
            issues.append(ValidationIssue(source, line, row["case_id"], "rule",
                                          "expected a breach (late or overdue) of the latest evaluation; no obligation "
                                          "(case_id, rule, subject, period, seq) is open or broken (met ones are not breaches)"))
        elif status not in BREACH_STATUSES:
            issues.append(ValidationIssue(source, line, row["case_id"], "rule",
                                          f"expected a breach (late or overdue); the obligation is {status}"))
    if issues:
        issues.sort(key=lambda i: i.line)
        raise ImportRejected(issues, len(issues))
    _upsert(conn, [row for _, row in parsed])
    return len(parsed)


def _statuses(conn: Connection, keys: list[tuple]) -> dict[tuple, str]:
    O = Obligation
    out: dict[tuple, str] = {}
    case_ids = sorted({k[0] for k in keys})
    wanted = set(keys)
    for i in range(0, len(case_ids), 500):
        rows = conn.execute(select(O.case_id, O.rule, O.subject, O.period, O.seq, O.status)
                            .where(O.case_id.in_(case_ids[i:i + 500])))
        for r in rows:
            k = (r[0], r[1], r[2], r[3], r[4])
            if k in wanted:
                out[k] = r[5]
    return out

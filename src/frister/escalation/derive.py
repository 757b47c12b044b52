"""Derive the notices that are due from the stored obligations (state, not events).

Called inside the nightly run's transaction, right after the obligations were
replaced, so the notices are committed together with the results they come from.

Policy, stated once:

* A stage *before* the due date concerns an ``open`` obligation; a stage *after* it an
  ``overdue`` one. Statuses ``met`` and ``late`` (done, in time or not) get no notice:
  a notice that became due for a deadline met meanwhile is never created.
* A stage is due on ``due_on + offset``. Every stage that is due as of the run and
  concerns the obligation's current status is created if its key does not exist yet.
  So a run after days of downtime creates every notice that became due in the gap,
  once; a run on the same day again creates nothing.
* A repeating stage (``repeat_every``) has repeats 0, 1, 2, … due every N days; the
  first notice created is the latest repeat due. **Repeats count from the last notice
  sent**: the next one is due ``repeat_every`` days after the night that sent the
  previous one (a notice carried over a weekend, or first created in the middle of a
  cycle, pushes the next one on), and none while the previous one is still on its way.
  A missed repeat is not caught up: the next one says the same ("still overdue"). With
  ``repeat_for`` the repeats end: none falls more than that many days after the
  stage's first day (a breach is then followed up in the breach register and the
  reports, not by e-mail every week for years).
* **Catch-up.** A notice that fell due more than ``catch_up_days`` (the ladder's, default
  31) before the run is created only for an obligation stored or changed since the last
  night that derived notices (its row's ``run_id`` is later than that night's
  evaluation run): a deadline that comes in late from an import gets its notices
  whatever their age, and a run after up to ``catch_up_days`` of downtime creates every
  notice that fell due meanwhile. An obligation that has not changed had its older
  notices created by an earlier night. So each night reads only the obligations that
  changed, the open ones that a stage's lead time reaches, and the overdue ones whose
  ladder has not ended (:attr:`Ladder.lookback_days`), not every breach ever recorded;
  with a stage that repeats without end, every overdue one.
* One notice row per role. When two roles resolve to the same address (a unit with
  no leader falls back to the barnevernsjef), only the first role's row is created,
  so nobody reads the same line twice.
* A ``pending`` notice whose obligation no longer is in the stage's state (met, late,
  gone, or back to open after a corrected import), or whose role has no address any
  more, is ``cancelled``; the other pending notices go to the role's *current* address
  (the organisation file is re-read every run).
* The e-mail shows a notice's ``ordinal``, not its ``repeat``: the first notice
  created for an obligation and stage to a role is number 1 (a first notice, even for
  a breach overdue for months), the next one 2 ("Gjentatt varsel nr. 1"), and so on;
  cancelled notices do not count. ``repeat`` (counted from the due date) stays in the
  key, so "create once" does not depend on what was created before.
* A deadline whose deviation is closed (:func:`frister.breaches.set_status`) gets no
  notice, one with a recorded reason no notice of a ``without_reason`` stage, and a stage a leader acknowledged for a deadline (``acknowledgements``) no
  repeat; their pending notices are cancelled. The next stage still fires.
* A repeat at or below the latest repeat already created for the obligation, stage and
  role counts as existing (a run with an earlier as-of date never goes back to an
  older repeat).
* The legal basis and the kind of duty copied into a notice are those of the
  obligation's rule version (``bases``, see :func:`bases_of`); obligations do not store them.

The candidate obligations are read in key order from up to three queries (open and
due within the lead time; overdue within the lookback; overdue and changed since the
last night), each answered from an index, and merged; they are taken in chunks of
``chunk_size``, and for each chunk one query reads, for the cases with a stage due, per
obligation, stage and role, the latest repeat and the number of notices created so far
(an aggregate, not the notices). New notices are inserted in bulk. Cancelling and
re-addressing pending notices is set-based SQL: one statement per condition, per stage
name and per (role, unit, address) group, never a list of notices in memory.
"""
from __future__ import annotations

import datetime as dt
import heapq
from dataclasses import dataclass
from operator import itemgetter
from typing import Callable, Iterator, Mapping, Sequence

from sqlalchemy import Connection, Row, Select, and_, case, exists, func, or_, select, update

from frister.db.dialect import bulk_insert
from frister.escalation.config import Ladder, Stage
from frister.organisation import Organisation
from frister.escalation.models import WAITING, Notice
from frister.evaluation.models import Acknowledgement, BreachReason, Obligation
from frister.nightly.models import NightlyRun
from frister.rules.model import RuleSet

CHUNK = 2000
INSERT_BATCH = 2000
CANCELLED_WHY = "no longer due, acknowledged, closed, or no recipient for its role"

Bases = Mapping[tuple[str, str], tuple[str, str]]
# A new notice's columns, in the order derive_notices builds its rows.
NOTICE_COLUMNS = ("case_id", "rule", "subject", "period", "seq", "stage", "repeat", "ordinal", "role", "recipient",
                  "unit", "caseworker", "due_on", "fire_on", "basis", "duty", "created_run_id", "created_at", "status",
                  "attempts")


@dataclass
class DeriveCounts:
    due: int = 0
    created: int = 0
    existing: int = 0
    cancelled: int = 0


@dataclass(frozen=True)
class LastNight:
    """The last night that derived notices: its evaluation run (obligations written
    later are new or changed since)."""

    evaluation_run_id: int


def bases_of(rules: RuleSet) -> dict[tuple[str, str], tuple[str, str]]:
    """``{(rule id, version name): (legal basis, kind of duty)}``: what a notice cites."""
    return {(r.id, v.name): (v.basis[:400], v.duty) for r in rules for v in r.versions}


def due_points(stage: Stage, due_on: dt.date, status: str, as_of: dt.date) -> tuple[int, dt.date] | None:
    """The ``(repeat, fire_on)`` of ``stage`` due as of ``as_of`` for an obligation in
    ``status`` due on ``due_on``, or None when the stage is not (or no longer) due."""
    if not stage.concerns(status):
        return None
    first = due_on + dt.timedelta(days=stage.offset)
    if first > as_of:
        return None
    if not stage.repeat_every:
        return 0, first
    n = (as_of - first).days // stage.repeat_every
    if stage.last_repeat is not None:
        n = min(n, stage.last_repeat)
    return n, first + dt.timedelta(days=n * stage.repeat_every)


_O = Obligation
_KEY = (_O.case_id, _O.rule, _O.subject, _O.period, _O.seq)
_NOTICE_KEY = (Notice.case_id, Notice.rule, Notice.subject, Notice.period, Notice.seq)
_SAME_OBLIGATION = and_(*(o == n for o, n in zip(_KEY, _NOTICE_KEY)))
_CLOSED_KEY = (BreachReason.case_id, BreachReason.rule, BreachReason.subject, BreachReason.period, BreachReason.seq)
_ACK_KEY = (Acknowledgement.case_id, Acknowledgement.rule, Acknowledgement.subject, Acknowledgement.period,
            Acknowledgement.seq)


def _candidate(horizon: dt.date):
    """The obligations that can get a notice now (or keep a pending one)."""
    return or_(_O.status == "overdue", (_O.status == "open") & (_O.due_on <= horizon))


def _horizon(ladder: Ladder, as_of: dt.date) -> dt.date:
    """The last due date of an open obligation that can get a notice as of ``as_of``."""
    return as_of + dt.timedelta(days=ladder.max_lead_days)


def _candidate_sets(ladder: Ladder, as_of: dt.date, changed_after: int | None) -> list:
    """The conditions of the candidate obligations, one query each (see the catch-up
    in the module's docstring): each is answered from an index, which one query with
    ``OR`` may not be."""
    horizon = _horizon(ladder, as_of)
    open_soon = (_O.status == "open") & (_O.due_on <= horizon)
    lookback = ladder.lookback_days
    if changed_after is None or lookback is None:
        return [open_soon, _O.status == "overdue"]
    return [open_soon,
            (_O.status == "overdue") & (_O.due_on >= as_of - dt.timedelta(days=lookback)),
            (_O.status == "overdue") & (_O.run_id > changed_after)]


def candidate_queries(ladder: Ladder, as_of: dt.date, changed_after: int | None) -> list[Select]:
    """One query per candidate set, each in key order (what :func:`obligation_chunks` merges)."""
    return [select(*_KEY, _O.status, _O.due_on, _O.unit, _O.caseworker, _O.rule_version, _O.run_id)
            .where(condition).order_by(*_KEY) for condition in _candidate_sets(ladder, as_of, changed_after)]


_KEY_OF = itemgetter(0, 1, 2, 3, 4)


def obligation_chunks(conn: Connection, ladder: Ladder, as_of: dt.date, changed_after: int | None,
                      chunk_size: int = CHUNK) -> Iterator[list[Row]]:
    """The candidate obligations in key order, each once, at most ``chunk_size`` rows at
    a time (one query per candidate set, merged). A row is the obligation's key,
    ``status``, ``due_on``, ``unit``, ``caseworker``, ``rule_version`` and ``run_id``."""
    results = [conn.execute(stmt).all() for stmt in candidate_queries(ladder, as_of, changed_after)]
    chunk: list[Row] = []
    last = None
    for row in heapq.merge(*results, key=_KEY_OF):
        key = _KEY_OF(row)
        if key == last:  # in two of the sets
            continue
        last = key
        chunk.append(row)
        if len(chunk) >= chunk_size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _points_due(chunk: Sequence[Row], ladder: Ladder, as_of: dt.date, changed_after: int | None,
                stages_of: Callable[[str, str], tuple[Stage, ...]]) -> Iterator[tuple[Row, Stage, int, dt.date]]:
    """``(obligation, stage, repeat, fire_on)`` of every stage due as of ``as_of`` for
    the obligations of ``chunk``, less those the catch-up leaves to earlier nights.
    ``stages_of(rule, status)`` are the rule's stages that concern an obligation in that
    status."""
    for row in chunk:
        status, due_on, run = row[5], row[6], row[10]
        changed = changed_after is None or run > changed_after
        for stage in stages_of(row[1], status):
            point = due_points(stage, due_on, status, as_of)
            if point is None:
                continue
            repeat, fire_on = point
            if not changed and (as_of - fire_on).days > ladder.catch_up_days:
                continue  # created by an earlier night, or its time has passed
            yield row, stage, repeat, fire_on


def _stages_by_status(ladder: Ladder) -> Callable[[str, str], tuple[Stage, ...]]:
    """``(rule, status) -> the rule's stages that concern that status``, remembered."""
    known: dict[tuple[str, str], tuple[Stage, ...]] = {}

    def stages_of(rule: str, status: str) -> tuple[Stage, ...]:
        found = known.get((rule, status))
        if found is None:
            found = known[(rule, status)] = tuple(s for s in ladder.stages_for(rule) if s.concerns(status))
        return found

    return stages_of


def _created_so_far(conn: Connection, case_ids: Sequence[str]) -> dict[tuple, tuple[int, int, dt.date | None, int]]:
    """For the obligations of the given cases: ``{(*key, stage, role): (latest repeat,
    notices not cancelled, the as-of day of the last night that sent one, notices still
    on their way)}``."""
    n, night = Notice, NightlyRun
    rows = conn.execute(
        select(*_NOTICE_KEY, n.stage, n.role, func.max(n.repeat),
               func.count(case((n.status != "cancelled", 1))),
               func.max(case((n.status == "sent", night.as_of))),
               func.count(case((n.status.in_(WAITING), 1))))
        .outerjoin(night, night.id == n.claimed_run_id)
        .where(n.case_id.in_(sorted(set(case_ids))))
        .group_by(*_NOTICE_KEY, n.stage, n.role)
    )
    return {tuple(r[:7]): (r[7], r[8], r[9], r[10]) for r in rows}


def _next_repeat(stage: Stage, due_on: dt.date, as_of: dt.date, latest: int, last_sent: dt.date | None,
                 waiting: int) -> tuple[int, dt.date] | None:
    """The ``(repeat, fire_on)`` of the repeat of ``stage`` that follows the notices
    already created (``latest`` ≥ 0), counted from the last night one was sent; None
    when it is not due (yet, or any more)."""
    if waiting:
        return None  # the previous one is still on its way
    if last_sent is None:
        return (latest + 1, as_of)  # none delivered (dead or cancelled): the schedule holds
    fire_on = last_sent + dt.timedelta(days=stage.repeat_every or 0)
    if fire_on > as_of:
        return None
    if stage.repeat_for is not None and fire_on > due_on + dt.timedelta(days=stage.offset + stage.repeat_for):
        return None  # the ladder has ended
    return (latest + 1, fire_on)


def _stopped(conn: Connection, case_ids: Sequence[str]) -> tuple[set[tuple], set[tuple], set[tuple]]:
    """For the obligations of the given cases: the ``(*key, stage)`` acknowledged, the
    keys whose deviation is closed, and the keys with a recorded reason."""
    ids = sorted(set(case_ids))
    a, b = Acknowledgement, BreachReason
    acked = {tuple(r) for r in conn.execute(select(a.case_id, a.rule, a.subject, a.period, a.seq, a.stage)
                                            .where(a.case_id.in_(ids)))}
    closed, explained = set(), set()
    for *key, status in conn.execute(select(b.case_id, b.rule, b.subject, b.period, b.seq, b.status)
                                     .where(b.case_id.in_(ids))):
        explained.add(tuple(key))
        if status == "closed":
            closed.add(tuple(key))
    return acked, closed, explained


def last_derived_night(conn: Connection) -> LastNight | None:
    """The last night to derive notices (it records its evaluation run in the same
    transaction), or None before the first."""
    row = conn.execute(select(NightlyRun.evaluation_run_id)
                       .where(NightlyRun.evaluation_run_id.is_not(None))
                       .order_by(NightlyRun.evaluation_run_id.desc()).limit(1)).first()
    return None if row is None else LastNight(*row)


def derive_notices(
    conn: Connection,
    ladder: Ladder,
    organisation: Organisation,
    as_of: dt.date,
    run_id: int,
    now: Callable[[], dt.datetime],
    bases: Bases,
    chunk_size: int | None = None,
    since: LastNight | None = None,
) -> DeriveCounts:
    """Create the notices due as of ``as_of`` and cancel the pending ones no longer due.

    Runs in the caller's transaction. ``bases`` maps ``(rule, rule_version)`` to the
    legal basis (:func:`bases_of`); ``chunk_size`` (default :data:`CHUNK`) bounds how many
    obligations are in memory at a time. ``since`` is the last night that derived
    notices (:func:`last_derived_night`; None: none did, and every obligation counts as
    new). Returns the counts; ``due == created + existing``.
    """
    chunk_size = chunk_size or CHUNK
    counts = DeriveCounts()
    horizon = _horizon(ladder, as_of)
    created = _bound(conn, Notice.__table__.c.created_at, now())
    changed_after = since.evaluation_run_id if since else None
    stages_of = _stages_by_status(ladder)
    batch: list[tuple] = []
    for chunk in obligation_chunks(conn, ladder, as_of, changed_after, chunk_size):
        points = list(_points_due(chunk, ladder, as_of, changed_after, stages_of))
        so_far = _created_so_far(conn, [row[0] for row, _, _, _ in points]) if points else {}
        acked, closed, explained = _stopped(conn, [row[0] for row, _, _, _ in points]) if points \
            else (set(), set(), set())
        for (case_id, rule, subject, period, seq, _, due_on, unit, caseworker, version, _), stage, repeat, fire_on \
                in points:
            key = (case_id, rule, subject, period, seq)
            if key in closed or (*key, stage.name) in acked or (stage.without_reason and key in explained):
                continue  # followed up to closure, this stage acknowledged, or the reason is in
            addresses: set[str] = set()
            for role in stage.to:
                address = organisation.address(role, unit)
                if address is None or address in addresses:
                    continue
                addresses.add(address)
                counts.due += 1
                latest, earlier, last_sent, waiting = so_far.get(
                    (case_id, rule, subject, period, seq, stage.name, role), (-1, 0, None, 0))
                if repeat <= latest:
                    counts.existing += 1
                    continue
                this = (repeat, fire_on)
                if stage.repeat_every and latest >= 0:
                    this = _next_repeat(stage, due_on, as_of, latest, last_sent, waiting)
                    if this is None:
                        counts.existing += 1  # the last one sent still stands
                        continue
                organisation.check(address)
                counts.created += 1
                batch.append((case_id, rule, subject, period, seq, stage.name, this[0], earlier + 1, role, address,
                              unit, caseworker, due_on, this[1], *bases.get((rule, version), ("", "law")), run_id,
                              created, "pending", 0))
                if len(batch) >= INSERT_BATCH:
                    bulk_insert(conn, Notice.__table__, NOTICE_COLUMNS, batch)
                    batch = []
    if batch:
        bulk_insert(conn, Notice.__table__, NOTICE_COLUMNS, batch)
    counts.cancelled = _refresh_pending(conn, ladder, organisation, horizon)
    return counts


def _bound(conn: Connection, column, value):
    """``value`` as the driver is given it for ``column`` (SQLite stores a time as text,
    in SQLAlchemy's format), so that a bulk insert stores what an ORM insert would."""
    process = column.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    return process(value) if process else value


def _refresh_pending(conn: Connection, ladder: Ladder, organisation: Organisation, horizon: dt.date) -> int:
    """Cancel the pending notices no longer due, and send the others to the role's
    current address (a new leader gets what is still waiting). Returns the cancelled.

    Set-based: the statements are per condition, per stage name and per (role, unit,
    address) group, whatever the number of pending notices."""
    n = Notice
    pending = n.status == "pending"
    cancel = update(n).values(status="cancelled", last_error=CANCELLED_WHY)
    # Gone, met or late (or an open one whose due date moved beyond every stage).
    cancelled = conn.execute(
        cancel.where(pending, ~exists().where(_SAME_OBLIGATION, _candidate(horizon)))
    ).rowcount
    # A deviation closed, or the stage acknowledged, since the notice was created.
    cancelled += conn.execute(cancel.where(pending, exists().where(
        *(c == v for c, v in zip(_CLOSED_KEY, _NOTICE_KEY)), BreachReason.status == "closed"))).rowcount
    cancelled += conn.execute(cancel.where(pending, exists().where(
        *(c == v for c, v in zip(_ACK_KEY, _NOTICE_KEY)), Acknowledgement.stage == n.stage))).rowcount
    # A stage for deadlines without a reason, once a reason is recorded.
    unexplained: dict[str, list[str]] = {}
    for rule, stage_name in conn.execute(select(n.rule, n.stage).where(pending).distinct()).all():
        stage = ladder.stage(rule, stage_name)
        if stage is not None and stage.without_reason:
            unexplained.setdefault(stage_name, []).append(rule)
    for stage_name, rules in sorted(unexplained.items()):
        cancelled += conn.execute(cancel.where(pending, n.stage == stage_name, n.rule.in_(sorted(rules)), exists().where(
            *(c == v for c, v in zip(_CLOSED_KEY, _NOTICE_KEY))))).rowcount
    # In the other state than the stage's (a reminder of an overdue deadline, a breach
    # notice of a deadline open again after a corrected import). A stage no longer in
    # the ladder is left alone.
    pairs = conn.execute(select(n.rule, n.stage).where(pending).distinct()).all()
    for state in ("open", "overdue"):
        by_stage: dict[str, list[str]] = {}
        for rule, stage_name in pairs:
            stage = ladder.stage(rule, stage_name)
            if stage is not None and stage.concerns(state):
                by_stage.setdefault(stage_name, []).append(rule)
        for stage_name, rules in sorted(by_stage.items()):
            cancelled += conn.execute(cancel.where(
                pending, n.stage == stage_name, n.rule.in_(sorted(rules)),
                exists().where(_SAME_OBLIGATION, _O.status != state),
            )).rowcount
    # The role's address today: none any more (cancel), or another one (move).
    groups = conn.execute(select(n.role, n.unit, n.recipient).where(pending).distinct()).all()
    for role, unit, recipient in groups:
        address = organisation.address(role, unit)
        same = (pending, n.role == role, n.unit == unit, n.recipient == recipient)
        if address is None:
            cancelled += conn.execute(cancel.where(*same)).rowcount
        elif address != recipient:
            conn.execute(update(n).where(*same).values(recipient=address))
    return cancelled

"""What the pages show, read from the night's evaluation (the stored obligations of the
latest successful run), as of that run's date — the date every page states.

Access is not decided here: each function takes the units or the caseworker to read,
and :mod:`frister.web.app` passes what the user may see (:mod:`frister.web.access`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, and_, case, func, or_, select

from frister.breaches.service import BreachKey
from frister.engine.explain import explain
from frister.engine.results import BREACH_STATUSES, Result
from frister.escalation.models import Notice
from frister.evaluation.models import Acknowledgement, BreachReason, Obligation
from frister.evaluation.service import latest_run, results_for, shown_days_late
from frister.nightly.models import NightlyRun
from frister.organisation import Organisation, units_in_tree_order
from frister.rules.model import RuleSet

SOON_DAYS = 14


@dataclass(frozen=True)
class UnitCounts:
    code: str
    name: str
    depth: int
    overdue: int
    due_soon: int  # open, due within 14 days of the as-of date
    unexplained: int  # breaches (late or overdue) without a reason
    deviations: int  # breaches with a recorded assessment whose follow-up is not closed
    overdue_trend: tuple[int, ...] = ()  # per month end of TREND_MONTHS (trend_days)
    breach_trend: tuple[int, ...] = ()  # breaches due in each of those months


TREND_MONTHS = 12


def trend_days(as_of: dt.date) -> list[dt.date]:
    """The month ends of the trend: those of the caseload and the monthly report
    (:func:`frister.caseload.month_ends`), the last one the as-of date."""
    from frister.caseload import month_ends

    return month_ends(as_of, TREND_MONTHS)


Trend = dict[str, tuple[tuple[int, ...], tuple[int, ...]]]  # unit: (overdue, breaches) per month end


def trend(conn: Connection, as_of: dt.date) -> Trend:
    """Per unit (its own obligations only), at each month end D of :func:`trend_days`:
    the obligations *overdue* on D — due date passed (``due_on < D``) and not met by D —
    and the *breaches* of D's month — due in it and broken (``late`` or ``overdue`` now).

    One query over the stored obligations of the night (due date and the day met), not
    an evaluation per month end, which a page cannot afford: facts recorded after D (an
    extension, say) count as known on D, unlike the monthly report's caseload, which
    evaluates each month end as of that day. It changes only with a new evaluation run
    (the web app keeps it per run)."""
    O = Obligation
    days = trend_days(as_of)
    firsts = [d.replace(day=1) for d in days]
    rows = conn.execute(
        select(O.unit,
               *(func.sum(case((and_(O.due_on < d, or_(O.met_on.is_(None), O.met_on > d)), 1), else_=0))
                 for d in days),
               *(func.sum(case((and_(O.status.in_(BREACH_STATUSES), O.due_on >= first, O.due_on <= d), 1), else_=0))
                 for first, d in zip(firsts, days)))
        .where(O.status.in_(("overdue", "late", "met")), O.due_on < as_of,
               or_(O.met_on.is_(None), O.met_on > days[0]))  # one met by the first month end counts nowhere
        .group_by(O.unit)
    ).all()
    n = len(days)
    return {r[0]: (tuple(int(v or 0) for v in r[1:1 + n]), tuple(int(v or 0) for v in r[1 + n:])) for r in rows}


def overview(conn: Connection, as_of: dt.date, organisation: Organisation | None,
             visible: frozenset[str] | None, trend_of: Trend | None = None) -> list[UnitCounts]:
    """Per unit in tree order (each with the units below it), the counts of today and,
    given ``trend_of`` (:func:`trend`), the trend of the last twelve months; only the
    units in ``visible`` (None: all)."""
    O, B = Obligation, BreachReason
    soon = as_of + dt.timedelta(days=SOON_DAYS)
    rows = conn.execute(
        select(O.unit,
               func.sum(case((O.status == "overdue", 1), else_=0)),
               func.sum(case((and_(O.status == "open", O.due_on <= soon), 1), else_=0)),
               func.sum(case((and_(O.status.in_(BREACH_STATUSES), B.reason.is_(None)), 1), else_=0)),
               func.sum(case((and_(O.status.in_(BREACH_STATUSES), B.status.in_(("open", "in_progress"))), 1),
                             else_=0)))
        .outerjoin(B, and_(B.case_id == O.case_id, B.rule == O.rule, B.subject == O.subject,
                           B.period == O.period, B.seq == O.seq))
        .where(O.status.in_(("open", "overdue", "late")))
        .group_by(O.unit)
    ).all()
    own = {r[0]: tuple(int(v or 0) for v in r[1:]) for r in rows}
    trend_of = trend_of or {}
    n = len(trend_days(as_of))
    out = []
    for unit in units_in_tree_order(organisation, set(own) | set(trend_of)):
        if visible is not None and unit.code not in visible:
            continue
        below = organisation.below(unit.code) if organisation else [unit.code]
        sums = [sum(own.get(u, (0,) * 4)[i] for u in below) for i in range(4)]
        overdue = tuple(sum(trend_of.get(u, ((0,) * n, (0,) * n))[0][i] for u in below) for i in range(n))
        broke = tuple(sum(trend_of.get(u, ((0,) * n, (0,) * n))[1][i] for u in below) for i in range(n))
        out.append(UnitCounts(unit.code, unit.name, unit.depth, *sums, overdue, broke))
    return out


@dataclass(frozen=True)
class NoticeRow:
    stage: str
    role: str
    ordinal: int
    status: str
    fire_on: dt.date
    sent_at: dt.datetime | None


@dataclass(frozen=True)
class Deadline:
    """One obligation as the Frist page shows it."""

    key: BreachKey
    unit: str
    caseworker: str | None
    status: str
    due_on: dt.date
    met_on: dt.date | None
    days_late: int
    rule_title: str
    explanation: str | None  # None when the case's facts are gone (purged) since the night
    notices: list[NoticeRow]
    reason: str | None
    action: str | None
    explained_at: dt.datetime | None
    explained_by: str | None
    decision: str | None = None
    owner: str | None = None
    follow_up_by: dt.date | None = None
    follow_up: str | None = None  # the deviation's status: open | in_progress | closed
    status_note: str | None = None
    closed_at: dt.datetime | None = None
    closed_by: str | None = None
    acknowledgements: tuple["AckRow", ...] = ()

    @property
    def is_breach(self) -> bool:
        return self.status in BREACH_STATUSES

    @property
    def assessable(self) -> bool:
        """May an assessment be recorded (open, late or overdue in the night's run)?"""
        return self.status in ("open", *BREACH_STATUSES)

    @property
    def sent_stages(self) -> list[str]:
        """The stages with a notice sent, in order: what may be acknowledged."""
        seen: list[str] = []
        for n in self.notices:
            if n.status == "sent" and n.stage not in seen:
                seen.append(n.stage)
        return seen


@dataclass(frozen=True)
class AckRow:
    stage: str
    acknowledged_at: dt.datetime
    acknowledged_by: str
    note: str | None


def find_obligation(conn: Connection, key: BreachKey):
    """The stored row of obligation ``key``, or None."""
    O = Obligation
    return conn.execute(select(O).where(O.case_id == key.case_id, O.rule == key.rule, O.subject == key.subject,
                                        O.period == key.period, O.seq == key.seq)).first()


def deadline(conn: Connection, rules: RuleSet, key: BreachKey, row) -> Deadline:
    """The obligation ``key`` (its stored ``row``) with its explanation — the case
    re-evaluated as of the night's date through :func:`frister.engine.explain.explain` —
    its notices and its reason."""
    as_of = latest_run(conn).as_of
    by_id = {r.id: r for r in rules}
    rule = by_id.get(key.rule)
    explanation = None
    if rule is not None:
        result: Result | None = next((r for r in results_for(conn, rules, as_of, [key.case_id])
                                      if r.key == key.as_tuple()), None)
        if result is not None:
            explanation = explain(rule, result)
    N = Notice
    notices = [NoticeRow(*r) for r in conn.execute(
        select(N.stage, N.role, N.ordinal, N.status, N.fire_on, N.sent_at)
        .where(N.case_id == key.case_id, N.rule == key.rule, N.subject == key.subject, N.period == key.period,
               N.seq == key.seq).order_by(N.fire_on, N.id))]
    B = BreachReason
    reason = conn.execute(select(B.reason, B.action, B.explained_at, B.explained_by, B.decision, B.owner,
                                 B.follow_up_by, B.status, B.status_note, B.closed_at, B.closed_by).where(
        B.case_id == key.case_id, B.rule == key.rule, B.subject == key.subject, B.period == key.period,
        B.seq == key.seq)).first()
    A = Acknowledgement
    acks = tuple(AckRow(*r) for r in conn.execute(
        select(A.stage, A.acknowledged_at, A.acknowledged_by, A.note)
        .where(A.case_id == key.case_id, A.rule == key.rule, A.subject == key.subject, A.period == key.period,
               A.seq == key.seq).order_by(A.acknowledged_at, A.stage)))
    return Deadline(key, row.unit, row.caseworker, row.status, row.due_on, row.met_on,
                    shown_days_late(row.status, row.due_on, row.days_late, as_of),
                    rule.title if rule else key.rule, explanation, notices,
                    *(reason if reason else (None,) * 11), acknowledgements=acks)


def last_runs(conn: Connection, limit: int = 10) -> list:
    return conn.execute(select(NightlyRun.__table__).order_by(NightlyRun.id.desc()).limit(limit)).all()

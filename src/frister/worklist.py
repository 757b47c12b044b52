"""The worklist: what a unit's leader goes through with each caseworker in the weekly
meeting — the overdue deadlines, the open ones falling due in the next weeks, and the
visit periods now running that still lack visits.

**From the night's evaluation.** The worklist reads the stored obligations of the latest
successful evaluation (the nightly run), so it shows exactly what the e-mails of that
night were made from, as of that run's date (stated in every output), and it costs an
index lookup per unit (``ix_obligations_unit_status_due_on``), not an evaluation. To see
it as of another date, evaluate as of that date first (``frister evaluate --as-of``).

**Who holds a line.** Each obligation belongs to the unit and caseworker that held its
step (:mod:`frister.engine.batch`); the worklist of a unit includes the units below it
in the organisation file (a department's list holds its teams'), grouped by caseworker.

**What is listed.**

* *overdue*: every deadline past its due date and not met (days late as of the date),
  unless its deviation is closed (`frister breach status … closed`);
* *due*: every open deadline due within ``weeks`` weeks;
* *visits*: every visit period that contains the date and has fewer visits than
  required, with how many are missing and the last visit made (any date of the
  placement's visit list up to the as-of date). Visit periods already over and missed
  cannot be made up: they are counted (``missed_visit_periods``), not listed.

A due date that gives the birth date away (aftercare, :mod:`frister.disclosure`) is
given as its month only, without days, in every format.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Collection, Iterable

from sqlalchemy import Connection, exists, select, tuple_

from frister.disclosure import reveals_birth_date
from frister.errors import FristerError
from frister.evaluation.models import BreachReason, Obligation
from frister.evaluation.service import latest_run, shown_days_late
from frister.organisation import Organisation
from frister.rules.model import RuleSet
from frister.store.tables import SUBJECT_TABLES

SECTIONS = ("overdue", "due", "visits")


@dataclass(frozen=True)
class Line:
    """One deadline or visit period on the worklist."""

    section: str  # overdue | due | visits
    case_id: str
    rule: str
    title: str  # the rule's title (Norwegian)
    duty: str  # law | guidance | local
    confidence: str
    subject: str
    period: str | None
    unit: str
    caseworker: str | None
    due_on: dt.date | None  # None when only the month may be shown
    due_month: str  # YYYY-MM
    days_late: int | None  # overdue only (None when the day count would give the birth date)
    days_left: int | None  # due only
    required: int | None = None  # visits
    done: int | None = None
    last_visit_on: dt.date | None = None
    seq: int = 1  # the obligation's number (a rolling rule's later evaluations: 2, 3, …)

    @property
    def missing(self) -> int | None:
        return None if self.required is None else max(self.required - (self.done or 0), 0)

    def to_json(self) -> dict:
        return {"section": self.section, "case_id": self.case_id, "rule": self.rule, "title": self.title,
                "duty": self.duty, "confidence": self.confidence, "subject": self.subject, "period": self.period,
                "unit": self.unit, "caseworker": self.caseworker,
                "due_on": self.due_on.isoformat() if self.due_on else None, "due_month": self.due_month,
                "days_late": self.days_late, "days_left": self.days_left, "required": self.required,
                "seq": self.seq, "done": self.done, "missing": self.missing,
                "last_visit_on": self.last_visit_on.isoformat() if self.last_visit_on else None}


@dataclass
class Worklist:
    as_of: dt.date  # the as-of date of the evaluation it was made from
    run_id: int
    units: tuple[str, ...]  # the units covered (the asked one and those below it); () = all
    weeks: int
    lines: list[Line] = field(default_factory=list)
    missed_visit_periods: int = 0

    def by_caseworker(self) -> list[tuple[str | None, list[Line]]]:
        """The lines per caseworker (by code, those without one last), each sorted by
        section, then due date."""
        groups: dict[str | None, list[Line]] = {}
        for line in self.lines:
            groups.setdefault(line.caseworker, []).append(line)
        return [(k, groups[k]) for k in sorted(groups, key=lambda k: (k is None, k or ""))]

    def count(self, section: str) -> int:
        return sum(line.section == section for line in self.lines)


def worklist(conn: Connection, rules: RuleSet, unit: str | None = None, caseworker: str | None = None,
             weeks: int = 4, organisation: Organisation | None = None,
             kinds: Collection[str] | None = None) -> Worklist:
    """The worklist of ``unit`` (and the units below it; None: the whole service),
    optionally of one ``caseworker``, and of the rules of ``kinds`` only (``visits``:
    the visit periods), from the latest evaluation. Raises FristerError when nothing
    has been evaluated yet."""
    run = latest_run(conn)
    if run is None:
        raise FristerError("no evaluation yet: run frister evaluate or frister run first")
    as_of = run.as_of
    units = tuple(organisation.below(unit) if organisation and unit else [unit] if unit else [])
    by_id = {r.id: r for r in rules}
    o = Obligation.__table__.c
    stmt = select(o.case_id, o.rule, o.subject, o.period, o.unit, o.caseworker, o.status, o.due_on, o.days_late,
                  o.required, o.done, o.rule_version, o.confidence, o.seq).where(o.status.in_(("open", "overdue")))
    # A deviation closed by its leader (repaired, or closed as beyond repair) leaves the list.
    b = BreachReason.__table__.c
    stmt = stmt.where(~exists().where(b.case_id == o.case_id, b.rule == o.rule, b.subject == o.subject,
                                      b.period == o.period, b.seq == o.seq, b.status == "closed"))
    if units:
        stmt = stmt.where(o.unit.in_(units))
    if caseworker is not None:
        stmt = stmt.where(o.caseworker == caseworker)
    if kinds is not None:
        stmt = stmt.where(o.rule.in_([r.id for r in rules if r.kind in kinds]))
    horizon = as_of + dt.timedelta(weeks=weeks)
    out = Worklist(as_of, run.id, units, weeks)
    visits: list[tuple] = []
    for row in conn.execute(stmt.order_by(o.due_on, o.case_id, o.rule, o.subject, o.period, o.seq)):
        rule = by_id.get(row.rule)
        if rule is None:  # a rule no longer in the catalogue: the next night removes it
            continue
        is_visit = rule.kind == "visits"
        if is_visit and row.status == "overdue":
            out.missed_visit_periods += 1
            continue
        if row.status == "open" and not is_visit and row.due_on > horizon:
            continue
        if is_visit and (row.done or 0) >= (row.required or 0):
            continue
        section = "visits" if is_visit else row.status if row.status == "overdue" else "due"
        hidden = reveals_birth_date(rule)
        version = next((v for v in rule.versions if v.name == row.rule_version), None)
        late = shown_days_late(row.status, row.due_on, row.days_late, as_of) if section == "overdue" else None
        line = Line(section, row.case_id, rule.id, rule.title, version.duty if version else rule.duty,
                    row.confidence, row.subject, row.period or None, row.unit, row.caseworker,
                    None if hidden else row.due_on, row.due_on.strftime("%Y-%m"),
                    None if hidden else late,
                    None if hidden or section != "due" else (row.due_on - as_of).days,
                    row.required if is_visit else None, row.done if is_visit else None, seq=row.seq)
        if is_visit:
            visits.append((line, rule.visits))
        else:
            out.lines.append(line)
    last = _last_visits(conn, [(line.case_id, line.subject, name) for line, name in visits], as_of)
    out.lines += [_with_last(line, last.get((line.case_id, line.subject, name))) for line, name in visits]
    out.lines.sort(key=lambda line: (SECTIONS.index(line.section), line.due_month, line.due_on or dt.date.min,
                                     line.case_id, line.rule, line.subject))
    return out


def _with_last(line: Line, last: dt.date | None) -> Line:
    return Line(**{**line.__dict__, "last_visit_on": last}) if last else line


def _last_visits(conn: Connection, keys: Iterable[tuple[str, str, str]], as_of: dt.date) -> dict:
    """The latest visit on or before ``as_of`` of each ``(case, placement, visit field)``."""
    wanted: dict[str, list[tuple[str, str]]] = {}
    for case_id, subject, name in keys:
        wanted.setdefault(name, []).append((case_id, subject))
    table = SUBJECT_TABLES["placement"]
    out = {}
    for name, pairs in wanted.items():
        for start in range(0, len(pairs), 500):
            chunk = pairs[start:start + 500]
            rows = conn.execute(select(table.c.case_id, table.c.id, table.c[name])
                                .where(tuple_(table.c.case_id, table.c.id).in_(chunk)))
            for case_id, subject, days in rows:
                done = [d for d in days or () if d <= as_of]
                if done:
                    out[(case_id, subject, name)] = max(done)
    return out

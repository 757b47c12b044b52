"""The figures of the reports: per-rule compliance and the indicators of RULES.md.

Counting conventions (stated once, used by every report):

* **Per-rule compliance** for a period counts the obligations *due* in it: met, late,
  overdue (both breaches) and open. The share met is ``met / (met + late + overdue)``:
  open obligations are not yet decided and are left out of the share.
* **Referrals reviewed within one week** counts the referrals *reviewed* (concluded)
  in the period, as the half-year reporting (KHR) does; the share is those reviewed
  on time. Referrals not reviewed whose deadline passed in the period are a separate
  figure.
* **Investigations concluded** counts investigations *concluded* in the period and,
  of those, how many exceeded their deadline (``late``), with an extension applied
  where one was validly granted. Investigations still running past their deadline
  (due in the period) are a separate figure.
* **Measure plans** are a snapshot on ``S`` (the period's end, or the as-of date when
  earlier): children with an active support measure, and of those how many have a
  plan; children with a plan and at least 3 months of measures, and of those how many
  had the plan evaluated in the 6 months up to ``S`` (see :mod:`frister.reports.data`).
* **Foster children placed more than one year** without the required visits: per visit
  rule, children with a visit period that ended in the period (and by the as-of date)
  whose placement started more than 12 months before the period's end; a child counts
  as not met when any such period has fewer visits than required.
* **Required vs done visits** sums, over the same ended periods (every foster-home
  placement), the required visits and the visits done, each period's done count capped
  at its requirement (extra visits in one period do not make up for another).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Iterable

from frister.calendar import add_months
from frister.facts.model import REASON_CODES, REASON_LABELS
from frister.reports.data import ChildSnapshot, Row
from frister.rules.model import Rule, RuleSet

CONFIDENCE_ORDER = {"V": 0, "S": 1, "U": 2}


@dataclass(frozen=True, slots=True)
class Figure:
    """``count`` of ``total`` (total None: a plain count). ``higher_is_better`` for colouring."""

    key: str
    label: str
    count: int
    total: int | None = None
    higher_is_better: bool = True
    note: str = ""

    @property
    def share(self) -> float | None:
        if self.total is None or self.total == 0:
            return None
        return self.count / self.total

    @property
    def missing(self) -> int | None:
        """Visits: how many required visits were not done."""
        if not self.key.endswith("_visits") or self.total is None:
            return None
        return self.total - self.count


@dataclass(frozen=True, slots=True)
class RuleTotals:
    rule: Rule
    due: int
    met: int
    late: int
    overdue: int
    open: int
    days_late_total: int
    days_late_max: int
    required: int | None  # visit rules: visits required in ended periods
    done: int | None  # visit rules: visits done (capped per period)
    confidences: tuple[str, ...]  # the confidences (S/U) of the rule versions behind the rows

    @property
    def breaches(self) -> int:
        return self.late + self.overdue

    @property
    def decided(self) -> int:
        return self.met + self.late + self.overdue

    @property
    def share_met(self) -> float | None:
        return self.met / self.decided if self.decided else None

    @property
    def mean_days_late(self) -> float | None:
        return self.days_late_total / self.breaches if self.breaches else None

    @property
    def confidence_flag(self) -> str:
        """``""`` when every version used is verified, else e.g. ``"S"`` or ``"S/U"``."""
        return "/".join(c for c in self.confidences if c != "V")


def rule_confidences(rule: Rule, rows: Iterable[Row], on: dt.date) -> tuple[str, ...]:
    found = {r.result.confidence for r in rows}
    if not found:
        version = rule.version_on(on) or rule.versions[-1]
        found = {version.confidence}
    return tuple(sorted(found, key=CONFIDENCE_ORDER.__getitem__))


def rule_totals(rules: RuleSet, rows: list[Row], as_of: dt.date, only: set[str] | None = None,
                keep_empty: bool = True) -> list[RuleTotals]:
    """Per rule (in catalogue order), the obligations due among ``rows``."""
    by_rule: dict[str, list[Row]] = {}
    for r in rows:
        by_rule.setdefault(r.result.rule, []).append(r)
    out = []
    for rule in rules:
        if only and rule.id not in only:
            continue
        rs = by_rule.get(rule.id, [])
        if not rs and not keep_empty:
            continue
        status = [r.result.status for r in rs]
        breaches = [r.result.days_late for r in rs if r.is_breach]
        required = done = None
        if rule.kind == "visits":
            ended = [r.result for r in rs if r.result.due_on <= as_of]
            required = sum(x.required or 0 for x in ended)
            done = sum(min(x.done or 0, x.required or 0) for x in ended)
        out.append(RuleTotals(
            rule=rule, due=len(rs), met=status.count("met"), late=status.count("late"),
            overdue=status.count("overdue"), open=status.count("open"), days_late_total=sum(breaches),
            days_late_max=max(breaches, default=0), required=required, done=done,
            confidences=rule_confidences(rule, rs, as_of),
        ))
    return out


@dataclass(frozen=True, slots=True)
class Summary:
    """All rules together: obligations due, breaches, open, and the share met of those decided."""

    due: int
    met: int
    breaches: int
    open: int

    @property
    def share_met(self) -> float | None:
        decided = self.met + self.breaches
        return self.met / decided if decided else None


def summarise(rows: Iterable[Row]) -> Summary:
    status = [r.result.status for r in rows]
    return Summary(len(status), status.count("met"), status.count("late") + status.count("overdue"),
                   status.count("open"))


def _in(day: dt.date | None, start: dt.date, end: dt.date) -> bool:
    return day is not None and start <= day <= end


def indicators(rows: list[Row], snapshot: list[ChildSnapshot], start: dt.date, end: dt.date,
               as_of: dt.date) -> list[Figure]:
    """The RULES.md indicators for ``[start, end]`` from ``rows`` and the snapshot at its end."""
    figs: list[Figure] = []
    reviewed = [r.result for r in rows if r.result.rule == "referral_review" and _in(r.result.met_on, start, end)]
    figs.append(Figure("referrals_reviewed", "Meldinger gjennomgått innen 1 uke",
                       sum(1 for x in reviewed if x.status == "met"), len(reviewed),
                       note="av meldinger gjennomgått i perioden"))
    figs.append(Figure("referrals_unreviewed", "Meldinger ikke gjennomgått, fristen ute",
                       sum(1 for r in rows if r.result.rule == "referral_review" and r.result.status == "overdue"
                           and _in(r.result.due_on, start, end)), None, higher_is_better=False))
    concluded = [r.result for r in rows if r.result.rule == "investigation_deadline"
                 and _in(r.result.met_on, start, end)]
    figs.append(Figure("investigations_late", "Undersøkelser avsluttet med fristoverskridelse",
                       sum(1 for x in concluded if x.status == "late"), len(concluded), higher_is_better=False,
                       note="av undersøkelser avsluttet i perioden"))
    figs.append(Figure("investigations_running_late", "Undersøkelser ikke avsluttet, fristen ute",
                       sum(1 for r in rows if r.result.rule == "investigation_deadline"
                           and r.result.status == "overdue" and _in(r.result.due_on, start, end)),
                       None, higher_is_better=False))
    figs.append(Figure("children_with_plan", "Barn med hjelpetiltak som har tiltaksplan",
                       sum(1 for s in snapshot if s.has_plan), len(snapshot),
                       note="øyeblikksbilde ved periodens slutt"))
    eligible = [s for s in snapshot if s.plan_eligible]
    figs.append(Figure("plans_evaluated", "Barn med tiltaksplan (tiltak ≥ 3 mnd.) der planen er evaluert siste halvår",
                       sum(1 for s in eligible if s.evaluated), len(eligible),
                       note="øyeblikksbilde ved periodens slutt"))
    for rule_id, key, label in (
        ("foster_home_followup_visits", "followup_children_not_met",
         "Barn i fosterhjem > 1 år uten påkrevde oppfølgingsbesøk"),
        ("foster_home_supervision_visits", "supervision_children_not_met",
         "Barn i fosterhjem > 1 år uten påkrevde tilsynsbesøk"),
    ):
        children: dict[str, bool] = {}
        for r in rows:
            x = r.result
            if x.rule != rule_id or not _in(x.due_on, start, end) or x.due_on > as_of:
                continue
            if r.placed_on is None or not r.placed_on < add_months(x.due_on, -12):
                continue
            missing = (x.done or 0) < (x.required or 0)
            children[x.case_id] = children.get(x.case_id, False) or missing
        figs.append(Figure(key, label, sum(children.values()), len(children), higher_is_better=False,
                           note="av barn i fosterhjem plassert mer enn ett år"))
    for rule_id, key, label in (
        ("foster_home_followup_visits", "followup_visits", "Oppfølgingsbesøk gjennomført av påkrevde"),
        ("foster_home_supervision_visits", "supervision_visits", "Tilsynsbesøk gjennomført av påkrevde"),
    ):
        ended = [r.result for r in rows if r.result.rule == rule_id and _in(r.result.due_on, start, end)
                 and r.result.due_on <= as_of]
        required = sum(x.required or 0 for x in ended)
        done = sum(min(x.done or 0, x.required or 0) for x in ended)
        figs.append(Figure(key, label, done, required, note="i avsluttede besøksperioder; antall som mangler i parentes"))
    return figs


def reasons_breakdown(rows: Iterable[Row]) -> list[tuple[str, int]]:
    """Breaches among ``rows`` per reason (bokmål label, in code order), then those without one."""
    counts = Counter(r.reason for r in rows if r.is_breach)
    out = [(REASON_LABELS[code], counts.get(code, 0)) for code in REASON_CODES]
    out.append(("Ikke registrert", counts.get(None, 0)))
    return out


def snapshot_day(end: dt.date, as_of: dt.date) -> dt.date:
    """The snapshot date of a period: its end, or the as-of date when that is earlier."""
    return min(end, as_of)

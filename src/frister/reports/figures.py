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
from dataclasses import dataclass

import numpy as np

from frister.calendar import add_months, to_day
from frister.engine.evaluate import LATE, MET, NOT_EVALUATED, OPEN, OVERDUE
from frister.facts.contract import REASON_CODES, REASON_LABELS
from frister.reports.data import Frame, Group, reasons_counter
from frister.rules.model import DUTIES, Rule, RuleSet

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
    duty: str = "law"  # the kind of duty the figure counts (the plan evaluations' interval is guidance)

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
    not_evaluated: int = 0
    duty_kinds: tuple[str, ...] = ()  # the kinds of duty of the versions behind the rows

    @property
    def breaches(self) -> int:
        return self.late + self.overdue

    @property
    def duties(self) -> tuple[str, ...]:
        """The kinds of duty behind the rows (the rule's own when there are none)."""
        return self.duty_kinds or (self.rule.duty,)

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


def _confidences(rule: Rule, versions: np.ndarray, on: dt.date) -> tuple[str, ...]:
    found = {rule.versions[int(v)].confidence for v in np.unique(versions)}
    if not found:
        found = {(rule.version_on(on) or rule.versions[-1]).confidence}
    return tuple(sorted(found, key=CONFIDENCE_ORDER.__getitem__))


def _capped_visits(f: Frame, mask: np.ndarray) -> tuple[int, int]:
    """Visits required and done (each period's done capped at its requirement) under ``mask``."""
    required = np.maximum(f.required[mask], 0)
    return int(required.sum()), int(np.minimum(np.maximum(f.done[mask], 0), required).sum())


# The case's path: melding → undersøkelse → tiltak → akutt/omsorg → plassering → ettervern.
PATH = ("referral", "investigation", "measure", "emergency_decision", "care_order", "placement", "child")
_WITHIN = {"referral_review": 0, "reporter_feedback": 1, "reporter_feedback_after_investigation": 2,
           "investigation_deadline": 0, "closed_with_concern_review": 1, "measure_plan": 0,
           "measure_plan_evaluation": 1, "care_order_implementation": 0, "care_plan": 1,
           "foster_home_followup_visits": 0, "foster_home_supervision_visits": 1, "foster_home_first_year_visits": 2}


def path_rank(rule: Rule) -> tuple:
    """Where a rule comes in the case's path (reports list rules in this order, not by id)."""
    return (PATH.index(rule.subject) if rule.subject in PATH else len(PATH), _WITHIN.get(rule.id, 9), rule.id)


def in_path_order(rules) -> list[tuple[int, Rule]]:
    """``(catalogue index, rule)`` in path order."""
    return sorted(enumerate(rules), key=lambda pair: path_rank(pair[1]))


def rule_totals(f: Frame, mask: np.ndarray, only: set[str] | None = None,
                keep_empty: bool = True) -> list[RuleTotals]:
    """Per rule (in the case's path order, :func:`path_rank`), the obligations under ``mask``
    (e.g. due in a period)."""
    out = []
    as_of = to_day(f.as_of)
    for i, rule in in_path_order(f.rules):
        if only and rule.id not in only:
            continue
        m = mask & (f.rule == i)
        status = f.status[m]
        if not len(status) and not keep_empty:
            continue
        breach = (status == LATE) | (status == OVERDUE)
        late = f.days_late[m][breach]
        required = done = None
        if rule.kind == "visits":
            required, done = _capped_visits(f, m & (f.due <= as_of))
        out.append(RuleTotals(
            rule=rule, due=len(status), met=int((status == MET).sum()), late=int((status == LATE).sum()),
            overdue=int((status == OVERDUE).sum()), open=int((status == OPEN).sum()),
            days_late_total=int(late.sum()), days_late_max=int(late.max()) if len(late) else 0,
            required=required, done=done, confidences=_confidences(rule, f.version[m], f.as_of),
            not_evaluated=int((status == NOT_EVALUATED).sum()),
            duty_kinds=tuple(d for d in DUTIES if d in {rule.versions[int(v)].duty for v in np.unique(f.version[m])}),
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


def summarise(f: Frame, mask: np.ndarray) -> Summary:
    status = f.status[mask]
    return Summary(len(status), int((status == MET).sum()), int(((status == LATE) | (status == OVERDUE)).sum()),
                   int((status == OPEN).sum()))


def indicators(f: Frame, start: dt.date, end: dt.date, snapshot_day: dt.date, group: Group | None = None
               ) -> list[Figure]:
    """The RULES.md indicators for ``[start, end]`` (of one group — a unit with the units
    below it, a municipality —, or all) and the support-measure snapshot on ``snapshot_day``."""
    mine = f.of(group)
    due = mine & f.due_between(start, end)
    met = mine & f.met_between(start, end)
    as_of = to_day(f.as_of)

    def of(rule_id: str) -> np.ndarray:
        return f.rule == f.rule_index(rule_id)

    figs: list[Figure] = []
    reviewed = met & of("referral_review")
    figs.append(Figure("referrals_reviewed", "Meldinger gjennomgått innen 1 uke",
                       int((reviewed & (f.status == MET)).sum()), int(reviewed.sum()),
                       note="av meldinger gjennomgått i perioden"))
    figs.append(Figure("referrals_unreviewed", "Meldinger ikke gjennomgått, fristen ute",
                       int((due & of("referral_review") & (f.status == OVERDUE)).sum()), None,
                       higher_is_better=False))
    concluded = met & of("investigation_deadline")
    figs.append(Figure("investigations_late", "Undersøkelser avsluttet med fristoverskridelse",
                       int((concluded & (f.status == LATE)).sum()), int(concluded.sum()), higher_is_better=False,
                       note="av undersøkelser avsluttet i perioden"))
    figs.append(Figure("investigations_running_late", "Undersøkelser ikke avsluttet, fristen ute",
                       int((due & of("investigation_deadline") & (f.status == OVERDUE)).sum()), None,
                       higher_is_better=False))
    snap = f.snapshots[snapshot_day]
    in_unit = f.snapshot_of(snapshot_day, group)
    figs.append(Figure("children_with_plan", "Barn med hjelpetiltak som har tiltaksplan",
                       int(snap["has_plan"][in_unit].sum()), int(in_unit.sum()),
                       note="øyeblikksbilde ved periodens slutt"))
    eligible = in_unit & snap["plan_eligible"]
    figs.append(Figure("plans_evaluated", "Barn med tiltaksplan (tiltak ≥ 3 mnd.) der planen er evaluert siste halvår",
                       int(snap["evaluated"][eligible].sum()), int(eligible.sum()),
                       note="øyeblikksbilde ved periodens slutt", duty="guidance"))
    ended = due & (f.due <= as_of)
    for rule_id, key, label in (
        ("foster_home_followup_visits", "followup_children_not_met",
         "Barn i fosterhjem > 1 år uten påkrevde oppfølgingsbesøk"),
        ("foster_home_supervision_visits", "supervision_children_not_met",
         "Barn i fosterhjem > 1 år uten påkrevde tilsynsbesøk"),
    ):
        # A child counts when a period of theirs ended in the window and they had been
        # placed more than a year by its end; not met when any such period is short.
        m = ended & of(rule_id) & (f.placed_on < add_months(f.due, -12))
        children, inverse = np.unique(f.case[m], return_inverse=True)
        short = np.zeros(len(children), dtype=bool)
        np.logical_or.at(short, inverse, f.done[m] < f.required[m])
        figs.append(Figure(key, label, int(short.sum()), len(children), higher_is_better=False,
                           note="av barn i fosterhjem plassert mer enn ett år"))
    for rule_id, key, label in (
        ("foster_home_followup_visits", "followup_visits", "Oppfølgingsbesøk gjennomført av påkrevde"),
        ("foster_home_supervision_visits", "supervision_visits", "Tilsynsbesøk gjennomført av påkrevde"),
    ):
        required, done = _capped_visits(f, ended & of(rule_id))
        figs.append(Figure(key, label, done, required,
                           note="i avsluttede besøksperioder; antall som mangler i parentes"))
    return figs


def reasons_by_rule(f: Frame, mask: np.ndarray) -> list[tuple[Rule, list[tuple[str, int]]]]:
    """The causes of breaches per deadline type: per rule with breaches under ``mask``
    (in path order), its breaches per reason as :func:`reasons_breakdown`."""
    breaches = mask & f.breaches()
    return [(rule, reasons_breakdown(f, mask & (f.rule == i))) for i, rule in in_path_order(f.rules)
            if (breaches & (f.rule == i)).any()]


def reasons_breakdown(f: Frame, mask: np.ndarray) -> list[tuple[str, int]]:
    """Breaches under ``mask`` per reason (bokmål label, in code order), then those without one."""
    counts = reasons_counter(f, mask)
    out = [(REASON_LABELS[code], counts.get(i, 0)) for i, code in enumerate(REASON_CODES)]
    out.append(("Ikke registrert", counts.get(-1, 0)))
    return out


def snapshot_day(end: dt.date, as_of: dt.date) -> dt.date:
    """The snapshot date of a period: its end, or the as-of date when that is earlier."""
    return min(end, as_of)

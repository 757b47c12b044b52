"""The monthly report (månedsrapport): internal control for the head of the service.

For a month ``M`` and the as-of date of the data ``A`` (see :mod:`frister.reports.data`):

* the RULES.md indicators and the per-rule compliance for ``M`` and for the trailing
  12 months ending with ``M``, in total and per unit, with charts of the share met and
  the breaches per month;
* the breaches due in the trailing 12 months that have no reason recorded (overdue
  first, then by days late), at most :data:`MAX_UNEXPLAINED` rows with the total;
* the load ahead: open obligations falling due in the 8 ISO weeks after ``A`` (starting
  with the week that contains ``A + 1 day``), per unit and week, with the number of
  working days in each week; weeks with public holidays or in July (fellesferie) are
  marked, because that is where breaches happen.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import Connection, Engine

from frister.calendar import add_months, days_in_month, is_working_day
from frister.caseload import Caseload, counter, merge, month_ends
from frister.engine.evaluate import OPEN, OVERDUE
from frister.reports import charts
from frister.organisation import Organisation
from frister.reports.data import Frame, Group, collect, default_as_of
from frister.reports.groups import check_municipality, municipality_name, tree_groups, unit_groups
from frister.reports.period import ReportPeriod
from frister.reports.period import month as month_period
from frister.reports.figures import indicators, reasons_breakdown, rule_totals, snapshot_day, summarise
from frister.nb import month_short
from frister.reports.deviations import GLOSSARY as DEVIATION_GLOSSARY, deviations
from frister.reports.formats import render_report
from frister.reports.render import month_name, write_text
from frister.rules.model import RuleSet

MAX_UNEXPLAINED = 100
WEEKS_AHEAD = 8


@dataclass(frozen=True, slots=True)
class Week:
    start: dt.date
    end: dt.date
    label: str
    working_days: int
    holiday: bool
    counts: tuple[int, ...]  # per top-level unit, in report unit order

    @property
    def total(self) -> int:
        return sum(self.counts)


def month_end(month: dt.date) -> dt.date:
    return month.replace(day=days_in_month(month.year, month.month))


def weeks_ahead(as_of: dt.date, n: int = WEEKS_AHEAD) -> list[tuple[dt.date, dt.date]]:
    """``n`` ISO weeks (Monday–Sunday), the first containing ``as_of + 1 day``."""
    first = as_of + dt.timedelta(days=1)
    monday = first - dt.timedelta(days=first.weekday())
    return [(monday + dt.timedelta(weeks=i), monday + dt.timedelta(weeks=i, days=6)) for i in range(n)]


def _load_ahead(f: Frame, as_of: dt.date, groups: list[Group]) -> list[Week]:
    """Per week ahead, the open obligations due in it per group (top-level units)."""
    out = []
    for start, end in weeks_ahead(as_of):
        due = (f.status == OPEN) & f.due_between(start, end)
        days = [start + dt.timedelta(days=i) for i in range(7)]
        working = sum(1 for d in days[:5] if is_working_day(d))
        iso = start.isocalendar()
        out.append(Week(
            start=start, end=end, label=f"Uke {iso.week}", working_days=working,
            holiday=working < 5 or any(d.month == 7 for d in days[:5]),
            counts=tuple(int((due & f.of(g)).sum()) for g in groups),
        ))
    return out


def build_monthly(conn: Connection, rules: RuleSet, month: dt.date, as_of: dt.date,
                  organisation: Organisation | None = None, municipality: str | None = None) -> dict:
    """The template context of the monthly report for ``month`` (any date in it)
    (:func:`build_monthly_period`)."""
    return build_monthly_period(conn, rules, month_period(month.strftime("%Y-%m")), as_of, organisation,
                                municipality)


def build_monthly_period(conn: Connection, rules: RuleSet, period: ReportPeriod, as_of: dt.date,
                         organisation: Organisation | None = None, municipality: str | None = None) -> dict:
    """The template context of the monthly report for ``period`` (a month, or any period:
    its figures stand where a month's would, and the trailing 12 months are the calendar
    months up to the one of its last day, up to that day), of the whole service or of one ``municipality``, units in
    the tree of ``organisation``."""
    month, m_end = period.start, period.end
    y_start = add_months(m_end.replace(day=1), -11)
    weeks = weeks_ahead(as_of)
    snap = snapshot_day(m_end, as_of)
    # Caseworkers serve every municipality of the service: the caseload is the service's,
    # counted in the same pass (collect does not filter what ``also`` returns).
    load_day = min(m_end, as_of)
    f = collect(conn, rules, as_of, min(month, y_start), max(m_end, weeks[-1][1]), snapshot_days=(snap,),
                municipality=municipality, also=counter(load_day, organisation), earlier=True)
    counted = merge(as_of, month_ends(load_day), f.also)
    check_municipality(f, organisation, municipality)
    unit_rows = unit_groups(f, organisation)
    top = [g for g in unit_rows if g.depth == 0]  # stacked charts and the load: they add up to the total
    units = [g.key for g in unit_rows]
    month_rows = f.due_between(month, m_end)
    year_rows = f.due_between(y_start, m_end)

    def figures_for(start: dt.date, end: dt.date) -> dict:
        return {"total": indicators(f, start, end, snap),
                "units": {g.key: indicators(f, start, end, snap, g) for g in unit_rows}}

    months = [add_months(y_start, i) for i in range(12)]
    month_labels = [month_short(m) for m in months]
    share_series, breach_series = [], {g.key: [] for g in top}
    breaches = f.breaches()
    for m in months:
        rs = f.due_between(m, month_end(m))
        s = summarise(f, rs)
        share_series.append(s.share_met)
        for g in top:
            breach_series[g.key].append(int((rs & breaches & f.of(g)).sum()))

    unexplained = np.nonzero(year_rows & breaches & (f.reason < 0))[0]
    order = sorted(unexplained.tolist(), key=lambda i: (f.status[i] != OVERDUE, -int(f.days_late[i]), f.key[i]))
    load = _load_ahead(f, as_of, top)
    unit_totals = {
        "month": {g.key: summarise(f, month_rows & f.of(g)) for g in unit_rows},
        "year": {g.key: summarise(f, year_rows & f.of(g)) for g in unit_rows},
    }
    name = period.text if period.custom else month_name(month)
    meta = [("Periode", f"{month:%d.%m.%Y} – {m_end:%d.%m.%Y}") if period.custom else ("Måned", name)]
    if municipality is not None:
        meta.append(("Kommune", municipality_name(organisation, municipality)))
    return {
        "report": "monthly",
        "title": f"Rapport {name}" if period.custom else f"Månedsrapport {name}",
        "month": None if period.custom else month,
        "period": period,
        "period_name": name,
        "period_heading": f"{'Perioden' if period.custom else 'Måneden'} {name}",
        "month_end": m_end,
        "year_start": y_start,
        "as_of": as_of,
        "fingerprint": f.fingerprint,
        "municipality": municipality,
        "snapshot": snap,
        "units": units,
        "unit_rows": unit_rows,
        "top_units": top,
        "meta": meta + [
            ("Siste 12 måneder", f"{y_start.strftime('%d.%m.%Y')} – {m_end.strftime('%d.%m.%Y')}"),
            ("Data per", as_of.strftime("%d.%m.%Y")),
            ("Regelsett (fingeravtrykk)", f.fingerprint),
            ("Data (fingeravtrykk)", f.data_fingerprint),
        ],
        "month_figures": figures_for(month, m_end),
        "year_figures": figures_for(y_start, m_end),
        "month_totals": rule_totals(f, month_rows),
        "year_totals": rule_totals(f, year_rows),
        "unit_totals": unit_totals,
        "titles": {r.id: r.title for r in rules},
        "rules": {r.id: r for r in rules},
        "deviations": deviations(f, y_start, m_end, unit_rows),
        "glossary": list(DEVIATION_GLOSSARY),
        "reasons": list(zip(reasons_breakdown(f, month_rows), reasons_breakdown(f, year_rows))),
        "unexplained": [_Shown(f.result(i)) for i in order[:MAX_UNEXPLAINED]],
        "unexplained_total": len(order),
        "max_unexplained": MAX_UNEXPLAINED,
        "load": load,
        "caseload": _caseload_rows(counted, tree_groups(organisation, ({u for u, _ in counted.active} | {u for u, _ in counted.open_deadlines}) - {""})),
        "caseload_total": counted.total[-1],
        "caseload_day": counted.days[-1],
        "caseload_series": list(zip(counted.days, counted.total)),
        "charts": {
            "share": charts.columns("Andel frister overholdt per måned", month_labels,
                                    [charts.Series("Overholdt", share_series)], percent=True),
            "breaches": charts.columns("Fristbrudd per måned og enhet", month_labels,
                                       [charts.Series(g.name, breach_series[g.key]) for g in top], stacked=True),
            "load": charts.columns("Åpne frister som forfaller de neste 8 ukene",
                                   [w.label for w in load],
                                   [charts.Series(g.name, [w.counts[i] for w in load]) for i, g in enumerate(top)],
                                   stacked=True, marks=[w.holiday for w in load]),
            "caseload": charts.columns("Aktive saker ved utgangen av hver måned",
                                       [month_short(d) for d in counted.days],
                                       [charts.Series("Tjenesten", counted.total)]),
        },
    }


@dataclass(frozen=True, slots=True)
class CaseloadRow:
    """One unit's caseload on the report's day (:mod:`frister.caseload`)."""

    group: Group
    active: int
    caseworkers: int
    open_deadlines: int
    overdue: int

    @property
    def per_caseworker(self) -> float | None:
        """Active cases per caseworker; None when no caseworker holds a case of the unit."""
        return self.active / self.caseworkers if self.caseworkers else None


def _caseload_rows(counted: Caseload, unit_rows: list[Group]) -> list[CaseloadRow]:
    return [CaseloadRow(g, active=counted.unit_active.get(g.key, [0])[-1],
                        caseworkers=len([k for k in counted.caseworkers(list(g.units)) if k[1]]),
                        open_deadlines=counted.unit_deadlines(list(g.units)),
                        overdue=counted.unit_deadlines(list(g.units), "overdue"))
            for g in unit_rows]


@dataclass(frozen=True, slots=True)
class _Shown:
    """A listed breach, as the template reads it (``row.result``)."""

    result: object


def monthly_html(conn: Connection, rules: RuleSet, month: dt.date, as_of: dt.date, templates_dir: str | Path,
                 organisation: Organisation | None = None, municipality: str | None = None) -> str:
    """The monthly report as one self-contained HTML document."""
    ctx = build_monthly(conn, rules, month, as_of, organisation, municipality)
    return render_report("monthly", ctx, "html", templates_dir).decode("utf-8")


def write_monthly(engine: Engine, rules: RuleSet, month: dt.date, path: str | Path,
                  as_of: dt.date | None = None, templates_dir: str | Path | None = None,
                  organisation: Organisation | None = None) -> Path:
    """Write the monthly report for ``month`` to ``path`` and return the path (used by ``frister demo``).

    ``as_of`` defaults to the latest evaluation run's as-of date (else the month's end);
    ``templates_dir`` to the templates shipped with frister.
    """
    if templates_dir is None:
        from frister.settings import Settings

        templates_dir = Settings().templates_dir
    with engine.connect() as conn:
        if as_of is None:
            as_of = default_as_of(conn, month_end(month))
        html = monthly_html(conn, rules, month, as_of, templates_dir, organisation)
    return write_text(path, html)

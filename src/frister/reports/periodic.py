"""Half-year figures (KHR-style) and the annual status report (tilstandsrapport) figures.

Both evaluate the stored cases once as of the as-of date of the data (see
:mod:`frister.reports.data`) and count with the conventions of
:mod:`frister.reports.figures`. A half-year ``P`` shows the indicators for ``P`` in
total and per unit, the per-rule compliance and the visit arithmetic (required vs
done). The annual report shows the same indicators for each of ``years`` calendar
years ending with ``year``, side by side, with charts, in tables meant to be pasted
into the council's status report. A period not yet over on the as-of date is marked
as such: its figures are provisional.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Connection

from frister.calendar import CalendarPeriod
from frister.reports import charts
from frister.reports.data import collect
from frister.reports.figures import indicators, reasons_breakdown, rule_totals, snapshot_day, summarise
from frister.reports.render import render
from frister.rules.model import RuleSet

SHARE_KEYS = ("referrals_reviewed", "investigations_late", "children_with_plan", "plans_evaluated",
              "followup_visits", "supervision_visits")
SHORT_LABELS = {
    "referrals_reviewed": "Meldinger innen 1 uke",
    "investigations_late": "Undersøkelser over frist",
    "children_with_plan": "Hjelpetiltak med tiltaksplan",
    "plans_evaluated": "Tiltaksplaner evaluert",
    "followup_visits": "Oppfølgingsbesøk gjennomført",
    "supervision_visits": "Tilsynsbesøk gjennomført",
}


def _meta(label: str, value: str, as_of: dt.date, fingerprint: str, end: dt.date) -> list[tuple[str, str]]:
    meta = [(label, value), ("Data per", as_of.strftime("%d.%m.%Y")), ("Regelsett (fingeravtrykk)", fingerprint)]
    if as_of < end:
        meta.append(("Merk", f"Perioden er ikke avsluttet per {as_of.strftime('%d.%m.%Y')}: tallene er foreløpige."))
    return meta


def build_half_year(conn: Connection, rules: RuleSet, period: CalendarPeriod, as_of: dt.date) -> dict:
    """The template context of the half-year report for ``period`` (``YYYY-H1``/``H2``)."""
    snap = snapshot_day(period.end, as_of)
    f = collect(conn, rules, as_of, period.start, period.end, snapshot_days=(snap,))
    units = f.units
    due = f.due_between(period.start, period.end)
    total = indicators(f, period.start, period.end, snap)
    figures = {"total": total, "units": {u: indicators(f, period.start, period.end, snap, u) for u in units}}
    share_items = [(SHORT_LABELS[x.key], x.share, x.higher_is_better) for x in total if x.key in SHARE_KEYS]
    totals = rule_totals(f, due)
    return {
        "title": f"Halvårsrapportering {period.label}",
        "meta": _meta("Periode", f"{period.start.strftime('%d.%m.%Y')} – {period.end.strftime('%d.%m.%Y')}",
                      as_of, f.fingerprint, period.end),
        "as_of": as_of,
        "snapshot": snap,
        "units": units,
        "figures": figures,
        "totals": totals,
        "unit_summaries": {u: summarise(f, due & f.of_unit(u)) for u in units},
        "visits": [t for t in totals if t.rule.kind == "visits"],
        "reasons": reasons_breakdown(f, due),
        "visits_by_unit": {u: [t for t in rule_totals(f, due & f.of_unit(u)) if t.rule.kind == "visits"]
                           for u in units},
        "chart": charts.share_bars("Nøkkeltall, andeler", share_items),
    }


def build_annual(conn: Connection, rules: RuleSet, year: int, years: int, as_of: dt.date) -> dict:
    """The template context of the annual figures for ``years`` years ending with ``year``."""
    year_list = list(range(year - years + 1, year + 1))
    spans = [(y, dt.date(y, 1, 1), dt.date(y, 12, 31)) for y in year_list]
    snaps = {y: snapshot_day(end, as_of) for y, _, end in spans}
    f = collect(conn, rules, as_of, spans[0][1], spans[-1][2], snapshot_days=tuple(sorted(set(snaps.values()))))
    per_year = {}
    for y, start, end in spans:
        due = f.due_between(start, end)
        per_year[y] = {
            "figures": indicators(f, start, end, snaps[y]),
            "totals": rule_totals(f, due),
            "summary": summarise(f, due),
            "reasons": reasons_breakdown(f, due),
            "provisional": as_of < end,
        }
    last = per_year[year]
    keys = [x.key for x in last["figures"]]
    figure_rows = [(last["figures"][i], [per_year[y]["figures"][i] for y in year_list]) for i in range(len(keys))]
    rule_rows = [(last["totals"][i], [per_year[y]["totals"][i] for y in year_list]) for i in range(len(rules))]
    share_series = [
        charts.Series(SHORT_LABELS[x.key], [per_year[y]["figures"][i].share for y in year_list])
        for i, x in enumerate(last["figures"]) if x.key in SHARE_KEYS
    ]
    labels = [str(y) + ("*" if per_year[y]["provisional"] else "") for y in year_list]
    visit_series = []
    for i, x in enumerate(last["figures"]):
        if x.key in ("followup_visits", "supervision_visits"):
            name = "Oppfølging" if x.key == "followup_visits" else "Tilsyn"
            visit_series.append(charts.Series(f"{name}: påkrevd", [per_year[y]["figures"][i].total for y in year_list]))
            visit_series.append(charts.Series(f"{name}: gjennomført", [per_year[y]["figures"][i].count for y in year_list]))
    year_start, year_end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    unit_figures = {u: indicators(f, year_start, year_end, snaps[year], u) for u in f.units}
    return {
        "title": f"Tilstandsrapport: frister og besøk {year_list[0]}–{year}",
        "meta": _meta("År", f"{year_list[0]}–{year}", as_of, f.fingerprint, year_end),
        "as_of": as_of,
        "year": year,
        "years": year_list,
        "labels": labels,
        "per_year": per_year,
        "figure_rows": figure_rows,
        "rule_rows": rule_rows,
        "reason_rows": [(label, [per_year[y]["reasons"][i][1] for y in year_list])
                        for i, (label, _) in enumerate(last["reasons"])],
        "units": f.units,
        "unit_figures": {"total": last["figures"], "units": unit_figures},
        "charts": {
            "shares": charts.columns("Nøkkeltall per år (andeler)", labels, share_series, percent=True),
            "visits": charts.columns("Besøk i fosterhjem: påkrevd og gjennomført", labels, visit_series),
            "compliance": charts.columns(
                "Andel frister overholdt, alle regler", labels,
                [charts.Series("Overholdt", [per_year[y]["summary"].share_met for y in year_list])], percent=True),
        },
    }


def half_year_html(conn: Connection, rules: RuleSet, period: CalendarPeriod, as_of: dt.date,
                   templates_dir: str | Path) -> str:
    return render(templates_dir, "half_year.html", **build_half_year(conn, rules, period, as_of))


def annual_html(conn: Connection, rules: RuleSet, year: int, years: int, as_of: dt.date,
                templates_dir: str | Path) -> str:
    return render(templates_dir, "annual.html", **build_annual(conn, rules, year, years, as_of))

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

from typing import Sequence

from frister.calendar import CalendarPeriod
from frister.engine.evaluate import LATE, MET, OVERDUE
from frister.nb import period_text, span_text
from frister.organisation import Organisation
from frister.reports import charts
from frister.reports.data import collect
from frister.reports.deviations import GLOSSARY as DEVIATION_GLOSSARY, deviations, recurrences
from frister.reports.period import ReportPeriod, year_spans
from frister.reports.period import years as period_years
from frister.reports.activity import GLOSSARY, MUNICIPALITY_ROWS, activity_figures, monthly_volume
from frister.reports.figures import (Figure, in_path_order, indicators, reasons_breakdown, reasons_by_rule,
                                     rule_totals, snapshot_day, summarise)
from frister.reports.targets import ReportConfig
from frister.reports.groups import check_municipality, municipality_groups, municipality_name, unit_groups
from frister.reports.formats import render_report
from frister.rules.model import Rule, RuleSet

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


def _meta(label: str, value: str, as_of: dt.date, fingerprint: str, end: dt.date,
          municipality: str | None = None, data_fingerprint: str = "") -> list[tuple[str, str]]:
    meta = [(label, value)]
    if municipality is not None:
        meta.append(("Kommune", municipality))
    meta += [("Data per", as_of.strftime("%d.%m.%Y")), ("Regelsett (fingeravtrykk)", fingerprint),
             ("Data (fingeravtrykk)", data_fingerprint)]
    if as_of < end:
        meta.append(("Merk", f"Perioden er ikke avsluttet per {as_of.strftime('%d.%m.%Y')}: tallene er foreløpige."))
    return meta


INDICATOR_KEYS = ("referrals_reviewed", "referrals_unreviewed", "investigations_late", "investigations_running_late",
                  "children_with_plan", "plans_evaluated", "followup_children_not_met",
                  "supervision_children_not_met", "followup_visits", "supervision_visits")
ACTIVITY_KEYS = ("referrals_received", "referrals_closed", "investigations_concluded", "investigations_closed",
                 "investigations_extended", "investigations_to_measures", "emergency_decisions", "children_support",
                 "children_placed_voluntarily", "children_under_care", "children_in_measures",
                 "children_foster_home", "children_institution", "aftercare", "care_plans")


def figure_keys() -> set[str]:
    """Every figure key a target or comparison value may name (frister.reports.targets)."""
    return set(INDICATOR_KEYS) | set(ACTIVITY_KEYS) | {"investigation_deadlines_met"}


def glossary(rules: Sequence[Rule]) -> list[tuple[str, str]]:
    """The report's glossary: the activity figures, the two investigation views, and once
    for the whole report which rules' basis is not verified in an official text."""
    out = list(GLOSSARY) + list(INVESTIGATION_VIEWS) + list(DEVIATION_GLOSSARY)
    unverified = [r for r in rules if any(v.confidence != "V" for v in r.versions)]
    if unverified:
        out.append(("Regler med grunnlag som ikke er verifisert",
                    "Grunnlaget (hjemmelen) for disse fristene er vist slik det er kjent, men er ikke kontrollert mot "
                    "offisiell lovtekst for alle lovversjoner (S = kun sekundærkilde, U = ikke verifisert): "
                    + "; ".join(f"{r.title} ({'/'.join(sorted({v.confidence for v in r.versions} - {'V'}))})"
                                for _, r in in_path_order(unverified)) + "."))
    return out


INVESTIGATION_VIEWS = (
    ("Undersøkelser over frist (etter avslutningsdato)",
     "Av undersøkelsene som ble avsluttet i perioden: andelen som ble avsluttet etter fristen. Svarer på: hvor "
     "mange av undersøkelsene vi gjorde ferdig, tok for lang tid?"),
    ("Undersøkelsesfrister overholdt (etter fristdato)",
     "Av undersøkelsesfristene som forfalt i perioden og er avgjort: andelen der undersøkelsen var avsluttet innen "
     "fristen. Svarer på: ble fristene som løp ut i perioden holdt? En undersøkelse som ble avsluttet sent i "
     "januar, med frist i desember året før, telles i det første tallet for januar og i det andre for desember; "
     "derfor summerer de to tallene seg ikke til 100 %."),
)


def investigation_views(f, start: dt.date, end: dt.date, group=None) -> dict:
    """The two views of the investigation deadline, side by side (see :data:`INVESTIGATION_VIEWS`)."""
    rule = f.rule == f.rule_index("investigation_deadline")
    mine = f.of(group) & rule
    concluded = mine & f.met_between(start, end)
    due = mine & f.due_between(start, end)
    decided = due & ((f.status == MET) | (f.status == LATE) | (f.status == OVERDUE))
    return {"by_conclusion": Figure("investigations_late", INVESTIGATION_VIEWS[0][0],
                                    int((concluded & (f.status == LATE)).sum()), int(concluded.sum()),
                                    higher_is_better=False),
            "by_due_date": Figure("investigation_deadlines_met", INVESTIGATION_VIEWS[1][0],
                                  int((due & (f.status == MET)).sum()), int(decided.sum()))}


def build_half_year(conn: Connection, rules: RuleSet, period: CalendarPeriod, as_of: dt.date,
                    organisation: Organisation | None = None, municipality: str | None = None,
                    config: ReportConfig | None = None, assessment: Sequence[str] = ()) -> dict:
    """The template context of the half-year report for ``period`` (``YYYY-H1``/``H2``)."""
    return build_period(conn, rules, ReportPeriod(period.start, period.end, period.label), as_of, organisation,
                        municipality, config, assessment)


def build_period(conn: Connection, rules: RuleSet, period: ReportPeriod, as_of: dt.date,
                 organisation: Organisation | None = None, municipality: str | None = None,
                 config: ReportConfig | None = None, assessment: Sequence[str] = ()) -> dict:
    """The template context of the period report (a half-year, or any period: see
    :mod:`frister.reports.period`), of the whole service or of one ``municipality`` (a
    number), with units in the tree of ``organisation`` (:mod:`frister.reports.groups`)."""
    snap = snapshot_day(period.end, as_of)
    f = collect(conn, rules, as_of, period.start, period.end, snapshot_days=(snap,), municipality=municipality,
                earlier=True)
    check_municipality(f, organisation, municipality)
    unit_rows = unit_groups(f, organisation)
    municipality_rows = municipality_groups(f, organisation, municipality)
    units = [g.key for g in unit_rows]
    due = f.due_between(period.start, period.end)
    total = indicators(f, period.start, period.end, snap)
    figures = {"total": total, "units": {g.key: indicators(f, period.start, period.end, snap, g) for g in unit_rows},
               "municipalities": {g.key: indicators(f, period.start, period.end, snap, g)
                                  for g in municipality_rows}}
    share_items = [(SHORT_LABELS[x.key], x.share, x.higher_is_better) for x in total if x.key in SHARE_KEYS]
    totals = rule_totals(f, due)
    activity = {"total": activity_figures(f, period.start, period.end, snap),
                "units": {g.key: activity_figures(f, period.start, period.end, snap, g) for g in unit_rows},
                "municipalities": {g.key: activity_figures(f, period.start, period.end, snap, g)
                                   for g in municipality_rows}}
    title = f"Rapport {period.text}" if period.custom else f"Halvårsrapportering {period_text(period.label)}"
    return {
        "report": "period" if period.custom else "half-year",
        "title": title,
        "meta": _meta("Periode", f"{period.start.strftime('%d.%m.%Y')} – {period.end.strftime('%d.%m.%Y')}",
                      as_of, f.fingerprint, period.end, municipality and municipality_name(organisation, municipality),
                      f.data_fingerprint),
        "period": period,
        "activity": activity,
        "volume": monthly_volume(f, period.start, period.end),
        "investigations": investigation_views(f, period.start, period.end),
        "reasons_by_rule": reasons_by_rule(f, due),
        "deviations": deviations(f, period.start, period.end, unit_rows),
        "glossary": glossary(rules),
        "config": config or ReportConfig(),
        "assessment": list(assessment),
        "data_fingerprint": f.data_fingerprint,
        "as_of": as_of,
        "fingerprint": f.fingerprint,
        "municipality": municipality,
        "snapshot": snap,
        "units": units,
        "unit_rows": unit_rows,
        "municipality_rows": municipality_rows,
        "figures": figures,
        "totals": totals,
        "unit_summaries": {g.key: summarise(f, due & f.of(g)) for g in unit_rows},
        "municipality_summaries": {g.key: summarise(f, due & f.of(g)) for g in municipality_rows},
        "visits": [t for t in totals if t.rule.kind == "visits"],
        "reasons": reasons_breakdown(f, due),
        "visits_by_unit": {g.key: [t for t in rule_totals(f, due & f.of(g)) if t.rule.kind == "visits"]
                           for g in unit_rows},
        "chart": charts.share_bars("Nøkkeltall, andeler", share_items),
    }


def build_annual(conn: Connection, rules: RuleSet, year: int, years: int, as_of: dt.date,
                 organisation: Organisation | None = None, municipality: str | None = None,
                 config: ReportConfig | None = None, assessment: Sequence[str] = ()) -> dict:
    """The template context of the annual figures for ``years`` years ending with ``year``
    (:func:`build_annual_period`)."""
    return build_annual_period(conn, rules, period_years(year, years), as_of, organisation, municipality, config,
                               assessment)


def build_annual_period(conn: Connection, rules: RuleSet, period: ReportPeriod, as_of: dt.date,
                        organisation: Organisation | None = None, municipality: str | None = None,
                        config: ReportConfig | None = None, assessment: Sequence[str] = ()) -> dict:
    """The template context of the annual figures of ``period``, one column per calendar
    year it touches (a year it only partly covers is cut to the period and headed by its
    days), of the whole service or of one ``municipality``; per unit (in the tree of
    ``organisation``) for the last year, per municipality for every year."""
    spans = year_spans(period)
    year_list = [y for y, _, _ in spans]
    year = year_list[-1]
    cut = {y: (start, end) != (dt.date(y, 1, 1), dt.date(y, 12, 31)) for y, start, end in spans}
    snaps = {y: snapshot_day(end, as_of) for y, _, end in spans}
    f = collect(conn, rules, as_of, spans[0][1], spans[-1][2], snapshot_days=tuple(sorted(set(snaps.values()))),
                municipality=municipality, earlier=True)
    check_municipality(f, organisation, municipality)
    unit_rows = unit_groups(f, organisation)
    municipality_rows = municipality_groups(f, organisation, municipality)
    per_year = {}
    again = recurrences(f)
    for y, start, end in spans:
        due = f.due_between(start, end)
        per_year[y] = {
            "figures": indicators(f, start, end, snaps[y]),
            "municipalities": {g.key: indicators(f, start, end, snaps[y], g) for g in municipality_rows},
            "activity": activity_figures(f, start, end, snaps[y]),
            "activity_by_municipality": {g.key: activity_figures(f, start, end, snaps[y], g)
                                         for g in municipality_rows},
            "volume": monthly_volume(f, start, end),
            "investigations": investigation_views(f, start, end),
            "reasons_by_rule": reasons_by_rule(f, due),
            "totals": rule_totals(f, due),
            "summary": summarise(f, due),
            "reasons": reasons_breakdown(f, due),
            "deviations": deviations(f, start, end, unit_rows, again),
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
    labels = [(span_text(start, end) if cut[y] else str(y)) + ("*" if per_year[y]["provisional"] else "")
              for y, start, end in spans]
    visit_series = []
    for i, x in enumerate(last["figures"]):
        if x.key in ("followup_visits", "supervision_visits"):
            name = "Oppfølging" if x.key == "followup_visits" else "Tilsyn"
            visit_series.append(charts.Series(f"{name}: påkrevd", [per_year[y]["figures"][i].total for y in year_list]))
            visit_series.append(charts.Series(f"{name}: gjennomført", [per_year[y]["figures"][i].count for y in year_list]))
    year_start, year_end = spans[-1][1], spans[-1][2]
    unit_figures = {g.key: indicators(f, year_start, year_end, snaps[year], g) for g in unit_rows}
    return {
        "report": "annual",
        "title": (f"Rapport {period.text}" if period.custom
                  else f"Tilstandsrapport: frister og besøk {year_list[0]}–{year}"),
        "meta": _meta(*(("Periode", f"{period.start:%d.%m.%Y} – {period.end:%d.%m.%Y}") if period.custom
                        else ("År", f"{year_list[0]}–{year}")), as_of, f.fingerprint, year_end,
                      municipality and municipality_name(organisation, municipality), f.data_fingerprint),
        "period": period,
        "spans": {y: (start, end) for y, start, end in spans},
        "data_fingerprint": f.data_fingerprint,
        "glossary": glossary(rules),
        "config": config or ReportConfig(),
        "assessment": list(assessment),
        "activity_rows": [(x, [per_year[y]["activity"][i] for y in year_list])
                          for i, x in enumerate(per_year[year]["activity"])],
        "municipality_table": municipality_table(per_year, year_list, municipality_rows),
        "as_of": as_of,
        "fingerprint": f.fingerprint,
        "municipality": municipality,
        "unit_rows": unit_rows,
        "municipality_rows": municipality_rows,
        "year": year,
        "years": year_list,
        "labels": labels,
        "per_year": per_year,
        "figure_rows": figure_rows,
        "rule_rows": rule_rows,
        "reason_rows": [(label, [per_year[y]["reasons"][i][1] for y in year_list])
                        for i, (label, _) in enumerate(last["reasons"])],
        "units": [g.key for g in unit_rows],
        "unit_figures": {"total": last["figures"], "units": unit_figures},
        "charts": {
            "activity": charts.columns("Aktivitet per år", labels, [
                charts.Series(name, [next(x.count for x in per_year[y]["activity"] if x.key == key) for y in year_list])
                for key, name in (("referrals_received", "Meldinger"), ("investigations_concluded", "Undersøkelser"),
                                  ("emergency_decisions", "Akuttvedtak"))]),
            "shares": charts.columns("Nøkkeltall per år (andeler)", labels, share_series, percent=True),
            "visits": charts.columns("Besøk i fosterhjem: påkrevd og gjennomført", labels, visit_series),
            "compliance": charts.columns(
                "Andel frister overholdt, alle regler", labels,
                [charts.Series("Overholdt", [per_year[y]["summary"].share_met for y in year_list])], percent=True),
        },
    }


def municipality_table(per_year: dict, years: list[int], groups: list) -> list[dict]:
    """Midt-Buskerud's table: one block per municipality, then the service, with the rows of
    :data:`MUNICIPALITY_ROWS` and the years as columns."""
    blocks = []
    for name, pick in [(g.name, (lambda y, g=g: per_year[y]["activity_by_municipality"][g.key])) for g in groups] + [
            ("Tjenesten totalt", lambda y: per_year[y]["activity"])]:
        rows = []
        for key, label in MUNICIPALITY_ROWS:
            rows.append((label, [next(x.count for x in pick(y) if x.key == key) for y in years]))
        blocks.append({"name": name, "rows": rows})
    return blocks


def half_year_html(conn: Connection, rules: RuleSet, period: CalendarPeriod, as_of: dt.date,
                   templates_dir: str | Path, organisation: Organisation | None = None,
                   municipality: str | None = None) -> str:
    ctx = build_half_year(conn, rules, period, as_of, organisation, municipality)
    return render_report(ctx["report"], ctx, "html", templates_dir).decode("utf-8")


def annual_html(conn: Connection, rules: RuleSet, year: int, years: int, as_of: dt.date,
                templates_dir: str | Path, organisation: Organisation | None = None,
                municipality: str | None = None) -> str:
    ctx = build_annual(conn, rules, year, years, as_of, organisation, municipality)
    return render_report("annual", ctx, "html", templates_dir).decode("utf-8")


def write_annual(engine, rules: RuleSet, as_of: dt.date, path: str | Path, templates_dir: str | Path,
                 organisation: Organisation | None = None, years: int = 5) -> Path:
    """Write the annual report of the ``years`` years up to ``as_of``'s as HTML (``frister demo``)."""
    from frister.reports.output import write_output

    with engine.connect() as conn:
        ctx = build_annual(conn, rules, as_of.year, years, as_of, organisation)
    return write_output(path, render_report("annual", ctx, "html", templates_dir))

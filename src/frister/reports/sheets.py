"""The reports as spreadsheets: one sheet per table, real numbers, for the council document.

Counts are integers, shares numbers with a percent format (:class:`~frister.reports.tabular.Share`),
never text; a figure with a total is written as three columns (count, total, share). The
first sheet («Om rapporten») holds the header (period, as-of date, rules' and data
fingerprints) and the glossary. Bytes are reproducible (:func:`frister.reports.tabular.to_xlsx`).
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from frister.reports import deviations
from frister.reports.figures import Figure, RuleTotals
from frister.reports.tabular import Share, to_xlsx
from frister.rules.model import DUTY_LABELS

Sheet = tuple[str, list[list[Any]], int | None]


def _share(value: float | None) -> Share | None:
    return None if value is None else Share(value)


def figure_cells(f: Figure) -> list[Any]:
    return [f.count, f.total, _share(f.share)]


def figures_sheet(name: str, columns: Sequence[tuple[str, Sequence[Figure]]]) -> Sheet:
    """Figures (rows) by column groups (``(heading, figures)``, the same keys in each)."""
    header = ["Indikator"] + [f"{heading}: {part}" for heading, _ in columns for part in ("antall", "av", "andel")]
    rows = [header]
    for i, first in enumerate(columns[0][1] if columns else ()):
        rows.append([first.label] + [cell for _, figs in columns for cell in figure_cells(figs[i])])
    return (name, rows, 1)


def rules_sheet(name: str, totals: Iterable[RuleTotals]) -> Sheet:
    rows = [["Regel-id", "Frist", "Plikt", "Konfidens", "Forfalt", "Overholdt", "For sent", "Ikke gjort", "Åpne",
             "Andel overholdt", "Besøk påkrevd", "Besøk gjennomført"]]
    for t in totals:
        rows.append([t.rule.id, t.rule.title, "/".join(DUTY_LABELS[d] for d in t.duties), t.confidence_flag or "V",
                     t.due, t.met, t.late, t.overdue, t.open, _share(t.share_met), t.required, t.done])
    return (name, rows, 1)


def reasons_sheet(name: str, items) -> Sheet:
    labels = [label for label, _ in items[0][1]] if items else []
    rows = [["Frist"] + labels] + [[rule.title] + [n for _, n in reasons] for rule, reasons in items]
    return (name, rows, 1)


def about_sheet(ctx: dict) -> Sheet:
    rows: list[list[Any]] = [[ctx["title"]], []] + [[label, value] for label, value in ctx["meta"]]
    rows += [[], ["Begrep", "Forklaring"]] + [[t, d] for t, d in ctx["glossary"]]
    if ctx.get("assessment"):
        rows += [[], ["Vurdering og forslag til tiltak"]] + [[p] for p in ctx["assessment"]]
    return ("Om rapporten", rows, None)


def period_xlsx(ctx: dict) -> bytes:
    """The half-year (or period) report: indicators and activity per unit and municipality, rules, causes."""
    groups = [("Totalt", None)] + [(g.name, g.key) for g in ctx["unit_rows"]]
    towns = [("Tjenesten", None)] + [(g.name, g.key) for g in ctx["municipality_rows"]]

    def pick(kind: str, source: dict, key: str | None) -> list[Figure]:
        return source["total"] if key is None else source[kind][key]

    sheets = [
        about_sheet(ctx),
        figures_sheet("Indikatorer per enhet", [(n, pick("units", ctx["figures"], k)) for n, k in groups]),
        figures_sheet("Aktivitet per enhet", [(n, pick("units", ctx["activity"], k)) for n, k in groups]),
    ]
    if ctx["municipality_rows"]:
        sheets.append(figures_sheet("Indikatorer per kommune",
                                    [(n, pick("municipalities", ctx["figures"], k)) for n, k in towns]))
        sheets.append(figures_sheet("Aktivitet per kommune",
                                    [(n, pick("municipalities", ctx["activity"], k)) for n, k in towns]))
    sheets += [rules_sheet("Frister per regel", ctx["totals"]),
               reasons_sheet("Årsaker per frist", ctx["reasons_by_rule"]),
               ("Avvik", deviations.sheet_rows(ctx["deviations"]), 1)]
    return to_xlsx(sheets, stamp=ctx["as_of"], title=ctx["title"])


def annual_xlsx(ctx: dict) -> bytes:
    """The annual report: years as columns for every table, and Midt-Buskerud's table per municipality."""
    years, labels = ctx["years"], ctx["labels"]
    per_year = ctx["per_year"]
    sheets = [
        about_sheet(ctx),
        figures_sheet("Nøkkeltall per år", [(label, per_year[y]["figures"]) for y, label in zip(years, labels)]),
        figures_sheet("Aktivitet per år", [(label, per_year[y]["activity"]) for y, label in zip(years, labels)]),
    ]
    table = [["Kommune", "Tall"] + labels]
    for block in ctx["municipality_table"]:
        for label, values in block["rows"]:
            table.append([block["name"], label] + list(values))
    sheets.append(("Per kommune", table, 1))
    rules = [["Regel-id", "Frist"] + [f"{label}: {part}" for label in labels for part in ("overholdt", "avgjort",
                                                                                           "andel")]]
    for first, values in ctx["rule_rows"]:
        rules.append([first.rule.id, first.rule.title] + [c for t in values for c in (t.met, t.decided,
                                                                                      _share(t.share_met))])
    sheets.append(("Frister per regel", rules, 1))
    reasons = [["Årsak"] + labels] + [[label] + list(values) for label, values in ctx["reason_rows"]]
    sheets.append(("Årsaker", reasons, 1))
    sheets.append((f"Avvik {ctx['year']}", deviations.sheet_rows(per_year[ctx["year"]]["deviations"]), 1))
    sheets.append(("Avvik per år", [["Avvik"] + labels] + [
        [label] + [per_year[y]["deviations"].total.values()[i] for y in years]
        for i, (_, label) in enumerate(deviations.COLUMNS)], 1))
    sheets.append(figures_sheet(f"Per enhet {ctx['year']}", [("Totalt", ctx["unit_figures"]["total"])] + [
        (g.name, ctx["unit_figures"]["units"][g.key]) for g in ctx["unit_rows"]]))
    return to_xlsx(sheets, stamp=ctx["as_of"], title=ctx["title"])


def monthly_xlsx(ctx: dict) -> bytes:
    """The monthly report: the figures of the month and the last 12 months per unit, rules, the load ahead."""
    groups = [("Totalt", None)] + [(g.name, g.key) for g in ctx["unit_rows"]]

    def pick(source: dict, key: str | None) -> list[Figure]:
        return source["total"] if key is None else source["units"][key]

    load = [["Uke", "Fra", "Til", "Virkedager"] + [g.name for g in ctx["top_units"]] + ["Totalt"]]
    load += [[w.label, w.start, w.end, w.working_days, *w.counts, w.total] for w in ctx["load"]]
    caseload = [["Enhet", "Aktive saker", "Saksbehandlere", "Saker per saksbehandler", "Åpne frister",
                 "Over fristen"]]
    caseload += [[r.group.name, r.active, r.caseworkers, r.per_caseworker, r.open_deadlines, r.overdue]
                 for r in ctx["caseload"]]
    caseload += [[], ["Måned slutt", "Aktive saker i tjenesten"]] + [[d, n] for d, n in ctx["caseload_series"]]
    sheets = [
        ("Om rapporten", [[ctx["title"]], []] + [[label, value] for label, value in ctx["meta"]], None),
        figures_sheet("Måneden", [(n, pick(ctx["month_figures"], k)) for n, k in groups]),
        figures_sheet("Siste 12 måneder", [(n, pick(ctx["year_figures"], k)) for n, k in groups]),
        rules_sheet("Frister måneden", ctx["month_totals"]),
        rules_sheet("Frister 12 måneder", ctx["year_totals"]),
        ("De neste 8 ukene", load, 1),
        ("Saksmengde", caseload, 1),
        ("Avvik siste 12 måneder", deviations.sheet_rows(ctx["deviations"]), 1),
        ("Begreper", [["Begrep", "Forklaring"]] + [[t, d] for t, d in ctx["glossary"]], 1),
    ]
    return to_xlsx(sheets, stamp=ctx["as_of"], title=ctx["title"])

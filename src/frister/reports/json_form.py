"""The JSON form of the monthly, half-year and annual reports: the same figures as the HTML, as data.

For anyone who builds their own charts, and for the tests. One object per report:
``report`` (``monthly``, ``half-year``, ``period``, ``annual``), ``period`` (``label``,
``start``, ``end``, ``custom``: given by ``--from/--to``), ``as_of``, ``rules_fingerprint``,
``municipality`` (the number the report was restricted to, or null), then the figures.
A figure is ``{"key", "label", "duty", "count", "total", "share"}``: ``total`` null for a
plain count, ``share`` ``count / total`` (null without a total or when it is 0). Per unit
rows carry ``unit`` (the code), ``name`` (display name), ``parent`` and ``depth`` in the
unit tree, and sum the unit and every unit below it; per municipality rows carry
``municipality`` (the number, ``""`` for cases without one) and ``name``. Rules are
listed with their duty and confidence. Dates are ISO strings; keys are sorted and the
output ends with a newline, so the same report gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Iterable

from frister.reports import deviations
from frister.reports.data import Group
from frister.reports.figures import Figure, RuleTotals, Summary


def figure(f: Figure) -> dict:
    return {"key": f.key, "label": f.label, "duty": f.duty, "count": f.count, "total": f.total, "share": f.share}


def figures(figs: Iterable[Figure]) -> dict[str, dict]:
    return {f.key: figure(f) for f in figs}


def rule_total(t: RuleTotals) -> dict:
    return {"rule": t.rule.id, "title": t.rule.title, "duty": "/".join(t.duties),
            "confidence": t.confidence_flag or "V", "due": t.due, "met": t.met, "late": t.late,
            "overdue": t.overdue, "open": t.open, "not_evaluated": t.not_evaluated, "share_met": t.share_met,
            "days_late_total": t.days_late_total, "visits_required": t.required, "visits_done": t.done}


def summary(s: Summary) -> dict:
    return {"due": s.due, "met": s.met, "breaches": s.breaches, "open": s.open, "share_met": s.share_met}


def unit_row(g: Group, **values: Any) -> dict:
    return {"unit": g.key, "name": g.name, "parent": g.parent, "depth": g.depth, **values}


def municipality_row(g: Group, **values: Any) -> dict:
    return {"municipality": g.key, "name": g.name, **values}


def _common(ctx: dict) -> dict:
    config = ctx["config"]
    return {
        "data_fingerprint": ctx["data_fingerprint"],
        "glossary": [{"term": t, "definition": d} for t, d in ctx["glossary"]],
        "targets": {k: {"value": v.value, "label": v.label} for k, v in config.targets.items()},
        "comparisons": {k: {"value": v.value, "label": v.label} for k, v in config.comparisons.items()},
        "assessment": ctx["assessment"],
    }


def _reasons_by_rule(items) -> list[dict]:
    return [{"rule": rule.id, "title": rule.title, "reasons": dict(reasons)} for rule, reasons in items]


def _investigations(views: dict) -> dict:
    return {name: figure(f) for name, f in views.items()}


def half_year_json(ctx: dict) -> dict:
    period = ctx["period"]
    activity = ctx["activity"]
    return {
        **_common(ctx),
        "activity": figures(activity["total"]),
        "volume": ctx["volume"],
        "investigations": _investigations(ctx["investigations"]),
        "reasons_by_rule": _reasons_by_rule(ctx["reasons_by_rule"]),
        "deviations": deviations.as_json(ctx["deviations"]),
        "report": ctx["report"], "title": ctx["title"],
        "period": period.as_json(),
        "as_of": ctx["as_of"], "rules_fingerprint": ctx["fingerprint"], "municipality": ctx["municipality"],
        "snapshot_on": ctx["snapshot"],
        "indicators": figures(ctx["figures"]["total"]),
        "units": [unit_row(g, indicators=figures(ctx["figures"]["units"][g.key]),
                           activity=figures(activity["units"][g.key]),
                           summary=summary(ctx["unit_summaries"][g.key])) for g in ctx["unit_rows"]],
        "municipalities": [municipality_row(g, indicators=figures(ctx["figures"]["municipalities"][g.key]),
                                            activity=figures(activity["municipalities"][g.key]),
                                            summary=summary(ctx["municipality_summaries"][g.key]))
                           for g in ctx["municipality_rows"]],
        "rules": [rule_total(t) for t in ctx["totals"]],
        "reasons": dict(ctx["reasons"]),
    }


def annual_json(ctx: dict) -> dict:
    years = []
    for y in ctx["years"]:
        one = ctx["per_year"][y]
        years.append({
            "year": y, "start": ctx["spans"][y][0], "end": ctx["spans"][y][1], "provisional": one["provisional"], "indicators": figures(one["figures"]),
            "summary": summary(one["summary"]), "rules": [rule_total(t) for t in one["totals"]],
            "reasons": dict(one["reasons"]),
            "activity": figures(one["activity"]), "volume": one["volume"],
            "investigations": _investigations(one["investigations"]),
            "reasons_by_rule": _reasons_by_rule(one["reasons_by_rule"]),
            "deviations": deviations.as_json(one["deviations"]),
            "municipalities": [municipality_row(g, indicators=figures(one["municipalities"][g.key]),
                                                activity=figures(one["activity_by_municipality"][g.key]))
                               for g in ctx["municipality_rows"]],
        })
    return {
        **_common(ctx),
        "title": ctx["title"],
        "municipality_table": [{"name": b["name"], "years": ctx["years"], "rows": [{"label": label, "values": values}
                                                            for label, values in b["rows"]]}
                               for b in ctx["municipality_table"]],
        "report": "annual", "period": ctx["period"].as_json(), "years": years, "as_of": ctx["as_of"], "rules_fingerprint": ctx["fingerprint"],
        "municipality": ctx["municipality"], "last_year": ctx["year"],
        "deviations": deviations.as_json(ctx["per_year"][ctx["year"]]["deviations"]),
        "units": [unit_row(g, indicators=figures(ctx["unit_figures"]["units"][g.key])) for g in ctx["unit_rows"]],
    }


def _default(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def to_bytes(document: dict) -> bytes:
    return (json.dumps(document, ensure_ascii=False, sort_keys=True, indent=1, default=_default) + "\n").encode("utf-8")


def monthly_json(ctx: dict) -> dict:
    def per_unit(source: dict) -> list[dict]:
        return [unit_row(g, indicators=figures(source["units"][g.key])) for g in ctx["unit_rows"]]

    return {
        "report": "monthly", "title": ctx["title"], "month": ctx["month"], "period": ctx["period"].as_json(),
        "as_of": ctx["as_of"],
        "rules_fingerprint": ctx["fingerprint"], "municipality": ctx["municipality"],
        "month_indicators": figures(ctx["month_figures"]["total"]), "month_units": per_unit(ctx["month_figures"]),
        "year_indicators": figures(ctx["year_figures"]["total"]), "year_units": per_unit(ctx["year_figures"]),
        "month_rules": [rule_total(t) for t in ctx["month_totals"]],
        "year_rules": [rule_total(t) for t in ctx["year_totals"]],
        "load": [{"week": w.label, "start": w.start, "end": w.end, "working_days": w.working_days,
                  "holiday": w.holiday, "units": dict(zip([g.key for g in ctx["top_units"]], w.counts))}
                 for w in ctx["load"]],
        "unexplained_total": ctx["unexplained_total"],
        "deviations": deviations.as_json(ctx["deviations"]),
        "glossary": [{"term": t, "definition": d} for t, d in ctx["glossary"]],
        "caseload": {"day": ctx["caseload_day"], "deadlines_as_of": ctx["as_of"], "active": ctx["caseload_total"],
                     "month_ends": [{"day": d, "active": n} for d, n in ctx["caseload_series"]],
                     "units": [unit_row(r.group, active=r.active, caseworkers=r.caseworkers,
                                        per_caseworker=r.per_caseworker, open_deadlines=r.open_deadlines,
                                        overdue=r.overdue) for r in ctx["caseload"]]},
    }

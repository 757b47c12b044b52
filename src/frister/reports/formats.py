"""One table of the forms every report is written in, and the one function that writes them.

A report is built once (a template context, or the audit listing) and written as any
of its formats by :func:`render_report`: HTML from its template in ``templates/reports``
(:mod:`frister.reports.render`), JSON (:mod:`frister.reports.json_form`), XLSX
(:mod:`frister.reports.sheets`, the audit listing's own sheets) or, for the audit
listing, CSV. :data:`WRITERS` says which kind of report has which format; a format a
report does not have is a :class:`~frister.errors.FristerError` that lists those it has.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from frister.errors import FristerError
from frister.reports import json_form, sheets
from frister.reports.audit import audit_csv, audit_html, audit_xlsx
from frister.reports.render import render

Writer = Callable[[Any, "str | Path"], bytes]
BINARY = frozenset({"xlsx"})  # never to a terminal


def _page(template: str) -> Writer:
    return lambda ctx, templates_dir: render(templates_dir, template, **ctx).encode("utf-8")


def _data(form: Callable[[dict], dict]) -> Writer:
    return lambda ctx, templates_dir: json_form.to_bytes(form(ctx))


def _file(write: Callable[[Any], bytes]) -> Writer:
    return lambda report, templates_dir: write(report)


_PERIOD = {"html": _page("half_year.html"), "json": _data(json_form.half_year_json), "xlsx": _file(sheets.period_xlsx)}
WRITERS: dict[str, dict[str, Writer]] = {
    "monthly": {"html": _page("monthly.html"), "json": _data(json_form.monthly_json),
                "xlsx": _file(sheets.monthly_xlsx)},
    "half-year": _PERIOD,
    "period": _PERIOD,
    "annual": {"html": _page("annual.html"), "json": _data(json_form.annual_json), "xlsx": _file(sheets.annual_xlsx)},
    "audit": {"csv": _file(audit_csv), "xlsx": _file(audit_xlsx), "html": audit_html},
}


def render_report(kind: str, report: Any, fmt: str, templates_dir: str | Path) -> bytes:
    """The ``kind`` report (a key of :data:`WRITERS`; a context's ``report`` entry) as
    ``fmt`` bytes."""
    formats = WRITERS[kind]
    if fmt not in formats:
        raise FristerError(f"unknown format {fmt!r}; expected one of {', '.join(formats)}")
    return formats[fmt](report, templates_dir)

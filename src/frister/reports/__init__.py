"""Reports: the audit listing for the Statsforvalteren, the monthly report (månedsrapport),
half-year figures and the annual status-report (tilstandsrapport) figures.

Every report evaluates the stored case facts with the pure core as of one explicit
date, the as-of date of the data, and states it in its header together with the rules'
fingerprint (see :mod:`frister.reports.data`). Layout lives in ``templates/reports``;
figures are computed in :mod:`frister.reports.figures`; output is byte-identical for the
same facts, breach reasons, rules and as-of date.

Modules: ``data`` (collect rows), ``figures`` (counting conventions), ``activity``
(volume figures from the case facts), ``deviations`` (the «Avvik» section), ``groups``
(per-unit rows along the unit tree, per-municipality rows), ``period`` (a report's
period: shortcut or ``--from/--to``), ``audit``, ``monthly``, ``periodic`` (half-year,
any period, annual), ``targets`` (targets, comparison values, the leader's assessment),
``charts`` (inline SVG), ``tabular`` (CSV/XLSX, formula escaping), ``sheets`` and
``json_form`` (every report as XLSX and JSON), ``formats`` (which report is written in
which format: one table), ``render`` (Jinja2 and bokmål formatting), ``output``
(writing a report to a file: whole, 0600, or not at all).
"""

from frister.reports.monthly import write_monthly

__all__ = ["write_monthly"]

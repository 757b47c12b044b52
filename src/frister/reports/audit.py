"""The audit listing for the Statsforvalteren: every deadline and visit period of a range.

One row per obligation selected by a date in ``[start, end]`` (inclusive): by default
its due date; ``by="met"`` the day it was met (the referrals reviewed, the investigations
concluded in the period); ``by="start"`` the event that started it (the referrals
received, the investigations begun) — except for rules whose dates give the birth date
away, which are always selected by due date. Evaluated as of the report's as-of date (see
:mod:`frister.reports.data`), ordered by rule (in the case's path order), due date, case,
subject, period and sequence number. Rows can further be restricted to some statuses
and to a sample of N cases per rule drawn with a stated seed (as inspectors draw them:
the cases of each rule's selected rows, sorted, drawn with ``random.Random(seed)`` in
the rules' path order); the totals per rule always count the whole selection by date,
rule, unit and municipality. The header block states the period, the as-of date of the
data, the rules' and the data's fingerprints, the selection and the totals per rule. Only the case reference identifies a child; no
caseworker, no birth date. For a rule whose dates give the birth date away
(:func:`frister.disclosure.reveals_birth_date`: aftercare, whose anchor is the 18th
birthday and whose due date a fixed lead time before it) the start date is left blank,
the due date is shown as its month, as in the e-mails (``november 2025``), and the days
late, and their sum in the totals, are left blank (with the as-of date they give the due
date back). The same facts, reasons, rules, range and as-of date give byte-identical
CSV, XLSX and HTML.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from sqlalchemy import Connection

from frister.breaches.service import Explanation, HistoryEntry, history, reasons_by_key
from frister.calendar import to_day
from frister.disclosure import month_text, reveals_birth_date
from frister.engine.evaluate import Evaluation
from frister.engine.results import STATUS_LABELS, STATUSES, Result
from frister.errors import FristerError
from frister.facts.contract import REASON_LABELS
from frister.organisation import Organisation
from frister.reports.data import Group, collect
from frister.reports.figures import RuleTotals, in_path_order, rule_totals
from frister.reports.render import render
from frister.reports.tabular import to_csv, to_xlsx
from frister.rules.model import DUTY_LABELS, Rule, RuleSet

TITLE = "Fristliste for tilsyn"
SELECTED_BY = {"due": "fristdato", "met": "dato oppfylt", "start": "startdato (hendelsen som startet fristen)"}

LOCAL_HEADING = "Lokale rutiner (tjenestens egne, ikke lovkrav)"
COLUMNS = (
    "Sak", "Enhet", "Regel-id", "Frist", "Hjemmel", "Regelversjon", "Konfidens", "Plikt", "Gjelder", "Periode", "Nr.",
    "Startdato", "Fristdato", "Oppfylt dato", "Status", "Dager over frist", "Besøk påkrevd", "Besøk gjennomført",
    "Forlengelse søkt", "Forlengelse innvilget", "Forlengelse grunn", "Forlengelse lagt til grunn",
    "Reduksjon vedtatt", "Reduksjon gyldig", "Reduksjon merknad", "Årsak til brudd", "Tiltak",
)
HISTORY_HEADING = "Historikk: årsak, tiltak og oppfølging av fristbruddene"
HISTORY_COLUMNS = ("Sak", "Regel-id", "Gjelder", "Periode", "Nr.", "Registrert", "Av", "Hva", "Årsak", "Tiltak",
                   "Vedtak", "Status", "Merknad")
TOTAL_COLUMNS = (
    "Regel-id", "Frist", "Konfidens", "Plikt", "Forfalt i perioden", "Overholdt", "For sent", "Ikke gjort", "Åpne",
    "Andel overholdt", "Dager over frist (sum)", "Besøk påkrevd", "Besøk gjennomført",
)


@dataclass(frozen=True, slots=True)
class Row:
    """One listed obligation with its breach reason and action, if any."""

    result: Result
    reason: str | None = None
    action: str | None = None

    @property
    def is_breach(self) -> bool:
        return self.result.is_breach


@dataclass(frozen=True)
class AuditReport:
    start: dt.date
    end: dt.date
    as_of: dt.date
    fingerprint: str
    rules: RuleSet
    rule_ids: tuple[str, ...]
    units: tuple[str, ...]
    rows: tuple[Row, ...]  # law and guidance
    totals: tuple[RuleTotals, ...]
    local_rows: tuple[Row, ...] = ()  # the service's own routines, listed apart
    local_totals: tuple[RuleTotals, ...] = ()
    municipality: str | None = None  # the number the listing is restricted to
    data_fingerprint: str = ""  # of the stored cases' facts (frister.reports.data)
    by: str = "due"  # which date selects: a key of SELECTED_BY
    statuses: tuple[str, ...] = ()  # rows only of these statuses (empty: all)
    sample: int | None = None  # rows only of N cases per rule, drawn with ``seed``
    seed: int = 0
    history: tuple[HistoryEntry, ...] = ()  # every recorded word on the listed breaches, oldest first

    @property
    def selection(self) -> str:
        rules = ", ".join(self.rule_ids) if self.rule_ids else "alle regler"
        units = ", ".join(self.units) if self.units else "alle enheter"
        where = f"; kommune {self.municipality}" if self.municipality else ""
        return f"{rules}; {units}{where}"

    def meta(self) -> list[tuple[str, str]]:
        rows = []
        if self.statuses:
            rows.append(("Status", ", ".join(STATUS_LABELS[s] for s in self.statuses)
                         + " (totalene gjelder hele utvalget)"))
        if self.sample is not None:
            rows.append(("Stikkprøve", f"{self.sample} saker per regel, trukket med frø {self.seed} "
                         "(totalene gjelder hele utvalget)"))
        return [
            ("Rapport", TITLE),
            (f"Periode ({SELECTED_BY[self.by]})", f"{self.start.isoformat()} – {self.end.isoformat()}"),
            ("Data per", self.as_of.isoformat()),
            ("Regelsett (fingeravtrykk)", self.fingerprint),
            ("Data (fingeravtrykk)", self.data_fingerprint),
            ("Utvalg", self.selection),
            *rows,
            ("Antall frister", f"{len(self.rows)} lovkrav og retningslinjer; {len(self.local_rows)} lokale rutiner"),
            ("Konfidens", "V verifisert i offisiell tekst; S kun sekundærkilde; U ikke verifisert"),
        ]


def build_audit(conn: Connection, rules: RuleSet, start: dt.date, end: dt.date, as_of: dt.date,
                rule_ids: Sequence[str] = (), units: Sequence[str] = (), municipality: str | None = None,
                organisation: Organisation | None = None, by: str = "due", statuses: Sequence[str] = (),
                sample: int | None = None, seed: int = 0) -> AuditReport:
    """Collect the rows and totals of an audit listing (see the module; raises on an
    unknown rule, unit or status, or a bad range). ``units`` selects those units and,
    with an organisation file, every unit below them; ``municipality`` the cases of one
    municipality."""
    if end < start:
        raise FristerError("--to must not be before --from")
    if by not in SELECTED_BY:
        raise FristerError(f"unknown selection {by!r}; expected one of {', '.join(SELECTED_BY)}")
    unknown = sorted(set(rule_ids) - {r.id for r in rules})
    if unknown:
        raise FristerError(f"unknown rule(s): {', '.join(unknown)}")
    bad = sorted(set(statuses) - set(STATUSES))
    if bad:
        raise FristerError(f"unknown status(es): {', '.join(bad)}; expected {', '.join(STATUSES)}")
    if sample is not None and sample < 1:
        raise FristerError("--sample must be at least 1")
    order = {r.id: i for i, (_, r) in enumerate(in_path_order(rules))}  # the case's path
    wanted = set(rule_ids) or set(order)
    window = (to_day(start), to_day(end))
    chosen = {below for u in units for below in (organisation.below(u) if organisation else [u])}

    def selecting(p) -> np.ndarray:  # the date that selects a part's obligations
        return p.due if by == "due" or reveals_birth_date(p.rule) else p.met if by == "met" else p.anchor

    def listed(ev: Evaluation) -> list[Result]:  # in the worker: the rows selected by the range
        return [r for r in ev.results(statuses or STATUSES,
                                      where=lambda p: (selecting(p) >= window[0]) & (selecting(p) <= window[1]))
                if r.rule in wanted and (not units or r.unit in chosen)
                and (municipality is None or r.municipality == municipality)]

    frame = collect(conn, rules, as_of, start, end, also=listed, municipality=municipality, started=by == "start")
    known = set(frame.units) | (set(organisation.units) if organisation else set())
    unknown_units = sorted(set(units) - known)
    if unknown_units:
        raise FristerError(f"unknown unit(s): {', '.join(unknown_units)} (not in the data nor the organisation file)")
    reasons = reasons_by_key(conn)
    rows = [_row(r, reasons) for part in frame.also for r in part]
    rows.sort(key=lambda r: (order[r.result.rule], r.result.due_on, r.result.case_id, r.result.subject,
                             r.result.period or "", r.result.seq))
    if sample is not None:
        rows = _sample(rows, [r for _, r in in_path_order(rules)], sample, seed)
    revealing = np.isin(frame.rule, [i for i, r in enumerate(rules) if reveals_birth_date(r)])
    mask = {"due": frame.due_between, "met": frame.met_between, "start": frame.started_between}[by](start, end)
    mask = np.where(revealing, frame.due_between(start, end), mask)
    if units:
        mask &= frame.of(Group("", "", units=tuple(sorted(chosen))))
    local = frame.duty_is("local")
    only = set(rule_ids) or None

    def used(totals: list[RuleTotals]) -> tuple[RuleTotals, ...]:
        return tuple(t for t in totals if t.due or any(v.duty != "local" for v in t.rule.versions))

    return AuditReport(start, end, as_of, rules.fingerprint, rules, tuple(sorted(set(rule_ids))),
                       tuple(sorted(set(units))), tuple(r for r in rows if r.result.duty != "local"),
                       used(rule_totals(frame, mask & ~local, only=only)),
                       tuple(r for r in rows if r.result.duty == "local"),
                       tuple(t for t in rule_totals(frame, mask & local, only=only)
                             if t.due or t.rule.duty == "local"), municipality, frame.data_fingerprint,
                       by, tuple(s for s in STATUSES if s in set(statuses)), sample, seed,
                       tuple(history(conn, [r.result.key for r in rows if r.is_breach])))


def _sample(rows: list[Row], path: list[Rule], n: int, seed: int) -> list[Row]:
    """The rows of ``n`` cases per rule (all of them where a rule has fewer), drawn
    from each rule's cases in sorted order by one ``random.Random(seed)``, rule by rule
    along the case's path: the same data, selection and seed give the same sample."""
    draw = random.Random(seed)
    chosen: set[tuple[str, str]] = set()
    for rule in path:
        cases = sorted({r.result.case_id for r in rows if r.result.rule == rule.id})
        chosen.update((rule.id, c) for c in (cases if len(cases) <= n else draw.sample(cases, n)))
    return [r for r in rows if (r.result.rule, r.result.case_id) in chosen]


def _row(r: Result, reasons: dict[tuple, Explanation]) -> Row:
    explanation = reasons.get(r.key) if r.is_breach else None
    return Row(r, explanation.reason if explanation else None, explanation.action if explanation else None)


def shown_anchor(rule: Rule, anchor: dt.date) -> dt.date | None:
    """The start date as reports show it: None when the rule's dates give the birth date away."""
    return None if reveals_birth_date(rule) else anchor


def shown_due(rule: Rule, due_on: dt.date) -> dt.date | str:
    """The due date as the listing shows it: the date, or only its month (see the module docstring)."""
    return month_text(due_on) if reveals_birth_date(rule) else due_on


def shown_days_late(rule: Rule, days: int | None) -> int | None:
    """Days late as the listing shows them: None when they would give the due date back."""
    return None if reveals_birth_date(rule) else days


def row_values(report: AuditReport, row: Row) -> list[Any]:
    """One row's cells in :data:`COLUMNS` order, as typed values (dates, ints, bools, text)."""
    x = row.result
    rule = report.rules.get(x.rule)
    return [
        x.case_id, x.unit, x.rule, rule.title, x.basis, x.rule_version, x.confidence, DUTY_LABELS[x.duty], x.subject,
        x.period, x.seq,
        shown_anchor(rule, x.anchor_on), shown_due(rule, x.due_on), x.met_on, STATUS_LABELS[x.status],
        shown_days_late(rule, x.days_late), x.required, x.done,
        x.extension_requested_on, x.extension_granted,
        REASON_LABELS.get(x.extension_reason, x.extension_reason) if x.extension_reason else None,
        x.extension_applied, x.reduction_decided_on, x.reduction_applied, x.reduction_note,
        REASON_LABELS.get(row.reason, row.reason) if row.reason else None, row.action,
    ]


def total_values(t: RuleTotals) -> list[Any]:
    share = f"{100 * t.share_met:.1f}".replace(".", ",") + " %" if t.share_met is not None else ""
    return [t.rule.id, t.rule.title, t.confidence_flag or "V", "/".join(DUTY_LABELS[d] for d in t.duties), t.due,
            t.met, t.late, t.overdue, t.open, share,
            shown_days_late(t.rule, t.days_late_total), t.required, t.done]


def history_values(entry: HistoryEntry) -> list[Any]:
    case_id, rule, subject, period, seq = entry.key
    what = "vurdering" if entry.event == "assessed" else "status"
    return [case_id, rule, subject, period or None, seq, entry.recorded_at.strftime("%Y-%m-%d %H:%M"),
            entry.recorded_by, what, REASON_LABELS.get(entry.reason, entry.reason) if entry.reason else None,
            entry.action, entry.decision, entry.status, entry.note]


def audit_csv(report: AuditReport) -> bytes:
    """Blocks: the header, law and guidance (totals, then rows), the local routines apart,
    the history of the listed breaches."""
    return to_csv([
        [list(m) for m in report.meta()],
        [["Totalt per regel"], list(TOTAL_COLUMNS)] + [total_values(t) for t in report.totals],
        [list(COLUMNS)] + [row_values(report, r) for r in report.rows],
        [[LOCAL_HEADING], list(TOTAL_COLUMNS)] + [total_values(t) for t in report.local_totals],
        [list(COLUMNS)] + [row_values(report, r) for r in report.local_rows],
        [[HISTORY_HEADING], list(HISTORY_COLUMNS)] + [history_values(e) for e in report.history],
    ])


def audit_xlsx(report: AuditReport) -> bytes:
    overview = [list(m) for m in report.meta()] + [[], ["Totalt per regel"], list(TOTAL_COLUMNS)]
    overview += [total_values(t) for t in report.totals]
    overview += [[], [LOCAL_HEADING], list(TOTAL_COLUMNS)] + [total_values(t) for t in report.local_totals]
    listing = [list(COLUMNS)] + [row_values(report, r) for r in report.rows]
    local = [list(COLUMNS)] + [row_values(report, r) for r in report.local_rows]
    past = [list(HISTORY_COLUMNS)] + [history_values(e) for e in report.history]
    return to_xlsx([("Oversikt", overview, len(report.meta()) + 3), ("Frister", listing, 1),
                    ("Lokale rutiner", local, 1), ("Historikk", past, 1)],
                   stamp=report.as_of, title=f"{TITLE} {report.start.isoformat()}–{report.end.isoformat()}")


def audit_html(report: AuditReport, templates_dir: str | Path) -> bytes:
    return render(templates_dir, "audit.html", report=report, title=TITLE, shown_anchor=shown_anchor,
                  local_heading=LOCAL_HEADING, history_heading=HISTORY_HEADING, history_columns=HISTORY_COLUMNS,
                  history_values=history_values).encode("utf-8")

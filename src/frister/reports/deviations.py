"""Deviations (avvik) in the reports: the breaches of a period and how far their follow-up has come.

For the breaches (``late`` or ``overdue`` as of the report's as-of date) due in the
period, per rule in the case's path order and, within a rule, per unit (the unit tree's
rows, a department summing its teams): how many there are, how many have no assessment
recorded, the recorded deviations by follow-up status (open, in progress, closed:
:data:`frister.breaches.service.FOLLOW_UP`), and the recurrences (the same case and
rule broken again within 12 months: :func:`frister.breaches.service.recurring`, where
the earlier breach may be due before the period). Counted from the report's frame, so
the figures agree with the report's other breach counts; the follow-up status is the
one recorded now. frister has no status «closed without repair»: a breach that can no
longer be repaired is closed with the reason in its note, and counts as closed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from frister.breaches.service import FOLLOW_UP, recurring
from frister.calendar import from_day, to_day
from frister.reports.data import Frame, Group
from frister.reports.figures import in_path_order
from frister.rules.model import Rule

COLUMNS = (("breaches", "Fristbrudd"), ("not_assessed", "Uten vurdering"), ("open", "Åpne avvik"),
           ("in_progress", "Under arbeid"), ("closed", "Lukket"), ("recurrences", "Gjentatt innen 12 måneder"))
GLOSSARY = (
    ("Avvik", "Et fristbrudd (fristen er oversittet: gjort for sent eller ikke gjort per datagrunnlagets dato) "
              "med forfall i perioden. Tabellen «Avvik» teller dem per frist og enhet."),
    ("Uten vurdering", "Fristbrudd der ingen årsak og tiltak er registrert (frister breach explain)."),
    ("Åpne avvik", "Fristbrudd med registrert årsak og tiltak der oppfølgingen ikke er påbegynt (status åpen)."),
    ("Under arbeid", "Fristbrudd med registrert årsak og tiltak der oppfølgingen er i gang (status under arbeid)."),
    ("Lukket", "Fristbrudd der oppfølgingen er avsluttet med et notat: hva som ble gjort, eller hvorfor bruddet "
               "ikke kan rettes opp (for eksempel en tilbakemelding som aldri ble sendt). Et lukket avvik er "
               "fortsatt et fristbrudd. Statusen er den som er registrert nå."),
    ("Gjentatt innen 12 måneder", "Fristbrudd i samme sak og for samme frist som et tidligere fristbrudd med "
                                  "forfall høyst 12 måneder før (det tidligere kan ligge før perioden); telles "
                                  "ved det siste bruddet."),
)


@dataclass(frozen=True, slots=True)
class Counts:
    breaches: int = 0
    not_assessed: int = 0
    open: int = 0
    in_progress: int = 0
    closed: int = 0
    recurrences: int = 0

    def values(self) -> list[int]:
        return [getattr(self, key) for key, _ in COLUMNS]

    def as_json(self) -> dict[str, int]:
        return {key: getattr(self, key) for key, _ in COLUMNS}


@dataclass(frozen=True, slots=True)
class RuleDeviations:
    """One rule's deviations: in total and per unit row (only rows with a breach)."""

    rule: Rule
    total: Counts
    units: list[tuple[Group, Counts]]


@dataclass(frozen=True, slots=True)
class Deviations:
    start: dt.date
    end: dt.date
    total: Counts
    rules: list[RuleDeviations]  # only rules with a breach in the period

    @property
    def labels(self) -> list[str]:
        return [label for _, label in COLUMNS]


def recurrences(f: Frame) -> np.ndarray:
    """Per obligation of ``f``: a breach that recurs (see the module docstring)."""
    empty = np.zeros(0, dtype=np.int64)
    earlier = {name: f.earlier.get(name, empty) for name in ("case", "rule", "due")}
    # The frame's breaches due before its window (met in it) are in ``earlier`` already: each once.
    inside = np.nonzero(f.breaches() & (f.due >= to_day(f.start)))[0]
    rows = [(int(f.case[i]), str(f.rule[i]), from_day(f.due[i])) for i in inside]
    rows += [(int(c), str(r), from_day(d)) for c, r, d in zip(earlier["case"], earlier["rule"], earlier["due"])]
    out = np.zeros(len(f), dtype=bool)
    out[inside] = recurring(rows)[:len(inside)]
    return out


def _counts(f: Frame, mask: np.ndarray, again: np.ndarray) -> Counts:
    m = mask & f.breaches()
    status = f.follow_up[m]
    return Counts(breaches=int(m.sum()), not_assessed=int((status < 0).sum()),
                  **{s: int((status == FOLLOW_UP.index(s)).sum()) for s in FOLLOW_UP},
                  recurrences=int((m & again).sum()))


def deviations(f: Frame, start: dt.date, end: dt.date, unit_rows: list[Group],
               again: np.ndarray | None = None) -> Deviations:
    """The deviations of the breaches due in ``[start, end]`` (see the module docstring);
    ``again`` is :func:`recurrences` of ``f`` when already known."""
    due = f.due_between(start, end)
    again = recurrences(f) if again is None else again
    rules = []
    for i, rule in in_path_order(f.rules):
        mine = due & (f.rule == i)
        total = _counts(f, mine, again)
        if not total.breaches:
            continue
        units = [(g, c) for g in unit_rows if (c := _counts(f, mine & f.of(g), again)).breaches]
        rules.append(RuleDeviations(rule, total, units))
    return Deviations(start, end, _counts(f, due, again), rules)


def as_json(d: Deviations) -> dict:
    """``{"start", "end", "total", "rules": [{"rule", "title", "total", "units": [{"unit", "name", "depth", counts}]}]}``."""
    return {"start": d.start, "end": d.end, "total": d.total.as_json(),
            "rules": [{"rule": r.rule.id, "title": r.rule.title, "total": r.total.as_json(),
                       "units": [{"unit": g.key, "name": g.name, "depth": g.depth, **c.as_json()} for g, c in r.units]}
                      for r in d.rules]}


def sheet_rows(d: Deviations) -> list[list]:
    """The XLSX sheet «Avvik»: a header, then per rule its total and its units, numbers as numbers."""
    rows: list[list] = [["Frist", "Enhet"] + [label for _, label in COLUMNS]]
    for r in d.rules:
        rows.append([r.rule.title, "Totalt"] + r.total.values())
        rows += [[r.rule.title, g.name] + c.values() for g, c in r.units]
    rows.append(["Alle frister", "Totalt"] + d.total.values())
    return rows

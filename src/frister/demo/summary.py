"""The evaluation summary printed by ``frister demo``: per rule, then the most overdue."""

from __future__ import annotations

import datetime as dt

from rich.console import Console
from rich.table import Table
from sqlalchemy import Connection, func, select

from frister.engine.results import STATUSES
from frister.evaluation.models import Obligation
from frister.evaluation.service import count_obligations
from frister.facts.vocabulary import SUBJECTS
from frister.rules.model import RuleSet


def _in_case_order(rules: RuleSet) -> list:
    """Rules in the order a case meets them: referral, investigation, measures, …, aftercare."""
    order = {name: i for i, name in enumerate(SUBJECTS)}
    return sorted(rules, key=lambda r: (order[r.subject], r.id))


def print_summary(conn: Connection, rules: RuleSet, as_of: dt.date, console: Console | None = None, top: int = 10) -> None:
    console = console or Console(width=160)
    # Met obligations are not stored (only what needs attention or was broken), so the
    # counts come from evaluating the stored facts as of the date.
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for (rule, duty, status), n in count_obligations(conn, rules, as_of, by_duty=True).items():
        counts.setdefault((rule, duty), {})[status] = n
    for duty, heading in (("law", "lovkrav"), ("guidance", "retningslinjer (ikke lov)"),
                          ("local", "tjenestens egne rutiner (ikke lovkrav)")):
        table = Table(title=f"Frister per {as_of.isoformat()}: {heading}", title_justify="left")
        table.add_column("Regel")
        table.add_column("Hjemmel (gjeldende)")
        for label in ("overholdt", "for sent", "åpen", "forfalt", "ikke vurdert", "overholdt %"):
            table.add_column(label, justify="right")
        for rule in _in_case_order(rules):
            c = counts.get((rule.id, duty))
            if c is None:
                continue
            done = c.get("met", 0) + c.get("late", 0) + c.get("overdue", 0)
            share = f"{100 * c.get('met', 0) / done:.1f}" if done else "–"
            current = next((v for v in reversed(rule.versions) if v.duty == duty), rule.versions[-1])
            conf = "" if current.confidence == "V" else f" [{current.confidence}]"
            table.add_row(rule.title, current.basis + conf, *(str(c.get(s, 0)) for s in STATUSES[:4]),
                          str(c.get("not_evaluated", 0)), share)
        if table.row_count:
            console.print(table)
    console.print("Konfidens: [S] bare sekundærkilde, [U] ikke verifisert. «Forfalt» = fristen er ute og kravet ikke "
                  "oppfylt. «Ikke vurdert» = kilden leverer ikke opplysningen, eller historikken er ikke komplett.")

    soon = conn.execute(
        select(func.count()).select_from(Obligation)
        .where(Obligation.status == "open", Obligation.due_on <= as_of + dt.timedelta(days=14))
    ).scalar_one()
    console.print(f"\n{soon} åpne frister forfaller innen 14 dager.")

    worst = conn.execute(
        select(Obligation.case_id, Obligation.unit, Obligation.rule, Obligation.subject, Obligation.period,
               Obligation.due_on)
        .where(Obligation.status == "overdue", Obligation.due_on >= as_of - dt.timedelta(days=365))
        .order_by(Obligation.due_on, Obligation.case_id, Obligation.rule).limit(top)
    ).all()
    titles = {r.id: r.title for r in rules}
    t2 = Table(title=f"Mest forfalte frister siste 12 måneder (topp {top})", title_justify="left")
    for col in ("Sak", "Enhet", "Frist", "Gjelder", "Periode", "Forfalt", "Dager over"):
        t2.add_column(col)
    for case_id, unit, rule, subject, period, due_on in worst:
        t2.add_row(case_id, unit, titles.get(rule, rule), subject, period or "", due_on.isoformat(),
                   str((as_of - due_on).days))
    console.print(t2)


def print_units(conn: Connection, rules: RuleSet, as_of: dt.date, organisation, console: Console | None = None) -> None:
    """Per unit of the organisation's tree: active cases, caseworkers, open and overdue
    deadlines held (each step credited to the unit that held it)."""
    from frister.caseload import caseload
    from frister.organisation import units_in_tree_order

    console = console or Console(width=160)
    made = caseload(conn, rules, as_of, organisation)
    seen = {u for u, _ in made.active} | {u for u, _ in made.open_deadlines}
    table = Table(title=f"Saksmengde og frister per enhet {as_of.isoformat()} (hvert steg hos enheten som hadde det)",
                  title_justify="left")
    for label in ("Enhet", "Aktive saker", "Saksbehandlere", "Saker per saksbehandler", "Åpne frister",
                  "Forfalt"):
        table.add_column(label, justify="left" if label == "Enhet" else "right")
    for unit in units_in_tree_order(organisation, seen):
        below = organisation.below(unit.code) if organisation else [unit.code]
        active = made.unit_active.get(unit.code, [0])[-1]
        workers = len([k for k in made.caseworkers(below) if k[1]])
        table.add_row("  " * unit.depth + unit.name, str(active), str(workers),
                      f"{active / workers:.1f}".replace(".", ",") if workers else "–",
                      str(made.unit_deadlines(below)), str(made.unit_deadlines(below, "overdue")))
    table.add_row("Hele tjenesten", str(made.total[-1]), "", "", str(sum(made.open_deadlines.values())),
                  str(sum(made.overdue.values())))
    console.print(table)

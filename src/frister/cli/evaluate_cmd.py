"""``frister evaluate``: every deadline and visit period as of a date."""

from __future__ import annotations

import json
import sys

import click

from frister.cli.common import CASE_REF, DATE, TEXT, App, pass_app, print_table, today
from frister.engine.results import STATUSES


def register(group: click.Group) -> None:
    group.add_command(evaluate)


@click.command()
@click.option("--as-of", type=DATE, default=None, help="Evaluate as of this date (default: today).")
@click.option("--case", "cases", type=CASE_REF, multiple=True, help="Only this case (repeatable). Not stored.")
@click.option("--rule", "rules", multiple=True, type=TEXT, help="Only show this rule (repeatable).")
@click.option("--status", "statuses", multiple=True, type=click.Choice(STATUSES), help="Only show this status (repeatable).")
@click.option("--unit", "units", multiple=True, type=TEXT, help="Only what this unit held (repeatable).")
@click.option("--caseworker", "caseworkers", multiple=True, type=TEXT, help="Only what this caseworker held (repeatable).")
@click.option("--municipality", "municipalities", multiple=True, type=TEXT, help="Only cases of this municipality (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "summary"]), default="table", show_default=True,
              help="summary: obligations per rule and status, without listing them (fast at any size).")
@click.option("--no-store", is_flag=True, help="Do not store the results as a run.")
@pass_app
def evaluate(app: App, as_of, cases, rules, statuses, fmt, no_store, units, caseworkers, municipalities) -> None:
    """Evaluate the stored cases and show the obligations.

    Without --case every case is evaluated and the results are stored as a run
    (obligations table), which escalation and reports read.
    """
    from frister.evaluation.service import results_for, run_evaluation

    as_of = as_of or today()
    rule_set = app.rules()
    unknown = sorted(set(rules) - {r.id for r in rule_set})
    if unknown:
        raise click.BadParameter(f"unknown rule(s): {', '.join(unknown)}", param_hint="--rule")
    engine = app.ready_engine()
    if units or caseworkers:
        _known_holders(engine, units, caseworkers)
    shown = []

    def keep(r) -> bool:
        return ((not rules or r.rule in rules) and (not statuses or r.status in statuses)
                and (not units or r.unit in units) and (not caseworkers or r.caseworker in caseworkers)
                and (not municipalities or r.municipality in municipalities))

    if fmt == "summary":
        _summary(app, engine, rule_set, as_of, cases, rules, statuses, no_store)
        return
    out = _JsonArray(sys.stdout) if fmt == "json" else None

    def on_result(r) -> None:
        if keep(r):
            if out is not None:
                out.write(r.to_json())
            else:
                shown.append(r)

    summary = None if cases or no_store else run_evaluation(engine, rule_set, as_of)
    with engine.connect() as conn:
        for r in results_for(conn, rule_set, as_of, list(cases) if cases else None):
            on_result(r)
    if out is not None:
        out.close()
        return
    _print_table(shown, as_of)
    if summary is not None:
        click.echo(f"run {summary.run_id}: {summary.line()}", err=True)


def _known_holders(engine, units, caseworkers) -> None:
    """An unknown unit or caseworker is an error, not an empty listing."""
    from frister.store.facts import holders

    with engine.connect() as conn:
        known_units, known_caseworkers = holders(conn)
    for option, asked, known in (("--unit", units, known_units), ("--caseworker", caseworkers, known_caseworkers)):
        unknown = sorted(set(asked) - known)
        if unknown:
            raise click.BadParameter(f"not in the data: {', '.join(unknown)}", param_hint=option)


def _summary(app: App, engine, rule_set, as_of, cases, rules, statuses, no_store) -> None:
    """Counts only, from the columnar evaluator: nothing per obligation is built or printed."""
    from frister.evaluation.service import count_obligations, run_evaluation

    if cases:
        raise click.UsageError("--format summary counts every case; leave out --case")
    if no_store:
        with engine.connect() as conn:
            counts = count_obligations(conn, rule_set, as_of)
        click.echo(f"obligations as of {as_of.isoformat()} (not stored):")
        width = max(len(r.id) for r in rule_set)
        click.echo(f"  {'rule':<{width}}  " + "  ".join(f"{s:>9}" for s in STATUSES))
        for rule in rule_set:
            if not rules or rule.id in rules:
                row = [counts.get((rule.id, s), 0) for s in STATUSES]
                click.echo(f"  {rule.id:<{width}}  " + "  ".join(
                    f"{n if not statuses or s in statuses else '':>9}" for s, n in zip(STATUSES, row)))
        total = {s: sum(n for (r, st), n in counts.items() if st == s) for s in STATUSES}
        click.echo(f"  {'total':<{width}}  " + "  ".join(f"{total[s]:>9}" for s in STATUSES))
        return
    summary = run_evaluation(engine, rule_set, as_of)
    click.echo(f"run {summary.run_id}: {summary.line()}")


class _JsonArray:
    """Writes one JSON array incrementally (the output can be large)."""

    def __init__(self, stream):
        self.stream = stream
        self.first = True
        stream.write("[")

    def write(self, obj: dict) -> None:
        self.stream.write(("\n" if self.first else ",\n") + json.dumps(obj, ensure_ascii=False))
        self.first = False

    def close(self) -> None:
        self.stream.write("\n]\n" if not self.first else "]\n")
        self.stream.flush()


def _print_table(results, as_of) -> None:
    from rich.text import Text

    style = {"met": "green", "late": "yellow", "open": "cyan", "overdue": "bold red", "not_evaluated": "dim"}
    print_table(
        f"Obligations as of {as_of.isoformat()} ({len(results)})",
        ("case", "rule", "subject", "period", "due", "met", "status", "days late", "done/req", "version"),
        ([r.case_id, r.rule, r.subject, r.period, r.due_on.isoformat(), r.met_on.isoformat() if r.met_on else None,
          Text(r.status, style=style[r.status]), r.days_late or None,
          f"{r.done}/{r.required}" if r.required is not None else None, r.rule_version] for r in results),
    )

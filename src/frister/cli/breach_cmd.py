"""``frister breach``: the breach register (list, explain, import reasons)."""

from __future__ import annotations

import datetime as dt

import click

from frister.cli.common import CASE_REF, TEXT, App, pass_app, print_table
from frister.facts.contract import REASON_CODES, REASON_LABELS


def register(group: click.Group) -> None:
    group.add_command(breach)


@click.group()
def breach() -> None:
    """Breaches (late or overdue obligations) and their reasons."""


@breach.command("list")
@click.option("--unit", default=None, type=TEXT, help="Only this unit.")
@click.option("--rule", default=None, type=TEXT, help="Only this rule id.")
@click.option("--unexplained", is_flag=True, help="Only breaches without a reason.")
@pass_app
def list_cmd(app: App, unit, rule, unexplained) -> None:
    """List the breaches of the latest evaluation with their reasons."""
    from frister.breaches import list_breaches

    with app.ready_engine().connect() as conn:
        rows = list_breaches(conn, unit=unit, rule=rule, unexplained=unexplained)
    print_table(
        f"Breaches ({len(rows)})",
        ("case", "unit", "rule", "subject", "period", "seq", "due", "met", "status", "days late", "reason", "action"),
        ([r.key.case_id, r.unit, r.key.rule, r.key.subject, r.key.period, r.key.seq, r.due_on.isoformat(),
          r.met_on.isoformat() if r.met_on else None, r.status, r.days_late, r.reason, r.action] for r in rows),
        wrap=("action",),
    )


@breach.command("explain")
@click.argument("case_id", type=CASE_REF)
@click.argument("rule", type=TEXT)
@click.argument("subject", type=TEXT)
@click.option("--period", default=None, type=TEXT, help="The visit period (2025-H1, 2025-Q3) for visit rules.")
@click.option("--seq", type=click.IntRange(min=1), default=None, help="Which evaluation of a rolling rule (1, 2, …).")
@click.option("--reason", required=True, type=click.Choice(REASON_CODES),
              help="; ".join(f"{c}: {REASON_LABELS[c]}" for c in REASON_CODES))
@click.option("--action", required=True, type=TEXT, help="The corrective action (free text; shown in reports, never e-mailed).")
@click.option("--by", "by", default=None, type=TEXT, help="Who explains (a user code).")
@pass_app
def explain_cmd(app: App, case_id, rule, subject, period, seq, reason, action, by) -> None:
    """Record the reason and corrective action for one breach."""
    from frister.breaches.service import BreachKey, explain, resolve_key

    with app.ready_engine().begin() as conn:
        key = resolve_key(conn, case_id, rule, subject, period, seq)
        explain(conn, BreachKey(key.case_id, key.rule, key.subject, key.period, key.seq), reason, action,
                at=dt.datetime.now(dt.timezone.utc), by=by)
    click.echo(f"explained {key}: {reason}")


@breach.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@pass_app
def import_cmd(app: App, path) -> None:
    """Import reasons from a CSV or JSONL file (all or nothing).

    Columns/keys: case_id, rule, subject, period (visit periods), seq (default 1),
    reason (a reason code), action, explained_by (optional).
    """
    from frister.breaches import import_reasons

    with app.ready_engine().begin() as conn:
        n = import_reasons(conn, path, at=dt.datetime.now(dt.timezone.utc))
    click.echo(f"imported {n} reason(s)")

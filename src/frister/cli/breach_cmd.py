"""``frister breach``: the breach register (list, explain before or after the breach,
acknowledge a stage's notices, follow a deviation to closure, import reasons)."""

from __future__ import annotations

import datetime as dt

import click

from frister.cli.common import CASE_REF, DATE, TEXT, App, pass_app, print_table
from frister.breaches.service import DECISIONS, FOLLOW_UP
from frister.facts.contract import REASON_CODES, REASON_LABELS


def register(group: click.Group) -> None:
    group.add_command(breach)


@click.group()
def breach() -> None:
    """Breaches (late or overdue obligations), assessments and their follow-up."""


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
        ("case", "unit", "rule", "subject", "period", "seq", "due", "met", "status", "days late", "reason", "action",
         "follow-up"),
        ([r.key.case_id, r.unit, r.key.rule, r.key.subject, r.key.period, r.key.seq, r.due_on.isoformat(),
          r.met_on.isoformat() if r.met_on else None, r.status, r.days_late, r.reason, r.action, r.follow_up]
         for r in rows),
        wrap=("action",),
    )


def _key_options(f):
    for option in reversed((
        click.argument("case_id", type=CASE_REF), click.argument("rule", type=TEXT),
        click.argument("subject", type=TEXT),
        click.option("--period", default=None, type=TEXT, help="The visit period (2025-H1, 2025-Q3) for visit rules."),
        click.option("--seq", type=click.IntRange(min=1), default=None,
                     help="Which evaluation of a rolling rule (1, 2, …)."),
    )):
        f = option(f)
    return f


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _login() -> str:
    """Who runs the command, as the history's author when ``--by`` is not given."""
    import getpass

    return getpass.getuser()


@breach.command("explain")
@_key_options
@click.option("--reason", required=True, type=click.Choice(REASON_CODES),
              help="; ".join(f"{c}: {REASON_LABELS[c]}" for c in REASON_CODES))
@click.option("--action", required=True, type=TEXT, help="The corrective action (free text; shown in reports, never e-mailed).")
@click.option("--decision", type=click.Choice(sorted(DECISIONS)), default=None,
              help="The decision taken: extension (of an investigation, decided before its deadline).")
@click.option("--owner", type=TEXT, default=None, help="Who follows the deviation up (a user code).")
@click.option("--follow-up-by", "follow_up_by", type=DATE, default=None, help="When the action is due (YYYY-MM-DD).")
@click.option("--by", "by", default=None, type=TEXT, help="Who records it (a user code; default: your login name).")
@pass_app
def explain_cmd(app: App, case_id, rule, subject, period, seq, reason, action, decision, owner, follow_up_by,
                by) -> None:
    """Record the cause, corrective action and decision for a deadline: before its
    breach (an open deadline: the assessment the warning e-mails ask for) or after it
    (its explanation)."""
    from frister.breaches.service import ASSESSABLE, explain, resolve_key

    with app.ready_engine().begin() as conn:
        key = resolve_key(conn, case_id, rule, subject, period, seq, accept=ASSESSABLE)
        status = explain(conn, key, reason, action, at=_now(), by=by or _login(), decision=decision, owner=owner,
                         follow_up_by=follow_up_by)
    click.echo(f"{'assessed' if status == 'open' else 'explained'} {key}: {reason}")
    if decision == "extension" and status != "open":
        click.echo("warning: the deadline has passed; an extension decided after it does not cure the breach",
                   err=True)


@breach.command("ack")
@_key_options
@click.option("--stage", required=True, type=TEXT, help="The stage acknowledged (reminder, warning, breach, …).")
@click.option("--by", "by", required=True, type=TEXT, help="Who acknowledges (a user code).")
@click.option("--note", default=None, type=TEXT, help="What was done (free text; never e-mailed).")
@click.option("--withdraw", is_flag=True, help="Withdraw the acknowledgement: the stage repeats again.")
@pass_app
def ack_cmd(app: App, case_id, rule, subject, period, seq, stage, by, note, withdraw) -> None:
    """Acknowledge a stage's notices for a deadline: that stage is not repeated (the
    next stage still fires). With --withdraw, take it back: the stage repeats again.
    Both are recorded in the breach history with who, when and the note."""
    from frister.breaches.service import ASSESSABLE, acknowledge, resolve_key, withdraw_acknowledgement

    with app.ready_engine().begin() as conn:
        key = resolve_key(conn, case_id, rule, subject, period, seq, accept=ASSESSABLE)
        if withdraw:
            withdraw_acknowledgement(conn, key, stage, at=_now(), by=by, note=note)
        else:
            acknowledge(conn, key, stage, at=_now(), by=by, note=note)
    click.echo(f"{'withdrew the acknowledgement of' if withdraw else 'acknowledged'} {stage} of {key}")


@breach.command("status")
@_key_options
@click.argument("status", type=click.Choice(FOLLOW_UP))
@click.option("--note", default=None, type=TEXT, help="What was done, or why it cannot be repaired (needed to close).")
@click.option("--by", "by", default=None, type=TEXT, help="Who records it (a user code; default: your login name).")
@pass_app
def status_cmd(app: App, case_id, rule, subject, period, seq, status, note, by) -> None:
    """Move a deviation's follow-up to open, in_progress or closed. A closed one gets
    no more notices and leaves the worklists; the audit listing keeps the breach."""
    from frister.breaches.service import resolve_key, set_status

    with app.ready_engine().begin() as conn:
        key = resolve_key(conn, case_id, rule, subject, period, seq)
        set_status(conn, key, status, at=_now(), by=by or _login(), note=note)
    click.echo(f"{key}: {status}")


@breach.command("deviations")
@pass_app
def deviations_cmd(app: App) -> None:
    """Count the deviations of the latest evaluation by rule, unit and follow-up status,
    and the breaches that recur (same case and rule within 12 months)."""
    from frister.breaches.service import deviation_counts

    with app.ready_engine().connect() as conn:
        counts = deviation_counts(conn)
    print_table("Deviations", ("rule", "unit", *FOLLOW_UP, "recurrences"),
                ([rule, unit, *(c[s] for s in (*FOLLOW_UP, "recurrences"))] for (rule, unit), c in sorted(counts.items())))


@breach.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@pass_app
def import_cmd(app: App, path) -> None:
    """Import reasons from a CSV or JSONL file (all or nothing).

    Columns/keys: case_id, rule, subject, period (visit periods), seq (default 1),
    reason (a reason code), action, explained_by (default: your login name).
    """
    from frister.breaches import import_reasons

    with app.ready_engine().begin() as conn:
        n = import_reasons(conn, path, at=_now(), by=_login())
    click.echo(f"imported {n} reason(s)")

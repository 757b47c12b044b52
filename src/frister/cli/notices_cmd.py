"""``frister notices``: the notices not delivered, and requeueing them (see
:mod:`frister.escalation.backlog`)."""

from __future__ import annotations

import datetime as dt

import click

from frister.cli.common import App, pass_app, print_table


def register(group: click.Group) -> None:
    group.add_command(notices)


@click.group(invoke_without_command=True)
@click.option("--status", "shown", type=click.Choice(["waiting", "dead"]), default="waiting", show_default=True,
              help="waiting: not delivered yet (pending, being sent, or uncertain: perhaps delivered); "
                   "dead: given up.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=200, show_default=True,
              help="Show at most this many, oldest first.")
@click.pass_context
def notices(ctx: click.Context, shown: str, limit: int) -> None:
    """List the notices not delivered: case reference, rule, stage, recipient role,
    attempts and the last error (never an address or other personal data)."""
    if ctx.invoked_subcommand is not None:
        return
    from frister.clock import local_text
    from frister.escalation.backlog import list_notices

    app = ctx.ensure_object(App)
    with app.ready_engine().connect() as conn:
        rows, total = list_notices(conn, shown, limit)
    if not rows:
        click.echo(f"no {shown} notices")
        return
    print_table(
        f"{total} {shown} notice(s)" + (f", the oldest {len(rows)}" if total > len(rows) else ""),
        ("id", "status", "case", "rule", "stage", "role", "attempts", "created (Oslo)", "next try (Oslo)",
         "last error"),
        ([r.id, r.status, r.case_id, r.rule, r.stage, r.role, r.attempts, local_text(r.created_at),
          local_text(r.next_attempt_at) if r.next_attempt_at else None, r.last_error] for r in rows),
        wrap=("last error",),
    )


@notices.command()
@click.argument("ids", nargs=-1, type=click.IntRange(1, 2**62))
@click.option("--all-dead", is_flag=True, help="Every dead notice.")
@pass_app
def resend(app: App, ids: tuple[int, ...], all_dead: bool) -> None:
    """Requeue notices after the cause is fixed: the given dead or waiting ones, or
    --all-dead. The next run sends them ('frister run' sends them now).

    A dead notice gets a fresh round of attempts. One whose e-mail may have been
    delivered (an uncertain send) is resent as that e-mail, under the same Message-ID.
    --all-dead also requeues the dead unit mails (visit plan, weekly worklist).
    Every requeue is recorded among the delivery attempts."""
    from frister.escalation.backlog import requeue
    from frister.escalation.unit_mails import requeue_dead_unit_mails

    if bool(ids) == all_dead:
        raise click.UsageError("give notice ids or --all-dead (not both)")
    now = dt.datetime.now(dt.timezone.utc)
    with app.ready_engine().begin() as conn:
        done = requeue(conn, None if all_dead else ids, now)
        mails = requeue_dead_unit_mails(conn, now) if all_dead else 0
    total = done.pending + done.uncertain
    click.echo(f"requeued {total} notice(s)" + (
        f" ({done.uncertain} to be resent as the e-mail they were in)" if done.uncertain else "")
        + (f" and {mails} unit mail(s)" if mails else "")
        + ("; the next run sends them" if total or mails else ""))

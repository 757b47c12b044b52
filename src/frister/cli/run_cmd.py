"""``frister run``, ``frister runs``, ``frister health``: the nightly job and its monitoring."""

from __future__ import annotations

import datetime as dt
import re
import sys

import click

from frister.cli.common import DATE, App, pass_app, today


def register(group: click.Group) -> None:
    group.add_command(run)
    group.add_command(runs)
    group.add_command(health)


@click.command()
@click.option("--as-of", type=DATE, default=None, help="Run as of this date (default: today).")
@click.option("--transport", type=click.Choice(["smtp", "console"]), default=None,
              help="smtp (default; needs FRISTER_SMTP_* settings) or console (print the e-mails).")
@click.option("--quiet", is_flag=True, help="Console transport: do not print the e-mails.")
@pass_app
def run(app: App, as_of, transport, quiet) -> None:
    """One night: evaluate, store, create the escalation notices that are due, send them.

    Only one run or import works at a time; a run waits for another one up to
    FRISTER_LOCK_WAIT_SECONDS (default 600), then exits with status 75 and a message.
    Ends with one summary line.
    """
    from frister.nightly.run import load_config, nightly_run
    from frister.notify.transport import ConsoleTransport, make_transport

    as_of = as_of or today()
    rules = app.rules()
    # Settings first: without SMTP settings (and without --transport console) refuse to start.
    channel = ConsoleTransport(quiet=quiet) if transport == "console" else make_transport(transport, app.settings)
    config = load_config(app.settings, rules, transport or "smtp")
    lock_wait = app.settings.lock_wait
    engine = app.ready_engine()
    report = nightly_run(engine, rules, config, channel, as_of, lock_wait=lock_wait)
    click.echo(report.line())


@click.command()
@click.option("--limit", default=10, show_default=True, help="How many runs to show.")
@pass_app
def runs(app: App, limit: int) -> None:
    """List the most recent nightly runs with their counts."""
    from sqlalchemy import select

    from frister.nightly.models import NightlyRun

    engine = app.ready_engine()
    with engine.connect() as conn:
        rows = conn.execute(select(NightlyRun.__table__).order_by(NightlyRun.id.desc()).limit(limit)).all()
    if not rows:
        click.echo("no nightly runs yet")
        return
    click.echo(f"{'id':>5}  {'as of':10}  {'started (UTC)':19}  {'status':11}  {'transport':9}  "
               f"{'oblig.':>7}  {'created':>7}  {'existing':>8}  {'sent':>6}  {'retrying':>8}  {'dead':>5}")
    for r in rows:
        started = _utc(r.started_at).strftime("%Y-%m-%d %H:%M:%S")
        click.echo(f"{r.id:>5}  {r.as_of.isoformat():10}  {started:19}  {r.status:11}  {r.transport:9}  "
                   f"{r.obligations:>7}  {r.notices_created:>7}  {r.notices_existing:>8}  {r.sent:>6}  "
                   f"{r.retrying:>8}  {r.dead:>5}")
        if r.error and r.status != "succeeded":
            click.echo(f"       error: {r.error.splitlines()[0]}")


def parse_age(text: str) -> dt.timedelta:
    """``26h``, ``90m``, ``2d`` or a combination such as ``1d6h``."""
    m = re.fullmatch(r"\s*(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*", text or "")
    if not m or not any(m.groups()):
        raise click.BadParameter("expected an age such as 26h, 90m, 2d or 1d6h", param_hint="--max-age")
    d, h, mi = (int(x) if x else 0 for x in m.groups())
    return dt.timedelta(days=d, hours=h, minutes=mi)


@click.command()
@click.option("--max-age", default="26h", show_default=True,
              help="Unhealthy when the last successful run finished longer ago than this (e.g. 26h, 2d).")
@pass_app
def health(app: App, max_age: str) -> None:
    """Exit 0 when the last successful nightly run is recent enough, 1 otherwise (for monitoring).

    Also warns (on standard error, whatever the exit status) when a SQLite database file
    can be read or written by its group or others."""
    from sqlalchemy import distinct, func, select

    from frister.db.engine import sqlite_files_open_to_others
    from frister.nightly.models import NightlyRun
    from frister.store.tables import case_changes

    limit = parse_age(max_age)
    engine = app.ready_engine()
    for path, mode in sqlite_files_open_to_others(engine):
        click.echo(f"warning: {path} is open to its group or others (mode {mode:04o}); "
                   f"run 'chmod 600 {path}' and set UMask=0077 (deploy/README.md)", err=True)
    with engine.connect() as conn:
        last = conn.execute(
            select(NightlyRun.id, NightlyRun.as_of, NightlyRun.finished_at)
            .where(NightlyRun.status == "succeeded").order_by(NightlyRun.finished_at.desc()).limit(1)
        ).first()
        latest = conn.execute(select(NightlyRun.id, NightlyRun.status).order_by(NightlyRun.id.desc()).limit(1)).first()
        waiting = conn.execute(select(func.count(distinct(case_changes.c.case_id)))).scalar_one()
    now = dt.datetime.now(dt.timezone.utc)
    if last is None:
        click.echo("UNHEALTHY: no successful nightly run recorded")
        sys.exit(1)
    age = now - _utc(last.finished_at)
    hours = age.total_seconds() / 3600
    note = f" (latest run {latest.id}: {latest.status})" if latest is not None and latest.id != last.id else ""
    if age > limit:
        click.echo(f"UNHEALTHY: last successful run {last.id} (as of {last.as_of.isoformat()}) "
                   f"finished {hours:.1f} h ago, more than {max_age}{note}")
        sys.exit(1)
    click.echo(f"OK: last successful run {last.id} (as of {last.as_of.isoformat()}) finished {hours:.1f} h ago{note}")
    # Informational: imports since the last run (the next run re-evaluates these cases).
    click.echo(f"{waiting} changed case(s) waiting for the next run")


def _utc(moment: dt.datetime) -> dt.datetime:
    """SQLite returns naive datetimes; frister stores UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)

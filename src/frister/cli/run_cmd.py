"""``frister run``, ``frister runs``, ``frister health``: the nightly job and its monitoring."""

from __future__ import annotations

import datetime as dt
import re
import sys

import click

from frister.cli.common import DATE, App, pass_app, today

DEGRADED = 3  # the exit status of a night whose notices were not all delivered
DEFAULT_GRACE = "2h"


def register(group: click.Group) -> None:
    group.add_command(run)
    group.add_command(runs)
    group.add_command(health)
    group.add_command(metrics)


@click.command()
@click.option("--as-of", type=DATE, default=None, help="Run as of this date (default: today).")
@click.option("--transport", type=click.Choice(["smtp", "console"]), default=None,
              help="smtp (default; needs FRISTER_SMTP_* settings) or console (print the e-mails).")
@click.option("--quiet", is_flag=True, help="Console transport: do not print the e-mails.")
@pass_app
def run(app: App, as_of, transport, quiet) -> None:
    """One night: evaluate, store, create the escalation notices that are due, send them.

    Only one run or import works at a time; a run waits for another one up to
    FRISTER_LOCK_WAIT_SECONDS (default 600). With delivery.retry_until in the ladder,
    e-mails that fail for now are retried within the night until then. With
    FRISTER_PING_URL, pings <url>/start, then <url> or <url>/fail (degraded or failed).
    Ends with one summary line.

    \b
    Exit status:
      0   succeeded: every notice due was delivered
      3   degraded: the night ran, but notices could not all be delivered
          (they wait or are dead: frister notices --status waiting|dead)
      75  another run or import still held the lock (this one did not start)
      2   an error (message on standard error)
    """
    from frister.nightly.run import load_config, nightly_run
    from frister.notify.ping import Ping
    from frister.notify.transport import ConsoleTransport, make_transport

    as_of = as_of or today()
    rules = app.rules()
    # Settings first: without SMTP settings (and without --transport console) refuse to start.
    channel = ConsoleTransport(quiet=quiet) if transport == "console" else make_transport(transport, app.settings)
    config = load_config(app.settings, rules, transport or "smtp")
    ping = Ping.from_settings(app.settings)
    engine = app.ready_engine()
    report = nightly_run(engine, rules, config, channel, as_of, ping=ping, lock_wait=app.settings.lock_wait)
    click.echo(report.line())
    if report.degraded:
        click.echo(f"warning: {report.degraded_line()}", err=True)
        sys.exit(DEGRADED)


@click.command()
@click.option("--limit", type=click.IntRange(1, 10_000), default=10, show_default=True,
              help="How many runs to show.")
@pass_app
def runs(app: App, limit: int) -> None:
    """List the most recent nightly runs: start (Europe/Oslo), duration, status, and the
    notices created, delivered, left waiting in the outbox and dead."""
    from sqlalchemy import select

    from frister.clock import local_text, utc
    from frister.nightly.models import NightlyRun

    engine = app.ready_engine()
    with engine.connect() as conn:
        rows = conn.execute(select(NightlyRun.__table__).order_by(NightlyRun.id.desc()).limit(limit)).all()
    if not rows:
        click.echo("no nightly runs yet")
        return
    click.echo(f"{'id':>5}  {'as of':10}  {'started (Oslo)':16}  {'duration':>8}  {'status':11}  {'transport':9}  "
               f"{'oblig.':>7}  {'created':>7}  {'delivered':>9}  {'waiting':>7}  {'dead':>5}")
    for r in rows:
        took = duration(utc(r.finished_at) - utc(r.started_at)) if r.finished_at else "-"
        click.echo(f"{r.id:>5}  {r.as_of.isoformat():10}  {local_text(r.started_at):16}  {took:>8}  {r.status:11}  "
                   f"{r.transport:9}  {r.obligations:>7}  {r.notices_created:>7}  {r.sent:>9}  {r.waiting:>7}  "
                   f"{r.dead:>5}")
        if r.error and r.status not in ("succeeded", "degraded"):
            click.echo(f"       error: {r.error.splitlines()[0]}")


def duration(span: dt.timedelta) -> str:
    """``42s``, ``4m05s``, ``2h03m``."""
    seconds = max(int(span.total_seconds()), 0)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


MAX_AGE_DAYS = 3650


def parse_age(text: str, option: str = "--max-age") -> dt.timedelta:
    """``26h``, ``90m``, ``2d`` or a combination such as ``1d6h``; at most ten years."""
    m = re.fullmatch(r"\s*(?:(\d{1,9})d)?\s*(?:(\d{1,9})h)?\s*(?:(\d{1,9})m)?\s*", text or "")
    age = None
    if m and any(m.groups()):
        d, h, mi = (int(x) if x else 0 for x in m.groups())
        age = dt.timedelta(days=d, hours=h, minutes=mi)
    if age is None or age > dt.timedelta(days=MAX_AGE_DAYS):
        raise click.BadParameter(f"expected an age such as 26h, 90m, 2d or 1d6h, of at most {MAX_AGE_DAYS}d",
                                 param_hint=option)
    return age


@click.command()
@click.option("--max-age", default="26h", show_default=True,
              help="Unhealthy when the last completed run finished longer ago than this (e.g. 26h, 2d).")
@click.option("--delivery-grace", default=None,
              help=f"Unhealthy when a notice has waited for delivery longer than this "
                   f"(default: FRISTER_DELIVERY_GRACE or {DEFAULT_GRACE}), or is dead.")
@pass_app
def health(app: App, max_age: str, delivery_grace: str | None) -> None:
    """Exit 0 when the night is healthy, 1 otherwise (for monitoring).

    Healthy: the last completed nightly run (succeeded or degraded) is recent enough,
    and no notice is overdue for delivery: none has waited longer than the grace, and
    none is dead. Also warns (on standard error, whatever the exit status) when a
    SQLite database file can be read or written by its group or others."""
    from frister.db.engine import sqlite_files_open_to_others
    from frister.nightly.health import check

    limit = parse_age(max_age)
    grace_text, grace = _grace(app, delivery_grace)
    engine = app.ready_engine()
    for path, mode in sqlite_files_open_to_others(engine):
        click.echo(f"warning: {path} is open to its group or others (mode {mode:04o}); "
                   f"run 'chmod 600 {path}' and set UMask=0077 (deploy/README.md)", err=True)
    with engine.connect() as conn:
        found = check(conn, dt.datetime.now(dt.timezone.utc), limit, grace, max_age, grace_text)
    if found.problems:
        for problem in found.problems:
            click.echo(f"UNHEALTHY: {problem}")
        sys.exit(1)
    click.echo(f"OK: {found.summary}")
    # Informational: imports since the last run (the next run re-evaluates these cases).
    click.echo(f"{found.changed_cases} changed case(s) waiting for the next run")


def _grace(app: App, option: str | None) -> tuple[str, dt.timedelta]:
    """The delivery grace as given (``--delivery-grace``, else the setting, else the
    default) and as a duration."""
    text = option or app.settings.get("FRISTER_DELIVERY_GRACE") or DEFAULT_GRACE
    return text, parse_age(text, "--delivery-grace" if option else "FRISTER_DELIVERY_GRACE")


@click.command()
@click.option("--textfile", type=click.Path(dir_okay=False), default=None,
              help="Write them to this file (e.g. node_exporter's textfile directory, frister.prom), "
                   "whole and readable by others (counts only); default: standard output.")
@click.option("--delivery-grace", default=None,
              help=f"As for health (default: FRISTER_DELIVERY_GRACE or {DEFAULT_GRACE}).")
@pass_app
def metrics(app: App, textfile: str | None, delivery_grace: str | None) -> None:
    """Prometheus metrics of the night: last success, last run's status and duration,
    notices by status and overdue for delivery, changed cases waiting."""
    from frister.nightly.metrics import collect, exposition
    from frister.reports.output import write_output

    _, grace = _grace(app, delivery_grace)
    with app.ready_engine().connect() as conn:
        text = exposition(collect(conn, dt.datetime.now(dt.timezone.utc), grace))
    if textfile:
        write_output(textfile, text.encode("utf-8"), mode=0o644)
    else:
        click.echo(text, nl=False)

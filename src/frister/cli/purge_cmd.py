"""``frister purge``: remove the facts of cases kept longer than the retention period."""

from __future__ import annotations

import click

from frister.cli.common import DATE, App, pass_app, today


def register(group: click.Group) -> None:
    group.add_command(purge)


@click.command()
@click.option("--as-of", type=DATE, default=None, help="Count the retention period back from this day (default: today).")
@click.option("--dry-run", is_flag=True, help="List the cases that would be removed; remove nothing.")
@pass_app
def purge(app: App, as_of, dry_run: bool) -> None:
    """Remove the facts of closed cases whose last activity is more than
    FRISTER_RETENTION_YEARS before the as-of date (see frister.store.retention).

    Lists the case references. Takes the run lock like an import (waits up to
    FRISTER_LOCK_WAIT_SECONDS, then exits 75). Without FRISTER_RETENTION_YEARS nothing is
    purged and the command refuses.
    """
    from frister.errors import ConfigError
    from frister.store.retention import cutoff, purge as purge_cases

    years = app.settings.retention_years
    if years is None:
        raise ConfigError("FRISTER_RETENTION_YEARS is not set: every case's facts are kept; "
                          "set it to the years to keep a closed case after its last activity")
    lock_wait = app.settings.lock_wait
    as_of = as_of or today()
    gone = purge_cases(app.ready_engine(), as_of, years, dry_run=dry_run, lock_wait=lock_wait)
    verb = "would remove" if dry_run else "removed"
    click.echo(f"{verb} {len(gone)} case(s) closed with no activity since before "
               f"{cutoff(as_of, years).isoformat()} ({years} years)" + (":" if gone else ""))
    for case_id in gone:
        click.echo(f"  {case_id}")

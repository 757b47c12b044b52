"""``frister alert UNIT``: tell an operator that a frister unit failed (see
:mod:`frister.notify.alert`; ``deploy/frister-alert@.service`` runs it)."""

from __future__ import annotations

import datetime as dt

import click

from frister.cli.common import TEXT, App, pass_app


def register(group: click.Group) -> None:
    group.add_command(alert)


@click.command()
@click.argument("unit", type=TEXT)
@pass_app
def alert(app: App, unit: str) -> None:
    """Alert that UNIT failed: ping FRISTER_ALERT_PING_URL (or FRISTER_PING_URL) /fail
    and/or e-mail FRISTER_ALERT_TO. No case data. Exit 0 when a channel got it."""
    from frister.notify.alert import alert as send_alert

    done = send_alert(app.settings, unit, dt.datetime.now(dt.timezone.utc))
    click.echo(f"alerted about {unit} by {' and '.join(done)}")

"""``frister scheduler``: the long-running process that runs the night (see
:mod:`frister.nightly.scheduler`)."""

from __future__ import annotations

import datetime as dt
import logging

import click

from frister.cli.common import App, pass_app

log = logging.getLogger("frister.scheduler")


def register(group: click.Group) -> None:
    group.add_command(scheduler)


@click.command()
@click.option("--cron", default=None,
              help="Cron expression in Europe/Oslo time (default: FRISTER_SCHEDULE or '0 2 * * *').")
@click.option("--misfire-grace-hours", type=float, default=None,
              help="Still run a night this many hours late (default: FRISTER_MISFIRE_GRACE_HOURS or 12).")
@click.option("--transport", type=click.Choice(["smtp", "console"]), default=None,
              help="smtp (default; needs FRISTER_SMTP_* settings) or console.")
@click.option("--run-now", is_flag=True, help="Also run once immediately.")
@pass_app
def scheduler(app: App, cron, misfire_grace_hours, transport, run_now) -> None:
    """Run the nightly job on a schedule, in this process, until stopped (SIGTERM/Ctrl-C)."""
    from frister.errors import ConfigError
    from frister.db.engine import require_schema
    from frister.nightly.run import has_cases, load_config, nightly_run
    from frister.nightly.scheduler import (
        DEFAULT_CRON, DEFAULT_MISFIRE_HOURS, TIMEZONE, build_scheduler, make_trigger, needs_catch_up,
        next_run_line,
    )
    from frister.notify.ping import Ping
    from frister.notify.transport import make_transport

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cron = cron or app.settings.get("FRISTER_SCHEDULE") or DEFAULT_CRON
    if misfire_grace_hours is None:
        try:
            misfire_grace_hours = float(app.settings.get("FRISTER_MISFIRE_GRACE_HOURS") or DEFAULT_MISFIRE_HOURS)
        except ValueError:
            raise ConfigError("FRISTER_MISFIRE_GRACE_HOURS: expected a number of hours") from None
    # Check everything once before waiting for the first night.
    rules = app.rules()
    make_transport(transport, app.settings)
    load_config(app.settings, rules, transport or "smtp")
    Ping.from_settings(app.settings)
    engine = app.ready_engine()
    trigger = make_trigger(cron)

    def job(as_of: dt.date) -> None:
        try:
            # The schema, rules, configuration and transport are checked and loaded afresh
            # every night: a new frister installed meanwhile refuses until 'db upgrade'.
            require_schema(engine, app.settings.migrations_dir)
            night_rules = app.rules()
            config = load_config(app.settings, night_rules, transport or "smtp")
            report = nightly_run(engine, night_rules, config, make_transport(transport, app.settings), as_of,
                                 ping=Ping.from_settings(app.settings),
                                 lock_wait=app.settings.lock_wait)  # waits for a running import
            if report.degraded:  # the summary line is logged by the run
                log.warning(report.degraded_line())
        finally:
            log.info(next_run_line(trigger, dt.datetime.now(TIMEZONE)))

    now = dt.datetime.now(TIMEZONE)
    with engine.connect() as conn:
        empty = not has_cases(conn)
    catch_up = needs_catch_up(engine, trigger, now)
    sched = build_scheduler(job, cron, misfire_grace_hours, run_now=run_now or catch_up)
    log.info("frister scheduler: '%s' Europe/Oslo, misfire grace %g h", cron, misfire_grace_hours)
    if empty:
        log.warning("the database holds no cases yet: every night is skipped until the first import "
                    "(frister import)")
    if catch_up and not run_now:
        log.info("no run has completed since the last scheduled time: running once now (catch-up)")
    log.info(next_run_line(trigger, now) + (" (and once now)" if run_now or catch_up else ""))
    try:
        sched.start()
    except (KeyboardInterrupt, SystemExit):
        pass

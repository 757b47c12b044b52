"""The escalation step of ``frister demo``: tonight's run with the console transport,
summarised per recipient and stage instead of printing every e-mail."""

from __future__ import annotations

import dataclasses
import datetime as dt

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, func, select

from frister.escalation.models import Notice
from frister.nightly.run import NightlyReport, load_config, nightly_run
from frister.notify.digest import STAGE_LABELS
from frister.notify.transport import ConsoleTransport
from frister.rules.model import RuleSet
from frister.settings import Settings


def demo_step(engine: Engine, rules: RuleSet, as_of: dt.date, console: Console | None = None,
              settings: Settings | None = None,
              now: dt.datetime | None = None) -> NightlyReport:
    """Run the night as of ``as_of`` with the console transport (e-mails are built and
    rendered, not printed or sent) and print which leaders would get which notices.

    Uses the bundled ``config/escalation.yaml`` and ``config/organisation.yaml`` (or the
    example organisation). The database must be migrated. Returns the run's report.
    """
    console = console or Console(width=160)
    settings = settings or Settings.from_env()
    config = load_config(settings, rules, "console")
    # The demo shows tonight's e-mails whatever the day of the week.
    config.ladder = dataclasses.replace(config.ladder, delivery=dataclasses.replace(
        config.ladder.delivery, working_days_only=False))
    transport = ConsoleTransport(quiet=True)
    clock = (lambda: now) if now is not None else None
    report = nightly_run(engine, rules, config, transport, as_of, **({"now": clock} if clock else {}))
    with engine.connect() as conn:
        rows = conn.execute(
            select(Notice.recipient, Notice.stage, func.count())
            .where(Notice.claimed_run_id == report.run_id).group_by(Notice.recipient, Notice.stage)
        ).all()
    stages = sorted({stage for _, stage, _ in rows}, key=config.ladder.urgency)
    per: dict[str, dict[str, int]] = {}
    for recipient, stage, n in rows:
        per.setdefault(recipient, {})[stage] = n
    table = Table(title=f"Eskalering i natt ({as_of.isoformat()}): e-post per mottaker (konsoll, ikke sendt)",
                  title_justify="left")
    table.add_column("Mottaker")
    table.add_column("Rolle")
    for stage in stages:
        table.add_column(STAGE_LABELS.get(stage, stage), justify="right")
    table.add_column("Totalt", justify="right")
    org = config.organisation
    held = {leader.email: ", ".join(org.name(u) for u in leader.units) for leader in org.leaders}
    for recipient in sorted(per, key=lambda r: (r != org.barnevernsjef, r)):
        role = org.role_of(recipient)
        if held.get(recipient):
            role = f"{role} {held[recipient]}"
        counts = per[recipient]
        table.add_row(recipient, role, *(str(counts.get(s, 0)) for s in stages), str(sum(counts.values())))
    if per:
        console.print(table)
    else:
        console.print(f"Ingen nye varsler i natt ({as_of.isoformat()}): alt som var forfalt er allerede sendt.")
    console.print(report.line())
    return report

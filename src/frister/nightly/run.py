"""One complete night: evaluate, store, derive notices, send them, record the run.

:func:`nightly_run` is what ``frister run`` and the scheduler call. Steps:

1. take the run lock (:mod:`frister.db.locks`), or raise ``RunInProgress``; with no
   case in the database (nothing imported yet) raise ``NoCases`` and record nothing:
   an empty night would look green;
2. record the run (``nightly_runs``, status ``running``); runs left ``running`` by a
   killed process become ``interrupted``;
3. **one transaction**: evaluate the cases and store the obligations
   (:func:`~frister.evaluation.service.evaluate_and_store`, incremental: the stored
   obligations equal a full run's), then create the notices
   that are due and cancel pending ones no longer due
   (:func:`~frister.escalation.derive.derive_notices`) — results and notices commit
   together or not at all. On a day without e-mail (``delivery.send_on: working_days``
   and a weekend or Norwegian public holiday) no notice is created or sent: the next
   working night creates what fell due in between;
   On a night that sends, the unit leaders' periodic e-mails that are due (the monthly
   visit plan, the weekly worklist: :mod:`frister.escalation.unit_mails`) are created in
   the same transaction;
4. send the outbox (:class:`~frister.escalation.outbox.Outbox`), then the unit mails, and, with
   ``delivery.retry_until``, retry what failed for now within the night
   (:func:`retry_window_end`), recording the counts before each wait;
5. check that the counts add up and record them: ``succeeded`` when nothing is left
   undelivered, ``degraded`` when notices failed this run or still wait
   (:meth:`NightlyReport.degraded`), or record ``failed``.

The clock (``now``, and ``sleep`` for the retries' waits) and ``as_of`` are parameters:
the core never reads the clock. With a ``ping`` (:mod:`frister.notify.ping`), a run
that started pings ``/start``, and its end pings success, or ``/fail`` when it ended
degraded or failed.
``fail_at(step)`` is called at ``evaluated`` (inside the transaction of step 3),
``committed`` (after it) and by the outbox at ``claimed``/``sent``/``recorded``; tests
raise there to simulate a crash.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from sqlalchemy import Connection, Engine, insert, select, update

from frister.clock import at_local
from frister.db.diagnostics import describe as describe_database_error
from frister.db.dialect import after_bulk_write
from frister.disclosure import birth_linked
from frister.errors import ConfigError, FristerError, NoCases
from frister.escalation.backlog import waiting_count
from frister.escalation.config import Ladder, load_ladder
from frister.escalation.derive import DeriveCounts, bases_of, derive_notices, last_derived_night
from frister.escalation.outbox import FailAt, Outbox, SendCounts
from frister.escalation.unit_mails import UnitMailSender, create_unit_mails, waiting_unit_mails
from frister.evaluation.service import evaluate_and_store, utcnow
from frister.evaluation.models import CaseEvaluation, Obligation
from frister.db.locks import run_lock
from frister.nightly.models import COUNT_FIELDS, NightlyRun
from frister.notify.address import sender as parse_sender
from frister.notify.digest import DigestRenderer
from frister.notify.ping import Ping
from frister.notify.transport import Transport
from frister.notify.unit_mail import UnitMailRenderer
from frister.organisation import LEADING, Organisation, load_organisation, organisation_of
from frister.rules.model import RuleSet
from frister.settings import Settings, project_dir
from frister.store.facts import holdings
from frister.store.tables import cases as cases_table

log = logging.getLogger("frister.nightly")

CONSOLE_SENDER = "frister@localhost"
NO_CASES = ("the database holds no cases yet: import the case system's export first (frister import); "
            "no night was run")


class CountMismatch(FristerError):
    """The run's counts do not add up: a bug, reported rather than hidden."""


@dataclass
class NightlyConfig:
    """Everything a run needs besides the database, the rules and the transport."""

    ladder: Ladder
    organisation: Organisation
    renderer: DigestRenderer
    sender: str  # the From header, parsed and checked (frister.notify.address)
    unit_mails: UnitMailRenderer | None = None  # the visit plan and weekly worklist e-mails


def load_config(settings: Settings, rules: RuleSet, transport: str | None) -> NightlyConfig:
    """Load the ladder, the organisation and the templates named by the settings.

    ``FRISTER_CONFIG_DIR`` (default: the bundled ``config/``) holds ``escalation.yaml``
    and ``organisation.yaml``; ``FRISTER_ESCALATION_CONFIG`` / ``FRISTER_ORGANISATION_CONFIG``
    name other files. Only the console transport may fall back to the bundled
    ``organisation.example.yaml``: real e-mail needs the service's own leaders.
    """
    config_dir = settings.config_dir
    ladder_path = Path(settings.get("FRISTER_ESCALATION_CONFIG") or config_dir / "escalation.yaml")
    if not ladder_path.is_file():
        raise ConfigError(f"{ladder_path}: escalation ladder not found (set FRISTER_ESCALATION_CONFIG)")
    ladder = load_ladder(ladder_path, [r.id for r in rules])
    organisation = organisation_of(settings, ladder.roles, example=transport == "console")
    if organisation is None:
        raise ConfigError(f"{config_dir / 'organisation.yaml'}: organisation file not found: e-mail needs the "
                          "service's leaders (copy organisation.example.yaml, or set FRISTER_ORGANISATION_CONFIG)")
    # Rules whose due date gives the birth date away: e-mails show only the month.
    renderer = DigestRenderer(settings.templates_dir, {r.id: r.title for r in rules}, ladder.urgency,
                              birth_linked(rules), settings.get("FRISTER_WEB_BASE_URL"))
    configured = settings.get("FRISTER_SMTP_FROM")
    if configured:
        sender = parse_sender(configured).header()
    elif transport == "console":
        sender = CONSOLE_SENDER
    else:
        raise ConfigError("FRISTER_SMTP_FROM: expected the sender address")
    if transport != "console" and settings.get("FRISTER_ALLOW_EXAMPLE_ADDRESSES") != "yes":
        refuse_example_addresses(organisation)  # the compose stack's mail catcher allows them
    unit_mails = UnitMailRenderer(settings.templates_dir, settings.get("FRISTER_WEB_BASE_URL"))
    return NightlyConfig(ladder, organisation, renderer, sender, unit_mails)


def refuse_example_addresses(organisation: Organisation) -> None:
    """Refuse (ConfigError) an organisation that still holds an address of the shipped
    example (``config/organisation.example.yaml``): a copied example would mail nobody.
    ``FRISTER_ALLOW_EXAMPLE_ADDRESSES=yes`` lets a mail catcher (the compose stack) have them."""
    example = load_organisation(project_dir("config") / "organisation.example.yaml")
    shipped = sorted(set(organisation.all_addresses()) & set(example.all_addresses()))
    if shipped:
        raise ConfigError(f"{organisation.source}: {len(shipped)} address(es) are the shipped example's "
                          "(organisation.example.yaml): put the service's own leaders in the file")


def refuse_units_without_leaders(conn: Connection, organisation: Organisation, ladder: Ladder) -> None:
    """Refuse (ConfigError) when a unit of the organisation file holds cases or steps but
    has no avdelingsleder or teamleder at or above it while the ladder sends to one: its
    leader's notices would go to the barnevernsjef unseen by the unit. (A unit the file
    does not know goes to the barnevernsjef by design; ``frister org check`` lists it.)"""
    if not set(ladder.roles) & set(LEADING):
        return
    leaderless = [code for code in organisation.units
                  if not any(organisation.leaders_of(up) for up in organisation.chain(code))]
    if not leaderless:  # the usual file: nothing in the data can be refused
        return
    held = holdings(conn).units
    lacking = sorted(code for code in leaderless if code in held)
    if lacking:
        raise ConfigError(f"{organisation.source}: unit(s) {', '.join(lacking)} hold cases but have no "
                          "avdelingsleder or teamleder at or above them: name one in leaders (frister org check)")


@dataclass
class NightlyReport:
    run_id: int
    as_of: dt.date
    counts: dict[str, int] = field(default_factory=dict)
    status: str = "running"
    mails_waiting: int = 0  # unit mails (visit plan, weekly worklist) not delivered yet
    mails_failed: int = 0  # unit mails not delivered by this run (waiting again, or dead)

    @property
    def degraded(self) -> bool:
        """Notices or unit mails could not all be delivered: some failed this run, or wait still."""
        c = self.counts
        return bool(c["retrying"] or c["dead"] or c["waiting"] or self.mails_waiting or self.mails_failed)

    def line(self) -> str:
        c = self.counts
        return (f"run {self.run_id} as of {self.as_of.isoformat()}: {c['obligations']} obligations, "
                f"{c['notices_created']} notices created, {c['sent']} sent, {c['retrying']} retrying, "
                f"{c['dead']} dead")

    def degraded_line(self) -> str:
        c = self.counts
        mails = f"; {self.mails_waiting} unit mail(s) waiting" if self.mails_waiting else ""
        if self.mails_failed > self.mails_waiting:
            mails += f"; {self.mails_failed - self.mails_waiting} unit mail(s) dead"
        return (f"run {self.run_id} degraded: notices not all delivered ({c['waiting']} waiting, "
                f"{c['dead']} dead this run{mails}); see 'frister notices --status waiting' and '--status dead'")


def check_counts(c: dict[str, int]) -> None:
    """The invariants of a run record; a violation is a bug and fails the run."""
    problems = []
    if c["notices_due"] != c["notices_created"] + c["notices_existing"]:
        problems.append("notices due != created + existing")
    if c["attempted"] != c["sent"] + c["retrying"] + c["dead"]:
        problems.append("notices attempted != sent + retrying + dead")
    if c["retried"] > c["attempted"]:
        problems.append("notices retried > attempted")
    if any(v < 0 for v in c.values()):
        problems.append("negative count")
    if problems:
        raise CountMismatch("run counts do not add up: " + "; ".join(problems))


def has_cases(conn: Connection) -> bool:
    """Whether any case has been imported."""
    return conn.execute(select(cases_table.c.case_id).limit(1)).first() is not None


def retry_window_end(as_of: dt.date, ladder: Ladder) -> dt.datetime | None:
    """The end of the night's retry window: ``delivery.retry_until`` in Europe/Oslo on
    the as-of day, in UTC; None without one. A run started after it retries nothing."""
    until = ladder.delivery.retry_until
    return None if until is None else at_local(as_of, until)


def nightly_run(engine: Engine, rules: RuleSet, config: NightlyConfig, transport: Transport, as_of: dt.date,
                now: Callable[[], dt.datetime] = utcnow, fail_at: FailAt | None = None,
                sleep: Callable[[float], None] = time.sleep, ping: Ping | None = None,
                lock_wait: float = 0) -> NightlyReport:
    """Run one night as of ``as_of``. Raises RunInProgress when another run (or an
    import) still holds the lock after ``lock_wait`` seconds."""
    hook = fail_at or (lambda step: None)
    with run_lock(engine, lock_wait):
        with engine.connect() as conn:
            if not has_cases(conn):
                raise NoCases(NO_CASES)
            refuse_units_without_leaders(conn, config.organisation, config.ladder)
        with engine.begin() as conn:
            conn.execute(update(NightlyRun).where(NightlyRun.status == "running")
                         .values(status="interrupted", error="the process ended before the run finished"))
            run_id = conn.execute(insert(NightlyRun).values(
                as_of=as_of, started_at=now(), status="running", transport=transport.name,
                **{name: 0 for name in COUNT_FIELDS},
            ).returning(NightlyRun.id)).scalar_one()
        report = NightlyReport(run_id, as_of, {name: 0 for name in COUNT_FIELDS})
        log.info("run %d as of %s started", run_id, as_of.isoformat())
        ping = ping or Ping(None)
        ping.start()
        sends = config.ladder.delivery.sends_on(as_of)
        try:
            with engine.begin() as conn:
                summary = evaluate_and_store(conn, rules, as_of, kind="nightly", now=now, incremental=True)
                if sends:
                    derived = derive_notices(conn, config.ladder, config.organisation, as_of, run_id, now,
                                             bases_of(rules), since=last_derived_night(conn))
                    if config.unit_mails is not None:
                        mails = create_unit_mails(conn, rules, config.ladder, config.organisation, as_of, run_id,
                                                  now(), config.sender)
                        log.info("run %d: %d unit mail(s) created", run_id, mails)
                else:  # no e-mail today: the next working night creates what falls due meanwhile
                    derived = DeriveCounts()
                report.counts.update(cases=summary.cases, obligations=summary.obligations,
                                     notices_due=derived.due, notices_created=derived.created,
                                     notices_existing=derived.existing, notices_cancelled=derived.cancelled)
                # Only a night that derived notices records its evaluation: the next one
                # reads what changed since the last derivation (derive.last_derived_night).
                conn.execute(update(NightlyRun).where(NightlyRun.id == run_id)
                             .values(evaluation_run_id=summary.run_id if sends else None, **report.counts))
                hook("evaluated")
            hook("committed")
            if summary.mode == "full":
                after_bulk_write(engine, [Obligation.__tablename__, CaseEvaluation.__tablename__])
            log.info("run %d: %d obligations, %d notices due (%d new, %d existing, %d cancelled)", run_id,
                     summary.obligations, derived.due, derived.created, derived.existing, derived.cancelled)

            def record_sent(sent: SendCounts) -> None:
                report.counts.update(attempted=sent.attempted, sent=sent.sent, retried=sent.retried,
                                     retrying=sent.retrying, dead=sent.dead, emails_sent=sent.emails_sent,
                                     emails_failed=sent.emails_failed)

            def progress(sent: SendCounts) -> None:  # before each wait: `frister runs` shows where it stands
                record_sent(sent)
                with engine.begin() as conn:
                    conn.execute(update(NightlyRun).where(NightlyRun.id == run_id).values(**report.counts))

            if sends:
                with transport:
                    outbox = Outbox(engine, run_id, as_of, transport, config.renderer, config.organisation,
                                    config.ladder, config.sender, now, hook, retry_until=retry_window_end(
                                        as_of, config.ladder), sleep=sleep, progress=progress)
                    record_sent(outbox.send_all())
                    if config.unit_mails is not None:
                        mailed = UnitMailSender(engine, run_id, as_of, transport, config.unit_mails,
                                                config.organisation, config.ladder, config.sender, now,
                                                hook).send_all()
                        report.counts["emails_sent"] += mailed.sent
                        report.counts["emails_failed"] += mailed.failed
                        report.mails_failed = mailed.failed
            else:
                log.info("run %d: %s is not a working day: no notice is created or sent tonight "
                         "(delivery.send_on: working_days)", run_id, as_of.isoformat())
            with engine.connect() as conn:
                report.counts["waiting"] = waiting_count(conn)
                report.mails_waiting = waiting_unit_mails(conn)
            check_counts(report.counts)
            report.status = "degraded" if report.degraded else "succeeded"
            with engine.begin() as conn:
                conn.execute(update(NightlyRun).where(NightlyRun.id == run_id)
                             .values(status=report.status, finished_at=now(), **report.counts))
        except BaseException as exc:
            detail = str(exc) if isinstance(exc, FristerError) else ""
            error = type(exc).__name__ + (f": {detail}" if detail else "")
            report.status = "failed"
            try:
                with engine.begin() as conn:
                    conn.execute(update(NightlyRun).where(NightlyRun.id == run_id)
                                 .values(status="failed", finished_at=now(), error=error[:2000]))
            except Exception as failed:  # the database may be what failed; the run stays 'running'
                log.error("run %d: could not record the failure: %s", run_id,
                          describe_database_error(failed) or type(failed).__name__)
            log.error("run %d failed: %s", run_id, error)
            ping.fail(f"run {run_id} as of {as_of.isoformat()} failed: {type(exc).__name__}")
            raise
        log.info(report.line())
        if report.degraded:
            ping.fail(f"{report.line()}\n{report.degraded_line()}")
        else:
            ping.success(report.line())
        return report

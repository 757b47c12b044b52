"""The send phase alone: claim, render and "send" a backlog of pending notices.

    python bench/outbox.py --notices 200000 --database sqlite|postgresql|URL

Fills an empty database (migrated to head) with ``--notices`` pending breach notices,
49 of every 50 to the barnevernsjef and the rest to one leader (the shape of a first
night at national scale), then runs the outbox (:class:`frister.escalation.outbox.Outbox`)
with the console transport writing nowhere, as ``frister run`` would after its
evaluation. Prints the time of each recipient's claim, the whole send phase and the
peak RSS. The notices carry case references only (``BV-0000001`` …), no case data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "src"))

from nightly import DEFAULT_PG_SERVER, Database  # noqa: E402

from sqlalchemy import insert  # noqa: E402

from frister.db.dialect import bulk_insert  # noqa: E402
from frister.db.engine import create_db_engine, migrate  # noqa: E402
from frister.escalation import outbox as outbox_module  # noqa: E402
from frister.escalation.models import Notice  # noqa: E402
from frister.nightly.models import COUNT_FIELDS, NightlyRun  # noqa: E402
from frister.nightly.run import load_config  # noqa: E402
from frister.notify.transport import ConsoleTransport  # noqa: E402
from frister.rules.loader import load_rules  # noqa: E402
from frister.settings import Settings  # noqa: E402

AS_OF = dt.date(2026, 6, 10)
NOW = dt.datetime(2026, 6, 10, 2, tzinfo=dt.timezone.utc)
CHIEF = "barnevernsjef@barnevern.kommune.example"
LEADER = "leder.mottak@barnevern.kommune.example"
COLUMNS = ("case_id", "rule", "subject", "period", "seq", "stage", "repeat", "ordinal", "role", "recipient", "unit",
           "caseworker", "due_on", "fire_on", "basis", "created_run_id", "created_at", "status", "attempts")


def fill(engine, rules, notices: int, seed: int = 1) -> int:
    """One run record and ``notices`` pending breach notices; returns the run's id."""
    rnd = random.Random(seed)
    rule_ids = [r.id for r in rules][:8]
    with engine.begin() as conn:
        run_id = conn.execute(insert(NightlyRun).values(
            as_of=AS_OF, started_at=NOW, status="running", transport="console", **{k: 0 for k in COUNT_FIELDS},
        ).returning(NightlyRun.id)).scalar_one()

        def rows():
            for i in range(notices):
                due = AS_OF - dt.timedelta(days=rnd.randrange(1, 3000))
                chief = i % 50 != 0
                yield (f"BV-{i:07d}", rnd.choice(rule_ids), "", "", 0, "breach", 0, 1,
                       "barnevernsjef" if chief else "avdelingsleder", CHIEF if chief else LEADER, "mottak", "ks01",
                       due, due, "bvl § 1", run_id, NOW, "pending", 0)

        bulk_insert(conn, Notice.__table__, COLUMNS, rows())
    return run_id


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notices", type=int, default=200_000)
    ap.add_argument("--database", default="sqlite", help="sqlite, postgresql, or an SQLAlchemy URL of an empty database")
    ap.add_argument("--postgres-server", default=DEFAULT_PG_SERVER)
    args = ap.parse_args(argv)
    db = Database(args.database, keep=False, pg_server=args.postgres_server)
    try:
        engine = create_db_engine(db.url)
        migrate(engine, ROOT / "migrations")
        rules = load_rules(ROOT / "rules")
        settings = Settings.from_env({
            "FRISTER_CONFIG_DIR": str(ROOT / "config"),
            "FRISTER_ORGANISATION_CONFIG": str(ROOT / "config" / "organisation.example.yaml"),
            "FRISTER_TEMPLATES_DIR": str(ROOT / "templates"),
        })
        config = load_config(settings, rules, "console")
        run_id = fill(engine, rules, args.notices)
        print(f"database: {db.shown()}; {args.notices} pending notices")
        outbox = outbox_module.Outbox(engine, run_id, AS_OF, ConsoleTransport(quiet=True), config.renderer,
                                      config.organisation, config.ladder, config.sender, lambda: NOW)
        claim = outbox._claim

        def timed_claim(recipient: str):
            start = time.perf_counter()
            parts = claim(recipient)
            print(f"claim, {'barnevernsjef' if recipient == CHIEF else 'leader'}: "
                  f"{time.perf_counter() - start:.2f} s, {len(parts or [])} parts")
            return parts

        outbox._claim = timed_claim
        start = time.perf_counter()
        counts = outbox.send_all()
        seconds = time.perf_counter() - start
        print(f"send phase: {seconds:.2f} s ({counts.sent} notices sent in {counts.emails_sent} e-mails); "
              f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
        engine.dispose()
    finally:
        db.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

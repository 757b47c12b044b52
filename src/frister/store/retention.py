"""How long a case's facts are kept, and the purge (``frister purge``).

**Policy.** ``FRISTER_RETENTION_YEARS`` (no default: unset, nothing is ever purged) is
how many years after a case's *last activity* its facts are kept. A case is purged only
when it is closed and its last activity lies more than that many years before the
as-of date (default: today):

* **closed**: every referral and investigation concluded, every measure and placement
  ended, and, for a case with a care order (which has no end date in the contract and
  lapses when the child turns 18), the child 18 or older. A care order case without a
  birth date is never closed in this sense; nor is one whose facts hold no date at all.
* **last activity**: the latest date recorded in the case (decisions, conclusions,
  visits, plan evaluations, the aftercare assessment; the 18th birthday for a care
  order), not the birth date.

**What goes, what stays.** The purge removes through
:func:`frister.store.facts.remove_cases`, as a full import does: the facts now, the
stored obligations and case records with the next evaluation run. The breach register,
the notices sent and the runs stay (the audit's history); they hold the case reference,
rule, dates and a leader's free-text action, not the case's facts.

**Why past reports change.** Reports are computed from the stored facts as of their
as-of date, not kept as printed: a half-year or annual report made again after a purge
no longer counts the purged cases, so its figures for those years fall. Keep the
reports delivered to the Statsforvalteren and the council as files if they must be
reproduced as they were.
"""

from __future__ import annotations

import datetime as dt
from contextlib import nullcontext

import numpy as np
from sqlalchemy import Connection, Engine

from frister.calendar import NONE, add_months, birthday, to_day
from frister.db.dialect import after_bulk_write
from frister.db.locks import run_lock
from frister.engine.batch import Batch
from frister.facts.vocabulary import event_fields
from frister.store.facts import read_batches, remove_cases
from frister.store.tables import FACT_TABLES

_NO_DATE = -int(NONE)
_OPEN_UNLESS = {"referral": "concluded_on", "investigation": "concluded_on"}  # open while this is empty


def cutoff(as_of: dt.date, years: int) -> dt.date:
    """The first day of the kept window: ``as_of`` less ``years`` (29 February: the 28th)."""
    return add_months(as_of, -12 * years)


def activity(batch: Batch) -> tuple[np.ndarray, np.ndarray]:
    """Per case of ``batch``: the day of its last activity (a very low number when it
    holds no date) and whether it is still open (see the module docstring)."""
    n = len(batch)
    last = np.full(n, _NO_DATE, dtype=np.int64)
    for (subject, f), (owners, days) in zip(event_fields(), batch.event_days):
        if subject is None and f.name == "child_birth_date":
            continue  # not an activity
        real = days < NONE
        np.maximum.at(last, owners[real], days[real])
    still_open = np.zeros(n, dtype=bool)
    for name, field in _OPEN_UNLESS.items():
        t = batch.tables[name]
        still_open[t.case[t.fields[field] >= NONE]] = True
    for name in ("measure", "placement"):
        t = batch.tables[name]
        still_open[t.case[t.ended >= NONE]] = True
    care = np.unique(batch.tables["care_order"].case)
    birth = batch.birth[care]
    adult = birthday(np.where(birth < NONE, birth, 0), 18)
    still_open[care[birth >= NONE]] = True
    np.maximum.at(last, care[birth < NONE], adult[birth < NONE])
    return last, still_open


def expired_cases(conn: Connection, as_of: dt.date, years: int) -> list[str]:
    """The cases closed whose last activity is before :func:`cutoff`, in order."""
    first_kept = to_day(cutoff(as_of, years))
    out: list[str] = []
    for batch in read_batches(conn):
        last, still_open = activity(batch)
        gone = ~still_open & (last > _NO_DATE) & (last < first_kept)
        out.extend(c for c, g in zip(batch.case_ids, gone.tolist()) if g)
    return out


def purge(engine: Engine, as_of: dt.date, years: int, dry_run: bool = False, lock_wait: float = 0) -> list[str]:
    """Remove the facts of :func:`expired_cases` (only list them when ``dry_run``), in
    one transaction under the run lock; returns their references."""
    with nullcontext() if dry_run else run_lock(engine, lock_wait, what="purge"):
        with engine.begin() as conn:
            gone = expired_cases(conn, as_of, years)
            if gone and not dry_run:
                remove_cases(conn, gone)
        if gone and not dry_run:
            after_bulk_write(engine, [t.name for t in FACT_TABLES])
    return gone

"""One nightly run at a time, across processes and machines.

* **PostgreSQL**: a session-level advisory lock on a connection held for the whole
  block. It is released when the block ends or, if the process dies, when its
  connection closes; nothing stale is left behind.
* **SQLite**: an exclusive lock on a file next to the database (``<database>-run-lock``,
  through ``filelock``). A database lock cannot be held for the whole block because the
  block itself commits several transactions, and a lock row would outlive a killed
  process; the kernel releases a file lock when its holder dies. SQLite lives on one
  machine, so a file lock covers every process that can reach it.
* An in-memory SQLite database is private to its process: no lock is needed.

A second holder waits up to ``wait`` seconds (0: not at all), then raises
:class:`~frister.errors.RunInProgress`.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from filelock import FileLock, Timeout
from sqlalchemy import Engine, text

from frister.db.dialect import is_postgresql
from frister.errors import RunInProgress

# An arbitrary, fixed 64-bit key: "frister" in ASCII.
ADVISORY_KEY = 0x66726973746572
POLL = 0.2  # seconds between two tries of the advisory lock while waiting

IN_PROGRESS = "another nightly run is in progress; this one did not start (try again later)"


@contextmanager
def run_lock(engine: Engine, wait: float = 0) -> Iterator[None]:
    """Hold the run lock for the duration of the block, or raise RunInProgress."""
    if is_postgresql(engine):
        with _advisory_lock(engine, wait):
            yield
        return
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        yield
        return
    lock = FileLock(str(Path(database).with_name(Path(database).name + "-run-lock")), mode=0o600)
    try:
        lock.acquire(timeout=wait)
    except Timeout:
        raise RunInProgress(IN_PROGRESS) from None
    try:
        yield
    finally:
        lock.release()


@contextmanager
def _advisory_lock(engine: Engine, wait: float) -> Iterator[None]:
    conn = engine.connect()
    try:
        deadline = time.monotonic() + wait
        while True:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}).scalar_one()
            conn.commit()  # the lock is session-level: it outlives this transaction
            if got:
                break
            if time.monotonic() >= deadline:
                raise RunInProgress(IN_PROGRESS)
            time.sleep(POLL)
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
            conn.commit()
    finally:
        conn.close()

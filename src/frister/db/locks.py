"""One writer of the case data at a time, across processes and machines: a nightly
run, an import or a purge (each takes this lock for its whole duration).

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
:class:`~frister.errors.RunInProgress` (exit 75) with one line saying ``what`` did not
start.
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



def in_progress(what: str, wait: float) -> str:
    waited = f"waited {wait:g} s; " if wait else ""
    return f"another nightly run, import or purge is in progress; this {what} did not start ({waited}try again later)"


@contextmanager
def run_lock(engine: Engine, wait: float = 0, what: str = "nightly run") -> Iterator[None]:
    """Hold the run lock for the duration of the block, or raise RunInProgress."""
    if is_postgresql(engine):
        with _advisory_lock(engine, wait, what):
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
        raise RunInProgress(in_progress(what, wait)) from None
    try:
        yield
    finally:
        lock.release()


@contextmanager
def _advisory_lock(engine: Engine, wait: float, what: str) -> Iterator[None]:
    conn = engine.connect()
    try:
        deadline = time.monotonic() + wait
        while True:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}).scalar_one()
            conn.commit()  # the lock is session-level: it outlives this transaction
            if got:
                break
            if time.monotonic() >= deadline:
                raise RunInProgress(in_progress(what, wait))
            time.sleep(POLL)
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
            conn.commit()
    finally:
        conn.close()

"""One nightly run at a time, across processes and machines.

* **PostgreSQL**: a session-level advisory lock (``pg_try_advisory_lock``) on a
  connection held for the whole run. It is released when the run ends or, if the
  process dies, when its connection closes; nothing stale is left behind.
* **SQLite**: an exclusive ``flock`` on a file next to the database
  (``<database>-run-lock``). A database lock (``BEGIN IMMEDIATE``) cannot be held for
  the whole run because the run itself writes in several transactions, and a lock row
  would outlive a killed process; the kernel releases a ``flock`` when the holder dies.
  SQLite lives on one machine, so a file lock covers every process that can reach it.
* An in-memory SQLite database is private to its process: no lock is needed.

A second run does not wait: it raises :class:`~frister.errors.RunInProgress`.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine, text

from frister.errors import RunInProgress

# An arbitrary, fixed 64-bit key: "frister" in ASCII.
ADVISORY_KEY = 0x66726973746572

IN_PROGRESS = "another nightly run is in progress; this one did not start (try again later)"


@contextmanager
def run_lock(engine: Engine) -> Iterator[None]:
    """Hold the run lock for the duration of the block, or raise RunInProgress."""
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine):
            yield
    elif engine.dialect.name == "sqlite":
        database = engine.url.database
        if not database or database == ":memory:" or database.startswith("file::memory:"):
            yield
        else:
            with _file_lock(Path(database).with_name(Path(database).name + "-run-lock")):
                yield
    else:  # pragma: no cover - frister supports SQLite and PostgreSQL
        raise RunInProgress(f"no run lock for the {engine.dialect.name} database")


@contextmanager
def _advisory_lock(engine: Engine) -> Iterator[None]:
    conn = engine.connect()
    try:
        got = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}).scalar_one()
        conn.commit()  # the lock is session-level: it outlives this transaction
        if not got:
            raise RunInProgress(IN_PROGRESS)
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
            conn.commit()
    finally:
        conn.close()


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunInProgress(IN_PROGRESS) from None
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)

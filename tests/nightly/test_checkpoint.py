"""On SQLite, a night leaves the WAL to checkpoints on a thread of its own while it
sends, and they have copied the night's results, its notices and their sending into
the database file by the time the run ends."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from frister.notify.transport import ConsoleTransport

from tests.nightly.conftest import run


def test_on_sqlite_a_night_has_copied_what_it_committed_into_the_database_file(municipality, rules, config,
                                                                                 tmp_path):
    if municipality.dialect.name != "sqlite":
        pytest.skip("the write-ahead log is SQLite's")
    path = Path(municipality.url.database)
    report = run(municipality, rules, config, ConsoleTransport(quiet=True))
    # The database file alone, without its WAL: what has been checkpointed into it. The
    # night's WAL is a few dozen pages, far below the commit's own checkpoint (1000).
    alone = tmp_path / "file-alone.db"
    shutil.copyfile(path, alone)
    copy = sqlite3.connect(alone)
    try:
        counted = copy.execute("SELECT notices_created FROM nightly_runs WHERE id = ?", (report.run_id,)).fetchone()
        notices = copy.execute("SELECT status, count(*) FROM notices GROUP BY status").fetchall()
    finally:
        copy.close()
    # The outbox's own commits came after the night's, while the thread checkpointed.
    assert (counted, notices) == ((5,), [("sent", 5)])
    assert report.counts["sent"] == 5
    # Both connections the night used (its own and the checkpoint's) check out with
    # the commit's checkpoint as it was.
    with municipality.connect() as a, municipality.connect() as b:
        settings = [c.connection.driver_connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0] for c in (a, b)]
    assert settings == [1000, 1000]

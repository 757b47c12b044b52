"""Database errors on stderr and in logs: no host, port, user or database name, no value."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from frister.db.diagnostics import LOST, describe
from frister.db.engine import create_db_engine
from frister.store.tables import cases
from tests.conftest import ROOT

FRISTER = str(Path(sys.executable).parent / "frister")


def frister(*args: str, url: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, FRISTER_DATABASE_URL=url, FRISTER_RULES_DIR=str(ROOT / "rules"))
    return subprocess.run([FRISTER, *args], env=env, capture_output=True, text=True, timeout=120)


def test_a_server_that_refuses_the_connection_is_told_without_host_or_port():
    result = frister("db", "upgrade", url="postgresql+psycopg://frister_user@127.0.0.1:9/frister_db")
    assert result.returncode == 2
    assert result.stderr == f"error: database: {LOST}\n"


@pytest.mark.postgresql
def test_a_refused_login_is_told_without_user_or_database(pg_server_url):
    url = make_url(pg_server_url).set(username="no_such_frister_role", database="no_such_frister_db")
    result = frister("db", "upgrade", url=url.render_as_string(hide_password=False))
    assert result.returncode == 2
    for detail in ("no_such_frister_role", "no_such_frister_db", url.host, str(url.port)):
        assert detail not in result.stderr
    assert result.stderr.startswith(f"error: database: {LOST}")


@pytest.mark.postgresql
def test_a_driver_error_is_told_by_its_class_and_sqlstate_without_the_row(pg_server_url):
    engine = create_db_engine(pg_server_url)
    try:
        with engine.connect() as conn:
            cur = conn.connection.driver_connection.cursor()
            row = ("BV-SECRET-1", "mottak", None, None, None, "f" * 64)
            cur.execute("INSERT INTO cases (case_id, unit, caseworker, child_birth_date, aftercare_assessed_on, "
                        "fingerprint) VALUES (%s, %s, %s, %s, %s, %s)", row)
            with pytest.raises(Exception) as err:
                cur.execute("INSERT INTO cases (case_id, unit, caseworker, child_birth_date, "
                            "aftercare_assessed_on, fingerprint) VALUES (%s, %s, %s, %s, %s, %s)", row)
            conn.rollback()
    finally:
        engine.dispose()
    assert "BV-SECRET-1" in str(err.value)  # the driver's own text quotes the row …
    assert describe(err.value) == "UniqueViolation (SQLSTATE 23505)"  # … frister's does not


@pytest.mark.postgresql
def test_the_drivers_log_records_hold_no_connection_detail(pg_server_url, caplog):
    url = make_url(pg_server_url)
    engine = create_db_engine(pg_server_url)
    try:
        raw = engine.raw_connection()
        psycopg_conn = raw.driver_connection
        assert url.database in repr(psycopg_conn)  # what psycopg and the pool would print
        with caplog.at_level(logging.WARNING):
            try:
                raise type("OperationalError", (Exception,), {})("connection to server at \"h\", port 1 failed")
            except Exception:
                engine.pool.logger.error("Exception closing connection %r", psycopg_conn, exc_info=True)
            logging.getLogger("psycopg").warning("error ignored terminating %r: %s", psycopg_conn, "boom")
        raw.close()
    finally:
        engine.dispose()
    text = caplog.text + "".join(r.getMessage() for r in caplog.records)
    for detail in (url.database, f"host={url.host}", f"user={url.username}", "port 1"):
        assert detail not in text
    assert [r.getMessage() for r in caplog.records] == [
        "Exception closing connection <Connection> (OperationalError)",
        "error ignored terminating <Connection>: boom",
    ]


def test_sqlite_errors_keep_their_first_line(tmp_path):
    engine = create_db_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        with pytest.raises(Exception) as err:
            conn.execute(cases.select())
    engine.dispose()
    assert describe(err.value) == "no such table: cases"
    assert describe(ValueError("not a database error")) is None

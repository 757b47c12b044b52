"""Creating engines and sessions, and running migrations.

``hide_parameters=True`` keeps bound values (which may be case data) out of every
SQLAlchemy error message and log line; :func:`frister.db.diagnostics.quiet_drivers`
keeps the server's host, port, user and database out of the drivers' log lines.

A SQLite database file holds every case's dates, so frister creates it readable and
writable by its owner only (``0600``), whatever the umask: SQLite itself would create it
``0644`` less the umask, and it gives the ``-wal`` and ``-shm`` files the database
file's own mode. An existing file is not changed; :func:`sqlite_files_open_to_others`
tells ``frister health`` which ones others can read.
"""

from __future__ import annotations

import os
import stat
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from frister.db.diagnostics import quiet_drivers
from frister.errors import DatabaseNotReady, FristerError


def create_db_engine(url: str, **kwargs) -> Engine:
    """An engine for ``url`` with frister's settings (SQLite: foreign keys on, WAL, waits for locks)."""
    kwargs.setdefault("hide_parameters", True)
    quiet_drivers()
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30})
    try:
        engine = create_engine(url, **kwargs)
    except Exception as exc:  # bad URL, missing driver
        raise FristerError(f"database URL is not usable: {type(exc).__name__}") from None
    if engine.dialect.name == "sqlite":
        database = sqlite_file(engine)

        @event.listens_for(engine, "do_connect")
        def _private_file(_dialect, _record, _cargs, _cparams):
            if database is not None:
                _create_private(database)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
    return engine


def sqlite_file(engine: Engine) -> Path | None:
    """The file of a SQLite database, or None (another database, in memory, or a URI
    filename, whose options frister leaves to SQLite)."""
    url = engine.url
    database = url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:") or str(url.query.get("uri", "")).lower() in ("true", "1"):
        return None
    return Path(database)


def _create_private(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (an empty file is a valid,
    empty SQLite database). Errors are left to SQLite, which says them its own way."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError:
        pass


def sqlite_files_open_to_others(engine: Engine) -> list[tuple[Path, int]]:
    """The database's files (the database, ``-wal``, ``-shm``) that exist and that its
    group or others may read or write, with their modes. Empty for PostgreSQL."""
    database = sqlite_file(engine)
    if database is None:
        return []
    out = []
    for path in (database, database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")):
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except OSError:
            continue
        if mode & 0o077:
            out.append((path, mode))
    return out


@contextmanager
def transactional_ddl(conn: Connection) -> Iterator[None]:
    """On SQLite, make the schema changes that follow part of the connection's
    transaction, so that the caller's commit or rollback covers them too.

    Python's ``sqlite3`` driver, in its default (legacy) transaction control, opens a
    transaction only before ``INSERT``, ``UPDATE``, ``DELETE`` or ``REPLACE``. A
    ``CREATE``, ``DROP`` or ``ALTER`` that comes before any of them runs on its own and
    is committed at once: a migration that failed halfway left the tables it had
    created, and running the upgrade again would fail on them. This opens the
    transaction with an explicit ``BEGIN`` (SQLite's schema changes are transactional).
    Elsewhere, or when a transaction is already open, it does nothing.

    Only migrations need it: a full run, which drops and rebuilds indexes, writes a row
    first."""
    if conn.dialect.name == "sqlite":
        dbapi = conn.connection.driver_connection
        if not dbapi.in_transaction:
            level = dbapi.isolation_level
            dbapi.isolation_level = None  # the driver's own BEGIN off (nothing is open to commit)
            try:
                dbapi.execute("BEGIN")
            finally:
                dbapi.isolation_level = level  # the driver sees the open transaction and adds none
    yield


def wait_for_database(engine: Engine, seconds: float, sleep=time.sleep, clock=time.monotonic) -> None:
    """Return once the database accepts a connection, trying every two seconds for up to
    ``seconds`` (a server still starting beside frister, as in a compose file whose
    ``depends_on`` condition the tool ignores); then :class:`DatabaseNotReady` with the
    driver's first line."""
    deadline = clock() + seconds
    while True:
        try:
            with engine.connect():
                return
        except OperationalError as exc:
            if clock() >= deadline:
                first = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
                raise DatabaseNotReady(f"the database did not accept a connection within {seconds:g} s: {first}") \
                    from None
        sleep(min(2.0, max(deadline - clock(), 0.0)) or 0.1)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine_or_url, migrations_dir: Path):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    if isinstance(engine_or_url, str):
        cfg.set_main_option("sqlalchemy.url", engine_or_url.replace("%", "%%"))
    else:
        cfg.attributes["engine"] = engine_or_url
    return cfg


def migrate(engine: Engine, migrations_dir: Path, revision: str = "head") -> None:
    """Upgrade the schema to ``revision`` (Alembic owns the schema)."""
    from alembic import command

    with engine.begin() as conn:
        cfg = alembic_config(engine, migrations_dir)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(migrations_dir: Path) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://", migrations_dir)).get_current_head()


def require_schema(engine: Engine, migrations_dir: Path) -> None:
    """Fail with a helpful message unless the database is at the latest migration
    (every command that uses the database runs this first)."""
    try:
        current = current_revision(engine)
        if current is None and inspect(engine).has_table("cases"):
            current = "(unversioned)"
    except OperationalError:
        raise DatabaseNotReady("cannot open the database; check FRISTER_DATABASE_URL") from None
    head = head_revision(migrations_dir)
    if current != head:
        raise DatabaseNotReady(
            f"the database schema is at {current or 'nothing'}, this frister needs {head}: run 'frister db upgrade'"
        )

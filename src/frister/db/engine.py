"""Creating engines and sessions, and running migrations.

``hide_parameters=True`` keeps bound values (which may be case data) out of every
SQLAlchemy error message and log line.

A SQLite database file holds every case's dates, so frister creates it readable and
writable by its owner only (``0600``), whatever the umask: SQLite itself would create it
``0644`` less the umask, and it gives the ``-wal`` and ``-shm`` files the database
file's own mode. An existing file is not changed; :func:`sqlite_files_open_to_others`
tells ``frister health`` which ones others can read.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from frister.errors import DatabaseNotReady, FristerError

log = logging.getLogger("frister.db")


def create_db_engine(url: str, **kwargs) -> Engine:
    """An engine for ``url`` with frister's settings (SQLite: foreign keys on, WAL, waits for locks)."""
    kwargs.setdefault("hide_parameters", True)
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

    Only migrations need it. A full run, which drops and rebuilds indexes, writes a row
    first; the outbox's claim creates a temporary table, which only its own connection
    sees."""
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


def vacuum(engine: Engine, tables: Iterable[str], analyze: bool = False) -> None:
    """On PostgreSQL, ``VACUUM`` (and with ``analyze``, ``ANALYZE``) the given tables
    (outside any transaction: call it after the writes have committed). Elsewhere
    nothing: SQLite's ``VACUUM`` rebuilds the whole file, and its tables keep no dead
    row versions to clear."""
    names = sorted(set(tables))
    if not names or engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(("VACUUM (ANALYZE) " if analyze else "VACUUM ") + ", ".join(names))


class CheckpointOnAThread:
    """On SQLite, for the duration of a ``with`` block: no commit checkpoints the WAL,
    and after :meth:`start` a thread does it while the block goes on; the block's end
    waits for that thread. Elsewhere nothing.

    A commit that leaves more than ``wal_autocheckpoint`` pages (1000) in the WAL
    copies them into the database file before it returns, and the checkpoint then waits
    until the disk has them (``fsync``). A night at a million cases commits about
    25,000 pages scattered over the file; copying them takes about 0.2 s, the disk
    0.2–1 s more. Inside the block, every connection checked out of the pool has
    ``wal_autocheckpoint=0``, and gets its own setting back when it is checked in.

    The thread (:meth:`start`, called after the big commit) runs passive checkpoints,
    which neither take the write lock nor wait for readers, so the block's own reads
    and commits go on. A passive checkpoint waits for the disk only when no commit came
    in while it copied; the thread therefore checkpoints again, and waits a little
    between two that found nothing new, until the block has ended and one more found
    nothing new: by then everything committed is in the database file and on the disk.
    Nothing depends on it for safety: SQLite never reuses the WAL before the pages it
    holds are synced into the database file, and a checkpoint that did not happen is
    done by a later commit, or by the last connection to close."""

    POLL = 0.1  # seconds between two checkpoints that found nothing new, while the block runs
    MAX_BUSY = 100  # checkpoints refused because another one is running, before giving up

    def __init__(self, engine: Engine):
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self._ended = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "CheckpointOnAThread":
        if self.sqlite:
            event.listen(self.engine, "checkout", _autocheckpoint_off)
            event.listen(self.engine, "checkin", _autocheckpoint_back)
        return self

    def start(self) -> None:
        if self.sqlite and self._thread is None:
            self._thread = threading.Thread(target=self._work, name="frister-wal-checkpoint", daemon=True)
            self._thread.start()

    def __exit__(self, *exc) -> None:
        self._ended.set()
        if self._thread is not None:
            self._thread.join()
        if self.sqlite:
            event.remove(self.engine, "checkout", _autocheckpoint_off)
            event.remove(self.engine, "checkin", _autocheckpoint_back)

    def _work(self) -> None:
        try:
            with self.engine.connect() as conn:
                dbapi = conn.connection.driver_connection
                previous, busy = None, 0
                while True:
                    ended = self._ended.is_set()
                    # (busy, frames in the WAL when it began, frames copied so far)
                    result = tuple(dbapi.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())
                    if result[0]:  # another connection is checkpointing
                        busy += 1
                        if busy > self.MAX_BUSY:
                            return
                    elif result == previous:  # nothing committed since the previous one began
                        if ended:
                            return
                    else:
                        previous = result
                        continue
                    self._ended.wait(self.POLL)
        except Exception as exc:  # noqa: BLE001 - reported, never raised: see the docstring
            log.warning("WAL checkpoint failed: %s", type(exc).__name__)


_AUTOCHECKPOINT = "frister_wal_autocheckpoint"


def _autocheckpoint_off(dbapi_conn, record, _proxy) -> None:
    record.info[_AUTOCHECKPOINT] = dbapi_conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    dbapi_conn.execute("PRAGMA wal_autocheckpoint=0")


def _autocheckpoint_back(dbapi_conn, record) -> None:
    before = record.info.pop(_AUTOCHECKPOINT, None)
    if before is not None and dbapi_conn is not None:
        dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={int(before)}")


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


# A migration's own declaration of its revision and the one it revises, as Alembic
# writes them (a merge revises a tuple: then the files are left to Alembic to read).
_REVISION = re.compile(r"""^revision(?:\s*:\s*str)?\s*=\s*['"]([^'"]+)['"]\s*$""", re.M)
_DOWN_REVISION = re.compile(r"""^down_revision(?:\s*:[^=]*)?=\s*(?:None|['"]([^'"]+)['"])\s*$""", re.M)


def declared_head(migrations_dir: Path) -> str | None:
    """The latest revision as the migration files declare it, read as text, or None
    when they do not declare one plainly (Alembic then reads them)."""
    revisions, revised = set(), set()
    for path in sorted((migrations_dir / "versions").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        revision, down = _REVISION.findall(text), _DOWN_REVISION.findall(text)
        if len(revision) != 1 or len(down) != 1:
            return None
        revisions.add(revision[0])
        revised.update(d for d in down if d)
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 else None


def _stored_revision(engine: Engine) -> str | None:
    """The revision recorded in the database, or None when it is not plainly one."""
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
    except DBAPIError:
        return None
    return rows[0] if len(rows) == 1 else None


def require_schema(engine: Engine, migrations_dir: Path) -> None:
    """Fail with a helpful message unless the database is at the latest migration.

    Every command runs this first, the nightly run included, so the usual case (the
    database is at the head the migration files declare) is answered without Alembic,
    whose import alone took 0.1 s of a 2 s night; anything else is left to Alembic."""
    head = declared_head(migrations_dir)
    if head is not None and _stored_revision(engine) == head:
        return
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

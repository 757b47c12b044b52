"""Database errors told without connection details or values.

A driver's own text is not fit for a terminal or a log: psycopg's connection errors
name the server's host, port, user and database (``connection to server at "…", port
5432 failed: FATAL: role "…" does not exist``), the repr of its connections, cursors and
COPY objects does too (``<psycopg.Connection [IDLE] (host=… user=… database=…)>``), and
a server's ``DETAIL:`` line may quote a row. Two places let that text out, and both are
closed here:

* **Exceptions.** :func:`describe` gives the one line the CLI prints for any database
  error: psycopg's exception class and SQLSTATE (``UniqueViolation (SQLSTATE 23505)``),
  a fixed sentence for a connection that failed or was lost, SQLite's first line (it
  names tables and columns, never a connection or a value).
* **Log records.** psycopg logs warnings with its objects as arguments (``error ignored
  terminating %r`` when a ``COPY`` fails), and SQLAlchemy's pool logs ``Exception
  closing connection %r`` with a traceback. Without a logging configuration Python
  prints such a record on stderr. :func:`quiet_drivers` (called for every engine) puts
  a filter on those loggers that replaces every argument that is not a plain value by
  its type's name, an exception by :func:`describe`, and drops the traceback.
"""

from __future__ import annotations

import logging
import re
import sqlite3

from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import Pool

LOST = "cannot reach the database server, or the connection was lost (check FRISTER_DATABASE_URL and the server)"
# SQLSTATE classes whose server messages name the user or the database.
_CONNECTION_CLASSES = ("08", "28", "3D", "57")
# What a connection summary looks like, should one reach a message by another way.
_DETAIL = re.compile(r"\b(host|hostaddr|port|user|dbname|database)=\S+|server at \"[^\"]*\", port \d+")


def describe(exc: BaseException) -> str | None:
    """One line for a database error, without connection details or values; None when
    ``exc`` is not a database error."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig
    elif isinstance(exc, SQLAlchemyError):
        return type(exc).__name__
    if isinstance(exc, sqlite3.Error):
        lines = str(exc).strip().splitlines()
        return lines[0] if lines else type(exc).__name__
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return None
    if not isinstance(exc, psycopg.Error):
        return None
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate is None:  # raised by the client: connection failed or lost, misuse
        return LOST if isinstance(exc, psycopg.OperationalError) else type(exc).__name__
    if sqlstate.startswith(_CONNECTION_CLASSES):
        return f"{LOST}: {type(exc).__name__} (SQLSTATE {sqlstate})"
    return f"{type(exc).__name__} (SQLSTATE {sqlstate})"


class _NoConnectionDetail(logging.Filter):
    """Rewrites a driver's log record so that it holds no connection detail or value."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, dict):
            record.args = {k: _plain(v) for k, v in record.args.items()}
        elif record.args:
            record.args = tuple(_plain(a) for a in record.args)
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            message = f"{message} ({_plain(record.exc_info[1])})"
        record.msg = _DETAIL.sub(lambda m: f"{m.group(1)}=…" if m.group(1) else "server", message)
        record.args = record.exc_info = record.exc_text = record.stack_info = None
        return True


class _Shown(str):
    """A replacement argument that ``%r`` shows as it is."""

    def __repr__(self) -> str:
        return str(self)


def _plain(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, BaseException):
        return _Shown(describe(value) or type(value).__name__)
    return _Shown(f"<{type(value).__name__}>")


_FILTER = _NoConnectionDetail()


def quiet_drivers() -> None:
    """Put the filter on psycopg's logger and on each of SQLAlchemy's pool loggers (a
    logger's filter does not apply to its children, so each is named). Idempotent."""
    names = {"psycopg", "sqlalchemy.pool"}
    pools = [Pool]
    while pools:
        cls = pools.pop()
        names.add(f"{cls.__module__}.{cls.__name__}")
        pools.extend(cls.__subclasses__())
    for name in names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)

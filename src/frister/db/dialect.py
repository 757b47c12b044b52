"""What SQLite and PostgreSQL do differently, in one place.

Domain modules never ask which database they are on: they call these functions, each of
which states what it guarantees on both.

* :func:`bulk_insert`, :func:`delete_keys`, :func:`update_rows`: bulk writes inside the
  caller's transaction (PostgreSQL: ``COPY`` and ``unnest`` arrays; SQLite:
  ``executemany`` on the driver's connection).
* :class:`Reader`: SQL for the columnar reader (day numbers, a list of ids as one
  parameter, the driver's placeholder).
* :func:`rebuilt_indexes`: a bulk rewrite of a table without its secondary indexes, built
  again in one pass at the end (SQLite only; dropping an index on PostgreSQL would lock
  every reader out until the transaction ends).
* :func:`planned_for_key_lookups`: PostgreSQL's planner told that random reads are
  cheap while a transaction reads a few thousand rows by key.
* :func:`serialise_runs`: evaluation runs take turns (PostgreSQL: a table lock; SQLite
  has one writer anyway).
* :func:`after_bulk_write`: ``VACUUM (ANALYZE)`` of tables a bulk write rewrote
  (PostgreSQL; SQLite keeps no dead row versions).
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from itertools import repeat
from operator import is_, itemgetter
from typing import Iterable, Iterator, Sequence

from sqlalchemy import Connection, Date, Engine, Table, TypeDecorator

from frister.calendar import NONE

# psycopg's placeholder for a list sent as a PostgreSQL array in binary: in text the
# driver tests every element against a regular expression to quote it.
_ARRAY = "%b"
LOOKUP_PAGE_COST = 1.1  # random_page_cost while a run reads by key (the usual value for SSDs)


def is_postgresql(bind: Connection | Engine) -> bool:
    return bind.dialect.name == "postgresql"


# --- reading ---------------------------------------------------------------------------


class Reader:
    """SQL fragments for reading through the driver's own cursor."""

    def __init__(self, conn: Connection):
        self.pg = is_postgresql(conn)
        self.mark = "%s" if self.pg else "?"

    def day(self, col: str) -> str:
        """``col`` (a date) as the cheapest form the database gives: a day number since
        1970-01-01 on PostgreSQL (NULL as :data:`~frister.calendar.NONE`), the stored
        ``YYYY-MM-DD`` text on SQLite (NULL as ``0000-00-00``; parsed in bulk by the reader)."""
        return f"COALESCE({col} - DATE '1970-01-01', {int(NONE)})" if self.pg else f"COALESCE({col}, '0000-00-00')"

    def date_text(self, col: str) -> str:
        """``col`` (a date) as ``YYYY-MM-DD`` text, as SQLite stores it."""
        return f"to_char({col}, 'YYYY-MM-DD')" if self.pg else col

    def among(self, case_ids: Sequence[str], column: str = "case_id") -> tuple[str, Sequence]:
        """``column`` among the given ids, as a condition and its parameters (one array
        parameter on PostgreSQL: thousands of placeholders cost more to send than to run)."""
        if self.pg:
            return f"{column} = ANY({_ARRAY})", (list(case_ids),)
        return f"{column} IN ({', '.join('?' * len(case_ids))})", list(case_ids)


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for one batch of bulk reading or writing: a
    batch is many row tuples without cycles, and every 700 allocations would start a
    collection that walks them all. Use it around one batch, never across a ``yield``."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# --- writing ---------------------------------------------------------------------------


def bulk_insert(conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[tuple],
                ready: bool = False) -> None:
    """Insert ``rows`` (tuples in ``columns`` order). ``ready``: the values are already
    what the driver takes as they are (dates as ``YYYY-MM-DD`` text, plain Python ints,
    strs, bools and None), so nothing is converted per value."""
    dbapi = conn.connection.driver_connection
    names = ", ".join(columns)
    if not ready:
        rows = map(_bound(conn, table, columns), rows)
    if is_postgresql(conn):
        with dbapi.cursor() as cur, cur.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    _sqlite_insert(dbapi, table.name, columns, rows)


def _bound(conn: Connection, table: Table, columns: Sequence[str]):
    """A function that makes a row's values what the driver takes: a column type's own
    conversion (a list of dates as text), and on SQLite dates as ``YYYY-MM-DD`` text."""
    pg = is_postgresql(conn)
    convert = {}
    for i, name in enumerate(columns):
        kind = table.c[name].type
        if isinstance(kind, TypeDecorator):
            convert[i] = lambda v, k=kind: k.process_bind_param(v, conn.dialect)
        elif isinstance(kind, Date) and not pg:
            convert[i] = lambda v: v.isoformat() if v is not None else None

    def bound(row: Sequence) -> Sequence:
        if not convert:
            return row
        out = list(row)
        for i, fn in convert.items():
            out[i] = fn(out[i])
        return out

    return bound


def _sqlite_insert(dbapi, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    """``executemany`` with the rows grouped by which of their values are NULL, and
    those written into the statement instead of bound: the driver binds a str, int or
    float directly but looks up an adapter for anything else, None included, and an
    obligation row has about a dozen empty columns."""
    groups: dict[tuple, list] = {}
    for row in rows:
        groups.setdefault(tuple(map(is_, row, repeat(None))), []).append(row)
    names = ", ".join(columns)
    for mask, group in groups.items():
        kept = [i for i, empty in enumerate(mask) if not empty]
        values = ", ".join("NULL" if empty else "?" for empty in mask)
        if len(kept) == len(mask):
            bound: Iterable = group
        elif len(kept) > 1:
            bound = map(itemgetter(*kept), group)
        else:
            bound = ([row[i] for i in kept] for row in group)
        dbapi.executemany(f"INSERT INTO {table} ({names}) VALUES ({values})", bound)


def delete_keys(conn: Connection, table: str, key: Sequence[tuple[str, str]], keys: list[tuple]) -> None:
    """Delete the rows of ``table`` whose key (``[(column, SQL type), …]``) is among
    ``keys``."""
    if not keys:
        return
    names = [name for name, _ in key]
    if is_postgresql(conn):
        arrays = ", ".join(f"{_ARRAY}::{kind}[]" for _, kind in key)
        with conn.connection.driver_connection.cursor() as cur:
            cur.execute(f"DELETE FROM {table} o USING unnest({arrays}) AS k({', '.join(names)}) "
                        f"WHERE ({', '.join(f'o.{n}' for n in names)}) = ({', '.join(f'k.{n}' for n in names)})",
                        [list(c) for c in zip(*keys)])
        return
    conn.connection.driver_connection.executemany(
        f"DELETE FROM {table} WHERE " + " AND ".join(f"{n} = ?" for n in names), keys)


def update_rows(conn: Connection, table: str, key: tuple[str, str], columns: Sequence[tuple[str, str]],
                rows: list[tuple]) -> None:
    """Update ``table``'s rows by ``key`` (``(column, SQL type)``): each row is the key
    followed by the values of ``columns`` (``[(column, SQL type), …]``)."""
    if not rows:
        return
    names = [f'"{n}"' for n, _ in columns]
    if is_postgresql(conn):
        arrays = ", ".join(f"{_ARRAY}::{kind}[]" for _, kind in (key, *columns))
        with conn.connection.driver_connection.cursor() as cur:
            cur.execute(f"UPDATE {table} t SET " + ", ".join(f"{n} = v.{n}" for n in names)
                        + f" FROM unnest({arrays}) AS v({key[0]}, {', '.join(names)}) WHERE t.{key[0]} = v.{key[0]}",
                        [list(c) for c in zip(*rows)])
        return
    conn.connection.driver_connection.executemany(
        f"UPDATE {table} SET " + ", ".join(f"{n} = ?" for n in names) + f" WHERE {key[0]} = ?",
        (row[1:] + row[:1] for row in rows))


# --- planning and maintenance --------------------------------------------------------------


@contextmanager
def rebuilt_indexes(conn: Connection, tables: Sequence[Table]) -> Iterator[None]:
    """Around a rewrite of every row of ``tables`` on SQLite: their secondary indexes
    dropped, then built again in one pass each (a sort instead of a random B-tree insert
    per row). Part of the caller's transaction, so a failure leaves them as they were.
    Elsewhere nothing."""
    indexes = [] if is_postgresql(conn) else [i for t in tables for i in t.indexes]
    for index in indexes:
        index.drop(conn)
    yield
    for index in indexes:
        index.create(conn)


@contextmanager
def planned_for_key_lookups(conn: Connection) -> Iterator[None]:
    """On PostgreSQL, for this transaction only, ``random_page_cost`` at most
    :data:`LOOKUP_PAGE_COST` (a server set lower keeps its own): with the default (4,
    priced for spinning disks) a list of a few thousand case ids is planned as a
    sequential scan of every table. Elsewhere nothing."""
    if not is_postgresql(conn):
        yield
        return
    before = conn.exec_driver_sql("SELECT current_setting('random_page_cost')").scalar_one()
    if float(before) > LOOKUP_PAGE_COST:
        conn.exec_driver_sql(f"SELECT set_config('random_page_cost', '{LOOKUP_PAGE_COST}', true)")
    yield
    conn.exec_driver_sql("SELECT set_config('random_page_cost', %(v)s, true)", {"v": before})


def serialise_runs(conn: Connection, table: str) -> None:
    """Make evaluation runs take turns for the rest of the transaction: on PostgreSQL a
    lock on ``table`` that runs take and readers do not conflict with; SQLite has one
    writer, and a run writes before it reads."""
    if is_postgresql(conn):
        conn.exec_driver_sql(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")


def after_bulk_write(engine: Engine, tables: Iterable[str]) -> None:
    """After a write that replaced many rows of ``tables`` has committed: on PostgreSQL
    ``VACUUM (ANALYZE)`` them, so that later queries neither step over the dead row
    versions nor plan with statistics of the table before (autovacuum may be off, or
    late). SQLite keeps no dead versions and plans without statistics: nothing."""
    names = sorted(set(tables))
    if names and is_postgresql(engine):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM (ANALYZE) " + ", ".join(names))

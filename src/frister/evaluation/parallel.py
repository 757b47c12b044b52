"""Evaluating on several cores.

Reading the facts costs the most in a full evaluation, and it is CPU work in this
process (the driver building rows) as much as in the database. So a full evaluation
cuts the cases into contiguous ``case_id`` runs (:func:`frister.store.columns.split_points`)
and lets each of ``workers`` processes read and evaluate one run with a connection of
its own; this process only combines what they send back (``summarise(evaluation)``,
called in the worker: keep it small, e.g. counts). An incremental run shares out its
stale cases the same way (:func:`map_parts`; see
:func:`frister.evaluation.service._map_deltas`). Workers are forked (Linux) and only
read; they see the committed facts, which no evaluation changes.

A worker's failure is reported by exception type only, like everything else that
may stand near case data.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

from sqlalchemy import Connection

from frister.db.bulk import gc_paused
from frister.db.engine import create_db_engine
from frister.engine import columnar
from frister.errors import FristerError
from frister.rules.model import Rule
from frister.store.columns import iter_batches, split_points

T = TypeVar("T")
P = TypeVar("P")
PARALLEL_FROM = 20_000  # cases: below this, one process is faster than starting more
_DONE = "done"


def map_evaluations(conn: Connection, rules: Iterable[Rule], as_of: dt.date,
                    summarise: Callable[[columnar.Evaluation], T], workers: int = 2,
                    parallel_from: int | None = None, chunk: int | None = None) -> Iterator[T]:
    """``summarise`` of the evaluation of every batch of cases, in no particular order."""
    rule_list = tuple(rules)
    total = conn.exec_driver_sql("SELECT count(*) FROM cases").scalar_one()
    size = {} if chunk is None else {"chunk": chunk}

    def evaluate(c: Connection, bounds: tuple[str, str | None]) -> Iterator[T]:
        after, until = bounds
        for batch in iter_batches(c, after=after, until=until, **size):
            yield summarise(columnar.evaluate_batch(rule_list, batch, as_of))

    if not can_fork(conn, workers) or total < (PARALLEL_FROM if parallel_from is None else parallel_from):
        yield from evaluate(conn, ("", None))
        return
    points = split_points(conn, workers, total)
    yield from map_parts(conn, list(zip([""] + points, points + [None])), evaluate)


def can_fork(conn: Connection, workers: int) -> bool:
    """Whether work on this connection's database can go to ``workers`` forked processes
    with connections of their own (not for a database in this process's memory)."""
    return (workers > 1 and "fork" in multiprocessing.get_all_start_methods()
            and conn.engine.url.database not in (None, "", ":memory:"))


def map_parts(conn: Connection, parts: Sequence[P], work: Callable[[Connection, P], Iterable[T]]) -> Iterator[T]:
    """What ``work(connection, part)`` yields for every part, each part in a forked
    process of its own with its own connection to ``conn``'s database, in the order it
    comes. The workers only read; they see what is committed (not the caller's
    transaction). A failure is raised here as a :class:`FristerError` that names only
    the exception's type."""
    url = conn.engine.url.render_as_string(hide_password=False)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue(maxsize=4 * len(parts))
    procs = [ctx.Process(target=_work, args=(url, work, part, queue), daemon=True) for part in parts]
    for p in procs:
        p.start()
    try:
        running = len(procs)
        while running:
            with gc_paused():  # unpickling a batch's rows
                kind, payload = queue.get()
            if kind == _DONE:
                running -= 1
            elif kind == "failed":
                raise FristerError(f"an evaluation worker failed ({payload})")
            else:
                yield payload
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
            p.join()


def _work(url, work, part, queue) -> None:
    try:
        engine = create_db_engine(url)
        with engine.connect() as conn:
            for result in work(conn, part):
                queue.put(("result", result))
        engine.dispose()
        queue.put((_DONE, None))
    except BaseException as exc:  # reported by type only: a message may hold data
        queue.put(("failed", type(exc).__name__))

"""Evaluating on several cores.

Reading the facts costs the most in an evaluation, and it is CPU work in this process
(the driver building rows) as much as in the database. So a run's scope is cut into
:class:`Part` s: contiguous ``case_id`` ranges of every case (:func:`parts_of` without
ids) or shares of a list of case ids, and, when the scope is large enough to pay for it,
each part goes to a forked process with a connection of its own
(:func:`map_parts`), which sends back what ``work`` yields (keep it small: counts, or the
rows to write). Workers only read; they see the committed facts, which no evaluation
changes.

A worker's failure is reported by exception type only, like everything else that may
stand near case data.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

from sqlalchemy import Connection

from frister.db.dialect import gc_paused
from frister.db.engine import create_db_engine
from frister.engine.evaluate import Evaluation, evaluate
from frister.errors import FristerError
from frister.rules.model import Rule
from frister.store.facts import case_count, read_batches, split_points

T = TypeVar("T")
PARALLEL_FROM = 5_000  # cases in a scope: below this, one process is faster than starting more
CHUNK_OF_IDS = 1_000  # cases of a list read, evaluated and sent at a time, so writing starts early
_DONE = "done"


@dataclass(frozen=True)
class Part:
    """Cases with ``after < case_id <= until`` (``until`` None: to the end), or the listed ones."""

    after: str = ""
    until: str | None = None
    case_ids: list[str] | None = None
    chunk: int = CHUNK_OF_IDS


def parts_of(conn: Connection, case_ids: list[str] | None = None, workers: int = 2) -> list[Part]:
    """The scope (every case, or ``case_ids``) in one part per worker when it pays, else one."""
    size = case_count(conn) if case_ids is None else len(case_ids)
    n = workers if can_fork(conn, workers) and size >= PARALLEL_FROM else 1
    if case_ids is not None:
        share = -(-len(case_ids) // n) or 1
        return [Part(case_ids=case_ids[i:i + share], chunk=CHUNK_OF_IDS)
                for i in range(0, len(case_ids), share)] or [Part(case_ids=[])]
    points = split_points(conn, n, size) if n > 1 else []
    return [Part(after, until) for after, until in zip([""] + points, points + [None])]


def can_fork(conn: Connection, workers: int) -> bool:
    """Whether work on this connection's database can go to forked processes with
    connections of their own (not for a database in this process's memory)."""
    return (workers > 1 and "fork" in multiprocessing.get_all_start_methods()
            and conn.engine.url.database not in (None, "", ":memory:"))


def map_parts(conn: Connection, parts: Sequence[Part], work: Callable[[Connection, Part], Iterable[T]],
              workers: int = 2) -> Iterator[T]:
    """What ``work(connection, part)`` yields for every part, in the order it comes: in
    this process for a single part, else each part in a forked process of its own with
    its own connection to ``conn``'s database. Forked workers see what is committed (not
    the caller's transaction). A failure there is raised here as a :class:`FristerError`
    that names only the exception's type."""
    if len(parts) == 1 or not can_fork(conn, workers):
        for part in parts:
            yield from work(conn, part)
        return
    url = conn.engine.url.render_as_string(hide_password=False)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue(maxsize=4 * len(parts))
    procs = [ctx.Process(target=_work, args=(url, work, part, queue), daemon=True) for part in parts]
    for p in procs:
        p.start()
    try:
        running = len(procs)
        while running:
            with gc_paused():  # unpickling a part's rows
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


def map_evaluations(conn: Connection, rules: Iterable[Rule], as_of: dt.date,
                    summarise: Callable[[Evaluation], T], workers: int = 2) -> Iterator[T]:
    """``summarise`` of the evaluation of every batch of every stored case, in no
    particular order (``summarise`` runs where the batch was evaluated)."""
    rule_list = tuple(rules)

    def work(c: Connection, part: Part) -> Iterator[T]:
        for batch in read_batches(c, after=part.after, until=part.until):
            yield summarise(evaluate(rule_list, batch, as_of))

    yield from map_parts(conn, parts_of(conn, None, workers), work, workers)

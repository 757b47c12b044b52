"""Every change to a case is logged in ``case_changes`` by the database itself, and a
nightly run takes exactly the changes it saw."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select, text

from frister.db.engine import create_db_engine
from frister.demo.generate import generate_cases, write_jsonl
from frister.evaluation.service import evaluate_and_store, run_evaluation
from frister.importer import import_file
from frister.store.tables import case_changes

AS_OF = dt.date(2025, 6, 20)


def _logged(engine) -> list[str]:
    with engine.connect() as conn:
        return conn.execute(select(case_changes.c.case_id).order_by(case_changes.c.id)).scalars().all()


def _import(engine, tmp_path, records, name):
    path = tmp_path / f"{name}.jsonl"
    write_jsonl(path, records)
    return import_file(engine, path, as_of=AS_OF)


def test_inserting_replacing_and_deleting_a_case_logs_it(engine, rules, tmp_path):
    records = list(generate_cases(AS_OF, seed=3, cases=20))
    ids = [r["case_id"] for r in records]
    _import(engine, tmp_path, records, "first")
    assert sorted(_logged(engine)) == sorted(ids)

    run_evaluation(engine, rules, AS_OF)
    assert _logged(engine) == []  # a full run takes the whole log

    _import(engine, tmp_path, records, "same")
    assert _logged(engine) == []  # an unchanged case is not written, so not logged

    changed = json.loads(json.dumps(records[4]))
    changed["unit"] = "Vest"
    _import(engine, tmp_path, [changed], "changed")
    assert set(_logged(engine)) == {ids[4]}  # replaced: its row updated

    with engine.begin() as conn:
        conn.execute(text("DELETE FROM cases WHERE case_id = :c"), {"c": ids[7]})
        conn.execute(text("UPDATE cases SET caseworker = 'x' WHERE case_id = :c"), {"c": ids[9]})
    assert sorted(set(_logged(engine))) == sorted({ids[4], ids[7], ids[9]})


def test_a_nightly_run_takes_the_log_and_removes_what_a_deleted_case_left(engine, rules, tmp_path):
    records = list(generate_cases(AS_OF, seed=4, cases=30))
    _import(engine, tmp_path, records, "first")
    run_evaluation(engine, rules, AS_OF)
    gone = records[2]["case_id"]
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM cases WHERE case_id = :c"), {"c": gone})
        left = conn.execute(text("SELECT count(*) FROM obligations WHERE case_id = :c"), {"c": gone}).scalar_one()
    assert left > 0  # nothing else removes a case's results

    night = run_evaluation(engine, rules, AS_OF, kind="nightly", incremental=True)

    assert night.mode == "incremental" and night.cases == 29
    assert _logged(engine) == []
    with engine.connect() as conn:
        for table in ("obligations", "case_evaluations"):
            n = conn.execute(text(f"SELECT count(*) FROM {table} WHERE case_id = :c"), {"c": gone}).scalar_one()
            assert n == 0, table


@pytest.mark.postgresql
def test_a_change_committed_while_a_run_works_stays_for_the_next_run(pg_server_url, rules, tmp_path):
    from ..conftest import _truncate_all

    _truncate_all(pg_server_url)
    engine = create_db_engine(pg_server_url)
    try:
        records = list(generate_cases(AS_OF, seed=5, cases=10))
        _import(engine, tmp_path, records, "first")
        run_evaluation(engine, rules, AS_OF)
        changed = json.loads(json.dumps(records[0]))
        changed["unit"] = "Vest"
        _import(engine, tmp_path, [changed], "before")
        with engine.begin() as conn:
            summary = evaluate_and_store(conn, rules, AS_OF, incremental=True)
            assert summary.evaluated == 1
            # Another import commits while the run's transaction is still open.
            later = json.loads(json.dumps(records[1]))
            later["unit"] = "Vest"
            _import(engine, tmp_path, [later], "during")
        assert set(_logged(engine)) == {records[1]["case_id"]}
        night = run_evaluation(engine, rules, AS_OF, incremental=True)
        assert night.evaluated == 1 and _logged(engine) == []
    finally:
        engine.dispose()

"""Evaluation runs stored in the database, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from sqlalchemy import func, select

from frister.demo.generate import generate_cases, write_jsonl
from frister.engine import evaluate_case
from frister.evaluation.models import CaseEvaluation, EvaluationRun, Obligation
from frister.evaluation.service import run_evaluation
from frister.facts.parse import parse_case
from frister.importer import import_file

AS_OF = dt.date(2025, 11, 1)
FIXED = dt.datetime(2025, 11, 1, 2, 0, tzinfo=dt.timezone.utc)


STORED = [c.name for c in Obligation.__table__.columns if c.name != "run_id"]


def _rows(engine):
    with engine.connect() as conn:
        cols = [Obligation.__table__.c[name] for name in STORED]
        return conn.execute(select(*cols).order_by(*Obligation.__table__.primary_key.columns)).all()


def _stored_form(r) -> tuple:
    """A result as its stored row (no run id; ``period`` '' when not a visit period)."""
    return tuple((r.period or "") if name == "period" else getattr(r, name) for name in STORED)


def test_it_stores_every_obligation_not_met_in_time_and_counts_all_in_the_run_record(engine, rules, tmp_path):
    records = list(generate_cases(AS_OF, seed=7, cases=60))
    write_jsonl(tmp_path / "c.jsonl", records)
    import_file(engine, tmp_path / "c.jsonl", as_of=AS_OF)
    summary = run_evaluation(engine, rules, AS_OF, now=lambda: FIXED)

    expected = [r for rec in records for r in evaluate_case(rules, parse_case(rec)[0], AS_OF)]
    not_met = sorted((r for r in expected if r.status != "met"), key=lambda r: r.key)
    assert summary.cases == 60 and summary.obligations == len(expected) > 300
    with engine.connect() as conn:
        run = conn.execute(select(EvaluationRun.__table__)).one()
        by_status = dict(conn.execute(select(Obligation.status, func.count()).group_by(Obligation.status)).all())
    # Every stored row is exactly the case's own result, field by field (dates read back as dates).
    assert [tuple(r) for r in _rows(engine)] == [_stored_form(r) for r in not_met]
    assert len(not_met) > 100 and by_status.keys() == {"late", "open", "overdue"}
    assert (run.status, run.as_of, run.cases, run.obligations) == ("succeeded", AS_OF, 60, len(expected))
    assert run.rules_fingerprint == rules.fingerprint
    assert {s: getattr(run, s) for s in ("met", "late", "open", "overdue")} == {
        s: sum(1 for r in expected if r.status == s) for s in ("met", "late", "open", "overdue")}
    assert by_status == {s: n for s, n in summary.by_status.items() if s != "met"}


def test_a_run_on_two_processes_stores_what_a_run_in_one_process_stores(engine, rules, tmp_path, monkeypatch):
    path = tmp_path / "c.jsonl"
    write_jsonl(path, generate_cases(AS_OF, seed=12, cases=80, years=6))
    import_file(engine, path, as_of=AS_OF)

    def run():
        summary = run_evaluation(engine, rules, AS_OF, now=lambda: FIXED)
        with engine.connect() as conn:
            cases = conn.execute(select(CaseEvaluation.__table__).order_by(CaseEvaluation.case_id)).all()
        return summary, _rows(engine), cases

    one, one_rows, one_cases = run()
    monkeypatch.setattr("frister.evaluation.parallel.PARALLEL_FROM", 0)
    two, two_rows, two_cases = run()
    assert two_rows == one_rows and len(one_rows) > 100
    assert two_cases == one_cases
    assert two.by_status == one.by_status


def test_rerunning_for_the_same_date_gives_identical_results(engine, rules, tmp_path):
    path = tmp_path / "c.jsonl"
    write_jsonl(path, generate_cases(AS_OF, seed=8, cases=40))
    import_file(engine, path, as_of=AS_OF)
    run_evaluation(engine, rules, AS_OF, now=lambda: FIXED)
    first = _rows(engine)
    run_evaluation(engine, rules, dt.date(2025, 12, 24), now=lambda: FIXED)
    assert _rows(engine) != first
    run_evaluation(engine, rules, AS_OF, now=lambda: FIXED)
    assert _rows(engine) == first
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(EvaluationRun)).scalar_one() == 3


def _indexes(engine) -> dict[str, list[str]]:
    from sqlalchemy import inspect

    found = inspect(engine)
    return {table: sorted(i["name"] for i in found.get_indexes(table)) for table in ("obligations", "case_evaluations")}


def test_a_full_run_keeps_the_result_tables_indexes_and_a_failed_one_changes_nothing(engine, rules, tmp_path,
                                                                                     monkeypatch):
    from frister.evaluation import service

    path = tmp_path / "c.jsonl"
    write_jsonl(path, generate_cases(AS_OF, seed=9, cases=40))
    import_file(engine, path, as_of=AS_OF)
    indexes = _indexes(engine)
    assert indexes == {"obligations": ["ix_obligations_overdue_run_id", "ix_obligations_status_due_on",
                                       "ix_obligations_unit_status_due_on"],
                       "case_evaluations": ["ix_case_evaluations_stable_until"]}
    run_evaluation(engine, rules, AS_OF, now=lambda: FIXED)
    before = _rows(engine)
    assert _indexes(engine) == indexes and len(before) > 50

    class Interrupted(Exception):
        pass

    def fail(*args, **kwargs):
        raise Interrupted

    monkeypatch.setattr(service, "_write", fail)  # after the old rows are deleted (and on SQLite, the indexes)
    with pytest.raises(Interrupted):
        run_evaluation(engine, rules, dt.date(2025, 12, 24), now=lambda: FIXED)
    assert _indexes(engine) == indexes and _rows(engine) == before


def test_a_full_run_on_postgresql_vacuums_the_result_tables_after_it_commits_and_an_incremental_one_does_not(
        engine, rules, tmp_path):
    if engine.dialect.name != "postgresql":
        pytest.skip("VACUUM after a full run is PostgreSQL's")
    path = tmp_path / "c.jsonl"
    write_jsonl(path, generate_cases(AS_OF, seed=10, cases=30))
    import_file(engine, path, as_of=AS_OF)

    def vacuums() -> dict[str, int]:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT pg_stat_clear_snapshot()")
            return dict(conn.exec_driver_sql(
                "SELECT relname, vacuum_count FROM pg_stat_user_tables "
                "WHERE relname IN ('obligations', 'case_evaluations', 'case_changes')").all())

    before = vacuums()
    assert run_evaluation(engine, rules, AS_OF, now=lambda: FIXED).mode == "full"
    after_full = vacuums()
    assert after_full == {name: before[name] + 1 for name in ("obligations", "case_evaluations", "case_changes")}
    assert run_evaluation(engine, rules, AS_OF + dt.timedelta(days=1), now=lambda: FIXED,
                          incremental=True).mode == "incremental"
    assert vacuums() == after_full

"""The incremental nightly evaluation stores exactly what a full evaluation stores."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest

from sqlalchemy import select, text

from frister.db.engine import create_db_engine, migrate
from frister.demo.generate import generate_cases, write_jsonl
from frister.evaluation.models import CaseEvaluation, EvaluationRun, Obligation
from frister.evaluation import parallel, service
from frister.evaluation.service import evaluate_and_store, run_evaluation, shown_days_late
from frister.engine.results import STATUSES
from frister.errors import FristerError
from frister.importer import import_file

from ..conftest import MIGRATIONS

START = dt.date(2025, 6, 20)


def _obligations(engine, as_of=None):
    """The stored obligations as readers see them: with ``as_of``, the days late of
    overdue ones as :func:`shown_days_late` shows them (the stored figure is as of the
    run that last evaluated the case)."""
    cols = [c for c in Obligation.__table__.columns if c.name != "run_id"]
    with engine.connect() as conn:
        rows = conn.execute(select(*cols).order_by(*Obligation.__table__.primary_key.columns)).all()
    if as_of is None:
        return rows
    at = [c.name for c in cols].index("days_late")
    return [tuple(r[:at]) + (shown_days_late(r.status, r.due_on, r.days_late, as_of),) + tuple(r[at + 1:])
            for r in rows]


def _full_reference(rules, tmp_path, files, as_of, removed=()):
    """A fresh SQLite database with the same imports (and the same cases removed), fully
    evaluated as of ``as_of``: its obligations, and its totals."""
    ref = create_db_engine(f"sqlite:///{tmp_path / f'ref-{as_of}.db'}")
    migrate(ref, MIGRATIONS)
    for path, imported_as_of in files:
        import_file(ref, path, as_of=imported_as_of)
    with ref.begin() as conn:
        for case_id in removed:
            conn.execute(text("DELETE FROM cases WHERE case_id = :c"), {"c": case_id})
    summary = run_evaluation(ref, rules, as_of)
    rows = _obligations(ref)
    assert rows == _obligations(ref, as_of)  # a full run stores the days overdue as of its date
    assert _totals(summary) == _summed(ref)
    ref.dispose()
    return rows, _totals(summary)


def _totals(summary) -> tuple:
    return (summary.cases, *(summary.by_status.get(s, 0) for s in STATUSES))


def _summed(engine) -> tuple:
    """The totals as the sum of every case's stored counts."""
    with engine.connect() as conn:
        row = conn.execute(text("SELECT count(*), " + ", ".join(f"coalesce(sum({s}), 0)" for s in STATUSES)
                                + " FROM case_evaluations")).one()
    return tuple(int(n) for n in row)


@pytest.mark.parametrize("evaluator", ["one process", "workers"])
def test_incremental_runs_store_what_a_full_run_stores(engine, rules, tmp_path, evaluator, monkeypatch):
    # With "workers", two processes read, evaluate and compare parts of five cases while
    # this one writes (at scale: from PARALLEL_FROM cases in the scope).
    calls, parts = _count_parts(monkeypatch), {}
    if evaluator == "workers":
        monkeypatch.setattr(parallel, "PARALLEL_FROM", 0)
        monkeypatch.setattr(parallel, "CHUNK_OF_IDS", 5)
    records = list(generate_cases(START, seed=5, cases=120))
    first = tmp_path / "first.jsonl"
    write_jsonl(first, records)
    files = [(first, START)]
    import_file(engine, first, as_of=START)
    full = run_evaluation(engine, rules, START)
    assert full.mode == "full" and full.evaluated == 120

    # Nights with nothing new, across due dates and the end of June (a visit period).
    evaluated = {}
    removed: list[str] = []
    for night in (1, 2, 5, 11, 12, 30):
        as_of = START + dt.timedelta(days=night)
        if night == 11:
            # A newer export of a tenth of the cases: a review recorded, a visit added.
            changed = []
            for doc in records[::10]:
                doc = json.loads(json.dumps(doc))
                for ref in doc.get("referrals", []):
                    ref["concluded_on"] = ref.get("concluded_on") or ref["received_on"]
                for p in doc.get("placements", []):
                    p["supervision_visits"] = sorted(set(p["supervision_visits"] + [as_of.isoformat()]))
                changed.append(doc)
            path = tmp_path / "newer.jsonl"
            write_jsonl(path, changed)
            import_file(engine, path, as_of=as_of)
            files.append((path, as_of))
        if night == 12:  # a case removed from the register (by plain SQL: frister has no command for it)
            removed.append(records[7]["case_id"])
            with engine.begin() as conn:
                conn.execute(text("DELETE FROM cases WHERE case_id = :c"), {"c": removed[-1]})
        before = len(calls)
        summary = run_evaluation(engine, rules, as_of, kind="nightly", incremental=True)
        parts[night] = sum(calls[before:])
        assert summary.mode == "incremental"
        evaluated[night] = summary.evaluated
        rows, totals = _full_reference(rules, tmp_path, files, as_of, removed)
        assert _obligations(engine, as_of) == rows, f"night {night}"
        # Kept by difference, the totals are those of a full run and of every stored row.
        assert _totals(summary) == totals == _summed(engine), f"night {night}"
        with engine.connect() as conn:
            run = conn.execute(select(EvaluationRun.__table__).order_by(EvaluationRun.id.desc()).limit(1)).one()
        assert (run.mode, run.evaluated, run.obligations) == ("incremental", summary.evaluated, summary.obligations)

    assert evaluated[1] < 40  # a night's work is the cases that fall due, not all 120
    assert evaluated[11] >= 12  # the changed cases are re-evaluated
    # With workers, night 11's cases came back in parts of at most five.
    if evaluator == "workers":
        assert parts[11] >= -(-evaluated[11] // 5)


def _count_parts(monkeypatch) -> list[int]:
    """A list that gets, per run, the number of parts of its scope that came back."""
    calls: list[int] = []
    real = service.map_parts

    def counted(conn, shares, work, workers=2):
        calls.append(0)
        for delta in real(conn, shares, work, workers):
            calls[-1] += 1
            yield delta

    monkeypatch.setattr(service, "map_parts", counted)
    return calls


def test_a_worker_failing_in_a_night_leaves_every_result_and_the_change_log_as_they_were(
        engine, rules, tmp_path, monkeypatch):
    records = list(generate_cases(START, seed=9, cases=60))
    path = tmp_path / "c.jsonl"
    write_jsonl(path, records)
    import_file(engine, path, as_of=START)
    run_evaluation(engine, rules, START)
    newer = tmp_path / "newer.jsonl"
    write_jsonl(newer, [{**doc, "caseworker": "ks99"} for doc in records[::3]])  # another caseworker
    import_file(engine, newer, as_of=START + dt.timedelta(days=1))

    def tables() -> tuple:
        with engine.connect() as conn:
            return tuple(conn.execute(text(f"SELECT * FROM {t} ORDER BY 1, 2")).all()
                         for t in ("obligations", "case_evaluations", "case_changes"))

    before = tables()
    assert before[2]  # the changed cases are logged

    def fail(_cls, conn, case_ids):  # each worker (a forked copy of ``reads``) fails on its second part
        reads.append(case_ids)
        if len(reads) == 2:
            raise RuntimeError(f"{case_ids[0]} født 2011-04-02")
        return real(conn, case_ids)

    real, reads = service.Stored.read, []
    monkeypatch.setattr(parallel, "PARALLEL_FROM", 0)
    monkeypatch.setattr(parallel, "CHUNK_OF_IDS", 2)
    monkeypatch.setattr(service.Stored, "read", classmethod(fail))
    with pytest.raises(FristerError) as info:
        run_evaluation(engine, rules, START + dt.timedelta(days=1), kind="nightly", incremental=True)
    assert "RuntimeError" in str(info.value) and "2011" not in str(info.value)
    assert tables() == before  # any part written before the failure is rolled back with the run
    assert reads == []  # the reading was all in the workers

    monkeypatch.undo()
    night = run_evaluation(engine, rules, START + dt.timedelta(days=1), kind="nightly", incremental=True)
    assert night.mode == "incremental" and night.evaluated >= 20


def test_it_falls_back_to_a_full_run_when_going_back_in_time(engine, rules, tmp_path):
    path = tmp_path / "c.jsonl"
    write_jsonl(path, generate_cases(START, seed=6, cases=30))
    import_file(engine, path, as_of=START)
    run_evaluation(engine, rules, START)
    back = run_evaluation(engine, rules, START - dt.timedelta(days=10), incremental=True)
    assert (back.mode, back.evaluated) == ("full", 30)
    assert _obligations(engine) == _full_reference(rules, tmp_path, [(path, START)], START - dt.timedelta(days=10))[0]


def test_two_runs_at_once_take_turns_and_each_keeps_true_totals(engine, rules, tmp_path):
    path = tmp_path / "c.jsonl"
    write_jsonl(path, generate_cases(START, seed=7, cases=40))
    import_file(engine, path, as_of=START)
    run_evaluation(engine, rules, START)
    later = START + dt.timedelta(days=45)  # open deadlines fall due: the counts move
    second: dict = {}

    def run_second() -> None:
        second["summary"] = run_evaluation(engine, rules, later, kind="nightly", incremental=True)

    with engine.begin() as conn:
        first = evaluate_and_store(conn, rules, later, incremental=True)
        assert first.evaluated > 0
        waiting = threading.Thread(target=run_second)
        waiting.start()
        waiting.join(timeout=1.5)
        assert waiting.is_alive()  # the second run waits for the first to commit
    waiting.join(timeout=60)
    # It starts from the first run's totals, not from the full run's before it.
    assert _totals(second["summary"]) == _totals(first) == _summed(engine)


def test_an_incremental_run_rewrites_only_the_obligations_that_changed(engine, rules, tmp_path):
    records = list(generate_cases(START, seed=8, cases=150))
    path = tmp_path / "c.jsonl"
    write_jsonl(path, records)
    import_file(engine, path, as_of=START)
    first = run_evaluation(engine, rules, START)
    before = _by_key(engine)
    # A month on, with a newer export of a fifth of the cases (a referral reviewed).
    as_of = START + dt.timedelta(days=30)
    changed = []
    for doc in records[::5]:
        doc = json.loads(json.dumps(doc))
        for ref in doc.get("referrals", []):
            ref["concluded_on"] = ref.get("concluded_on") or ref["received_on"]
        changed.append(doc)
    newer = tmp_path / "newer.jsonl"
    write_jsonl(newer, changed)
    import_file(engine, newer, as_of=as_of)
    night = run_evaluation(engine, rules, as_of, kind="nightly", incremental=True)
    assert night.mode == "incremental" and 0 < night.evaluated < 150

    after = _by_key(engine)
    with engine.connect() as conn:
        evaluated = set(conn.execute(select(CaseEvaluation.case_id)
                                     .where(CaseEvaluation.evaluated_as_of == as_of)).scalars())
    kept = rewritten = 0
    for key, (run_id, row) in after.items():
        old = before.get(key)
        if old is not None and _seen_as_of(old[1], as_of) == _seen_as_of(row, as_of):
            assert run_id == first.run_id, key  # as it was: not deleted and written again
            kept += 1
        else:
            assert run_id == night.run_id and key[0] in evaluated, key
            rewritten += 1
    # Of the re-evaluated cases' obligations, some were as before and some were not.
    assert kept > 20 and rewritten > 20
    assert sum(1 for key in after if key[0] in evaluated and after[key][0] == first.run_id) > 20
    # What a full run stores, all the same.
    assert _obligations(engine, as_of) == _full_reference(rules, tmp_path, [(path, START), (newer, as_of)], as_of)[0]


def _by_key(engine) -> dict[tuple, tuple[int, tuple]]:
    """``{key: (run_id, the rest of the row)}`` of every stored obligation."""
    cols = [c for c in Obligation.__table__.columns if c.name != "run_id"]
    with engine.connect() as conn:
        rows = conn.execute(select(Obligation.run_id, *cols)).all()
    return {tuple(r[1:6]): (r[0], tuple(r[1:])) for r in rows}


def _seen_as_of(row: tuple, as_of: dt.date) -> tuple:
    """A stored row as readers see it as of ``as_of`` (the days late of an overdue one)."""
    names = [c.name for c in Obligation.__table__.columns if c.name != "run_id"]
    status, due_on, days = (row[names.index(n)] for n in ("status", "due_on", "days_late"))
    at = names.index("days_late")
    return row[:at] + (shown_days_late(status, due_on, days, as_of),) + row[at + 1:]

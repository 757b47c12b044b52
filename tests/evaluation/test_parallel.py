"""Evaluating on several processes gives what one process gives."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from frister.demo.generate import generate_cases, write_jsonl
from frister.engine.evaluate import Evaluation
from frister.errors import FristerError
from frister.evaluation.parallel import map_evaluations
from frister.importer import import_file

AS_OF = dt.date(2025, 11, 1)


def _cases_and_counts(ev: Evaluation):
    return list(ev.batch.case_ids), Counter(r.key for r in ev.results())


@pytest.fixture
def filled(engine, tmp_path):
    path = tmp_path / "c.jsonl"
    write_jsonl(path, generate_cases(AS_OF, seed=4, cases=150))
    import_file(engine, path, as_of=AS_OF)
    return engine


@pytest.mark.parametrize("workers", [2, 3])
def test_workers_together_evaluate_every_case_once(filled, rules, workers, monkeypatch):
    monkeypatch.setattr("frister.store.facts.CHUNK", 40)
    with filled.connect() as conn:
        alone = list(map_evaluations(conn, rules, AS_OF, _cases_and_counts, workers=1))
        monkeypatch.setattr("frister.evaluation.parallel.PARALLEL_FROM", 0)
        shared = list(map_evaluations(conn, rules, AS_OF, _cases_and_counts, workers=workers))
    cases = sorted(c for ids, _ in shared for c in ids)
    assert cases == sorted(c for ids, _ in alone for c in ids) and len(cases) == 150 == len(set(cases))
    assert sum((k for _, k in shared), Counter()) == sum((k for _, k in alone), Counter())
    assert len(shared) >= workers  # every worker sent its own batches


def _explode(ev):
    raise ValueError("BV-2025-00001 født 2011-04-02")  # a message that must not travel


def test_a_failing_worker_is_an_error_that_names_only_the_exception_type(filled, rules, monkeypatch):
    monkeypatch.setattr("frister.evaluation.parallel.PARALLEL_FROM", 0)
    with filled.connect() as conn:
        with pytest.raises(FristerError) as info:
            list(map_evaluations(conn, rules, AS_OF, _explode, workers=2))
    assert "ValueError" in str(info.value) and "2011" not in str(info.value) and "BV-" not in str(info.value)

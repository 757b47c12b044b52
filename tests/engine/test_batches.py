"""One evaluator for any batch: a batch of N cases gives what N batches of one give.

Every command evaluates through the same code, the legal examples as batches of one
and the nightly run in batches of twenty thousand; these tests hold the two together
on generated municipalities at many as-of dates (month ends, law transitions, every
third day of a quarter), field by field, with each case's ``stable_until`` date.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from frister.calendar import from_day
from frister.demo.generate import generate_cases
from frister.engine.batch import batch_from_records
from frister.engine.evaluate import evaluate
from frister.engine.results import STATUSES
from frister.facts.parse import parse_case


def _one_by_one(rules, cases, as_of):
    results, until = [], []
    for case in cases:
        ev = evaluate(tuple(rules), batch_from_records([case]), as_of)
        results.extend(ev.results())
        until.append(from_day(ev.stable_until[0]))
    return results, until


def _together(rules, cases, as_of):
    ev = evaluate(tuple(rules), batch_from_records(cases), as_of)
    return list(ev.results()), [from_day(x) for x in ev.stable_until], ev


def _assert_same(rules, cases, as_of):
    alone, alone_until = _one_by_one(rules, cases, as_of)
    together, together_until, ev = _together(rules, cases, as_of)
    key = lambda r: r.key  # noqa: E731
    assert sorted(together, key=key) == sorted(alone, key=key)
    assert together_until == alone_until
    assert ev.counts().tolist() == [sum(1 for r in alone if r.status == s) for s in STATUSES]
    return alone


def _municipality(as_of: date, seed: int, cases: int, years: int):
    return [parse_case(doc)[0] for doc in generate_cases(as_of, seed=seed, cases=cases, years=years)]


@pytest.mark.parametrize("as_of", [date(2022, 12, 31), date(2023, 1, 1), date(2024, 2, 29), date(2025, 6, 30),
                                   date(2025, 7, 1), date(2025, 11, 30), date(2026, 3, 1)])
def test_a_batch_of_a_municipality_gives_what_each_case_alone_gives(rules, as_of):
    # Facts dated up to a year after some of the as-of dates: later events must be ignored.
    cases = _municipality(date(2026, 3, 1), seed=1, cases=150, years=6)
    results = _assert_same(rules, cases, as_of)
    assert {r.status for r in results} == {"met", "late", "open", "overdue"}
    assert {r.rule for r in results} == {r.id for r in rules}


def test_a_batch_gives_what_each_case_alone_gives_on_every_third_day_of_a_quarter(rules):
    cases = _municipality(date(2025, 3, 1), seed=3, cases=60, years=3)
    for day in range(0, 92, 3):
        _assert_same(rules, cases, date(2024, 12, 1) + timedelta(days=day))


def test_an_empty_batch_has_no_obligations(rules):
    ev = evaluate(tuple(rules), batch_from_records([]), date(2025, 1, 1))
    assert list(ev.results()) == [] and ev.counts().tolist() == [0] * len(STATUSES)

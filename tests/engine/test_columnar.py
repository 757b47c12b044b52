"""The columnar evaluator gives exactly what the pure core gives.

The core (``frister.engine.core``) is the reference: it is what the legal examples
check. These tests run both over the legal examples' cases (month ends, leap days,
law transitions, extensions, reductions) and over generated municipalities evaluated
at many as-of dates, and compare every field of every result (the core's explanation
text apart, which the columnar evaluator does not render) and every case's
``stable_until`` date.
"""

from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
import pytest

from frister.demo.generate import generate_cases
from frister.engine import columnar
from frister.engine.core import evaluate_case_until
from frister.facts.parse import parse_case
from frister.rules.examples import _to_json_like, load_examples

from tests.conftest import RULES


def _core(rules, cases, as_of):
    results, until = [], []
    for case in cases:
        r, u = evaluate_case_until(tuple(rules), case, as_of)
        results.extend(dataclasses.replace(x, explanation="") for x in r)
        until.append(u)
    return sorted(results, key=lambda r: r.key), until


def _columnar(rules, cases, as_of):
    ev = columnar.evaluate_batch(tuple(rules), columnar.batch_from_facts(cases), as_of)
    return sorted(ev.results(), key=lambda r: r.key), ev.stable_until_dates(), ev


def _assert_same(rules, cases, as_of):
    expected, expected_until = _core(rules, cases, as_of)
    actual, actual_until, ev = _columnar(rules, cases, as_of)
    assert [r.key for r in actual] == [r.key for r in expected]
    for a, e in zip(actual, expected):
        assert a == e, (as_of, a, e)
    for case, a, e in zip(cases, actual_until, expected_until):
        assert a == e, (as_of, case.case_id, a, e)
    counts = {s: n for s, n in zip(columnar.STATUS_NAMES, ev.counts().tolist())}
    assert counts == {s: sum(1 for r in expected if r.status == s) for s in columnar.STATUS_NAMES}
    return expected


def test_it_agrees_with_the_core_on_every_legal_example(rules):
    examples = load_examples(RULES, rules)
    assert len(examples) >= 70
    for n, ex in enumerate(examples):
        doc = {"case_id": f"EX-{n}", "unit": "test", **_to_json_like(ex.case)}
        facts, _, problems = parse_case(doc, as_of=None)
        assert not problems
        _assert_same(rules, [facts], ex.as_of)


@pytest.mark.parametrize("as_of", [date(2022, 12, 31), date(2023, 1, 1), date(2024, 2, 29), date(2025, 6, 30),
                                   date(2025, 7, 1), date(2025, 11, 30), date(2026, 3, 1)])
def test_it_agrees_with_the_core_on_a_municipality(rules, as_of):
    # Facts dated up to a year after some of the as-of dates: later events must be ignored.
    cases = [parse_case(doc)[0] for doc in generate_cases(date(2026, 3, 1), seed=7, cases=600, years=6)]
    expected = _assert_same(rules, cases, as_of)
    statuses = {r.status for r in expected}
    assert statuses == {"met", "late", "open", "overdue"}
    assert {r.rule for r in expected} == {r.id for r in rules}


def test_it_agrees_with_the_core_on_every_day_of_a_quarter(rules):
    cases = [parse_case(doc)[0] for doc in generate_cases(date(2025, 3, 1), seed=3, cases=120, years=3)]
    for day in range(0, 92, 3):
        _assert_same(rules, cases, date.fromordinal(date(2024, 12, 1).toordinal() + day))


@pytest.mark.parametrize("start", ["2024-01-31", "2023-11-30", "2024-02-29", "2023-12-31", "2000-03-31"])
def test_month_arithmetic_clamps_to_month_end_like_the_calendar(start):
    from frister.calendar import add_months

    d = date.fromisoformat(start)
    for months in (-25, -12, -6, -1, 0, 1, 2, 3, 6, 12, 24, 216):
        got = columnar.add_months(np.array([columnar.to_day(d)]), months)
        assert columnar.from_day(got[0]) == add_months(d, months)
    assert columnar.add_months(np.array([columnar.NONE]), 3)[0] == columnar.NONE

"""``stable_until`` is safe: up to that date the evaluation does not change.

This is what lets the nightly run skip a case. The facts come from the demo generator
dated a year later than the evaluation, so events after the as-of date are exercised.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

from frister.demo.generate import generate_cases
from frister.engine import evaluate_case, evaluate_case_until
from frister.facts.parse import parse_case


def _settled(results):
    """Results with the one thing allowed to move with time (days overdue) blanked."""
    return [dataclasses.replace(r, days_late=0) if r.status == "overdue" else r for r in results]


def test_nothing_changes_until_the_stable_until_date(rules):
    cases = [parse_case(doc)[0] for doc in generate_cases(date(2026, 3, 1), seed=11, cases=250)]
    rule_list = tuple(rules)
    as_of = date(2025, 3, 1)
    probes = [1, 2, 7, 30, 45, 92, 120, 183, 200, 365]
    checked = changed_after = 0
    for case in cases:
        results, until = evaluate_case_until(rule_list, case, as_of)
        assert results == evaluate_case(rule_list, case, as_of)
        for step in probes:
            later = as_of + timedelta(days=step)
            if until is not None and later > until:
                break
            assert _settled(evaluate_case(rule_list, case, later)) == _settled(results), (case.case_id, later, until)
            checked += 1
        if until is not None:
            # The date is not needlessly early in the common case: the day after, something changed.
            after = _settled(evaluate_case(rule_list, case, until + timedelta(days=1)))
            changed_after += after != _settled(results)
    assert checked > 500
    with_until = sum(1 for c in cases if evaluate_case_until(rule_list, c, as_of)[1] is not None)
    assert changed_after >= 0.9 * with_until, (changed_after, with_until)

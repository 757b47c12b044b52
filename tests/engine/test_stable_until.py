"""``stable_until`` is safe: up to that date the evaluation does not change.

This is what lets the nightly run skip a case. The facts come from the demo generator
dated a year later than the evaluation, so events after the as-of date are exercised.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

from frister.calendar import from_day
from frister.demo.generate import generate_cases
from frister.engine.batch import batch_from_records
from frister.engine.evaluate import evaluate
from frister.facts.parse import parse_case


def _settled(results):
    """Results with the one thing allowed to move with time (days overdue) blanked."""
    return [dataclasses.replace(r, days_late=0) if r.status == "overdue" else r for r in results]


def _at(rules, case, day):
    ev = evaluate(rules, batch_from_records([case]), day)
    return list(ev.results()), from_day(ev.stable_until[0])


def test_nothing_changes_until_the_stable_until_date(rules):
    cases = [parse_case(doc)[0] for doc in generate_cases(date(2026, 3, 1), seed=11, cases=250)]
    rule_list = tuple(rules)
    as_of = date(2025, 3, 1)
    probes = [1, 2, 7, 30, 45, 92, 120, 183, 200, 365]
    checked = changed_after = with_until = 0
    for case in cases:
        results, until = _at(rule_list, case, as_of)
        for step in probes:
            later = as_of + timedelta(days=step)
            if until is not None and later > until:
                break
            assert _settled(_at(rule_list, case, later)[0]) == _settled(results), (case.case_id, later, until)
            checked += 1
        if until is not None:
            with_until += 1
            # The date is not needlessly early in the common case: the day after, something changed.
            after = _settled(_at(rule_list, case, until + timedelta(days=1))[0])
            changed_after += after != _settled(results)
    assert checked > 500
    assert changed_after >= 0.9 * with_until, (changed_after, with_until)

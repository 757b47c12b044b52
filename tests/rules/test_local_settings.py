"""The service's local settings: local routines switched on or off, local values set, and
a value that is not the law's shown as the service's routine, never as law."""

from __future__ import annotations

from datetime import date

import pytest

from frister.engine import evaluate_case
from frister.errors import RuleErrors
from frister.facts.parse import parse_case
from frister.rules.loader import load_rules
from tests.conftest import RULES


def _rules(tmp_path, text: str):
    path = tmp_path / "local.yaml"
    path.write_text(text, encoding="utf-8")
    return load_rules(RULES, path)


def _case(**doc):
    case, _, problems = parse_case({"case_id": "BV-1", "unit": "omsorg", **doc})
    assert not problems
    return case


def test_without_a_local_file_every_rule_has_its_shipped_defaults():
    rules = load_rules(RULES, None)
    assert "foster_home_first_year_visits" in rules and rules.off == ()
    care_plan = rules.get("care_plan")
    assert [(v.name, v.duty, str(v.period)) for v in care_plan.versions] == [
        ("bvl92", "law", "2 years"), ("bvl21", "local", "6 months")]


def test_a_local_routine_switched_off_is_not_evaluated_but_still_listed(tmp_path):
    rules = _rules(tmp_path, "rules:\n  foster_home_first_year_visits: {enabled: false}\n")
    assert "foster_home_first_year_visits" not in rules
    assert [r.id for r in rules.off] == ["foster_home_first_year_visits"]
    case = _case(placements=[{"id": "F1", "kind": "foster_home", "started_on": "2025-02-10"}])
    assert {r.rule for r in evaluate_case(rules, case, date(2025, 8, 1))} == {
        "foster_home_followup_visits", "foster_home_supervision_visits"}
    assert rules.fingerprint != load_rules(RULES, None).fingerprint  # a night after the change re-evaluates


def test_a_local_period_moves_the_deadline_it_sets(tmp_path):
    rules = _rules(tmp_path, "rules:\n  care_plan: {period: 9 months}\n")
    case = _case(care_orders=[{"id": "O1", "decided_on": "2023-03-15"}])
    [r] = [r for r in evaluate_case(rules, case, date(2023, 6, 1)) if r.rule == "care_plan"]
    assert (r.due_on, r.duty, r.status) == (date(2023, 12, 15), "local", "open")


def test_a_grace_period_the_law_does_not_give_makes_the_deadline_a_local_routine(tmp_path):
    case = _case(measures=[{"id": "T1", "kind": "support", "decided_on": "2025-03-10", "plan_made_on": "2025-03-20"}])
    [law] = [r for r in evaluate_case(load_rules(RULES, None), case, date(2025, 4, 1)) if r.rule == "measure_plan"]
    assert (law.due_on, law.status, law.days_late, law.duty) == (date(2025, 3, 10), "late", 10, "law")
    rules = _rules(tmp_path, "rules:\n  measure_plan: {period: 14 days}\n")
    [local] = [r for r in evaluate_case(rules, case, date(2025, 4, 1)) if r.rule == "measure_plan"]
    assert (local.due_on, local.status, local.duty) == (date(2025, 3, 24), "met", "local")
    same = _rules(tmp_path, "rules:\n  measure_plan: {period: 0 days}\n")
    assert all(v.duty == "law" for v in same.get("measure_plan").versions)  # the law's own value


@pytest.mark.parametrize("text, expected", [
    ("rules:\n  no_such_rule: {enabled: false}\n", "local.yaml: rules.no_such_rule: no rule with this id"),
    ("rules:\n  referral_review: {enabled: false}\n",
     "local.yaml: rules.referral_review.enabled: referral_review is a law duty: only a local routine can be switched off"),
    ("rules:\n  care_plan: {lead_time: 3 months}\n",
     "local.yaml: rules.care_plan.lead_time: not a local parameter of this rule (known: period)"),
    ("rules:\n  care_plan: {period: soon}\n",
     "local.yaml: rules.care_plan.period: expected a period such as '3 months' or '1 week'"),
    ("rule:\n  care_plan: {}\n", "local.yaml: rule: unknown key (allowed: rules)"),
])
def test_a_wrong_local_setting_is_an_error_naming_the_file_and_path(tmp_path, text, expected):
    with pytest.raises(RuleErrors) as err:
        _rules(tmp_path, text)
    assert str(err.value).splitlines()[0] == expected

"""The rule loader is strict and its errors name the file and the path inside it."""

from __future__ import annotations

import shutil
import textwrap
from datetime import date
from pathlib import Path

import pytest

from frister.errors import RuleErrors
from frister.rules.examples import load_examples, run_example
from frister.rules.loader import load_rules

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
id: sample
title: Eksempel
kind: deadline
subject: referral
confidence: S
starts: received_on
versions:
  old:
    valid_from: 1993-01-01
    valid_to: 2022-12-31
    basis: barnevernloven (1992) § 4-2
    period: 1 week
    met_by: concluded_on
  new:
    valid_from: 2023-01-01
    basis: barnevernsloven § 2-1
    period: 1 week
    met_by: concluded_on
"""


def load_one(tmp_path, text, name="sample.yaml"):
    (tmp_path / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return load_rules(tmp_path)


def problems(tmp_path, text, name="sample.yaml") -> list[str]:
    with pytest.raises(RuleErrors) as err:
        load_one(tmp_path, text, name)
    return [str(e) for e in err.value.errors]


def test_the_bundled_rules_cover_every_rule_of_the_catalogue():
    rules = load_rules(ROOT / "rules")
    assert {r.id for r in rules} == {
        "referral_review", "reporter_feedback", "investigation_deadline", "measure_plan",
        "measure_plan_evaluation", "care_plan", "emergency_petition", "care_order_implementation",
        "closed_with_concern_review", "aftercare_assessment", "foster_home_followup_visits",
        "foster_home_supervision_visits", "reporter_feedback_after_investigation", "foster_home_first_year_visits",
    }
    for rule in rules:
        assert rule.confidence in ("V", "S", "U")
        assert all(v.basis for v in rule.versions)


def test_every_rule_has_at_least_three_legal_examples():
    rules = load_rules(ROOT / "rules")
    examples = load_examples(ROOT / "rules", rules)
    per_rule = {r.id: 0 for r in rules}
    for e in examples:
        per_rule[e.rule] += 1
    assert min(per_rule.values()) >= 3, per_rule


def test_a_good_rule_loads_with_its_versions_in_order(tmp_path):
    rules = load_one(tmp_path, GOOD)
    rule = rules.get("sample")
    assert [v.name for v in rule.versions] == ["old", "new"]
    assert rule.version_on(date(2022, 12, 31)).name == "old"
    assert rule.version_on(date(2023, 1, 1)).name == "new"
    assert rule.version_on(date(1992, 12, 31)) is None


def test_an_unknown_key_is_an_error_naming_file_and_path(tmp_path):
    text = GOOD.replace("    period: 1 week\n    met_by: concluded_on\n  new:", "    perod: 1 week\n    met_by: concluded_on\n  new:")
    errs = problems(tmp_path, text)
    assert errs[0] == f"{tmp_path.name}/sample.yaml: versions.old.perod: unknown key (allowed: anchor, " \
        "anchor_not_after, anchor_offset, basis, confidence, duty, extension, lead_time, met_by, not_before, notes, " \
        "period, period_by_kind, valid_from, valid_to)"


def test_a_bad_period_is_an_error(tmp_path):
    errs = problems(tmp_path, GOOD.replace("period: 1 week\n    met_by: concluded_on\n", "period: one week\n    met_by: concluded_on\n", 1))
    assert any("sample.yaml: versions.old.period: expected a period such as '3 months' or '1 week'" in e for e in errs), errs


def test_overlapping_versions_are_an_error(tmp_path):
    errs = problems(tmp_path, GOOD.replace("valid_to: 2022-12-31", "valid_to: 2023-01-01"))
    assert any("sample.yaml: versions.old: overlaps version new" in e for e in errs), errs


def test_a_gap_between_versions_is_an_error(tmp_path):
    errs = problems(tmp_path, GOOD.replace("valid_to: 2022-12-31", "valid_to: 2022-06-30"))
    assert any("sample.yaml: versions.old: gap between 2022-06-30 and 2023-01-01" in e for e in errs), errs


def test_a_field_the_subject_does_not_have_is_an_error(tmp_path):
    errs = problems(tmp_path, GOOD.replace("met_by: concluded_on\n  new", "met_by: decided_on\n  new"))
    assert any("sample.yaml: versions.old.met_by: unknown field of referral" in e for e in errs), errs


def test_a_duplicate_key_is_an_error_with_its_line(tmp_path):
    errs = problems(tmp_path, GOOD.replace("confidence: S\n", "confidence: S\nconfidence: V\n"))
    assert errs == [f"{tmp_path.name}/sample.yaml: line 6: invalid YAML: duplicate key 'confidence'"]


def test_the_id_must_match_the_file_name(tmp_path):
    errs = problems(tmp_path, GOOD, name="other.yaml")
    assert any("other.yaml: id: expected the file name (other.yaml) to match the id" in e for e in errs), errs


def test_an_unknown_confidence_and_kind_are_errors(tmp_path):
    errs = problems(tmp_path, GOOD.replace("confidence: S", "confidence: X").replace("kind: deadline", "kind: sometimes"))
    assert any("sample.yaml: confidence: expected one of: V, S, U" in e for e in errs), errs
    assert any("sample.yaml: kind: expected one of: deadline, rolling, visits" in e for e in errs), errs


def test_an_example_for_an_unknown_rule_is_an_error(tmp_path):
    load_one(tmp_path, GOOD)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "x.yaml").write_text("rule: nosuch\ntests: [{name: a, as_of: 2025-01-01, case: {}, expected: []}]\n")
    with pytest.raises(Exception) as err:
        load_examples(tmp_path, load_rules(tmp_path))
    assert "tests/x.yaml: rule: unknown rule 'nosuch'" in str(err.value)


def test_a_wrong_expectation_fails_with_a_diff(tmp_path):
    (tmp_path / "sample.yaml").write_text(GOOD)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "sample.yaml").write_text(textwrap.dedent("""\
        rule: sample
        tests:
          - name: wrong due date
            as_of: 2025-04-01
            case: {referrals: [{id: M1, received_on: 2025-03-15, concluded_on: 2025-03-20}]}
            expected:
              - {subject: M1, due_on: 2025-03-21, status: met}
        """))
    rules = load_rules(tmp_path)
    [example] = load_examples(tmp_path, rules)
    outcome = run_example(example, rules)
    assert not outcome.passed
    assert "-  due_on: '2025-03-21'" in outcome.diff
    assert "+  due_on: '2025-03-22'" in outcome.diff


def test_the_cli_reports_rule_errors_without_a_traceback(tmp_path):
    from click.testing import CliRunner

    from frister.cli import build

    shutil.copy(ROOT / "rules" / "deadlines" / "referral_review.yaml", tmp_path / "referral_review.yaml")
    (tmp_path / "referral_review.yaml").write_text(
        (tmp_path / "referral_review.yaml").read_text().replace("period: 1 week", "period: 1 wek", 1)
    )
    result = CliRunner().invoke(build(), ["rules", "check", "--dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "referral_review.yaml: versions.bvl92.period: expected a period" in result.output
    assert "Traceback" not in result.output

"""Engine behaviour beyond the legal examples: explanations, reductions, as-of reproducibility."""

from __future__ import annotations

from datetime import date

from frister.engine import evaluate_case, explain
from frister.facts.parse import parse_case


def evaluate(rules, case, as_of):
    return evaluate_case(rules, case, as_of)


def facts(**doc):
    f, _, problems = parse_case({"case_id": "BV-1", "unit": "omsorg", **doc})
    assert not problems, problems
    return f


def only(results, rule, period=None):
    return [r for r in results if r.rule == rule and (period is None or r.period == period)]


def test_an_invalid_reduction_says_why_it_was_not_applied(rules):
    case = facts(child={"birth_date": "2009-06-01"}, placements=[{
        "id": "F1", "kind": "foster_home", "started_on": "2020-06-01", "supervision_reduced_on": "2023-03-01",
        "followup_reduced_on": "2021-06-01", "supervision_visits": ["2023-04-01"]}])
    [tilsyn] = only(evaluate(rules, case, date(2023, 7, 3)), "foster_home_supervision_visits", "2023-H1")
    assert (tilsyn.required, tilsyn.reduction_applied, tilsyn.reduction_decided_on) == (2, False, date(2023, 3, 1))
    assert tilsyn.reduction_note == "Reduksjon ikke lagt til grunn: vedtatt 2023-03-01, før barnet hadde fylt 15 år"
    [followup] = only(evaluate(rules, case, date(2023, 7, 3)), "foster_home_followup_visits", "2021-H1")
    assert followup.reduction_note == (
        "Reduksjon ikke lagt til grunn: vedtatt 2021-06-01, før barnet hadde vært plassert mer enn 2 år")
    assert "2009-06-01" not in explain(rules.get(tilsyn.rule), tilsyn) + (tilsyn.reduction_note or "")


def test_a_reduction_without_a_birth_date_cannot_be_validated(rules):
    case = facts(placements=[{"id": "F1", "kind": "foster_home", "started_on": "2020-06-01",
                              "supervision_reduced_on": "2023-03-01"}])
    [r] = only(evaluate(rules, case, date(2023, 7, 3)), "foster_home_supervision_visits", "2023-H1")
    assert r.reduction_applied is False and "fødselsdato ikke registrert" in r.reduction_note


def test_a_reduction_of_tilsyn_is_valid_only_with_the_childs_recorded_consent(rules):
    def tilsyn(**consent):
        case = facts(child={"birth_date": "2008-01-01"}, placements=[{
            "id": "F1", "kind": "foster_home", "started_on": "2020-06-01", "supervision_reduced_on": "2023-03-01",
            **consent}])
        [r] = only(evaluate(rules, case, date(2023, 7, 3)), "foster_home_supervision_visits", "2023-H1")
        return r

    given = tilsyn(supervision_reduction_consent=True)
    assert (given.required, given.reduction_applied, given.reduction_note) == (1, True, None)
    for missing in (tilsyn(), tilsyn(supervision_reduction_consent=False)):
        assert (missing.required, missing.reduction_applied) == (2, False)
        assert missing.reduction_note == "Reduksjon ikke lagt til grunn: barnets samtykke er ikke registrert"


def test_a_bvl92_deadline_capped_at_receipt_plus_a_week_says_so(rules):
    case = facts(referrals=[{"id": "M1", "received_on": "2022-06-01", "concluded_on": "2022-06-15"}],
                 investigations=[{"id": "U1", "referral_id": "M1", "started_on": "2022-06-15"}])
    [r] = only(evaluate(rules, case, date(2022, 7, 1)), "investigation_deadline")
    assert explain(rules.get(r.rule), r) == (
        "Frist 2022-09-08: melding konkludert med undersøkelse 2022-06-15 (men senest melding mottatt + 1 uke: "
        "2022-06-08) + 3 måneder. barnevernloven (1992) § 6-9 første ledd (bvl92).")


def test_the_explanation_states_anchor_period_basis_and_version(rules):
    case = facts(referrals=[{"id": "M1", "received_on": "2025-03-15"}],
                 investigations=[{"id": "U1", "referral_id": "M1", "started_on": "2025-03-20",
                                  "extension": {"requested_on": "2025-06-10", "granted": True, "reason": "complex_case"}}])
    [r] = only(evaluate(rules, case, date(2025, 7, 1)), "investigation_deadline")
    assert explain(rules.get(r.rule), r) == (
        "Frist 2025-09-22: melding mottatt 2025-03-15 + 1 uke + 3 måneder forlenget til 6 måneder totalt. "
        "barnevernsloven § 2-2 (bvl21)."
    )
    assert (r.anchor_on, r.extension_applied, r.extension_reason, r.confidence) == (
        date(2025, 3, 15), True, "complex_case", "S")


def test_evaluating_a_past_date_ignores_what_happened_after_it(rules):
    case = facts(referrals=[{"id": "M1", "received_on": "2025-03-15", "concluded_on": "2025-03-25",
                             "feedback_sent_on": "2025-03-20"}])
    then = only(evaluate(rules, case, date(2025, 3, 21)), "referral_review")
    now = only(evaluate(rules, case, date(2025, 4, 1)), "referral_review")
    assert [(r.status, r.met_on) for r in then] == [("open", None)]
    assert [(r.status, r.met_on, r.days_late) for r in now] == [("late", date(2025, 3, 25), 3)]


def test_the_same_facts_and_date_give_identical_results(rules):
    case = facts(child={"birth_date": "2010-01-01"},
                 referrals=[{"id": "M1", "received_on": "2024-03-15", "concluded_on": "2024-03-20"}],
                 measures=[{"id": "T1", "kind": "support", "decided_on": "2024-06-12", "plan_made_on": "2024-06-12",
                            "evaluations": ["2024-09-10", "2025-01-20"]}],
                 placements=[{"id": "F1", "kind": "foster_home", "started_on": "2022-02-10",
                              "followup_visits": ["2024-01-15"], "supervision_visits": ["2024-02-03"]}])
    a = evaluate(rules, case, date(2025, 6, 1))
    b = evaluate(rules, case, date(2025, 6, 1))
    assert a == b and len(a) > 20


def test_nothing_is_generated_before_its_subject_exists(rules):
    case = facts(referrals=[{"id": "M1", "received_on": "2025-03-15"}],
                 placements=[{"id": "F1", "kind": "foster_home", "started_on": "2025-03-15"}])
    assert evaluate(rules, case, date(2025, 3, 14)) == []

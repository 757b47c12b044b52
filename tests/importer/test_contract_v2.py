"""Contract v2: a header line says what the source delivers, and what it does not is
``not_evaluated``, never overdue; v1 files stay valid."""

from __future__ import annotations

import json
from datetime import date

import pytest
from click.testing import CliRunner

from frister.cli import build
from frister.errors import ImportRejected
from frister.evaluation.service import results_for, run_evaluation
from frister.importer import import_file

AS_OF = date(2025, 6, 1)
HEADER = {"frister_export": 2, "source": "fagsystem-test", "extracted_on": "2025-06-01",
          "complete_from": "2024-01-01", "not_delivered": ["referrals.feedback_sent_on"]}
CASE = {"case_id": "BV-1", "municipality": "3025", "unit": "mottak",
        "referrals": [{"id": "M1", "received_on": "2023-11-01", "concluded_on": "2023-11-03"},
                      {"id": "M2", "received_on": "2025-03-01", "concluded_on": "2025-03-12", "reporter": "public"}]}


def _write(tmp_path, *lines, name="v2.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return path


def test_a_fact_the_source_does_not_deliver_and_history_before_it_is_complete_are_not_evaluated(engine, rules,
                                                                                                  tmp_path):
    import_file(engine, _write(tmp_path, HEADER, CASE), as_of=AS_OF)
    with engine.connect() as conn:
        got = {(r.rule, r.subject): (r.status, r.not_evaluated) for r in results_for(conn, rules, AS_OF)}
    assert got[("reporter_feedback", "M2")] == (
        "not_evaluated", "kilden fagsystem-test leverer ikke referrals.feedback_sent_on")
    assert got[("referral_review", "M1")] == (
        "not_evaluated", "før 2024-01-01, da historikken i kilden fagsystem-test begynner")
    assert got[("referral_review", "M2")] == ("late", None)  # delivered and complete: evaluated
    summary = run_evaluation(engine, rules, AS_OF)
    assert summary.by_status["not_evaluated"] == 3 and summary.by_status["late"] == 1
    with engine.connect() as conn:  # not stored as something to act on, and no notice can come of it
        stored = conn.exec_driver_sql("SELECT rule, subject, status FROM obligations").all()
    assert [tuple(r) for r in stored] == [("referral_review", "M2", "late")]


def test_the_summary_counts_not_evaluated_apart(engine, cli_env, tmp_path):
    import_file(engine, _write(tmp_path, HEADER, CASE), as_of=AS_OF)
    out = CliRunner().invoke(build(), ["evaluate", "--as-of", AS_OF.isoformat(), "--format", "summary",
                                       "--no-store"]).output
    assert "not_evaluated" in out.splitlines()[1]
    line = next(x for x in out.splitlines() if x.strip().startswith("reporter_feedback "))
    assert line.split()[1:] == ["0", "0", "0", "0", "2"]


def test_a_v1_file_without_a_header_means_everything_is_delivered(engine, rules, tmp_path):
    import_file(engine, _write(tmp_path, CASE), as_of=AS_OF)
    with engine.connect() as conn:
        statuses = {(r.rule, r.subject): r.status for r in results_for(conn, rules, AS_OF)}
    assert statuses[("reporter_feedback", "M2")] == "overdue" and statuses[("referral_review", "M1")] == "met"


@pytest.mark.parametrize("header, field, expected", [
    ({**HEADER, "frister_export": 3}, "(header).frister_export", "expected 2 (the contract version)"),
    ({**HEADER, "not_delivered": ["referrals.feedback"]}, "(header).not_delivered",
     "expected facts of the contract such as referrals.feedback_sent_on (1 not known)"),
    ({**HEADER, "complete_from": "2024-1-1"}, "(header).complete_from", "expected a date YYYY-MM-DD"),
    ({**HEADER, "extra": 1}, "(header).extra",
     "unknown field (the header has frister_export, source, extracted_on, complete_from, not_delivered)"),
])
def test_a_bad_header_is_refused_naming_its_field(engine, tmp_path, header, field, expected):
    with pytest.raises(ImportRejected) as err:
        import_file(engine, _write(tmp_path, header, CASE), as_of=AS_OF)
    assert [str(i) for i in err.value.issues] == [f"v2.jsonl:1: case ?: {field}: {expected}"]


def test_an_expected_birth_date_after_the_as_of_date_is_accepted(engine, tmp_path):
    stats = import_file(engine, _write(tmp_path, {**CASE, "child": {"birth_date": "2025-09-01"}}), as_of=AS_OF)
    assert stats.new == 1


def test_consent_not_delivered_leaves_only_reduced_supervision_unevaluated(engine, rules, tmp_path):
    """A source that cannot tell the child's consent: supervision with no reduction is
    evaluated at the full minimum (2 a half-year); from the half-year of a recorded
    reduction on, the reduction's validity cannot be judged, so not_evaluated."""
    header = {**HEADER, "not_delivered": ["placements.supervision_reduction_consent"]}
    child = {"birth_date": "2012-01-01"}
    full = {"case_id": "BV-2", "unit": "omsorg", "child": child, "placements": [
        {"id": "P1", "kind": "foster_home", "started_on": "2024-01-01",
         "supervision_visits": ["2024-02-01", "2024-05-01", "2024-08-01"]}]}
    reduced = {"case_id": "BV-3", "unit": "omsorg", "child": child, "placements": [
        {"id": "P1", "kind": "foster_home", "started_on": "2024-01-01", "supervision_reduced_on": "2024-07-01",
         "supervision_visits": ["2024-02-01", "2024-05-01", "2024-08-01"]}]}
    import_file(engine, _write(tmp_path, header, full, reduced), as_of=AS_OF)
    with engine.connect() as conn:
        got = {(r.case_id, r.period): (r.status, r.done, r.required, r.not_evaluated)
               for r in results_for(conn, rules, AS_OF) if r.rule == "foster_home_supervision_visits"}
    assert got[("BV-2", "2024-H1")] == ("met", 2, 2, None)
    assert got[("BV-2", "2024-H2")] == ("overdue", 1, 2, None)  # one visit of two: evaluated, a breach
    assert got[("BV-3", "2024-H1")] == ("met", 2, 2, None)  # before the reduction: the full minimum
    assert got[("BV-3", "2024-H2")][0] == "not_evaluated"
    assert got[("BV-3", "2024-H2")][3] == (
        "kilden fagsystem-test leverer ikke placements.supervision_reduction_consent")

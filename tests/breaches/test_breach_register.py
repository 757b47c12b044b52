"""The breach register: listing, explaining (validated), importing (all or nothing), persistence."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from frister.breaches.service import (
    BreachKey, deviation_counts, explain, import_reasons, list_breaches, resolve_key, set_status,
)
from frister.cli import build
from frister.errors import FristerError, ImportRejected
from frister.evaluation.models import BreachReason
from frister.evaluation.service import run_evaluation
from frister.importer import import_file

AS_OF = date(2025, 8, 1)
NOW = datetime(2025, 8, 2, 9, 0, tzinfo=timezone.utc)

# referral M1 met, M2 reviewed 3 days late; G-1: a new foster home with tilsyn 1 of 2 in 2025-H1.
CASES = [
    {"case_id": "A-1", "unit": "mottak", "referrals": [
        {"id": "M1", "received_on": "2025-03-03", "concluded_on": "2025-03-07", "conclusion": "closed",
         "feedback_sent_on": "2025-03-20"},
        {"id": "M2", "received_on": "2025-04-01", "concluded_on": "2025-04-11", "conclusion": "closed",
         "feedback_sent_on": "2025-04-10"},
    ]},
    {"case_id": "G-1", "unit": "omsorg", "placements": [
        {"id": "F1", "kind": "foster_home", "started_on": "2025-02-01",
         "followup_visits": ["2025-03-01", "2025-06-15"], "supervision_visits": ["2025-04-01"]}]},
]


@pytest.fixture
def evaluated(engine, rules, tmp_path):
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in CASES), encoding="utf-8")
    import_file(engine, path, as_of=AS_OF)
    run_evaluation(engine, rules, AS_OF)
    return engine


def reasons(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(BreachReason)).scalar_one()


def test_it_lists_only_breaches(evaluated):
    with evaluated.connect() as conn:
        rows = list_breaches(conn)
        assert [(str(r.key), r.status, r.days_late) for r in rows] == [
            ("A-1 referral_review M2", "late", 3),
            ("G-1 foster_home_supervision_visits F1 2025-H1", "overdue", 32),
        ]
        assert [str(r.key) for r in list_breaches(conn, unit="omsorg")] == ["G-1 foster_home_supervision_visits F1 2025-H1"]
        assert list_breaches(conn, rule="measure_plan") == []


def test_explaining_a_breach_stores_the_reason_across_runs(evaluated, rules):
    with evaluated.begin() as conn:
        explain(conn, BreachKey("G-1", "foster_home_supervision_visits", "F1", "2025-H1"), "holiday_absence",
                "Besøk lagt inn i ferieplanen", NOW, by="leder1")
    run_evaluation(evaluated, rules, date(2025, 8, 15))  # a later run keeps the reason
    with evaluated.connect() as conn:
        row = [r for r in list_breaches(conn) if r.key.case_id == "G-1"][0]
        assert (row.reason, row.action) == ("holiday_absence", "Besøk lagt inn i ferieplanen")
        assert [str(r.key) for r in list_breaches(conn, unexplained=True)] == ["A-1 referral_review M2"]
    with evaluated.begin() as conn:  # explaining again replaces
        explain(conn, BreachKey("G-1", "foster_home_supervision_visits", "F1", "2025-H1"), "lack_of_capacity",
                "Ekstra tilsynsfører", NOW, by="leder1")
    assert reasons(evaluated) == 1


def test_explain_validates_code_obligation_and_status(evaluated):
    with evaluated.begin() as conn:
        with pytest.raises(FristerError, match="unknown reason code"):
            explain(conn, BreachKey("A-1", "referral_review", "M2"), "bad_luck", "x", NOW, by="leder1")
        with pytest.raises(FristerError, match="met ones are not breaches"):
            explain(conn, BreachKey("A-1", "referral_review", "M1"), "other", "x", NOW, by="leder1")  # met in time
        with pytest.raises(FristerError, match="no obligation"):
            explain(conn, BreachKey("A-1", "referral_review", "M9"), "other", "x", NOW, by="leder1")
        with pytest.raises(FristerError, match="must not be empty"):
            explain(conn, BreachKey("A-1", "referral_review", "M2"), "other", "  ", NOW, by="leder1")
    assert reasons(evaluated) == 0


def test_an_open_deadline_can_be_assessed_before_its_breach_and_keeps_its_follow_up(evaluated):
    h2 = BreachKey("G-1", "foster_home_followup_visits", "F1", "2025-H2")  # open as of 01.08.2025
    with evaluated.begin() as conn:
        assert explain(conn, h2, "holiday_absence", "Besøk avtalt i august", NOW, by="leder1", owner="ks03",
                       follow_up_by=date(2025, 9, 1)) == "open"
        with pytest.raises(FristerError, match="does not apply to foster_home_followup_visits"):
            explain(conn, h2, "other", "x", NOW, decision="extension", by="leder1")
        explain(conn, h2, "complex_case", "Nytt besøk avtalt", NOW, by="leder1")  # the latest word wins, the owner stays
        row = conn.execute(select(BreachReason.reason, BreachReason.owner, BreachReason.follow_up_by,
                                  BreachReason.status)).one()
        assert tuple(row) == ("complex_case", "ks03", date(2025, 9, 1), "open")
        # Not a breach: it has no place in the breach list or the deviation counts yet.
        assert [str(r.key) for r in list_breaches(conn)] == ["A-1 referral_review M2",
                                                             "G-1 foster_home_supervision_visits F1 2025-H1"]
        assert deviation_counts(conn) == {}
        explain(conn, BreachKey("A-1", "referral_review", "M2"), "other", "Rutine gjennomgått", NOW, by="leder1")
        set_status(conn, BreachKey("A-1", "referral_review", "M2"), "closed", NOW, by="leder1", note="Kan ikke rettes")
        assert deviation_counts(conn) == {("referral_review", "mottak"): {"open": 0, "in_progress": 0, "closed": 1,
                                                                         "recurrences": 0}}


def test_the_visit_period_is_found_when_only_one_is_a_breach(evaluated):
    with evaluated.connect() as conn:
        key = resolve_key(conn, "G-1", "foster_home_supervision_visits", "F1")
    assert key == BreachKey("G-1", "foster_home_supervision_visits", "F1", "2025-H1", 1)


def test_import_from_csv_and_jsonl(evaluated, tmp_path):
    csv_path = tmp_path / "reasons.csv"
    csv_path.write_text("case_id;rule;subject;period;seq;reason;action\n"
                        "A-1;referral_review;M2;;1;holiday_absence;Ferievikar for mottak\n", encoding="utf-8")
    jsonl_path = tmp_path / "reasons.jsonl"
    jsonl_path.write_text(json.dumps({"case_id": "G-1", "rule": "foster_home_supervision_visits", "subject": "F1",
                                      "period": "2025-H1", "reason": "hard_to_reach", "action": "Nytt besøk avtalt",
                                      "explained_by": "leder2"}) + "\n", encoding="utf-8")
    with evaluated.begin() as conn:
        assert import_reasons(conn, csv_path, NOW, by="leder1") == 1
        assert import_reasons(conn, jsonl_path, NOW, by="leder1") == 1
    with evaluated.connect() as conn:
        assert {(r.key.case_id, r.reason) for r in list_breaches(conn)} == {
            ("A-1", "holiday_absence"), ("G-1", "hard_to_reach")}


def test_an_import_with_one_bad_line_writes_nothing_and_names_line_and_field(evaluated, tmp_path):
    path = tmp_path / "reasons.csv"
    path.write_text(
        "case_id,rule,subject,period,reason,action\n"
        "A-1,referral_review,M2,,holiday_absence,Ferievikar\n"
        "G-1,foster_home_supervision_visits,F1,2025-H1,secret_code,Nytt besøk\n"
        "A-1,referral_review,M1,,other,Ingen\n",
        encoding="utf-8")
    with evaluated.begin() as conn, pytest.raises(ImportRejected) as err:
        import_reasons(conn, path, NOW, by="leder1")
    lines = [str(i) for i in err.value.issues]
    assert lines == [
        "reasons.csv:3: case G-1: reason: expected one of holiday_absence, hard_to_reach, complex_case, "
        "avoids_contact, lack_of_capacity, other",
        "reasons.csv:4: case A-1: rule: expected a breach (late or overdue) of the latest evaluation; no obligation "
        "(case_id, rule, subject, period, seq) is open or broken (met ones are not breaches)",
    ]
    assert "secret_code" not in str(err.value)
    assert reasons(evaluated) == 0


def test_cli_explain_and_list(evaluated, cli_env):
    runner = CliRunner()
    ok = runner.invoke(build(), ["breach", "explain", "A-1", "referral_review", "M2", "--reason", "complex_case",
                                 "--action", "Rutine for prioritering"])
    assert ok.exit_code == 0, ok.output
    listed = runner.invoke(build(), ["breach", "list"])
    assert listed.exit_code == 0 and "complex_case" in listed.output and "Rutine for prioritering" in listed.output
    unexplained = runner.invoke(build(), ["breach", "list", "--unexplained"])
    assert "A-1" not in unexplained.output and "G-1" in unexplained.output
    bad = runner.invoke(build(), ["breach", "explain", "A-1", "referral_review", "M1", "--reason", "other",
                                  "--action", "x"])
    assert bad.exit_code == 2 and "met ones are not breaches" in bad.output


def test_a_breach_of_the_same_case_and_rule_within_twelve_months_counts_as_a_recurrence(engine, rules, tmp_path):
    # three referrals reviewed late: April 2024, March 2025 (within 12 months of
    # the first), and again in 2026 (more than 12 months after the second).
    late = [("M1", "2024-04-01", "2024-04-15"), ("M2", "2025-03-01", "2025-03-20"), ("M3", "2026-04-01", "2026-04-20")]
    case = {"case_id": "R-1", "unit": "mottak", "referrals": [
        {"id": i, "received_on": r, "concluded_on": c, "conclusion": "closed", "feedback_sent_on": c}
        for i, r, c in late]}
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(case) + "\n", encoding="utf-8")
    import_file(engine, path, as_of=date(2026, 5, 1))
    run_evaluation(engine, rules, date(2026, 5, 1))
    with engine.connect() as conn:
        counts = deviation_counts(conn)
    assert counts[("referral_review", "mottak")]["recurrences"] == 1

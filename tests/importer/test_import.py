"""Import of contract-v1 files: validation errors, all-or-nothing, idempotence."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select

from frister.errors import ImportRejected
from frister.importer import import_file
from frister.store import models as m
from frister.store.facts import iter_case_facts

AS_OF = date(2025, 11, 1)


def case(case_id="BV-1", **extra):
    doc = {
        "case_id": case_id,
        "unit": "undersokelse",
        "caseworker": "ks01",
        "child": {"birth_date": "2012-05-01"},
        "referrals": [{"id": "M1", "received_on": "2025-03-15", "concluded_on": "2025-03-20",
                       "conclusion": "investigate", "feedback_sent_on": "2025-03-25"}],
        "investigations": [{"id": "U1", "referral_id": "M1", "started_on": "2025-03-20",
                            "extension": {"requested_on": "2025-06-10", "granted": True, "reason": "complex_case"}}],
        "measures": [{"id": "T1", "kind": "support", "decided_on": "2025-06-12", "plan_made_on": "2025-06-12",
                      "evaluations": ["2025-09-10"]}],
        "care_orders": [{"id": "O1", "decided_on": "2021-02-01", "implemented_on": "2021-02-10",
                         "care_plan_made_on": "2022-11-01"}],
        "emergency_decisions": [{"id": "A1", "kind": "care", "decided_on": "2025-05-01",
                                 "petition_sent_on": "2025-06-12"}],
        "placements": [{"id": "F1", "kind": "foster_home", "started_on": "2021-02-10",
                        "supervision_municipality": "0219", "followup_visits": ["2025-01-15", "2025-05-02"],
                        "supervision_visits": ["2025-02-03", "2025-06-01"]}],
        "aftercare": {"assessed_on": None},
    }
    doc.update(extra)
    return doc


def write(tmp_path, *records, name="cases.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def count(engine, model):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


def test_it_imports_every_concept_of_the_contract(engine, tmp_path):
    stats = import_file(engine, write(tmp_path, case("BV-1"), case("BV-2")), as_of=AS_OF)
    assert (stats.cases, stats.new, stats.replaced, stats.unchanged) == (2, 2, 0, 0)
    with engine.connect() as conn:
        facts = list(iter_case_facts(conn))
    assert [f.case_id for f in facts] == ["BV-1", "BV-2"]
    f = facts[0]
    assert f.birth_date == date(2012, 5, 1)
    assert f.investigations[0].extension.granted is True
    assert f.investigations[0].extension.reason == "complex_case"
    assert f.measures[0].evaluations == (date(2025, 9, 10),)
    assert f.placements[0].followup_visits == (date(2025, 1, 15), date(2025, 5, 2))
    assert f.placements[0].supervision_visits == (date(2025, 2, 3), date(2025, 6, 1))
    assert f.placements[0].supervision_municipality == "0219"
    assert f.emergency_decisions[0].kind == "care"
    assert f.care_orders[0].care_plan_made_on == date(2022, 11, 1)


def test_reimporting_the_same_file_changes_nothing(engine, tmp_path):
    path = write(tmp_path, case("BV-1"), case("BV-2"))
    import_file(engine, path, as_of=AS_OF)
    stats = import_file(engine, path, as_of=AS_OF)
    assert (stats.new, stats.replaced, stats.unchanged) == (0, 0, 2)
    assert count(engine, m.Case) == 2
    assert count(engine, m.PlacementVisit) == 8


def test_a_newer_export_replaces_that_cases_facts(engine, tmp_path):
    import_file(engine, write(tmp_path, case("BV-1"), case("BV-2")), as_of=AS_OF)
    newer = case("BV-1", placements=[], measures=[{"id": "T9", "kind": "care", "decided_on": "2025-07-01"}])
    stats = import_file(engine, write(tmp_path, newer, name="newer.jsonl"), as_of=AS_OF)
    assert (stats.new, stats.replaced, stats.unchanged) == (0, 1, 0)
    with engine.connect() as conn:
        f1, f2 = list(iter_case_facts(conn))
    assert f1.placements == () and [x.id for x in f1.measures] == ["T9"]
    assert len(f2.placements) == 1  # the other case is untouched


def test_one_bad_record_writes_nothing(engine, tmp_path):
    bad = case("BV-2", child={"birth_date": "2012-02-30"})
    path = write(tmp_path, case("BV-1"), bad, case("BV-3"))
    with pytest.raises(ImportRejected) as err:
        import_file(engine, path, as_of=AS_OF)
    assert str(err.value.issues[0]) == "cases.jsonl:2: case BV-2: child.birth_date: expected a date YYYY-MM-DD"
    assert "2012-02-30" not in str(err.value)  # the bad value is never echoed
    assert count(engine, m.Case) == 0


def test_dry_run_validates_and_writes_nothing(engine, tmp_path):
    stats = import_file(engine, write(tmp_path, case("BV-1")), as_of=AS_OF, dry_run=True)
    assert stats.new == 1 and stats.dry_run
    assert count(engine, m.Case) == 0

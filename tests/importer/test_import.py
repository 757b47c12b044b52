"""Import of contract-v1 files: validation errors, all-or-nothing, idempotence."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import event, func, select

from frister.db.engine import create_db_engine, migrate
from frister.errors import ImportRejected
from frister.facts.parse import parse_case
from frister.importer import import_file
from frister.store.tables import SUBJECT_TABLES, cases as cases_table
from frister.store.facts import read_cases
from tests.conftest import MIGRATIONS

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
    assert (stats.cases, stats.new, stats.changed, stats.unchanged) == (2, 2, 0, 0)
    with engine.connect() as conn:
        facts = read_cases(conn)
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
    assert (stats.new, stats.changed, stats.unchanged) == (0, 0, 2)
    assert count(engine, cases_table) == 2
    assert count(engine, SUBJECT_TABLES["placement"]) == 2


def test_a_newer_export_replaces_that_cases_facts(engine, tmp_path):
    import_file(engine, write(tmp_path, case("BV-1"), case("BV-2")), as_of=AS_OF)
    newer = case("BV-1", placements=[], measures=[{"id": "T9", "kind": "care", "decided_on": "2025-07-01"}])
    stats = import_file(engine, write(tmp_path, newer, name="newer.jsonl"), as_of=AS_OF)
    assert (stats.new, stats.changed, stats.unchanged) == (0, 1, 0)
    with engine.connect() as conn:
        f1, f2 = read_cases(conn)
    assert f1.placements == () and [x.id for x in f1.measures] == ["T9"]
    assert len(f2.placements) == 1  # the other case is untouched


def _row_versions(engine, table) -> dict[tuple, object]:
    """Each stored row's physical version by key (SQLite's rowid, PostgreSQL's ctid):
    it changes when the row is written again."""
    with engine.connect() as conn:
        version = "rowid" if conn.dialect.name == "sqlite" else "ctid::text"
        key = ", ".join(c.name for c in table.primary_key.columns)
        return {tuple(r[:-1]): r[-1] for r in conn.exec_driver_sql(f"SELECT {key}, {version} FROM {table.name}")}


def test_a_replaced_case_is_stored_as_if_imported_fresh_and_its_unchanged_rows_are_not_rewritten(engine, tmp_path):
    import_file(engine, write(tmp_path, case("BV-1"), case("BV-2")), as_of=AS_OF)
    tables = [SUBJECT_TABLES[name] for name in ("referral", "placement", "care_order", "measure")]
    before = {table: _row_versions(engine, table) for table in tables}
    newer = case(
        "BV-1",
        referrals=[{"id": "M1", "received_on": "2025-03-15", "concluded_on": "2025-03-21",  # changed
                    "conclusion": "investigate", "feedback_sent_on": "2025-03-25"},
                   {"id": "M2", "received_on": "2025-10-01"}],  # new
        measures=[{"id": "T9", "kind": "care", "decided_on": "2025-07-01", "evaluations": ["2025-10-01"]}],  # T1 gone
        placements=[{"id": "F1", "kind": "foster_home", "started_on": "2021-02-10", "ended_on": "2025-10-15",
                     "supervision_municipality": "0219", "followup_visits": ["2025-01-15", "2025-05-02", "2025-09-01"],
                     "supervision_visits": ["2025-06-01"]}],  # one visit more, one less
    )
    stats = import_file(engine, write(tmp_path, newer, case("BV-2"), name="newer.jsonl"), as_of=AS_OF)
    assert (stats.new, stats.changed, stats.unchanged) == (0, 1, 1)

    fresh = create_db_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    migrate(fresh, MIGRATIONS)
    import_file(fresh, write(tmp_path, newer, name="fresh.jsonl"), as_of=AS_OF)
    with engine.connect() as conn, fresh.connect() as other:
        replaced, untouched = read_cases(conn)
        assert replaced == read_cases(other)[0]
    assert untouched == case_facts_of(case("BV-2"))
    assert [m.id for m in replaced.measures] == ["T9"]  # BV-1's T1 is gone

    after = {table: _row_versions(engine, table) for table in before}
    # BV-1's unchanged rows were left as they were (its changed ones are checked above).
    care_orders = SUBJECT_TABLES["care_order"]
    assert after[care_orders][("BV-1", "O1")] == before[care_orders][("BV-1", "O1")]
    # The other case was not touched at all.
    for table, versions in before.items():
        assert {k: v for k, v in after[table].items() if k[0] == "BV-2"} == {k: v for k, v in versions.items() if k[0] == "BV-2"}
    fresh.dispose()


def case_facts_of(record):
    """The facts of ``record`` as the parser gives them."""
    facts, _, problems = parse_case(json.loads(json.dumps(record)), as_of=AS_OF)
    assert not problems
    return facts


def test_one_bad_record_writes_nothing(engine, tmp_path):
    bad = case("BV-2", child={"birth_date": "2012-02-30"})
    path = write(tmp_path, case("BV-1"), bad, case("BV-3"))
    with pytest.raises(ImportRejected) as err:
        import_file(engine, path, as_of=AS_OF)
    assert str(err.value.issues[0]) == "cases.jsonl:2: case BV-2: child.birth_date: expected a date YYYY-MM-DD"
    assert "2012-02-30" not in str(err.value)  # the bad value is never echoed
    assert count(engine, cases_table) == 0


def test_dry_run_validates_and_writes_nothing(engine, tmp_path):
    stats = import_file(engine, write(tmp_path, case("BV-1")), as_of=AS_OF, dry_run=True)
    assert stats.new == 1 and stats.dry_run
    assert count(engine, cases_table) == 0


def _vacuum_counts(engine) -> dict[str, int]:
    """How often each table has been vacuumed by hand (PostgreSQL's statistics: a
    ``VACUUM`` reports its count as it ends)."""
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT pg_stat_clear_snapshot()")
        return dict(conn.exec_driver_sql("SELECT relname, vacuum_count FROM pg_stat_user_tables").all())


def test_an_import_vacuums_the_tables_whose_rows_it_replaced_on_postgresql_only(engine, tmp_path):
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    pg = engine.dialect.name == "postgresql"

    def vacuumed(step) -> set[str]:
        before = _vacuum_counts(engine) if pg else {}
        statements.clear()
        step()
        ran = [s for s in statements if s.lstrip().upper().startswith("VACUUM")]
        if not pg:
            assert ran == []
            return set()
        assert ran in ([], statements[-1:])  # one at most, after every write
        after = _vacuum_counts(engine)
        return {table for table, n in after.items() if n != before.get(table, 0)}

    first = write(tmp_path, case("BV-1"), case("BV-2"))
    # New cases only: nothing was updated or deleted, so nothing to clear.
    assert vacuumed(lambda: import_file(engine, first, as_of=AS_OF)) == set()
    newer = case("BV-1", placements=[],  # the placement and its visits deleted
                 referrals=[{"id": "M1", "received_on": "2025-03-15", "concluded_on": "2025-03-21",  # updated
                             "conclusion": "investigate", "feedback_sent_on": "2025-03-25"}])
    second = write(tmp_path, newer, case("BV-2"), name="newer.jsonl")
    expected = {"cases", "referrals", "placements"} if pg else set()
    assert vacuumed(lambda: import_file(engine, second, as_of=AS_OF)) == expected
    # The same file again: every case unchanged, nothing written, nothing to clear.
    assert vacuumed(lambda: import_file(engine, second, as_of=AS_OF)) == set()
    # A dry run writes nothing either.
    assert vacuumed(lambda: import_file(engine, first, as_of=AS_OF, dry_run=True)) == set()

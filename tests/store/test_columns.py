"""Reading columns straight from the database gives the batch the facts give."""

from __future__ import annotations

from datetime import date

from frister.demo.generate import generate_cases, write_jsonl
from frister.engine import columnar
from frister.importer import import_file
from frister.store.columns import iter_batches
from frister.store.facts import iter_case_facts

AS_OF = date(2025, 9, 30)


def _results(rules, batches, as_of):
    out, until = [], {}
    for batch in batches:
        ev = columnar.evaluate_batch(tuple(rules), batch, as_of)
        out.extend(ev.results())
        until.update(zip(batch.case_ids, ev.stable_until_dates()))
    return sorted(out, key=lambda r: r.key), until


def test_batches_read_from_the_database_evaluate_like_the_stored_facts(engine, rules, tmp_path):
    path = tmp_path / "cases.jsonl"
    records = list(generate_cases(date(2026, 1, 31), seed=9, cases=300, years=5))
    investigations = [i for r in records for i in r.get("investigations", ())]
    for i in investigations[::5]:  # an investigation may name no referral
        del i["referral_id"]
    write_jsonl(path, records)
    import_file(engine, path, as_of=date(2026, 1, 31))
    with engine.connect() as conn:
        facts = list(iter_case_facts(conn))
        from_db = list(iter_batches(conn, chunk=70))
        subset = list(iter_batches(conn, case_ids=[f.case_id for f in facts[::7]], chunk=11))
    # The reader joins each investigation to its referral itself: cases with several
    # referrals, investigations of a later one, and investigations of none are all here.
    of_later = sum(1 for f in facts for i in f.investigations if i.referral_id not in (None, f.referrals[0].id))
    assert of_later > 100 and sum(1 for i in investigations if "referral_id" not in i) > 50
    assert [len(b) for b in from_db] == [70, 70, 70, 70, 20]
    assert [c for b in from_db for c in b.case_ids] == [f.case_id for f in facts]
    for as_of in (AS_OF, date(2026, 1, 31)):
        expected, expected_until = _results(rules, [columnar.batch_from_facts(facts)], as_of)
        actual, actual_until = _results(rules, from_db, as_of)
        assert len(expected) > 3000
        assert actual == expected
        assert actual_until == expected_until
        part, part_until = _results(rules, subset, as_of)
        wanted = {f.case_id for f in facts[::7]}
        assert part == [r for r in expected if r.case_id in wanted]
        assert part_until == {c: u for c, u in expected_until.items() if c in wanted}


def test_a_batch_carries_each_case_fingerprint(engine, tmp_path):
    path = tmp_path / "cases.jsonl"
    write_jsonl(path, generate_cases(date(2026, 1, 31), seed=2, cases=40))
    import_file(engine, path, as_of=date(2026, 1, 31))
    with engine.connect() as conn:
        stored = {f.case_id: fp for f, fp in iter_case_facts(conn, with_fingerprint=True)}
        batch, = iter_batches(conn)
    assert dict(zip(batch.case_ids, batch.fingerprints)) == stored
    assert all(len(fp) == 64 for fp in batch.fingerprints)


def test_batches_are_read_with_the_cyclic_collector_paused_and_handed_over_with_it_as_it_was(engine, tmp_path,
                                                                                            monkeypatch):
    import gc

    from frister.store import columns

    path = tmp_path / "cases.jsonl"
    write_jsonl(path, generate_cases(date(2026, 1, 31), seed=3, cases=30))
    import_file(engine, path, as_of=date(2026, 1, 31))
    while_reading: list[bool] = []
    original = columns._columns

    def spy(*args):
        while_reading.append(gc.isenabled())
        return original(*args)

    monkeypatch.setattr(columns, "_columns", spy)
    assert gc.isenabled()
    with engine.connect() as conn:
        between = [gc.isenabled() for _ in iter_batches(conn, chunk=10)]
        gc.disable()
        try:
            between_when_off = [gc.isenabled() for _ in iter_batches(conn, chunk=10)]
        finally:
            gc.enable()
    assert between == [True] * 3 and between_when_off == [False] * 3
    assert while_reading and not any(while_reading)


def test_cases_read_by_id_one_at_a_time_evaluate_like_the_stored_facts_and_child_tables_are_asked_only_for_parents(
        engine, rules, tmp_path, monkeypatch):
    # One case per batch: most batches have no measure or no placement, so the tables of
    # plan evaluations and visits are not asked for them at all, and the rest is the same.
    from frister.store import columns

    path = tmp_path / "cases.jsonl"
    write_jsonl(path, generate_cases(date(2026, 1, 31), seed=4, cases=120, years=5))
    import_file(engine, path, as_of=date(2026, 1, 31))
    asked: list[str] = []
    real_columns = columns._columns

    def columns_seen(cur, sql, params, width):
        asked.append(sql.split(" FROM ")[1].split()[0])
        return real_columns(cur, sql, params, width)

    with engine.connect() as conn:
        facts = list(iter_case_facts(conn))
        monkeypatch.setattr(columns, "_columns", columns_seen)
        one_by_one = list(iter_batches(conn, case_ids=[f.case_id for f in facts], chunk=1))
    with_measures = sum(1 for f in facts if f.measures)
    with_placements = sum(1 for f in facts if f.placements)
    assert 0 < with_measures < len(facts) and 0 < with_placements < len(facts)
    assert asked.count("measures") == asked.count("placements") == len(facts)
    assert asked.count("measure_evaluations") == with_measures
    assert asked.count("placement_visits") == with_placements
    for as_of in (AS_OF, date(2026, 1, 31)):
        assert _results(rules, one_by_one, as_of) == _results(rules, [columnar.batch_from_facts(facts)], as_of)

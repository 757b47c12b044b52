"""Case facts round-trip through the database: batches read back evaluate like the records."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text

from frister.calendar import to_day
from frister.demo.generate import generate_cases, write_jsonl
from frister.engine.batch import batch_from_records
from frister.engine.evaluate import evaluate
from frister.facts.parse import parse_case
from frister.importer import import_file
from frister.store.facts import parse_day_lists, read_batches

AS_OF = date(2025, 9, 30)


def _results(rules, batches, as_of):
    out, until = [], {}
    for batch in batches:
        ev = evaluate(tuple(rules), batch, as_of)
        out.extend(ev.results())
        until.update(zip(batch.case_ids, ev.stable_until.tolist()))
    return sorted(out, key=lambda r: r.key), until


def _imported(engine, tmp_path, **generated):
    path = tmp_path / "cases.jsonl"
    records = list(generate_cases(date(2026, 1, 31), **generated))
    investigations = [i for r in records for i in r.get("investigations", ())]
    for i in investigations[::5]:  # an investigation may name no referral
        del i["referral_id"]
    write_jsonl(path, records)
    import_file(engine, path, as_of=date(2026, 1, 31))
    return sorted((parse_case(r)[0] for r in records), key=lambda c: c.case_id)


def test_batches_read_from_the_database_evaluate_like_the_imported_records(engine, rules, tmp_path):
    cases = _imported(engine, tmp_path, seed=9, cases=300, years=5)
    with engine.connect() as conn:
        from_db = list(read_batches(conn, chunk=70))
        subset = list(read_batches(conn, case_ids=[c.case_id for c in cases[::7]], chunk=11))
    # Cases with several referrals, investigations of a later one, and of none, are all here.
    of_later = sum(1 for c in cases for i in c.investigations if i.referral_id not in (None, c.referrals[0].id))
    assert of_later > 100
    assert [len(b) for b in from_db] == [70, 70, 70, 70, 20]
    assert [c for b in from_db for c in b.case_ids] == [c.case_id for c in cases]
    for as_of in (AS_OF, date(2026, 1, 31)):
        expected, expected_until = _results(rules, [batch_from_records(cases)], as_of)
        actual, actual_until = _results(rules, from_db, as_of)
        assert len(expected) > 3000
        assert actual == expected
        assert actual_until == expected_until
        part, part_until = _results(rules, subset, as_of)
        wanted = {c.case_id for c in cases[::7]}
        assert part == [r for r in expected if r.case_id in wanted]
        assert part_until == {c: u for c, u in expected_until.items() if c in wanted}


def test_a_batch_carries_each_case_fingerprint(engine, tmp_path):
    _imported(engine, tmp_path, seed=2, cases=40)
    with engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT case_id, fingerprint FROM cases")).all())
        batch, = read_batches(conn)
    assert dict(zip(batch.case_ids, batch.fingerprints)) == stored
    assert all(len(fp) == 64 for fp in batch.fingerprints)


def test_a_list_of_dates_written_out_of_order_by_plain_sql_is_read_in_order(engine, tmp_path):
    _imported(engine, tmp_path, seed=5, cases=40)
    with engine.begin() as conn:
        case_id, pid = conn.execute(text("SELECT case_id, id FROM placements ORDER BY case_id LIMIT 1")).one()
        conn.execute(text("UPDATE placements SET followup_visits = '2024-05-02,2023-01-31,2024-02-29' "
                          "WHERE case_id = :c AND id = :p"), {"c": case_id, "p": pid})
    with engine.connect() as conn:
        batch = next(read_batches(conn, case_ids=[case_id]))
    placements = batch.tables["placement"]
    row = placements.ids.index(pid)
    assert placements.fields["followup_visits"].row(row).tolist() == [
        to_day(date(2023, 1, 31)), to_day(date(2024, 2, 29)), to_day(date(2024, 5, 2))]


def test_lists_of_dates_parse_to_day_numbers_row_by_row():
    lists = parse_day_lists(["2024-12-31,2000-02-29", None, "", "1970-01-01"])
    assert lists.offsets.tolist() == [0, 2, 2, 2, 3]
    assert lists.values.tolist() == [to_day(date(2000, 2, 29)), to_day(date(2024, 12, 31)), 0]

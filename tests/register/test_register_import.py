"""Importing the register's XML: the same facts as JSON Lines, snapshots that only move
forward, deletions, refusals that name where and what, and no identity number kept."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, select

from frister.demo.register_xml import contract_header, generate_cases, to_contract, to_xml
from frister.evaluation.service import results_for
from frister.importer import import_file
from frister.importer.register import RegisterRefused, import_register
from frister.store.facts import read_cases, remove_cases, stored_case_ids
from frister.store.tables import register_snapshots, sources

AS_OF = date(2026, 6, 30)
NIGHT = datetime(2026, 6, 30, 22, 0, tzinfo=timezone.utc)


def _doc_id(n: int) -> str:
    return f"{n:08x}-0000-4000-8000-000000000000"


def _folder(tmp_path, cases, name="levering", night=NIGHT, first=0):
    folder = tmp_path / name
    folder.mkdir()
    for i, case in enumerate(cases):
        (folder / f"{case.journalnummer}.xml").write_text(to_xml(case, night, _doc_id(first + i)), encoding="utf-8")
    return folder


def _results(conn, rules) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    for r in results_for(conn, rules, AS_OF):
        out.setdefault(r.case_id, []).append((r.rule, r.subject, r.period, r.due_on, r.met_on, r.status,
                                              r.days_late, r.not_evaluated))
    return {k: sorted(v, key=repr) for k, v in out.items()}


def test_a_folder_of_documents_imports_and_evaluates_like_the_same_cases_in_json_lines(engine, rules, tmp_path):
    cases = generate_cases(150, AS_OF, seed=11)
    stats = import_register(engine, _folder(tmp_path, cases), as_of=AS_OF)
    assert (stats.documents, stats.imported, stats.refused, stats.chain_gaps) == (150, 150, 0, 0)
    with engine.connect() as conn:
        from_xml, facts_xml = _results(conn, rules), read_cases(conn)
    with engine.begin() as conn:  # the same cases again, from the generator's own JSON Lines
        remove_cases(conn, list(stored_case_ids(conn)))
        conn.execute(delete(register_snapshots))
        conn.execute(delete(sources))
    lines = [contract_header(AS_OF), *(to_contract(c) for c in cases)]
    jsonl = tmp_path / "same.jsonl"
    jsonl.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    assert import_file(engine, jsonl, as_of=AS_OF).new == 150
    with engine.connect() as conn:
        from_jsonl, facts_jsonl = _results(conn, rules), read_cases(conn)
    assert [c.case_id for c in facts_xml] == sorted(c.journalnummer for c in cases)
    for a, b in zip(facts_xml, facts_jsonl, strict=True):
        assert a == b, a.case_id
    assert from_xml.keys() == from_jsonl.keys()
    for case_id in from_xml:
        assert from_xml[case_id] == from_jsonl[case_id], case_id
    statuses = {r[5] for rows in from_xml.values() for r in rows}
    assert {"met", "late", "overdue", "not_evaluated"} <= statuses


def _hand_made():
    """One referral received Monday 2 March 2026 and concluded ten days later, so a week
    after receipt (9 March) was missed by 3 days; and its investigation has no Relasjon."""
    case = generate_cases(1, AS_OF, seed=5)[0]
    case.referral.update(received=date(2026, 3, 2), concluded=date(2026, 3, 12), code="2", melder="11")
    case.investigation = dict(id="6b1c8a52-2f7e-4c53-9d3f-0a6b1a2c3d4e", started=date(2026, 3, 12),
                              concluded=date(2026, 5, 20), code="3", extension=None)
    case.support = case.care = case.emergency = None
    return case


def test_deadlines_of_a_register_case_are_evaluated_and_what_it_does_not_carry_is_not(engine, rules, tmp_path):
    case = _hand_made()
    xml = to_xml(case, NIGHT, _doc_id(1))
    xml = xml[:xml.index("<Relasjon")] + xml[xml.index("</Sak>"):]  # the investigation without its Relasjon
    path = tmp_path / "one.xml"
    path.write_text(xml, encoding="utf-8")
    stats = import_register(engine, path, as_of=AS_OF)
    assert stats.imported == 1
    assert stats.guesses == [f"one.xml: case {case.journalnummer}: Undersokelse {case.investigation['id']}: no "
                             f"Relasjon from a Melding; linked to Melding {case.referral['id']} concluded "
                             "'ikke henlagt' on its start date"]
    assert "1 mapping guess(es), by kind:\n       1 x Undersokelse <id>: no Relasjon from a Melding; linked to " \
        "Melding <id> concluded 'ikke henlagt' on its start date\n" in stats.summary()
    with engine.connect() as conn:
        got = {(r.rule, r.subject): r for r in results_for(conn, rules, AS_OF)}
    review = got[("referral_review", case.referral["id"])]
    assert (review.status, review.due_on, review.met_on, review.days_late) == (
        "late", date(2026, 3, 9), date(2026, 3, 12), 3)
    feedback = got[("reporter_feedback", case.referral["id"])]
    assert (feedback.status, feedback.not_evaluated) == (
        "not_evaluated", "kilden barnevernsregisteret leverer ikke referrals.feedback_sent_on, "
        "referrals.obviously_unfounded")
    investigation = got[("investigation_deadline", case.investigation["id"])]
    assert investigation.status == "met"  # concluded 69 days after it started, within three months


def _snapshot(case, n: int, night: datetime, previous: int | None, tmp_path, **change):
    case = replace(case, referral={**case.referral, **change.pop("referral", {})}, **change)
    path = tmp_path / f"snapshot-{n}.xml"
    path.write_text(to_xml(case, night, _doc_id(n), _doc_id(previous) if previous is not None else None),
                    encoding="utf-8")
    return path


def _stored(engine, case_id):
    with engine.connect() as conn:
        facts = read_cases(conn, [case_id])
        snap = conn.execute(select(register_snapshots).where(register_snapshots.c.case_id == case_id)).first()
    return (facts[0] if facts else None), snap


def test_an_older_snapshot_never_overwrites_a_newer_one_and_a_replay_changes_nothing(engine, tmp_path):
    case = _hand_made()
    first = _snapshot(case, 1, NIGHT - timedelta(days=1), None, tmp_path, referral={"concluded": date(2026, 3, 20)})
    second = _snapshot(case, 2, NIGHT, 1, tmp_path)
    assert import_register(engine, second, as_of=AS_OF).imported == 1
    stats = import_register(engine, first, as_of=AS_OF)
    assert (stats.imported, stats.older, stats.unchanged) == (0, 1, 0)
    facts, snap = _stored(engine, case.journalnummer)
    assert facts.referrals[0].concluded_on == date(2026, 3, 12)
    assert (snap.document_id, snap.previous_id, snap.extracted_at) == (_doc_id(2), _doc_id(1), datetime(2026, 6, 30, 22))
    again = import_register(engine, second, as_of=AS_OF)
    assert (again.imported, again.unchanged, again.older) == (0, 1, 0)


def test_a_folder_is_taken_in_order_of_extraction_whatever_the_file_names(engine, tmp_path):
    case = _hand_made()
    folder = tmp_path / "ut-av-rekkefolge"
    folder.mkdir()
    days = [(1, None, date(2026, 3, 20)), (2, 1, date(2026, 3, 13)), (3, 2, date(2026, 3, 12))]
    for n, previous, concluded in days:  # the newest gets the first name
        path = _snapshot(case, n, NIGHT - timedelta(days=3 - n), previous, tmp_path, referral={"concluded": concluded})
        path.rename(folder / f"{4 - n}.xml")
    stats = import_register(engine, folder, as_of=AS_OF)
    assert (stats.imported, stats.chain_gaps, stats.older) == (3, 0, 0)
    assert _stored(engine, case.journalnummer)[0].referrals[0].concluded_on == date(2026, 3, 12)


def test_a_gap_in_the_chain_is_counted_and_the_newer_snapshot_imported(engine, tmp_path):
    case = _hand_made()
    import_register(engine, _snapshot(case, 1, NIGHT - timedelta(days=2), None, tmp_path), as_of=AS_OF)
    third = _snapshot(case, 3, NIGHT, 2, tmp_path, referral={"concluded": date(2026, 3, 6)})  # 2 never came
    stats = import_register(engine, third, as_of=AS_OF)
    assert (stats.imported, stats.chain_gaps) == (1, 1)
    assert stats.gaps == [f"snapshot-3.xml: case {case.journalnummer}: ForrigeId is not the last snapshot imported "
                          "(a delivery is missing); imported"]
    assert "1 chain gap(s)" in stats.summary()
    assert _stored(engine, case.journalnummer)[0].referrals[0].concluded_on == date(2026, 3, 6)


def test_a_deleted_case_loses_its_facts_and_an_older_snapshot_does_not_bring_it_back(engine, tmp_path):
    case = _hand_made()
    first = _snapshot(case, 1, NIGHT - timedelta(days=1), None, tmp_path)
    import_register(engine, first, as_of=AS_OF)
    stats = import_register(engine, _snapshot(case, 2, NIGHT, 1, tmp_path, deleted=True), as_of=AS_OF)
    assert stats.deleted == 1
    facts, snap = _stored(engine, case.journalnummer)
    assert facts is None and snap.deleted is True
    assert import_register(engine, first, as_of=AS_OF).older == 1
    assert _stored(engine, case.journalnummer)[0] is None


def test_deleted_elements_are_not_imported(engine, tmp_path):
    case = _hand_made()
    xml = to_xml(case, NIGHT, _doc_id(1))
    investigation = case.investigation["id"]
    xml = xml.replace("</Sak>", f'<Slettet Id="{investigation}" Type="Undersokelse" SluttDato="2026-06-01"/></Sak>')
    path = tmp_path / "slettet.xml"
    path.write_text(xml, encoding="utf-8")
    import_register(engine, path, as_of=AS_OF)
    facts, _ = _stored(engine, case.journalnummer)
    assert [r.id for r in facts.referrals] == [case.referral["id"]] and facts.investigations == ()


def _bad_folder(tmp_path):
    good, bad_date, inverted = generate_cases(3, AS_OF, seed=21)
    folder = _folder(tmp_path, [good, bad_date, inverted])
    path = folder / f"{bad_date.journalnummer}.xml"
    melding = f'<Melding Id="{bad_date.referral["id"]}" StartDato="'
    path.write_text(path.read_text().replace(f'{melding}{bad_date.referral["received"]}"', f'{melding}2026-13-01"'))
    path = folder / f"{inverted.journalnummer}.xml"
    received = inverted.referral["received"]
    inverted.referral.update(concluded=received - timedelta(days=2), code="1")
    inverted.investigation = inverted.support = None
    path.write_text(to_xml(inverted, NIGHT, _doc_id(9)))
    (folder / "broken.xml").write_text('<?xml version="1.0"?><Barnevern Id="x"><Sak>', encoding="utf-8")
    (folder / "old-shape.xml").write_text(
        f'<Barnevern Id="{_doc_id(8)}" DatoUttrekk="2026-06-30T22:00:00Z"><Individ/></Barnevern>')
    return folder, good, bad_date, inverted


def test_refused_documents_are_named_with_where_and_what_and_the_others_import(engine, tmp_path):
    folder, good, bad_date, inverted = _bad_folder(tmp_path)
    with pytest.raises(RegisterRefused) as refused:
        import_register(engine, folder, as_of=AS_OF)
    stats = refused.value.stats
    assert (stats.documents, stats.imported, stats.refused) == (5, 1, 4)
    assert sorted(stats.refusals) == sorted([
        f"{bad_date.journalnummer}.xml: Barnevern/Sak/Melding[1]/@StartDato: expected a date YYYY-MM-DD",
        f"{inverted.journalnummer}.xml: Barnevern/Sak/Melding {inverted.referral['id']}: referrals.concluded_on: "
        "expected a date on or after received_on",
        "broken.xml: (document): expected well-formed XML (not so at line 1, column 45)",
        "old-shape.xml: Barnevern/Individ: expected Barnevern/Sak: Individ is the shape of the register's schema "
        "1 and 2, which frister does not read (3.0 and 4.0 only)",
    ])
    assert str(refused.value).endswith("4 document(s) refused; the other documents were imported")
    with engine.connect() as conn:
        assert list(stored_case_ids(conn)) == [good.journalnummer]
        assert conn.execute(select(register_snapshots.c.case_id)).scalars().all() == [good.journalnummer]


def test_all_or_nothing_writes_nothing_when_one_document_is_refused(engine, tmp_path):
    folder, *_ = _bad_folder(tmp_path)
    with pytest.raises(RegisterRefused) as refused:
        import_register(engine, folder, as_of=AS_OF, all_or_nothing=True)
    assert str(refused.value).endswith("4 document(s) refused; nothing was written")
    with engine.connect() as conn:
        assert list(stored_case_ids(conn)) == []
        assert conn.execute(select(register_snapshots)).all() == []


def test_with_the_schema_a_document_is_refused_by_path_without_its_value(engine, tmp_path, register_xsd):
    case = _hand_made()
    path = tmp_path / "kort-fnr.xml"
    path.write_text(to_xml(case, NIGHT, _doc_id(1)).replace(case.fnr, case.fnr[:10]), encoding="utf-8")
    with pytest.raises(RegisterRefused) as refused:
        import_register(engine, path, as_of=AS_OF, schema=register_xsd)
    assert refused.value.stats.refusals == [
        "kort-fnr.xml: Barnevern/Sak/Personalia/@Fodselsnummer: expected what SSB's schema allows "
        "(check: minlength)"]
    assert case.fnr[:10] not in str(refused.value)
    ok = tmp_path / "ok.xml"
    ok.write_text(to_xml(case, NIGHT, _doc_id(2)), encoding="utf-8")
    assert import_register(engine, ok, as_of=AS_OF, schema=register_xsd).imported == 1


def test_a_document_of_schema_3_is_read_as_well(engine, tmp_path, register_xsd):
    v3 = register_xsd.parent / "Barnevern_v3.xsd"
    if not v3.is_file():
        pytest.skip(f"SSB's schema 3.0 not found beside {register_xsd}")
    case = _hand_made()
    path = tmp_path / "v3.xml"
    path.write_text(to_xml(case, NIGHT, _doc_id(1)), encoding="utf-8")  # no element of 4.0 only
    assert import_register(engine, path, as_of=AS_OF, schema=v3).imported == 1
    assert _stored(engine, case.journalnummer)[0].investigations[0].referral_id == case.referral["id"]


def test_a_child_placed_before_the_care_order_has_it_implemented_on_the_decision_day(engine, tmp_path):
    case = next(c for c in generate_cases(40, AS_OF, seed=8) if c.care)
    case.care.update(implemented=case.care["decided"] - timedelta(days=5),
                     followup=[], supervision=[], reduced=None)  # an emergency placement went first
    path = tmp_path / "akutt-foer.xml"
    path.write_text(to_xml(case, NIGHT, _doc_id(1)), encoding="utf-8")
    stats = import_register(engine, path, as_of=AS_OF)
    assert stats.imported == 1
    order = _stored(engine, case.journalnummer)[0].care_orders[0]
    assert (order.decided_on, order.implemented_on) == (case.care["decided"], case.care["decided"])
    assert f"Vedtak {case.care['vedtak_id']}: its Tiltak {case.care['tiltak_id']} started before the decision; " \
        "implemented_on is the decision's date" in "\n".join(stats.guesses)

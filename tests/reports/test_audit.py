"""The audit listing: rows and totals against the hand-worked fixture, reasons, escaping, reproducibility."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone

import pytest
from click.testing import CliRunner

from report_fixture import AS_OF, H1_END, H1_START, TEMPLATES
from frister.breaches.service import BreachKey, explain
from frister.cli import build
from frister.errors import FristerError
from frister.reports.audit import COLUMNS, audit_csv, audit_xlsx, build_audit
from frister.reports.tabular import escape_cell

NOW = datetime(2025, 8, 2, 9, 0, tzinfo=timezone.utc)


def audit(engine, rules, **kw):
    with engine.connect() as conn:
        return build_audit(conn, rules, H1_START, H1_END, AS_OF, **kw)


def listing(data: bytes, local: bool = False) -> list[dict]:
    """The CSV's obligation table as dicts: law and guidance (the third block), or the
    local routines (the fifth); the sixth is the history."""
    text = data.decode("utf-8-sig")
    blocks = text.split("\r\n\r\n")
    assert len(blocks) == 6
    return list(csv.DictReader(io.StringIO(blocks[4 if local else 2]), delimiter=";"))


def test_it_lists_every_obligation_due_in_the_range(municipality, rules):
    report = audit(municipality, rules)
    assert len(report.rows) == 16 and len(report.local_rows) == 2  # G-1's first-year quarters: a local routine
    assert all(H1_START <= r.result.due_on <= H1_END for r in report.rows + report.local_rows)
    assert {r.result.rule for r in report.local_rows} == {"foster_home_first_year_visits"}
    assert all(r.result.duty in ("law", "guidance") for r in report.rows)
    totals = {t.rule.id: t for t in report.totals}
    got = {k: (t.due, t.met, t.late, t.overdue, t.open, t.days_late_total) for k, t in totals.items() if t.due}
    assert got == {
        "referral_review": (4, 3, 1, 0, 0, 3),
        "reporter_feedback": (4, 4, 0, 0, 0, 0),
        "investigation_deadline": (1, 0, 1, 0, 0, 7),
        "measure_plan": (1, 0, 0, 1, 0, 78),
        "measure_plan_evaluation": (2, 1, 1, 0, 0, 9),
        "foster_home_followup_visits": (2, 1, 0, 1, 0, 32),  # F-1 1 of 2; G-1 150 of 181 days, 2 of 2
        "foster_home_supervision_visits": (2, 1, 0, 1, 0, 32),
    }
    local = {t.rule.id: (t.due, t.met, t.required, t.done) for t in report.local_totals if t.due}
    assert local == {"foster_home_first_year_visits": (2, 2, 2, 2)}
    assert (totals["foster_home_followup_visits"].required, totals["foster_home_followup_visits"].done) == (4, 3)
    assert (totals["foster_home_supervision_visits"].required, totals["foster_home_supervision_visits"].done) == (4, 3)
    assert totals["referral_review"].share_met == 0.75
    # Confidence below V is shown: tilsyn rules since 2024 are unverified, the investigation anchor secondary.
    assert totals["foster_home_supervision_visits"].confidence_flag == "U"
    assert totals["investigation_deadline"].confidence_flag == "S"
    assert totals["referral_review"].confidence_flag == ""


def test_rows_carry_the_legal_detail_and_the_reason(municipality, rules):
    with municipality.begin() as conn:
        explain(conn, BreachKey("B-1", "investigation_deadline", "U1"), "complex_case", "Ny rutine for fristkontroll", NOW, by="leder1")
    rows = {(r["Sak"], r["Regel-id"], r["Gjelder"], r["Periode"]): r for r in listing(audit_csv(audit(municipality, rules)))}
    inv = rows[("B-1", "investigation_deadline", "U1", "")]
    assert (inv["Startdato"], inv["Fristdato"], inv["Oppfylt dato"], inv["Dager over frist"]) == \
        ("2025-01-06", "2025-04-13", "2025-04-20", "7")
    assert inv["Status"] == "fristbrudd (gjort for sent)"
    assert inv["Hjemmel"] == "barnevernsloven § 2-2" and inv["Regelversjon"] == "bvl21"
    assert (inv["Årsak til brudd"], inv["Tiltak"]) == ("Kompleks sak", "Ny rutine for fristkontroll")
    visit = rows[("F-1", "foster_home_followup_visits", "F1", "2025-H1")]
    assert (visit["Besøk påkrevd"], visit["Besøk gjennomført"], visit["Status"]) == ("2", "1", "fristbrudd (ikke gjort)")
    assert visit["Årsak til brudd"] == ""
    assert list(next(iter(rows.values())).keys()) == list(COLUMNS)
    # C-1's investigation was extended: due 07-09, outside H1, so it is not listed.
    assert ("C-1", "investigation_deadline", "U1", "") not in rows


def test_filters_by_rule_and_unit(municipality, rules):
    report = audit(municipality, rules, rule_ids=["referral_review"], units=["undersokelse"])
    assert [(r.result.case_id, r.result.subject) for r in report.rows] == [("C-1", "M1"), ("B-1", "M1")]
    assert [t.rule.id for t in report.totals] == ["referral_review"]
    with pytest.raises(FristerError, match="unknown rule"):
        audit(municipality, rules, rule_ids=["no_such_rule"])


def test_cells_that_look_like_formulas_are_escaped(municipality, rules):
    with municipality.begin() as conn:
        explain(conn, BreachKey("A-1", "referral_review", "M2"), "other", "=HYPERLINK(\"http://x\",\"y\")", NOW, by="leder1")
        explain(conn, BreachKey("E-1", "measure_plan", "T1"), "other", "@SUM(A1)", NOW, by="leder1")
    report = audit(municipality, rules)
    rows = {(r["Sak"], r["Regel-id"]): r for r in listing(audit_csv(report))}
    assert rows[("A-1", "referral_review")]["Tiltak"] == "'=HYPERLINK(\"http://x\",\"y\")"
    assert rows[("E-1", "measure_plan")]["Tiltak"] == "'@SUM(A1)"

    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    ws = load_workbook(io.BytesIO(audit_xlsx(report)))["Frister"]
    actions = [c.value for c in ws[get_column_letter(COLUMNS.index("Tiltak") + 1)] if c.value]
    assert "'=HYPERLINK(\"http://x\",\"y\")" in actions and "'@SUM(A1)" in actions
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+47 123", "'+47 123"), ("-2", "'-2"), ("@x", "'@x"), ("\t=x", "'\t=x"),
    ("BV-1", "BV-1"), ("", ""), (7, 7), (None, None),
])
def test_escape_cell(value, expected):
    assert escape_cell(value) == expected


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "html"])
def test_the_same_inputs_give_byte_identical_output(municipality, cli_env, tmp_path, fmt):
    runner = CliRunner()
    outputs = []
    for n in (1, 2):
        out = tmp_path / f"audit{n}.{fmt}"
        result = runner.invoke(build(), ["report", "audit", "--from", "2025-01-01", "--to", "2025-06-30",
                                         "--format", fmt, "--as-of", AS_OF.isoformat(), "--output", str(out)])
        assert result.exit_code == 0, result.output
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert len(outputs[0]) > 1000


def test_the_header_states_period_as_of_fingerprint_and_totals(municipality, rules):
    text = audit_csv(audit(municipality, rules)).decode("utf-8-sig")
    head = text.split("\r\n\r\n")[0].split("\r\n")
    assert head[1] == "Periode (fristdato);2025-01-01 – 2025-06-30"
    assert head[2] == "Data per;2025-08-01"
    assert head[3] == f"Regelsett (fingeravtrykk);{rules.fingerprint}"
    blocks = text.split("\r\n\r\n")
    totals = blocks[1]
    assert "referral_review;Gjennomgang av melding;V;lovkrav;4;3;1;0;0;75,0 %;3;;" in totals
    assert "foster_home_followup_visits;Oppfølgingsbesøk i fosterhjemmet;S;lovkrav;2;1;0;1;0;50,0 %;32;4;3" in totals
    assert "first_year" not in totals + blocks[2]
    assert blocks[3].startswith("Lokale rutiner (tjenestens egne, ikke lovkrav)\r\n")
    assert "foster_home_first_year_visits;Tettere oppfølging første år i fosterhjem;S;lokal rutine;2;2;" in blocks[3]


def test_no_birth_date_can_be_read_from_the_listing(municipality, rules, tmp_path):
    """Aftercare falls due six months before the 18th birthday: its start date is blank, its
    due date shown as the month (as in the e-mails), its days late (due = as-of − days) blank."""
    import json

    from openpyxl import load_workbook

    from frister.importer import import_file
    from frister.reports.audit import audit_html
    from frister.reports.monthly import monthly_html

    extra = {"case_id": "H-1", "unit": "tiltak", "child": {"birth_date": "2007-09-10"},
             "measures": [{"id": "T1", "kind": "support", "decided_on": "2024-01-10", "plan_made_on": "2024-01-10",
                           "evaluations": ["2024-04-01", "2024-07-01", "2024-10-01", "2025-01-02", "2025-04-01"]}]}
    path = tmp_path / "extra.jsonl"
    path.write_text(json.dumps(extra) + "\n", encoding="utf-8")
    import_file(municipality, path, as_of=AS_OF)
    report = audit(municipality, rules, rule_ids=["aftercare_assessment"])
    # The lead time is the service's own («i god tid»): the deadline is listed as a local routine.
    assert report.rows == ()
    assert [(r.result.case_id, r.result.due_on.isoformat(), r.result.status, r.result.days_late)
            for r in report.local_rows] == [("H-1", "2025-03-10", "overdue", 144)]
    data = audit_csv(report)
    (row,) = listing(data, local=True)
    assert (row["Startdato"], row["Fristdato"], row["Dager over frist"], row["Status"]) == \
        ("", "mars 2025", "", "fristbrudd (ikke gjort)")
    assert "aftercare_assessment;Vurdering av ettervern før 18 år;S;lokal rutine;1;0;0;1;0;0,0 %;;;" \
        in data.decode("utf-8-sig")
    sheet = load_workbook(io.BytesIO(audit_xlsx(report)))["Lokale rutiner"]
    cells = dict(zip(COLUMNS, (c.value for c in sheet[2])))
    assert (cells["Startdato"], cells["Fristdato"], cells["Dager over frist"]) == (None, "mars 2025", None)
    html = audit_html(report, TEMPLATES).decode("utf-8")
    with municipality.connect() as conn:
        monthly = monthly_html(conn, rules, date(2025, 3, 1), AS_OF, TEMPLATES)
    assert "<td>mars 2025</td>" in html and "<td>mars 2025</td>" in monthly
    for text in (data.decode("utf-8-sig"), html, monthly):
        for day in (date(2025, 3, 10), date(2025, 9, 10), date(2007, 9, 10)):
            assert day.isoformat() not in text and day.strftime("%d.%m.%Y") not in text
        assert ">144<" not in text and ";144;" not in text and "144,0" not in text



def _listed(report) -> list[tuple[str, str, str]]:
    return [(r.result.case_id, r.result.subject, r.result.status) for r in report.rows]


def test_it_selects_by_the_day_a_deadline_was_met_or_started(municipality, rules):
    with municipality.connect() as conn:
        def by(how, start, end, rule):
            return build_audit(conn, rules, start, end, AS_OF, [rule], by=how)

        # Investigations concluded in June: C-1 on 06-30 (due 07-09 after its extension); none fall due in June.
        june = by("met", date(2025, 6, 1), date(2025, 6, 30), "investigation_deadline")
        assert _listed(june) == [("C-1", "U1", "met")]
        assert [(t.due, t.met) for t in june.totals if t.rule.id == "investigation_deadline"] == [(1, 1)]
        assert _listed(by("due", date(2025, 6, 1), date(2025, 6, 30), "investigation_deadline")) == []
        # Referrals reviewed in April: A-1 M2 on 04-11 (due 04-08, late).
        assert _listed(by("met", date(2025, 4, 1), date(2025, 4, 30), "referral_review")) == [("A-1", "M2", "late")]
        # Referrals received in January: C-1 on 01-02 and B-1 on 01-06 (listed by due date).
        january = by("start", date(2025, 1, 1), date(2025, 1, 31), "referral_review")
        assert _listed(january) == [("C-1", "M1", "met"), ("B-1", "M1", "met")]
        assert [(t.due, t.met) for t in january.totals if t.rule.id == "referral_review"] == [(2, 2)]
        assert ("Periode (startdato (hendelsen som startet fristen))", "2025-01-01 – 2025-01-31") in january.meta()


def test_it_lists_only_the_statuses_asked_for_and_keeps_the_totals(municipality, rules):
    report = audit(municipality, rules, statuses=["late", "overdue"])
    assert sorted((r.result.case_id, r.result.rule) for r in report.rows) == [
        ("A-1", "referral_review"), ("B-1", "investigation_deadline"), ("D-1", "measure_plan_evaluation"),
        ("E-1", "measure_plan"), ("F-1", "foster_home_followup_visits"), ("G-1", "foster_home_supervision_visits")]
    assert report.local_rows == ()  # G-1's first-year quarters were met
    totals = {t.rule.id: (t.due, t.met, t.late) for t in report.totals}
    assert totals["referral_review"] == (4, 3, 1)  # the whole selection, not only the rows shown
    with pytest.raises(FristerError, match="unknown status"):
        audit(municipality, rules, statuses=["broken"])


def test_a_sample_draws_n_cases_per_rule_reproducibly_from_a_stated_seed(municipality, rules):
    everything = audit(municipality, rules)
    drawn = audit(municipality, rules, sample=1, seed=11)
    again = audit(municipality, rules, sample=1, seed=11)
    assert _listed(drawn) == _listed(again)
    cases = {}
    for row in drawn.rows:
        cases.setdefault(row.result.rule, set()).add(row.result.case_id)
    assert set(cases) == {r.result.rule for r in everything.rows} and all(len(c) == 1 for c in cases.values())
    # A drawn case comes with all its rows of that rule: A-1 has two referrals.
    for rule, (case,) in cases.items():
        assert [r for r in drawn.rows if r.result.rule == rule] == [
            r for r in everything.rows if r.result.rule == rule and r.result.case_id == case]
    # The draw is the stated one: each rule's cases sorted, one random.Random(seed), the case's path.
    import random
    draw = random.Random(11)
    for t in everything.totals:
        population = sorted({r.result.case_id for r in everything.rows if r.result.rule == t.rule.id})
        if population:
            assert cases[t.rule.id] == (set(population) if len(population) <= 1 else set(draw.sample(population, 1)))
    assert ("Stikkprøve", "1 saker per regel, trukket med frø 11 (totalene gjelder hele utvalget)") in drawn.meta()
    assert drawn.totals == everything.totals


def test_the_cli_takes_the_event_status_and_sample_selection(municipality, cli_env):
    runner = CliRunner()
    made = runner.invoke(build(), ["report", "audit", "--from", "2025-01-01", "--to", "2025-06-30", "--by", "met",
                                   "--status", "late", "--sample", "2", "--seed", "5", "--as-of", "2025-08-01"])
    assert made.exit_code == 0, made.output
    assert "Periode (dato oppfylt);2025-01-01 – 2025-06-30" in made.output and "Stikkprøve;2 saker" in made.output
    bad = runner.invoke(build(), ["report", "audit", "--from", "2025-01-01", "--to", "2025-06-30", "--status", "x"])
    assert bad.exit_code != 0 and "unknown status" in bad.output


def test_the_listing_keeps_every_word_on_a_breach_with_who_and_when(municipality, rules):
    from frister.breaches.service import set_status

    key = BreachKey("A-1", "referral_review", "M2")
    with municipality.begin() as conn:
        explain(conn, key, "lack_of_capacity", "Vikar satt inn", NOW, by="leder1")
        explain(conn, key, "holiday_absence", "Ferieavvikling; rutine endret", datetime(2025, 8, 3, 10, 0,
                tzinfo=timezone.utc), by="leder2")
        set_status(conn, key, "closed", datetime(2025, 8, 4, 8, 30, tzinfo=timezone.utc), by="sjef",
                   note="Kan ikke rettes")
        with pytest.raises(FristerError, match="who records it"):
            explain(conn, key, "other", "x", NOW, by=" ")
    report = audit(municipality, rules)
    row = next(r for r in report.rows if r.result.key == key.as_tuple())
    assert (row.reason, row.action) == ("holiday_absence", "Ferieavvikling; rutine endret")  # the latest word
    text = audit_csv(report).decode("utf-8-sig")
    history = list(csv.reader(io.StringIO(text.split("\r\n\r\n")[5]), delimiter=";"))
    assert history[0] == ["Historikk: årsak, tiltak og oppfølging av fristbruddene"]
    assert [r[:8] + r[11:] for r in history[2:]] == [
        ["A-1", "referral_review", "M2", "", "1", "2025-08-02 09:00", "leder1", "vurdering", "", ""],
        ["A-1", "referral_review", "M2", "", "1", "2025-08-03 10:00", "leder2", "vurdering", "", ""],
        ["A-1", "referral_review", "M2", "", "1", "2025-08-04 08:30", "sjef", "status", "closed", "Kan ikke rettes"],
    ]
    assert [r[9] for r in history[2:]] == ["Vikar satt inn", "Ferieavvikling; rutine endret", ""]

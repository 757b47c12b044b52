"""``frister import`` of register XML from the command line: the format found from the
content, the exit status and summary, and no identity number anywhere afterwards."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from frister.cli import build
from frister.db.models import metadata
from frister.demo.register_xml import contract_header, generate_cases, to_contract, to_xml

AS_OF = date(2026, 6, 30)
NIGHT = datetime(2026, 6, 30, 22, 0, tzinfo=timezone.utc)


def invoke(*args):
    return CliRunner().invoke(build(), [str(a) for a in args], catch_exceptions=False)


def _folder(tmp_path, cases):
    folder = tmp_path / "levering"
    folder.mkdir()
    for i, case in enumerate(cases):
        (folder / f"{case.journalnummer}.xml").write_text(
            to_xml(case, NIGHT, f"{i:08x}-0000-4000-8000-000000000000"), encoding="utf-8")
    return folder


def test_the_format_is_found_from_the_content_and_can_be_forced(cli_env, tmp_path):
    cases = generate_cases(3, AS_OF, seed=2)
    folder = _folder(tmp_path, cases)
    one = folder / f"{cases[0].journalnummer}.xml"
    odd = tmp_path / "eksport.dat"  # the name says nothing: the content does
    odd.write_bytes(b"\xef\xbb\xbf" + one.read_bytes())
    result = invoke("import", odd, "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("register XML: 1 document(s): imported 1, 0 unchanged")
    result = invoke("import", folder, "--as-of", AS_OF)
    assert result.exit_code == 0 and "register XML: 3 document(s): imported 2, 1 unchanged" in result.output
    jsonl = tmp_path / "same.jsonl"
    jsonl.write_text(json.dumps(contract_header(AS_OF)) + "\n" + json.dumps(to_contract(cases[0])) + "\n")
    result = invoke("import", jsonl, "--as-of", AS_OF)
    # The same facts from the same source: the JSON Lines import finds nothing to change.
    assert result.exit_code == 0 and result.output.startswith("imported 1 case(s): 0 new, 0 changed, 1 unchanged")
    forced = invoke("import", one, "--format", "jsonl", "--as-of", AS_OF)
    assert forced.exit_code == 2 and "expected one JSON object" in forced.output
    assert invoke("import", jsonl, "--all-or-nothing").exit_code == 2  # a usage error: JSON Lines always is


def test_refused_documents_make_the_command_fail_with_a_summary(cli_env, tmp_path):
    cases = generate_cases(4, AS_OF, seed=3)
    folder = _folder(tmp_path, cases)
    (folder / "tom.xml").write_text("<Barnevern/>", encoding="utf-8")
    result = invoke("import", folder, "--as-of", AS_OF)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == ("register XML: 5 document(s): imported 4, 0 unchanged, 0 older than stored (skipped), "
                        "0 deleted, 1 refused, 0 chain gap(s)")
    assert "error: refused: tom.xml: Barnevern/@Id: required: a UUID" in lines
    assert lines[-1] == "1 document(s) refused; the other documents were imported"
    again = invoke("import", folder, "--as-of", AS_OF, "--all-or-nothing")
    assert again.exit_code == 1 and again.output.splitlines()[-1] == "1 document(s) refused; nothing was written"


def test_no_identity_number_reaches_the_database_or_any_output(cli_env, engine, tmp_path, monkeypatch):
    from tests.register.conftest import schema_path

    cases = generate_cases(60, AS_OF, seed=4)
    folder = _folder(tmp_path, cases)
    # One document that the schema refuses for its identity number, one that frister's
    # own reader refuses: neither may echo what it holds.
    short = cases[0]
    bad = folder / "feil-fnr.xml"
    bad.write_text(to_xml(short, NIGHT, "00000fff-0000-4000-8000-000000000000").replace(short.fnr, short.fnr[:9] + "x"))
    broken = folder / "feil-dato.xml"  # frister's own reader refuses it, schema or not
    broken.write_text(to_xml(cases[1], NIGHT, "00000fff-0000-4000-8000-000000000001")
                      .replace('SluttDato="2', 'SluttDato="x2', 1))
    with_schema = schema_path() is not None
    if with_schema:
        monkeypatch.setenv("FRISTER_REGISTER_XSD", str(schema_path()))
    secrets = {c.fnr for c in cases} | {c.duf for c in cases} | {short.fnr[:9] + "x"}
    outputs = [invoke("import", folder, "--as-of", AS_OF),
               invoke("evaluate", "--as-of", AS_OF, "--format", "json"),
               invoke("run", "--as-of", AS_OF, "--transport", "console"),
               invoke("report", "audit", "--from", "2024-01-01", "--to", AS_OF, "--format", "csv"),
               invoke("report", "monthly", "--month", "2026-06", "--format", "json")]
    assert outputs[0].exit_code == 1 and "feil-dato.xml" in outputs[0].output
    if with_schema:  # without the schema the number is never read at all, and the document imports
        assert "2 refused" in outputs[0].output and "feil-fnr.xml" in outputs[0].output
    assert all(o.exit_code == 0 for o in outputs[1:]), [o.output[-300:] for o in outputs[1:]]
    assert "To: " in outputs[2].output  # e-mails were written
    text = "\n".join(o.output for o in outputs)
    assert not [s for s in secrets if s in text]
    assert "Fritekst" not in text
    with engine.connect() as conn:
        rows = "\n".join(repr(tuple(r)) for t in metadata.sorted_tables for r in conn.execute(select(t)))
    assert not [s for s in secrets if s in rows] and "Fritekst" not in rows
    if cli_env.startswith("sqlite:///"):
        base = Path(cli_env.removeprefix("sqlite:///"))
        stored = b"".join(p.read_bytes() for p in base.parent.glob(base.name + "*"))
        assert not [s for s in secrets if s.encode() in stored] and b"Fritekst" not in stored
    assert json.loads(outputs[1].output)  # and the cases were evaluated


def test_the_demo_can_take_the_register_path(cli_env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("demo", "--source", "register-xml", "--cases", "40", "--as-of", AS_OF, "--out", "demo-register")
    assert result.exit_code == 0, result.output[-2000:]
    lines = result.output.splitlines()
    assert lines[0] == "generated 40 register documents (Barnevern XSD 4.0.1) in demo-register/register/"
    assert lines[1].startswith("register XML: 40 document(s): imported 40, 0 unchanged")
    assert len(list((tmp_path / "demo-register" / "register").glob("*.xml"))) == 40
    assert "not_evaluated" in next(x for x in lines if x.startswith("run 1: evaluated 40 case(s)"))

"""Files that cannot pass silently: other encodings, keys given twice, values no parser
reads, control characters, empty files. Each is a clear error (exit 2), nothing written."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from frister.cli import build
from frister.errors import ImportRefused, ImportRejected
from frister.importer import import_file
from frister.store.facts import read_cases
from frister.store.tables import cases as cases_table

from .test_import import AS_OF, case, write


def stored(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(cases_table)).scalar_one()


def cli_import(path, *options):
    return CliRunner().invoke(build(), ["import", str(path), "--as-of", AS_OF.isoformat(), *options])


def lines(*records) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode("utf-8")


# --- encodings ------------------------------------------------------------------------------


def test_a_byte_that_is_not_utf8_refuses_the_file_naming_its_offset(engine, tmp_path):
    first = lines(case("BV-1"))
    latin1 = json.dumps(case("BV-2", unit="omsorg-Ø"), ensure_ascii=False).encode("utf-8").replace("Ø".encode(), b"\xd8")
    path = tmp_path / "cases.jsonl"
    path.write_bytes(first + latin1 + b"\n")
    with pytest.raises(ImportRefused) as err:
        import_file(engine, path, as_of=AS_OF)
    offset = len(first) + latin1.index(b"\xd8")
    assert str(err.value) == (f"cases.jsonl: not UTF-8 text: invalid byte at byte offset {offset} (line 2); "
                              "the import contract is UTF-8 (a byte-order mark is allowed); nothing was written")
    assert stored(engine) == 0


def test_cesu8_surrogates_are_not_utf8(engine, tmp_path):
    path = tmp_path / "cases.jsonl"
    text = b'{"case_id": "BV-1", "unit": "mottak", "caseworker": "\xed\xa0\x80"}\n'
    path.write_bytes(text)
    with pytest.raises(ImportRefused) as err:
        import_file(engine, path, as_of=AS_OF)
    offset = text.index(b"\xed")
    assert f"not UTF-8 text: invalid byte at byte offset {offset} (line 1)" in str(err.value)


@pytest.mark.parametrize("encoding, message", [
    ("utf-16-le", "a NUL byte at byte offset 1 (line 1), as in UTF-16"),
    ("utf-16-be", "a NUL byte at byte offset 0 (line 1), as in UTF-16"),
    ("utf-16", "a UTF-16 byte-order mark at byte offset 0"),
    ("utf-32", "a UTF-16 byte-order mark at byte offset 0"),
])
def test_a_utf16_file_is_refused_with_or_without_a_byte_order_mark(engine, tmp_path, encoding, message):
    path = tmp_path / "cases.jsonl"
    path.write_bytes(lines(case("BV-1"), case("BV-2")).decode("utf-8").encode(encoding))
    with pytest.raises(ImportRefused) as err:
        import_file(engine, path, as_of=AS_OF)
    assert str(err.value).startswith(f"cases.jsonl: not UTF-8 text: {message}")
    assert stored(engine) == 0


def test_a_utf8_byte_order_mark_is_allowed(engine, tmp_path):
    path = tmp_path / "cases.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + lines(case("BV-1"), case("BV-2")))
    assert import_file(engine, path, as_of=AS_OF).new == 2


def test_the_cli_refuses_a_file_in_another_encoding_with_exit_2(cli_env, tmp_path):
    path = tmp_path / "cases.jsonl"
    path.write_bytes(lines(case("BV-1")).decode("utf-8").encode("utf-16-le"))
    result = cli_import(path)
    assert result.exit_code == 2
    assert result.output.startswith("error: cases.jsonl: not UTF-8 text: a NUL byte at byte offset 1 (line 1)")


# --- keys given twice, at every depth ----------------------------------------------------------

BIRTH_TWICE = '"child": {"birth_date": "2012-05-01", "birth_date": "2013-06-02"}'


@pytest.mark.parametrize("text, message", [
    ('{"case_id": "BV-2", "unit": "mottak", "unit": "omsorg"}', "key 'unit' given twice"),
    ('{"case_id": "BV-2", "unit": "mottak", ' + BIRTH_TWICE + "}", "key 'birth_date' given twice in child"),
    ('{"case_id": "BV-2", "unit": "mottak", "referrals": [{"id": "M1", "received_on": "2025-03-15", '
     '"concluded_on": "2025-04-01", "concluded_on": null}]}', "key 'concluded_on' given twice in referrals[0]"),
    ('{"case_id": "BV-2", "unit": "mottak", "investigations": [{"id": "U1", "started_on": "2025-03-20", '
     '"extension": {"requested_on": "2025-06-10", "granted": true, "granted": false}}]}',
     "key 'granted' given twice in investigations[0].extension"),
], ids=["case", "child", "referral", "extension"])
def test_a_key_given_twice_at_any_depth_is_refused_and_nothing_is_written(cli_env, engine, tmp_path, text, message):
    path = tmp_path / "cases.jsonl"
    path.write_bytes(lines(case("BV-1")) + text.encode("utf-8") + b"\n")
    result = cli_import(path)
    assert result.exit_code == 2
    assert result.output.splitlines() == [f"error: cases.jsonl:2: case BV-2: {message}",
                                          "import rejected: 1 invalid field(s); nothing was written"]
    assert stored(engine) == 0


# --- values that one of the parsers cannot read (issue 31's mutated files) ----------------------

PREFIX = '{"case_id": "BV-2", "unit": "mottak", '
TEXT = "expected a non-empty string of at most 64 characters without control characters"
DEEP = "[" * 50_000 + "]" * 50_000


@pytest.mark.parametrize("text, problem", [
    (PREFIX + '"referrals": [{"id": ["M1"], "received_on": "2025-03-15"}]}', f"referrals[0].id: {TEXT}"),
    (PREFIX + '"referrals": [{"id": {"v": "M1"}, "received_on": "2025-03-15"}]}', f"referrals[0].id: {TEXT}"),
    (PREFIX + '"caseworker": 17}', f"caseworker: {TEXT}"),
    (PREFIX + '"child": ' + DEEP + "}", "child: expected an object (the value is nested too deeply to be read)"),
    (PREFIX + '"child": {"birth_date": ' + "7" * 5000 + "}}",
     "child.birth_date: expected a date YYYY-MM-DD (a number too long to read)"),
    (PREFIX + '"caseworker": "ks\\ud800"}', f"caseworker: {TEXT} (a lone surrogate \\ud800-\\udfff is not a character)"),
], ids=["list", "object", "number", "nesting", "5000 digits", "lone surrogate"])
def test_a_value_no_parser_reads_is_a_field_error_with_exit_2(cli_env, engine, tmp_path, text, problem):
    path = tmp_path / "cases.jsonl"
    path.write_bytes(lines(case("BV-1")) + text.encode("utf-8") + b"\n")
    result = cli_import(path)
    assert result.exit_code == 2, result.output
    assert result.output.splitlines()[0] == f"error: cases.jsonl:2: case BV-2: {problem}"
    assert "internal error" not in result.output and "7777" not in result.output
    assert stored(engine) == 0


# --- control characters, on both databases ----------------------------------------------------

CONTROL = ["\x00", "\x1b[31m", "\r", "\x7f", "\x85", "\u2028"]
STRING_FIELDS = [
    ("case_id", lambda d, v: d.update(case_id=v)),
    ("unit", lambda d, v: d.update(unit=v)),
    ("caseworker", lambda d, v: d.update(caseworker=v)),
    ("referrals[0].id", lambda d, v: d["referrals"][0].update(id=v)),
    ("investigations[0].referral_id", lambda d, v: d["investigations"][0].update(referral_id=v)),
    ("placements[0].supervision_municipality",  # a municipality number: four digits
     lambda d, v: d["placements"][0].update(supervision_municipality=v)),
    ("measures[0].id", lambda d, v: d["measures"][0].update(id=v)),
]


@pytest.mark.parametrize("field, put", STRING_FIELDS, ids=[f for f, _ in STRING_FIELDS])
def test_a_control_character_in_any_string_field_is_a_clear_import_error(cli_env, engine, tmp_path, field, put):
    bad = []
    for i, char in enumerate(CONTROL):
        record = case(f"BV-X{i}")
        put(record, f"X{char}1")
        bad.append(record)
    good = [case(f"BV-{i:04d}") for i in range(1000)]  # a batch is written before the bad lines
    result = cli_import(write(tmp_path, *good, *bad))
    assert result.exit_code == 2, result.output
    text = "expected a municipality number of four digits" if field.endswith("municipality") else TEXT
    expected = [f"cases.jsonl:{1001 + i}: case {'?' if field == 'case_id' else f'BV-X{i}'}: {field}: {text}"
                for i in range(len(CONTROL))]
    assert result.output.splitlines() == [f"error: {expected[0]}", *expected[1:],
                                          f"import rejected: {len(CONTROL)} invalid field(s); nothing was written"]
    assert stored(engine) == 0


# --- empty files -------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"", b"\n", b"  \n\t\n\r\n", b"\xef\xbb\xbf\n"], ids=["empty", "newline",
                                                                                        "whitespace", "bom"])
def test_an_empty_file_is_refused_unless_allowed(cli_env, engine, tmp_path, content):
    import_file(engine, write(tmp_path, case("BV-1"), name="first.jsonl"), as_of=AS_OF)
    path = tmp_path / "cases.jsonl"
    path.write_bytes(content)
    result = cli_import(path)
    assert result.exit_code == 2
    assert result.output == ("error: cases.jsonl: no case in the file; nothing was written "
                             "(--allow-empty accepts an empty file)\n")
    allowed = cli_import(path, "--allow-empty")
    assert allowed.exit_code == 0, allowed.output
    assert allowed.output == "imported 0 case(s): 0 new, 0 changed, 0 unchanged, 0 removed\n"
    assert stored(engine) == 1  # without --full nothing is removed


def test_a_file_of_invalid_lines_is_rejected_not_refused_as_empty(engine, tmp_path):
    path = tmp_path / "cases.jsonl"
    path.write_text("not json\n")
    with pytest.raises(ImportRejected):
        import_file(engine, path, as_of=AS_OF)


def test_the_summary_says_new_changed_unchanged_and_removed(cli_env, engine, tmp_path):
    assert cli_import(write(tmp_path, case("BV-1"), case("BV-2"))).output == \
        "imported 2 case(s): 2 new, 0 changed, 0 unchanged, 0 removed\n"
    newer = case("BV-1", unit="omsorg")
    result = cli_import(write(tmp_path, newer, case("BV-3"), name="next.jsonl"), "--full", "--allow-shrink")
    assert result.output == "imported 2 case(s): 1 new, 1 changed, 0 unchanged, 1 removed\n"
    with engine.connect() as conn:
        assert [c.case_id for c in read_cases(conn)] == ["BV-1", "BV-3"]

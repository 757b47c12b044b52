"""File-level import errors: line numbers, duplicate cases, invalid JSON, nothing half-written."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from frister.cli import build
from frister.errors import ImportRejected
from frister.importer import import_file
from frister.store.tables import SUBJECT_TABLES, cases as cases_table

from .test_import import AS_OF, case, write


def test_a_duplicate_case_id_in_a_file_names_both_lines(engine, tmp_path):
    path = write(tmp_path, case("BV-1"), case("BV-2"), case("BV-1"))
    with pytest.raises(ImportRejected) as err:
        import_file(engine, path, as_of=AS_OF)
    assert [str(i) for i in err.value.issues] == [
        "cases.jsonl:3: case BV-1: case_id: expected each case once in a file (also on line 1)"
    ]


def test_a_line_that_is_not_json_is_reported_by_line_without_its_content(engine, tmp_path):
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps(case("BV-1")) + "\n" + '{"case_id": "BV-2", "child": {"birth_date": "2012-05-01"\n')
    with pytest.raises(ImportRejected) as err:
        import_file(engine, path, as_of=AS_OF)
    assert [str(i) for i in err.value.issues] == [
        "cases.jsonl:2: case ?: (line): expected one JSON object (JSON Lines, one case per line)"
    ]
    assert "2012-05-01" not in str(err.value)


def test_every_problem_of_the_file_is_reported_and_nothing_is_written(engine, tmp_path):
    batch = [case(f"BV-{i:04d}") for i in range(2500)]  # more than one write batch
    batch[1800]["referrals"][0]["received_on"] = "2025-11-30"  # after as-of
    batch[2400]["measures"][0]["kind"] = "other"
    with pytest.raises(ImportRejected) as err:
        import_file(engine, write(tmp_path, *batch), as_of=AS_OF)
    assert [str(i) for i in err.value.issues] == [
        "cases.jsonl:1801: case BV-1800: referrals[0].received_on: expected a date on or before the import's as-of date 2025-11-01",
        "cases.jsonl:2401: case BV-2400: measures[0].kind: expected one of support, care",
    ]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(cases_table)).scalar_one() == 0


def test_the_cli_exits_non_zero_and_prints_the_errors_without_a_traceback(cli_env, tmp_path):
    bad = case("BV-2", child={"birth_date": "2012-02-30"})
    path = write(tmp_path, case("BV-1"), bad)
    result = CliRunner().invoke(build(), ["import", str(path), "--as-of", "2025-11-01"])
    assert result.exit_code == 2
    assert "cases.jsonl:2: case BV-2: child.birth_date: expected a date YYYY-MM-DD" in result.output
    assert "import rejected: 1 invalid field(s); nothing was written" in result.output
    assert "2012-02-30" not in result.output and "Traceback" not in result.output

    ok = CliRunner().invoke(build(), ["import", str(write(tmp_path, case("BV-1"), name="ok.jsonl")), "--as-of", "2025-11-01"])
    assert ok.exit_code == 0, ok.output
    assert ok.output.strip() == "imported 1 case(s): 1 new, 0 changed, 0 unchanged, 0 removed"

"""Full exports: cases absent from the file are removed, behind a guard."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from frister.cli import build
from frister.errors import ImportRefused, ImportRejected
from frister.importer import import_file
from frister.store.facts import read_cases

from .test_import import AS_OF, case, write


def stored_ids(engine) -> list[str]:
    with engine.connect() as conn:
        return [c.case_id for c in read_cases(conn)]


def cli_import(path, *options):
    return CliRunner().invoke(build(), ["import", str(path), "--as-of", AS_OF.isoformat(), *options])


@pytest.fixture
def twenty(engine, tmp_path):
    """Twenty stored cases, BV-00 … BV-19."""
    import_file(engine, write(tmp_path, *[case(f"BV-{i:02d}") for i in range(20)], name="all.jsonl"), as_of=AS_OF)
    return engine


def test_a_full_import_removes_the_cases_absent_from_the_file(twenty, tmp_path):
    path = write(tmp_path, *[case(f"BV-{i:02d}") for i in range(1, 20) if i != 7], case("BV-20"))
    stats = import_file(twenty, path, as_of=AS_OF, full=True)  # 2 of 20 removed: 10 %, not more
    assert (stats.new, stats.changed, stats.unchanged, stats.removed) == (1, 0, 18, 2)
    assert stored_ids(twenty) == [f"BV-{i:02d}" for i in range(1, 21) if i != 7]


def test_an_import_without_full_removes_nothing(twenty, tmp_path):
    stats = import_file(twenty, write(tmp_path, case("BV-00")), as_of=AS_OF)
    assert stats.removed == 0 and len(stored_ids(twenty)) == 20


def test_a_full_import_that_would_remove_more_than_the_share_is_refused_with_the_counts(twenty, tmp_path):
    path = write(tmp_path, *[case(f"BV-{i:02d}") for i in range(3, 20)])  # 3 of 20: 15 %
    with pytest.raises(ImportRefused) as err:
        import_file(twenty, path, as_of=AS_OF, full=True)
    assert str(err.value) == (
        "cases.jsonl: a full import would remove 3 of the 20 stored case(s) (15.0 %), more than the 10 % allowed "
        "(FRISTER_FULL_IMPORT_MAX_REMOVED_PERCENT); nothing was written (--allow-shrink if that is meant)")
    assert len(stored_ids(twenty)) == 20
    assert import_file(twenty, path, as_of=AS_OF, full=True, max_removed_share=0.2).removed == 3


def test_a_full_import_without_any_case_is_refused_unless_allowed(twenty, tmp_path):
    path = tmp_path / "cases.jsonl"
    path.write_text("\n")
    with pytest.raises(ImportRefused) as err:
        import_file(twenty, path, as_of=AS_OF, full=True, allow_empty=True)
    assert str(err.value) == ("cases.jsonl: a full import holds no case; it would remove all 20 stored case(s); "
                              "nothing was written (--allow-shrink if that is meant)")
    assert import_file(twenty, path, as_of=AS_OF, full=True, allow_shrink=True).removed == 20
    assert stored_ids(twenty) == []


def test_a_dry_run_of_a_full_import_counts_the_removals_and_removes_nothing(twenty, tmp_path):
    stats = import_file(twenty, write(tmp_path, case("BV-00")), as_of=AS_OF, full=True, allow_shrink=True,
                        dry_run=True)
    assert (stats.unchanged, stats.removed) == (1, 19)
    assert stats.summary() == "would import 1 case(s): 0 new, 0 changed, 1 unchanged, 19 removed"
    assert len(stored_ids(twenty)) == 20


def test_an_invalid_full_export_removes_nothing(twenty, tmp_path):
    path = write(tmp_path, case("BV-00"), case("BV-01", unit=""))
    with pytest.raises(ImportRejected):
        import_file(twenty, path, as_of=AS_OF, full=True, allow_shrink=True)
    assert len(stored_ids(twenty)) == 20


def test_the_cli_guards_a_full_import_and_counts_the_removal(cli_env, twenty, tmp_path):
    path = write(tmp_path, *[case(f"BV-{i:02d}") for i in range(10)])
    refused = cli_import(path, "--full")
    assert refused.exit_code == 2
    assert refused.output.startswith("error: cases.jsonl: a full import would remove 10 of the 20 stored case(s)")
    done = cli_import(path, "--full", "--allow-shrink")
    assert done.exit_code == 0, done.output
    assert done.output == "imported 10 case(s): 0 new, 0 changed, 10 unchanged, 10 removed\n"
    assert cli_import(path, "--allow-shrink").exit_code == 2  # --allow-shrink only with --full


def test_the_share_is_a_setting(cli_env, twenty, tmp_path, monkeypatch):
    path = write(tmp_path, *[case(f"BV-{i:02d}") for i in range(10)])
    monkeypatch.setenv("FRISTER_FULL_IMPORT_MAX_REMOVED_PERCENT", "50")
    assert cli_import(path, "--full").output.endswith(", 10 removed\n")
    monkeypatch.setenv("FRISTER_FULL_IMPORT_MAX_REMOVED_PERCENT", "fifty")
    bad = cli_import(path, "--full")
    assert (bad.exit_code, bad.output) == (
        2, "error: FRISTER_FULL_IMPORT_MAX_REMOVED_PERCENT: expected a percentage from 0 to 100\n")

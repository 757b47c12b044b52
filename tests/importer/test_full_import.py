"""Full exports (cases absent from the file are removed, behind a guard) and implausible
dates (imported with a warning, refused with --strict)."""

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


# --- implausible dates ---------------------------------------------------------------------------


def implausible_cases():
    early_visit = case("BV-2")
    early_visit["placements"][0]["followup_visits"] = ["2021-01-20", "2025-05-02"]  # started 2021-02-10
    early_investigation = case("BV-3")
    early_investigation["investigations"][0]["started_on"] = "2025-03-01"  # referral received 2025-03-15
    born_later = case("BV-4", child={"birth_date": "2025-04-01"})  # after the referral, before as-of
    return [case("BV-1"), early_visit, early_investigation, born_later]


def test_implausible_dates_are_imported_and_listed_by_case_and_field(cli_env, engine, tmp_path):
    result = cli_import(write(tmp_path, *implausible_cases()))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "imported 4 case(s): 4 new, 0 changed, 0 unchanged, 0 removed; 3 implausible date(s), imported "
        "(--strict refuses them):",
        "warning: cases.jsonl:2: case BV-2: placements[0].followup_visits: expected every visit on or after "
        "started_on",
        "warning: cases.jsonl:3: case BV-3: investigations[0].started_on: expected a date on or after "
        "referrals[0].received_on (its referral)",
        "warning: cases.jsonl:4: case BV-4: child.birth_date: expected a date on or before "
        "referrals[0].received_on (an expected birth date is one after the as-of date)",
    ]
    assert "2021-01-20" not in result.output and "2025-04-01" not in result.output
    assert stored_ids(engine) == ["BV-1", "BV-2", "BV-3", "BV-4"]


def test_strict_makes_implausible_dates_errors_and_writes_nothing(cli_env, engine, tmp_path):
    result = cli_import(write(tmp_path, *implausible_cases()), "--strict")
    assert result.exit_code == 2
    assert result.output.splitlines()[0] == ("error: cases.jsonl:2: case BV-2: placements[0].followup_visits: "
                                             "expected every visit on or after started_on")
    assert result.output.splitlines()[-1] == "import rejected: 3 invalid field(s); nothing was written"
    assert stored_ids(engine) == []


def test_the_warnings_are_counted_in_full_and_listed_up_to_fifty(engine, tmp_path):
    many = []
    for i in range(60):
        c = case(f"BV-{i:02d}")
        c["placements"][0]["supervision_visits"] = ["2020-01-01"]
        many.append(c)
    stats = import_file(engine, write(tmp_path, *many), as_of=AS_OF)
    lines = stats.summary().splitlines()
    assert lines[0].endswith("; 60 implausible date(s), imported (--strict refuses them):")
    assert len(lines) == 1 + 50 + 1 and lines[-1] == "... and 10 more"

"""Retention: closed cases whose last activity is older than FRISTER_RETENTION_YEARS are
purged through remove_cases; open ones, and any case while no period is set, are kept."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from frister.cli import build
from frister.importer import import_file
from frister.store.facts import read_cases
from frister.store.retention import expired_cases, purge
from frister.store.tables import case_changes

AS_OF = dt.date(2025, 11, 1)  # five years: the kept window starts 2020-11-01


def closed_referral(received: str, concluded: str) -> list[dict]:
    return [{"id": "M1", "received_on": received, "concluded_on": concluded, "conclusion": "closed"}]


CASES = [
    # closed, last activity 2015: goes
    {"case_id": "A-old-closed", "unit": "mottak", "referrals": closed_referral("2015-01-10", "2015-01-15")},
    # closed on the first kept day: stays; the day before: goes
    {"case_id": "B-on-cutoff", "unit": "mottak", "referrals": closed_referral("2020-10-20", "2020-11-01")},
    {"case_id": "B-day-before", "unit": "mottak", "referrals": closed_referral("2020-10-20", "2020-10-31")},
    # an investigation never concluded: open, stays
    {"case_id": "C-open-investigation", "unit": "undersokelse",
     "referrals": closed_referral("2014-01-10", "2014-01-12"),
     "investigations": [{"id": "U1", "referral_id": "M1", "started_on": "2014-01-12"}]},
    # a measure ended long ago, but a placement still running: stays
    {"case_id": "D-open-placement", "unit": "omsorg",
     "measures": [{"id": "T1", "kind": "support", "decided_on": "2012-01-01", "ended_on": "2016-01-01"}],
     "placements": [{"id": "F1", "kind": "foster_home", "started_on": "2013-01-01"}]},
    # a care order: closed once the child is 18 (2018): goes; 18 in 2028: stays; no birth date: stays
    {"case_id": "E-care-adult", "unit": "omsorg", "child": {"birth_date": "2000-03-01"},
     "care_orders": [{"id": "O1", "decided_on": "2012-01-01"}]},
    {"case_id": "F-care-child", "unit": "omsorg", "child": {"birth_date": "2010-03-01"},
     "care_orders": [{"id": "O1", "decided_on": "2012-01-01"}]},
    {"case_id": "G-care-no-birth", "unit": "omsorg", "care_orders": [{"id": "O1", "decided_on": "2012-01-01"}]},
    # an ended placement with a recent visit: the visit is activity, stays
    {"case_id": "H-recent-visit", "unit": "omsorg",
     "placements": [{"id": "F1", "kind": "foster_home", "started_on": "2010-01-01", "ended_on": "2019-01-01",
                     "followup_visits": ["2018-05-01", "2021-02-01"]}]},
    # no date at all: cannot be dated, stays; a birth date alone is not activity either
    {"case_id": "I-no-date", "unit": "mottak"},
    {"case_id": "J-birth-only", "unit": "mottak", "child": {"birth_date": "2001-01-01"}},
]
GONE = ["A-old-closed", "B-day-before", "E-care-adult"]


@pytest.fixture
def stored(engine, tmp_path):
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in CASES), encoding="utf-8")
    import_file(engine, path, as_of=AS_OF)
    with engine.begin() as conn:
        conn.execute(case_changes.delete())
    return engine


def ids(engine) -> list[str]:
    with engine.connect() as conn:
        return [c.case_id for c in read_cases(conn)]


def test_closed_cases_past_the_retention_period_are_the_ones_that_go(stored):
    with stored.connect() as conn:
        assert expired_cases(conn, AS_OF, 5) == GONE
        assert expired_cases(conn, AS_OF, 20) == []


def test_a_dry_run_lists_them_and_removes_nothing(stored):
    assert purge(stored, AS_OF, 5, dry_run=True) == GONE
    assert len(ids(stored)) == len(CASES)


def test_the_purge_removes_them_through_remove_cases(stored):
    assert purge(stored, AS_OF, 5) == GONE
    assert ids(stored) == sorted(c["case_id"] for c in CASES if c["case_id"] not in GONE)
    with stored.connect() as conn:  # logged by the triggers: the next run removes their results
        assert sorted(set(conn.execute(select(case_changes.c.case_id)).scalars())) == GONE
    assert purge(stored, AS_OF, 5) == []


def test_the_cli_purges_only_with_a_retention_period(stored, cli_env, monkeypatch):
    unset = CliRunner().invoke(build(), ["purge", "--as-of", AS_OF.isoformat()])
    assert unset.exit_code == 2
    assert unset.output == ("error: FRISTER_RETENTION_YEARS is not set: every case's facts are kept; "
                            "set it to the years to keep a closed case after its last activity\n")
    monkeypatch.setenv("FRISTER_RETENTION_YEARS", "5")
    dry = CliRunner().invoke(build(), ["purge", "--as-of", AS_OF.isoformat(), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert dry.output.splitlines() == [
        "would remove 3 case(s) closed with no activity since before 2020-11-01 (5 years):",
        "  A-old-closed", "  B-day-before", "  E-care-adult"]
    assert len(ids(stored)) == len(CASES)
    done = CliRunner().invoke(build(), ["purge", "--as-of", AS_OF.isoformat()])
    assert done.output.splitlines()[0] == "removed 3 case(s) closed with no activity since before 2020-11-01 (5 years):"
    assert len(ids(stored)) == len(CASES) - 3
